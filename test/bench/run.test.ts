/**
 * `npm run bench` as CI and operators call it: `--check` fails on a missed target and only then,
 * and a run writes its results outside the checkout unless `--out` says otherwise. Small sizes
 * only; no timing is asserted.
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { BenchResults, Measured, SizeResult } from "../../bench/report";
import { RUNTIME_CONDITIONS } from "../../bench/report";
import { main } from "../../bench/run";
import { ROOT } from "../helpers";

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** `npm run bench -- …` in a fresh process. */
function bench(...args: string[]): Run {
    const r = spawnSync("npm", ["run", "--silent", "bench", "--", ...args], {
        cwd: ROOT,
        encoding: "utf8",
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The same command line in this process (what `npm run bench` calls, without its start-up), for
 * the cases that measure nothing: the exit code and what was printed.
 */
async function benchHere(...args: string[]): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const log = jest.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
        out.push(`${a.join(" ")}\n`);
    });
    const stderr = jest.spyOn(process.stderr, "write").mockImplementation((chunk) => {
        err.push(String(chunk));
        return true;
    });
    try {
        const status = await main(args);
        return { status, stdout: out.join(""), stderr: err.join("") };
    } finally {
        log.mockRestore();
        stderr.mockRestore();
    }
}

const spread = (median: number) => ({ min: median, median, max: median });
const measured = (wallMs: number): Measured => ({
    wallMs: spread(wallMs),
    cpuMs: spread(wallMs),
    peakRssMb: spread(200),
    resources: 0,
    invokes: 0,
});

/** A saved result whose program takes `factor` times the baseline's wall time. */
function savedResult(factor: number): BenchResults {
    const size = (services: number, baselineMs: number): SizeResult => ({
        services,
        conditions: RUNTIME_CONDITIONS,
        program: measured(baselineMs * factor),
        baseline: measured(baselineMs),
        vsBaseline: { wall: factor, cpu: factor, peakRss: 1 },
        loadAverage: 1,
    });
    return {
        machine: "test",
        loadAverage: { start: [1, 1, 1], end: [1, 1, 1] },
        runsPerSize: 1,
        runs: [size(100, 1000), size(500, 2000)],
        growthPer10x: [],
        // Whatever a saved file says about its targets, they are judged again.
        targets: [],
    };
}

let dir: string;
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "msa-bench-test-"));
});
afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, results: BenchResults): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(results));
    return file;
}

describe("--check", () => {
    test("exits 1 when a target is missed", async () => {
        const run = await benchHere("--from", write("missed.json", savedResult(2)), "--check");
        expect(run.stdout).toContain("MISSED 100 services: wall vs baseline: 2 (limit 1.5)");
        expect(run.stdout).toContain("MISSED 500 services: wall vs baseline: 2 (limit 1.5)");
        expect(run.stdout).toContain("--check: 2 target(s) missed");
        expect(run.status).toBe(1);
    });

    test("exits 0 when every target is met", async () => {
        const run = await benchHere("--from", write("met.json", savedResult(1.2)), "--check");
        expect(run.stdout).toContain("met    100 services: wall vs baseline: 1.2 (limit 1.5)");
        expect(run.stdout).not.toContain("MISSED");
        expect(run.status).toBe(0);
    });

    test("without --check, a missed target is reported and the exit is 0", async () => {
        const run = await benchHere("--from", write("missed-no-check.json", savedResult(2)));
        expect(run.stdout).toContain("MISSED");
        expect(run.status).toBe(0);
    });

    test("a file that is not a bench result is an error, not a pass", async () => {
        const file = path.join(dir, "other.json");
        fs.writeFileSync(file, JSON.stringify({ runs: [{ services: 100 }] }));
        const run = await benchHere("--from", file, "--check");
        expect(run.stderr).toContain(`bench: ${file} is not a bench result`);
        expect(run.status).toBe(1);
    });

    test("--from does not measure, so measuring options are refused", async () => {
        const run = await benchHere("--from", write("x.json", savedResult(1)), "--runs", "3");
        expect(run.stderr).toContain("--runs cannot be used with it");
        expect(run.status).toBe(2);
    });
});

describe("a measured run without --out", () => {
    const tracked = path.join(ROOT, "bench", "results.json");
    const hash = () => createHash("sha256").update(fs.readFileSync(tracked)).digest("hex");
    let before: string;
    let run: Run;
    let written: string;
    beforeAll(() => {
        before = hash();
        run = bench("--parts", "runtime", "--sizes", "1", "--runs", "1", "--check");
        written = /^wrote (.+) in \d+ s$/m.exec(run.stdout)?.[1] ?? "";
    }, 180_000);
    afterAll(() => {
        // Only ever remove what the run wrote outside the checkout.
        if (written !== "" && path.relative(ROOT, written).startsWith("..")) {
            fs.rmSync(written, { force: true });
        }
    });

    test("exits 0 with --check when no target can be judged (1 service)", () => {
        expect(run.stderr).toBe("");
        expect(run.stdout).toContain("none judged: the targets need 100 and 500 services");
        expect(run.status).toBe(0);
    });

    test("writes its results outside the checkout and leaves bench/results.json alone", () => {
        expect(path.isAbsolute(written)).toBe(true);
        expect(path.relative(ROOT, written).startsWith("..")).toBe(true);
        expect(hash()).toBe(before);
    });

    test("the results are the program's and the baseline's, measured under cmd/run", () => {
        const results = JSON.parse(fs.readFileSync(written, "utf8")) as BenchResults;
        expect(results.runs.map((r) => [r.services, r.conditions])).toEqual([
            [1, RUNTIME_CONDITIONS],
        ]);
        const [r] = results.runs;
        expect([r?.program.resources, r?.program.invokes]).toEqual([11, 1]);
        expect([r?.baseline.resources, r?.baseline.invokes]).toEqual([7, 0]);
        for (const m of [r?.program, r?.baseline]) {
            expect(Object.keys(m?.wallMs ?? {})).toEqual(["min", "median", "max"]);
            // The logs still queued when everything was declared: some, never more than were sent.
            const tail = m?.logTail?.logs.median ?? NaN;
            expect(tail).toBeGreaterThan(0);
            expect(tail).toBeLessThanOrEqual(m?.rpcs?.["Engine/log"] ?? 0);
            expect(m?.logTail?.ms.median).toBeGreaterThanOrEqual(0);
        }
        expect(results.captureOnly).toBeUndefined();
    });
});
