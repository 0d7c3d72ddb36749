/**
 * The bench's results: their shape (`results.json`), min/median/max over the runs, the targets and
 * how a result is printed. Pure functions, so a saved result can be checked again without
 * measuring (`npm run bench -- --from FILE --check`).
 */

/** How a headline run was measured: the program under the SDK's own `cmd/run` (see docs/bench.md). */
export const RUNTIME_CONDITIONS = "pulumi-runtime";
/** How the capture-only runs were measured: the shortcut `npm run plan` takes. */
export const CAPTURE_CONDITIONS = "capture-only";

export const TARGETS = {
    /** 500 services, median wall time of one preview's program process. */
    wallMs500: 5000,
    /** 500 services, median peak RSS. */
    peakRssMb500: 512,
    /** Median wall at 500 services over median wall at 100. */
    growth100to500: 6,
    /** Median wall over the flat baseline's, at 100 and at 500 services. */
    vsBaseline: 1.5,
    /**
     * `PULUMI_CONFIG=<config JSON>`, the environment string the CLI starts the program with, must
     * stay under Linux's 128 KiB per string (x86-64), or `pulumi preview` fails with "argument
     * list too long" before the program runs (pulumi/pulumi#8680).
     */
    configBytes: 131071,
} as const;

export interface Spread {
    min: number;
    median: number;
    max: number;
}

export interface Measured {
    wallMs: Spread;
    cpuMs: Spread;
    peakRssMb: Spread;
    resources: number;
    invokes: number;
    /** RPCs one run made to the engine, per method (pulumi-runtime runs). */
    rpcs?: Record<string, number>;
    /**
     * Log RPCs that arrived after the last registration, invoke or output registration, and how
     * long they took (pulumi-runtime runs): time the preview waits for the SDK's serial logs.
     */
    logTail?: { logs: Spread; ms: Spread };
}

export interface SizeResult {
    services: number;
    conditions: string;
    /** Bytes of `PULUMI_CONFIG=<json>` for this size (pulumi-runtime runs). */
    configBytes?: number;
    /**
     * False when the system refused to start the program with that environment string, as it
     * refuses the Pulumi CLI: the figures were then measured with the config handed over from a
     * file, and are what the program would cost if Pulumi could start it.
     */
    pulumiCanStart?: boolean;
    program: Measured;
    baseline: Measured;
    /** Program median over baseline median. */
    vsBaseline: { wall: number; cpu: number; peakRss: number };
    /** 1-minute load average when this size's runs ended. */
    loadAverage: number;
}

export interface Growth {
    from: number;
    to: number;
    wallFactor: number;
    wallPer10x: number;
    cpuFactor: number;
    cpuPer10x: number;
}

export interface StartupResult {
    setup: string;
    wallMs: Spread;
    cpuMs: Spread;
    peakRssMb: Spread;
}

export interface Target {
    target: string;
    value: number;
    limit: number;
    ok: boolean;
}

export interface BenchResults {
    machine: string;
    loadAverage: { start: number[]; end: number[] };
    runsPerSize: number;
    /** Headline: each program run as `pulumi preview` runs it (`conditions: "pulumi-runtime"`). */
    runs: SizeResult[];
    growthPer10x: Growth[];
    /** The same sizes under the capture's shortcuts, kept apart: not what a preview pays. */
    captureOnly?: { conditions: string; description: string; runs: SizeResult[] };
    startup?: StartupResult[];
    targets: Target[];
}

export function spread(values: number[], digits = 0): Spread {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median =
        sorted.length % 2 === 1
            ? (sorted[mid] ?? NaN)
            : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
    return {
        min: round(sorted[0] ?? NaN, digits),
        median: round(median, digits),
        max: round(sorted[sorted.length - 1] ?? NaN, digits),
    };
}

export function growth(runs: SizeResult[]): Growth[] {
    const out: Growth[] = [];
    runs.forEach((r, i) => {
        const prev = runs[i - 1];
        if (prev === undefined) {
            return;
        }
        const wall = r.program.wallMs.median / prev.program.wallMs.median;
        const cpu = r.program.cpuMs.median / prev.program.cpuMs.median;
        // Normalized to a 10x step so 100 → 500 compares with the others.
        const steps = Math.log10(r.services / prev.services);
        out.push({
            from: prev.services,
            to: r.services,
            wallFactor: round(wall, 2),
            wallPer10x: round(wall ** (1 / steps), 2),
            cpuFactor: round(cpu, 2),
            cpuPer10x: round(cpu ** (1 / steps), 2),
        });
    });
    return out;
}

/** The targets that the measured sizes allow judging (100 and 500 services). */
export function judge(runs: SizeResult[]): Target[] {
    const targets: Target[] = [];
    const at = (n: number) => runs.find((r) => r.services === n);
    const r100 = at(100);
    const r500 = at(500);
    if (r500 !== undefined) {
        targets.push(check("500 services: wall ms", r500.program.wallMs.median, TARGETS.wallMs500));
        targets.push(
            check("500 services: peak RSS MB", r500.program.peakRssMb.median, TARGETS.peakRssMb500),
        );
    }
    if (r100 !== undefined && r500 !== undefined) {
        targets.push(
            check(
                "wall 500 / wall 100",
                r500.program.wallMs.median / r100.program.wallMs.median,
                TARGETS.growth100to500,
            ),
        );
    }
    for (const r of [r100, r500]) {
        if (r !== undefined) {
            targets.push(
                check(
                    `${r.services} services: wall vs baseline`,
                    r.program.wallMs.median / r.baseline.wallMs.median,
                    TARGETS.vsBaseline,
                ),
            );
        }
    }
    for (const r of [r100, r500]) {
        if (r?.configBytes !== undefined) {
            targets.push(
                check(
                    `${r.services} services: PULUMI_CONFIG bytes (pulumi preview can start the program)`,
                    r.configBytes,
                    TARGETS.configBytes,
                ),
            );
        }
    }
    return targets;
}

function check(target: string, value: number, limit: number): Target {
    return { target, value: round(value, 2), limit, ok: value <= limit };
}

export function vsBaseline(program: Measured, baseline: Measured): SizeResult["vsBaseline"] {
    return {
        wall: round(program.wallMs.median / baseline.wallMs.median, 2),
        cpu: round(program.cpuMs.median / baseline.cpuMs.median, 2),
        peakRss: round(program.peakRssMb.median / baseline.peakRssMb.median, 2),
    };
}

/** `median (min–max)` */
const fmt = (s: Spread) => `${s.median} (${s.min}–${s.max})`;

/** The Markdown table of a set of runs, as the README and docs/bench.md show it. */
export function table(runs: SizeResult[]): string {
    const lines = [
        "| services | wall ms | CPU ms | peak RSS MB | baseline wall ms | baseline CPU ms | baseline peak RSS MB | wall vs baseline | CPU vs baseline | load |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ];
    for (const r of runs) {
        const mark = r.pulumiCanStart === false ? " ✗" : "";
        lines.push(
            `| ${r.services}${mark} | ${fmt(r.program.wallMs)} | ${fmt(r.program.cpuMs)} | ${fmt(r.program.peakRssMb)} | ${fmt(r.baseline.wallMs)} | ${fmt(r.baseline.cpuMs)} | ${fmt(r.baseline.peakRssMb)} | ${r.vsBaseline.wall.toFixed(2)}x | ${r.vsBaseline.cpu.toFixed(2)}x | ${r.loadAverage} |`,
        );
    }
    return lines.join("\n");
}

/** Everything a run prints after measuring, and `--from` prints for a saved result. */
export function describe(results: BenchResults): string {
    const out: string[] = [
        `machine: ${results.machine}`,
        `load average: ${results.loadAverage.start.join(" ")} at the start, ${results.loadAverage.end.join(" ")} at the end (2 cores shared with other work: wall times move with load, CPU time is steadier)`,
        "",
        `${RUNTIME_CONDITIONS} (the program as \`pulumi preview\` runs it; median (min–max) of ${results.runsPerSize} runs):`,
        "",
        table(results.runs),
    ];
    const refused = results.runs.filter((r) => r.pulumiCanStart === false);
    if (refused.length > 0) {
        out.push(
            "",
            `✗ ${refused.map((r) => `${r.services} services (PULUMI_CONFIG ${r.configBytes} bytes)`).join(", ")}: the system refuses to start a process with an environment string that long, so \`pulumi preview\` fails before the program runs ("argument list too long", pulumi/pulumi#8680). Measured with the config handed over from a file: what the program would cost if Pulumi could start it.`,
        );
    }
    if (results.growthPer10x.length > 0) {
        out.push("", "growth:");
        for (const g of results.growthPer10x) {
            out.push(
                `  ${g.from} → ${g.to} services: wall ${g.wallFactor}x (${g.wallPer10x}x per 10x), CPU ${g.cpuFactor}x (${g.cpuPer10x}x per 10x)`,
            );
        }
    }
    if (results.captureOnly !== undefined) {
        out.push(
            "",
            `${CAPTURE_CONDITIONS}, not what a preview pays (${results.captureOnly.description}):`,
            "",
            table(results.captureOnly.runs),
        );
    }
    if (results.startup !== undefined) {
        out.push("", "startup (dev stack, under cmd/run, median (min–max)):");
        for (const s of results.startup) {
            out.push(
                `  ${s.setup}: ${fmt(s.wallMs)} ms wall, ${fmt(s.cpuMs)} ms CPU, ${fmt(s.peakRssMb)} MB`,
            );
        }
    }
    out.push("", "targets (pulumi-runtime medians):");
    if (results.targets.length === 0) {
        out.push("  none judged: the targets need 100 and 500 services");
    }
    for (const t of results.targets) {
        out.push(`  ${t.ok ? "met   " : "MISSED"} ${t.target}: ${t.value} (limit ${t.limit})`);
    }
    return out.join("\n");
}

/**
 * A saved result, read back for `--from`: its headline runs are judged again against today's
 * targets. Throws if the file is not a bench result.
 */
export function parseResults(text: string, file: string): BenchResults {
    const parsed = JSON.parse(text) as Partial<BenchResults>;
    const runs = parsed.runs;
    if (
        !Array.isArray(runs) ||
        runs.some(
            (r) =>
                r?.conditions !== RUNTIME_CONDITIONS ||
                typeof r.program?.wallMs?.median !== "number" ||
                typeof r.baseline?.wallMs?.median !== "number",
        )
    ) {
        throw new Error(
            `${file} is not a bench result: every entry of "runs" needs conditions "${RUNTIME_CONDITIONS}" and program/baseline medians`,
        );
    }
    const results = parsed as BenchResults;
    return { ...results, targets: judge(results.runs) };
}

export function round(v: number, digits = 0): number {
    const f = 10 ** digits;
    return Math.round(v * f) / f;
}
