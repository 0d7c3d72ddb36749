/**
 * `npm run bench [-- --runs 5 --sizes 1,10,100,500 --out bench/results.json]`: what one evaluation
 * of the program costs and how it grows with the number of services, against a flat baseline declaring the same Docker
 * resources, plus what loading the program costs before it runs (type-checked ts-node,
 * transpile-only ts-node, precompiled JavaScript). Every evaluation runs in a fresh process; the
 * table shows medians. Writes `bench/results.json`.
 *
 * Fails loudly (exit 1) if a generated config is invalid, the compile fails, or an evaluation does
 * not declare what it should; a missed target is reported, not an error (timings on a shared
 * machine are noisy). Exit 2 on a usage error (`tools/cli.ts`).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { captureStack } from "../capture";
import { CliSpec, CommandError, exitWith, ParsedCli, runCli, UsageError } from "../tools/cli";
import { BENCH_STACK, checkGenerated, generateConfig } from "./generate";
import type { EvalSpec, StartupMode, WorkerResult, WorkerSpec } from "./worker";

const ROOT = path.resolve(__dirname, "..");
const RESULTS = path.join(__dirname, "results.json");
const DEFAULT_SIZES = [1, 10, 100, 500];
const DEFAULT_RUNS = 5;

const TARGET = { wallMs500: 5000, peakRssMb500: 512, growth100to500: 6, vsBaseline: 1.5 };

/** How each startup mode starts node: transpile-only is the setup `Pulumi.yaml` chooses. */
const STARTUP_MODES: { mode: StartupMode; label: string; nodeArgs: string[] }[] = [
    { mode: "typecheck", label: "ts-node, type-checking (Pulumi's default)", nodeArgs: [] },
    {
        mode: "transpile",
        label: "ts-node, transpile-only (nodeargs --require ts-node/register/transpile-only)",
        nodeArgs: ["--require", "ts-node/register/transpile-only"],
    },
    { mode: "js", label: "precompiled JavaScript (tsc, then node)", nodeArgs: [] },
];

interface SizeResult {
    services: number;
    wallMs: number;
    cpuMs: number;
    peakRssMb: number;
    baselineWallMs: number;
    baselineCpuMs: number;
    baselinePeakRssMb: number;
    resources: number;
    baselineResources: number;
}

const OPTIONS = {
    runs: { type: "string" },
    sizes: { type: "string" },
    out: { type: "string" },
} as const;

const CLI: CliSpec<typeof OPTIONS> = {
    name: "bench",
    usage: "usage: npm run bench -- [--runs N] [--sizes 1,10,100,500] [--out FILE]",
    options: OPTIONS,
};

export function main(argv: string[]): Promise<number> {
    return runCli(CLI, argv, async ({ values }) => {
        await bench(benchOptions(values));
        return 0;
    });
}

async function bench({ runs, sizes, out: resultsFile }: BenchOptions): Promise<void> {
    const started = Date.now();
    const machine = describeMachine();
    console.log(`machine: ${machine}`);
    const loadAtStart = os.loadavg().map((l) => round(l, 2));
    console.log(`load average at start: ${loadAtStart.join(" ")} (other work shares these cores)`);

    const work = fs.mkdtempSync(path.join(os.tmpdir(), "msa-bench-"));
    try {
        const configs = writeConfigs(work, sizes);
        const out = compile(work);
        await checkCompiledMatchesSource(out, configs[Math.min(1, configs.length - 1)]);

        const results = sizes.map((n, i) => measureSize(n, runs, out, configs[i]));
        const startup = measureStartup(runs, out);

        const report = summarize(results, startup);
        fs.writeFileSync(
            resultsFile,
            `${JSON.stringify(
                {
                    machine,
                    loadAverageAtStart: loadAtStart,
                    runsPerMedian: runs,
                    runs: results.map(roundNumbers),
                    growthPer10x: report.growth,
                    startup: startup.map(({ label, wallMs, cpuMs, peakRssMb }) => ({
                        setup: label,
                        ...roundNumbers({ wallMs, cpuMs, peakRssMb }),
                    })),
                    targets: report.targets,
                },
                null,
                2,
            )}\n`,
        );
        console.log(
            `\nwrote ${path.relative(process.cwd(), resultsFile)} in ${round((Date.now() - started) / 1000)} s`,
        );
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}

interface BenchOptions {
    runs: number;
    sizes: number[];
    out: string;
}

function benchOptions(values: ParsedCli<typeof OPTIONS>["values"]): BenchOptions {
    const runs = values.runs ?? String(DEFAULT_RUNS);
    if (!/^[1-9][0-9]*$/.test(runs)) {
        throw new UsageError(`--runs must be a positive integer, got ${JSON.stringify(runs)}`);
    }
    const sizes = values.sizes ?? DEFAULT_SIZES.join(",");
    if (!/^[1-9][0-9]*(,[1-9][0-9]*)*$/.test(sizes)) {
        throw new UsageError(
            `--sizes must be positive integers separated by commas, got ${JSON.stringify(sizes)}`,
        );
    }
    return {
        runs: Number(runs),
        sizes: sizes.split(",").map(Number),
        out: path.resolve(values.out ?? RESULTS),
    };
}

function describeMachine(): string {
    const cpus = os.cpus();
    const model = cpus[0]?.model.trim() ?? "unknown CPU";
    const memGb = Math.round(os.totalmem() / 1024 ** 3);
    return `${model}, ${cpus.length} cores, ${memGb} GB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** Generates and validates each size's config; an invalid one stops the bench. */
function writeConfigs(work: string, sizes: number[]): string[] {
    const files = sizes.map((n) => {
        const config = generateConfig(n);
        checkGenerated(n, config, ROOT);
        const file = path.join(work, `config-${n}.json`);
        fs.writeFileSync(file, JSON.stringify(config));
        return file;
    });
    console.log(`generated and validated configs for ${sizes.join(", ")} services`);
    return files;
}

/**
 * Compiles the program, the capture and the bench to `<work>/out` (as `npm run build` would, but
 * outside the checkout) and makes the baseline loadable by `captureStack`, which looks for the
 * engine at `<dir of program>/capture/engine.js`.
 */
function compile(work: string): string {
    const out = path.join(work, "out");
    const tsc = require.resolve("typescript/bin/tsc");
    const t0 = Date.now();
    const r = spawnSync(
        process.execPath,
        [tsc, "-p", path.join(__dirname, "tsconfig.build.json"), "--outDir", out],
        { cwd: ROOT, encoding: "utf8" },
    );
    if (r.status !== 0) {
        throw new CommandError(`tsc failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(out, "node_modules"), "dir");
    fs.copyFileSync(path.join(out, "bench", "baseline.js"), path.join(out, "baseline.js"));
    console.log(`compiled to JavaScript in ${Date.now() - t0} ms`);
    return out;
}

/**
 * The precompiled program must declare what `index.ts` declares; any difference is reported, not
 * hidden.
 */
async function checkCompiledMatchesSource(
    out: string,
    configFile: string | undefined,
): Promise<void> {
    if (configFile === undefined) {
        return;
    }
    const config = JSON.parse(fs.readFileSync(configFile, "utf8")) as Record<string, unknown>;
    const source = await captureStack({ stack: BENCH_STACK, config });
    const dump = path.join(path.dirname(out), "compiled-capture.json");
    runEval({
        kind: "eval",
        program: path.join(out, "index.js"),
        root: ROOT,
        stack: BENCH_STACK,
        configFile,
        dumpFile: dump,
    });
    const compiled = JSON.parse(fs.readFileSync(dump, "utf8")) as typeof source.resources;
    const byName = new Map(compiled.map((r) => [r.name, r]));
    const differences: string[] = [];
    if (compiled.length !== source.resources.length) {
        differences.push(
            `${compiled.length} resources, index.ts declares ${source.resources.length}`,
        );
    }
    for (const r of source.resources) {
        const other = byName.get(r.name);
        if (other === undefined) {
            differences.push(`${r.name} is missing`);
            continue;
        }
        differences.push(...diff(r.name, r.inputs, other.inputs));
    }
    if (differences.length === 0) {
        console.log("precompiled program declares exactly what index.ts declares");
    } else {
        console.log(
            `WARNING: precompiled program differs from index.ts (see docs/bench.md):\n  - ${differences.slice(0, 10).join("\n  - ")}`,
        );
    }
}

function diff(at: string, a: unknown, b: unknown): string[] {
    if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
        const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
        return [...keys].flatMap((k) =>
            diff(
                `${at}.${k}`,
                (a as Record<string, unknown>)[k],
                (b as Record<string, unknown>)[k],
            ),
        );
    }
    return a === b ? [] : [`${at}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`];
}

/** Evaluations run the worker compiled next to the program. */
function runEval(spec: EvalSpec): WorkerResult {
    return runWorkerAt(path.join(path.dirname(spec.program), "bench", "worker.js"), spec, []);
}

function runWorkerAt(worker: string, spec: WorkerSpec, nodeArgs: string[]): WorkerResult {
    const env = { ...process.env };
    // The bench itself runs under ts-node: keep its settings away from the measured processes.
    for (const key of Object.keys(env)) {
        if (key.startsWith("TS_NODE_")) {
            delete env[key];
        }
    }
    const r = spawnSync(process.execPath, [...nodeArgs, worker, JSON.stringify(spec)], {
        cwd: ROOT,
        encoding: "utf8",
        env,
        maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) {
        throw new CommandError(
            `evaluation failed (${describe(spec)}), exit ${r.status}:\n${r.stderr}`,
        );
    }
    const line = r.stdout.trim().split("\n").pop() ?? "";
    return JSON.parse(line) as WorkerResult;
}

function describe(spec: WorkerSpec): string {
    return spec.kind === "eval"
        ? `${path.basename(spec.program)} on ${path.basename(spec.configFile)}`
        : `startup ${spec.mode}`;
}

function measureSize(
    n: number,
    runs: number,
    out: string,
    configFile: string | undefined,
): SizeResult {
    if (configFile === undefined) {
        throw new CommandError(`no config generated for ${n} services`);
    }
    const ours: WorkerResult[] = [];
    const flat: WorkerResult[] = [];
    const spec = (program: string): EvalSpec => ({
        kind: "eval",
        program: path.join(out, program),
        root: ROOT,
        stack: BENCH_STACK,
        configFile,
    });
    // Alternate the two programs so background load hits both alike.
    for (let i = 0; i < runs; i++) {
        ours.push(expect(runEval(spec("index.js")), `index.ts with ${n} services`, 7 + 4 * n, n));
        flat.push(
            expect(runEval(spec("baseline.js")), `baseline with ${n} services`, 5 + 2 * n, 0),
        );
    }
    const result: SizeResult = {
        services: n,
        wallMs: median(ours.map((r) => r.wallMs)),
        cpuMs: median(ours.map((r) => r.cpuMs)),
        peakRssMb: median(ours.map((r) => r.peakRssMb)),
        baselineWallMs: median(flat.map((r) => r.wallMs)),
        baselineCpuMs: median(flat.map((r) => r.cpuMs)),
        baselinePeakRssMb: median(flat.map((r) => r.peakRssMb)),
        resources: ours[0]?.resources ?? 0,
        baselineResources: flat[0]?.resources ?? 0,
    };
    console.log(
        `${String(n).padStart(4)} services: ${round(result.wallMs)} ms wall, ${round(result.peakRssMb)} MB (baseline ${round(result.baselineWallMs)} ms, ${round(result.baselinePeakRssMb)} MB)`,
    );
    return result;
}

/**
 * Ours: the provider, the network and database components with their 4 resources, then per
 * service two components (the service and its registry image), an image and a container, and one
 * digest lookup. Baseline: provider, network, DB image, volume and container, then an image and a
 * container per service.
 */
function expect(r: WorkerResult, what: string, resources: number, invokes: number): WorkerResult {
    if (r.resources !== resources || r.invokes !== invokes) {
        throw new CommandError(
            `${what} declared ${r.resources} resources and ${r.invokes} invokes, expected ${resources} and ${invokes}`,
        );
    }
    return r;
}

interface StartupResult {
    mode: StartupMode;
    label: string;
    wallMs: number;
    cpuMs: number;
    peakRssMb: number;
}

/** Loads and evaluates the dev stack from a fresh process in each setup. */
function measureStartup(runs: number, out: string): StartupResult[] {
    const samples = new Map<StartupMode, WorkerResult[]>(STARTUP_MODES.map((m) => [m.mode, []]));
    const worker = path.join(out, "bench", "worker.js");
    for (let i = 0; i < runs; i++) {
        for (const { mode, nodeArgs } of STARTUP_MODES) {
            const program =
                mode === "js" ? path.join(out, "index.js") : path.join(ROOT, "index.ts");
            const r = runWorkerAt(
                worker,
                { kind: "startup", mode, program, root: ROOT, stack: "dev" },
                nodeArgs,
            );
            samples.get(mode)?.push(expect(r, `dev stack (${mode})`, 15, 2));
        }
    }
    return STARTUP_MODES.map(({ mode, label }) => {
        const list = samples.get(mode) ?? [];
        return {
            mode,
            label,
            wallMs: median(list.map((r) => r.wallMs)),
            cpuMs: median(list.map((r) => r.cpuMs)),
            peakRssMb: median(list.map((r) => r.peakRssMb)),
        };
    });
}

interface Growth {
    from: number;
    to: number;
    wallFactor: number;
    wallPer10x: number;
    cpuFactor: number;
    cpuPer10x: number;
}

interface Target {
    target: string;
    value: number;
    limit: number;
    ok: boolean;
}

function summarize(
    results: SizeResult[],
    startup: StartupResult[],
): { growth: Growth[]; targets: Target[] } {
    console.log(
        "\n| services | wall ms | CPU ms | peak RSS MB | baseline wall ms | baseline peak RSS MB | wall vs baseline | RSS vs baseline |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of results) {
        console.log(
            `| ${r.services} | ${round(r.wallMs)} | ${round(r.cpuMs)} | ${round(r.peakRssMb)} | ${round(r.baselineWallMs)} | ${round(r.baselinePeakRssMb)} | ${(r.wallMs / r.baselineWallMs).toFixed(2)}x | ${(r.peakRssMb / r.baselinePeakRssMb).toFixed(2)}x |`,
        );
    }
    const growth: Growth[] = [];
    results.forEach((r, i) => {
        const prev = results[i - 1];
        if (prev === undefined) {
            return;
        }
        const wall = r.wallMs / prev.wallMs;
        const cpu = r.cpuMs / prev.cpuMs;
        // Normalized to a 10x step so 100 → 500 compares with the others.
        const steps = Math.log10(r.services / prev.services);
        growth.push({
            from: prev.services,
            to: r.services,
            wallFactor: round(wall, 2),
            wallPer10x: round(wall ** (1 / steps), 2),
            cpuFactor: round(cpu, 2),
            cpuPer10x: round(cpu ** (1 / steps), 2),
        });
    });
    console.log("\ngrowth (wall; CPU is steadier on a shared machine):");
    for (const g of growth) {
        console.log(
            `  ${g.from} → ${g.to} services: wall ${g.wallFactor}x (${g.wallPer10x}x per 10x), CPU ${g.cpuFactor}x (${g.cpuPer10x}x per 10x)`,
        );
    }
    console.log("\nstartup (dev stack, fresh process, load + evaluate):");
    for (const s of startup) {
        console.log(
            `  ${s.label}: ${round(s.wallMs)} ms wall, ${round(s.cpuMs)} ms CPU, ${round(s.peakRssMb)} MB`,
        );
    }

    const targets: Target[] = [];
    const at = (n: number) => results.find((r) => r.services === n);
    const r500 = at(500);
    const r100 = at(100);
    if (r500 !== undefined) {
        targets.push(check("500 services: wall ms", r500.wallMs, TARGET.wallMs500));
        targets.push(check("500 services: peak RSS MB", r500.peakRssMb, TARGET.peakRssMb500));
    }
    if (r500 !== undefined && r100 !== undefined) {
        targets.push(
            check("wall 500 / wall 100", r500.wallMs / r100.wallMs, TARGET.growth100to500),
        );
    }
    for (const r of [r100, r500]) {
        if (r !== undefined) {
            targets.push(
                check(
                    `${r.services} services: wall vs baseline`,
                    r.wallMs / r.baselineWallMs,
                    TARGET.vsBaseline,
                ),
            );
        }
    }
    console.log("\ntargets:");
    for (const t of targets) {
        console.log(`  ${t.ok ? "met   " : "MISSED"} ${t.target}: ${t.value} (limit ${t.limit})`);
    }
    return { growth, targets };
}

function check(target: string, value: number, limit: number): Target {
    return { target, value: round(value, 2), limit, ok: value <= limit };
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1
        ? (sorted[mid] ?? NaN)
        : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/** `o` with every number rounded to a whole unit, for results.json. */
function roundNumbers<T extends object>(o: T): T {
    return Object.fromEntries(
        Object.entries(o).map(([k, v]) => [k, typeof v === "number" ? round(v) : v]),
    ) as T;
}

function round(v: number, digits = 0): number {
    const f = 10 ** digits;
    return Math.round(v * f) / f;
}

if (require.main === module) {
    exitWith(main(process.argv.slice(2)));
}
