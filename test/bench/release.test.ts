/**
 * The pure parts of `npm run bench:release` (bench/release.ts): reading hey's summary, judging a
 * result against the targets, and `--from` without measuring. The measuring itself runs
 * on a real engine (`npm run bench:release`).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { errorKinds, judge, main, parseHey, type ReleaseBench } from "../../bench/release";

const HEY = `
Summary:
  Total:	20.0123 secs
  Slowest:	1.0390 secs
  Fastest:	0.0004 secs

Status code distribution:
  [200]	3033 responses
  [503]	2 responses

Error distribution:
  [16]	Get "http://127.0.0.1:41737/health": EOF
  [178]	Get "http://127.0.0.1:41737/health": dial tcp 127.0.0.1:41737: connect: connection refused
  [1]	Get "http://127.0.0.1:41737/health": read tcp 127.0.0.1:55990->127.0.0.1:41737: read: connection reset by peer
  [1]	Get "http://127.0.0.1:41737/health": read tcp 127.0.0.1:56004->127.0.0.1:41737: read: connection reset by peer
`;

function result(overrides: Partial<ReleaseBench["scenarios"]> = {}): ReleaseBench {
    const ok = { requests: 2400, failed: 0, maxLatencyMs: 40, wallMs: 1500 };
    return {
        machine: "test",
        rps: 200,
        scenarios: {
            compose: { requests: 3000, failed: 44, maxLatencyMs: 1000, wallMs: 1000 },
            release: ok,
            failedRelease: ok,
            rollback: ok,
            ...overrides,
        },
    };
}

test("hey's summary: every answer and every error is a request; errors and non-2xx answers fail", () => {
    const r = parseHey(HEY);
    expect(r.requests).toBe(3033 + 2 + 16 + 178 + 1 + 1);
    expect(r.failed).toBe(2 + 16 + 178 + 1 + 1);
    expect(r.maxLatencyMs).toBe(1039);
    expect(r.distribution).toEqual([
        "HTTP 200: 3033",
        "HTTP 503: 2",
        "EOF: 16",
        "dial tcp ADDR: connect: connection refused: 178",
        "read tcp ADDR->ADDR: read: connection reset by peer: 2",
    ]);
});

test("a run without errors has no error lines; an unreadable line is an error, not a zero", () => {
    expect(
        parseHey("Slowest: 0.0100 secs\n\nStatus code distribution:\n  [200]\t10 responses\n"),
    ).toEqual({
        requests: 10,
        failed: 0,
        maxLatencyMs: 10,
        distribution: ["HTTP 200: 10"],
    });
    expect(() => parseHey("Status code distribution:\n  [200] many\n")).toThrow(
        "cannot read hey's status line: [200] many",
    );
    expect(errorKinds([])).toEqual([]);
});

test("targets: 0 failed of at least 2,000 requests each, and the release at most 2x compose's wall time", () => {
    expect(judge(result()).every((t) => t.ok)).toBe(true);
    const missed = (r: ReleaseBench) =>
        judge(r)
            .filter((t) => !t.ok)
            .map((t) => t.what);
    expect(
        missed(result({ rollback: { requests: 2400, failed: 1, maxLatencyMs: 1, wallMs: 1 } })),
    ).toEqual(["rollback: 0 failed of at least 2,000 requests (1 of 2400)"]);
    expect(
        missed(
            result({ failedRelease: { requests: 1999, failed: 0, maxLatencyMs: 1, wallMs: 1 } }),
        ),
    ).toEqual(["failedRelease: 0 failed of at least 2,000 requests (0 of 1999)"]);
    expect(
        missed(result({ release: { requests: 2400, failed: 0, maxLatencyMs: 1, wallMs: 2001 } })),
    ).toEqual(["release at most 2x compose's wall time (2001 ms vs 1000 ms: 2.00x)"]);
    expect(
        judge(
            result({ release: { requests: 2400, failed: 0, maxLatencyMs: 1, wallMs: 2000 } }),
        ).every((t) => t.ok),
    ).toBe(true);
});

describe("--from judges a saved result without measuring", () => {
    let dir: string;
    let log: jest.SpyInstance;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-release-"));
        log = jest.spyOn(console, "log").mockImplementation(() => undefined);
    });
    afterEach(() => {
        log.mockRestore();
        fs.rmSync(dir, { recursive: true, force: true });
    });
    const saved = (r: ReleaseBench): string => {
        const file = path.join(dir, "release.json");
        fs.writeFileSync(file, JSON.stringify(r));
        return file;
    };

    test("targets met: exit 0, with a table of the four scenarios", async () => {
        await expect(main(["--from", saved(result()), "--check"])).resolves.toBe(0);
        const printed = log.mock.calls.map((c) => String(c[0])).join("\n");
        for (const name of ["compose", "release", "failedRelease", "rollback"]) {
            expect(printed).toMatch(new RegExp(`^${name}\\s`, "m"));
        }
    });

    test("a missed target: --check exits 1, without --check the result is only reported", async () => {
        const file = saved(
            result({ release: { requests: 2400, failed: 3, maxLatencyMs: 1, wallMs: 1 } }),
        );
        await expect(main(["--from", file, "--check"])).resolves.toBe(1);
        await expect(main(["--from", file])).resolves.toBe(0);
        expect(log.mock.calls.map((c) => String(c[0])).join("\n")).toContain(
            "MISSED  release: 0 failed of at least 2,000 requests (3 of 2400)",
        );
    });

    test("--from with --rps or --out is a usage error", async () => {
        const err = jest.spyOn(console, "error").mockImplementation(() => undefined);
        try {
            await expect(main(["--from", saved(result()), "--rps", "10"])).resolves.toBe(2);
        } finally {
            err.mockRestore();
        }
    });
});
