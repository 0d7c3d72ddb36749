/**
 * `npm run bench [-- --runs 3 --sizes 1,10,100,500 --out FILE --check]`: what one preview of the
 * program costs and how it grows with the number of services, against a flat baseline declaring
 * the same Docker resources.
 *
 * - Headline (`pulumi-runtime`): the program and the baseline each run as `pulumi preview` runs
 *   them: a fresh node process on `@pulumi/pulumi/cmd/run` with `Pulumi.yaml`'s runtime options,
 *   `source-map-support` and the SDK's stack traces, talking gRPC to a stand-in engine
 *   (`runtimeHost.ts`).
 * - `captureOnly`: the same sizes under the capture `npm run plan` uses (mock runtime, stack
 *   traces off while declaring, precompiled JavaScript). Kept apart and labelled: not what a
 *   preview pays.
 * - Startup: the dev stack under `cmd/run`, loaded type-checked, transpile-only or precompiled.
 *
 * Min, median and max of every figure. Results go to a new file in the system's temporary folder
 * unless `--out` names one. `--check` exits 1 when a target is missed; `--from FILE` judges a
 * saved result again without measuring. Exit 1 also if a generated config is invalid, the compile
 * fails, or a run does not declare what it should; exit 2 on a usage error (`tools/cli.ts`).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { captureStack, stackFileConfig } from "../capture";
import { PROJECT } from "../config/schema";
import { CliSpec, CommandError, exitWith, ParsedCli, runCli, UsageError } from "../tools/cli";
import { BENCH_STACK, checkGenerated, generateConfig } from "./generate";
import {
    BenchResults,
    CAPTURE_CONDITIONS,
    describe,
    growth,
    judge,
    Measured,
    parseResults,
    round,
    RUNTIME_CONDITIONS,
    SizeResult,
    spread,
    StartupResult,
    vsBaseline,
} from "./report";
import { RuntimeRunResult, runtimeSetup, RuntimeSetup, runUnderRuntime } from "./runtimeHost";
import type { EvalSpec, WorkerResult } from "./worker";

const ROOT = path.resolve(__dirname, "..");
const BASELINE = path.join(__dirname, "baseline.ts");
const DEFAULT_SIZES = [1, 10, 100, 500];
/** Three runs give min, median and max; a 500-service preview takes about a minute. */
const DEFAULT_RUNS = 3;
const PARTS = ["runtime", "capture", "startup"] as const;
type Part = (typeof PARTS)[number];

const CAPTURE_DESCRIPTION =
    "captureStack under Pulumi's mock runtime, Error.stackTraceLimit = 0 while the program declares, no source-map-support, precompiled JavaScript";

const OPTIONS = {
    runs: { type: "string" },
    sizes: { type: "string" },
    out: { type: "string" },
    check: { type: "boolean" },
    parts: { type: "string" },
    from: { type: "string" },
    "cpu-prof": { type: "string" },
} as const;

const CLI: CliSpec<typeof OPTIONS> = {
    name: "bench",
    usage: [
        "usage: npm run bench -- [--runs N] [--sizes 1,10,100,500] [--parts runtime,capture,startup]",
        "                        [--out FILE] [--check] [--cpu-prof DIR]",
        "       npm run bench -- --from FILE [--check]",
        "  --out FILE      where to write results.json (default: a new file in the temporary folder)",
        "  --check         exit 1 if a target is missed",
        "  --from FILE     judge a saved result again, without measuring",
        "  --cpu-prof DIR  write a CPU profile of every pulumi-runtime run to DIR",
    ].join("\n"),
    options: OPTIONS,
};

export function main(argv: string[]): Promise<number> {
    return runCli(CLI, argv, async ({ values }) => {
        let results: BenchResults;
        if (values.from !== undefined) {
            const extra = (["runs", "sizes", "out", "parts", "cpu-prof"] as const).filter(
                (k) => values[k] !== undefined,
            );
            if (extra.length > 0) {
                throw new UsageError(
                    `--from judges a saved result; ${extra.map((k) => `--${k}`).join(", ")} cannot be used with it`,
                );
            }
            const file = path.resolve(values.from);
            results = parseResults(readText(file), file);
            console.log(describe(results));
        } else {
            results = await bench(benchOptions(values));
        }
        const missed = results.targets.filter((t) => !t.ok);
        if (values.check === true && missed.length > 0) {
            console.log(`\n--check: ${missed.length} target(s) missed`);
            return 1;
        }
        return 0;
    });
}

interface BenchOptions {
    runs: number;
    sizes: number[];
    out: string;
    parts: Set<Part>;
    cpuProf?: string;
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
    const parts = (values.parts ?? PARTS.join(",")).split(",");
    const unknown = parts.filter((p) => !(PARTS as readonly string[]).includes(p));
    if (unknown.length > 0 || parts.length === 0) {
        throw new UsageError(
            `--parts must be some of ${PARTS.join(", ")}, got ${JSON.stringify(values.parts)}`,
        );
    }
    return {
        runs: Number(runs),
        sizes: sizes.split(",").map(Number),
        out: path.resolve(values.out ?? defaultResultsFile()),
        parts: new Set(parts as Part[]),
        cpuProf: values["cpu-prof"] === undefined ? undefined : path.resolve(values["cpu-prof"]),
    };
}

/** Outside the checkout: a bench run never changes the tree unless `--out` asks it to. */
function defaultResultsFile(): string {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    return path.join(os.tmpdir(), `msa-bench-${stamp}-${process.pid}.json`);
}

function readText(file: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new CommandError(`cannot read ${file}: ${(e as Error).message}`);
    }
}

async function bench(opts: BenchOptions): Promise<BenchResults> {
    const started = Date.now();
    const machine = describeMachine();
    const loadAtStart = loadAverage();
    console.log(`machine: ${machine}`);
    console.log(`load average at start: ${loadAtStart.join(" ")} (other work shares these cores)`);

    const work = fs.mkdtempSync(path.join(os.tmpdir(), "msa-bench-"));
    try {
        const configs = writeConfigs(work, opts.sizes);
        const runs: SizeResult[] = [];
        if (opts.parts.has("runtime")) {
            const setup = runtimeSetup(ROOT);
            console.log(`\n${RUNTIME_CONDITIONS}: node ${describeSetup(setup)}`);
            for (const c of configs) {
                runs.push(await measureRuntime(c, opts, setup, work));
            }
        }
        const needsBuild = opts.parts.has("capture") || opts.parts.has("startup");
        const out = needsBuild ? compile(work) : undefined;
        let captureOnly: BenchResults["captureOnly"];
        if (out !== undefined && opts.parts.has("capture")) {
            console.log(`\n${CAPTURE_CONDITIONS}: ${CAPTURE_DESCRIPTION}`);
            await checkCompiledMatchesSource(out, configs[Math.min(1, configs.length - 1)]?.file);
            captureOnly = {
                conditions: CAPTURE_CONDITIONS,
                description: CAPTURE_DESCRIPTION,
                runs: configs.map((c) => measureCapture(c, opts.runs, out)),
            };
        }
        const startup =
            out !== undefined && opts.parts.has("startup")
                ? await measureStartup(opts.runs, out, work)
                : undefined;

        const results: BenchResults = {
            machine,
            loadAverage: { start: loadAtStart, end: loadAverage() },
            runsPerSize: opts.runs,
            runs,
            growthPer10x: growth(runs),
            ...(captureOnly === undefined ? {} : { captureOnly }),
            ...(startup === undefined ? {} : { startup }),
            targets: judge(runs),
        };
        console.log(`\n${describe(results)}`);
        fs.mkdirSync(path.dirname(opts.out), { recursive: true });
        fs.writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
        console.log(`\nwrote ${opts.out} in ${round((Date.now() - started) / 1000)} s`);
        return results;
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}

function describeMachine(): string {
    const cpus = os.cpus();
    const model = cpus[0]?.model.trim() ?? "unknown CPU";
    const memGb = Math.round(os.totalmem() / 1024 ** 3);
    return `${model}, ${cpus.length} cores, ${memGb} GB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

const loadAverage = () => os.loadavg().map((l) => round(l, 2));

function describeSetup(setup: RuntimeSetup): string {
    return [
        ...setup.nodeArgs,
        "@pulumi/pulumi/cmd/run",
        setup.typescript ? "(PULUMI_NODEJS_TYPESCRIPT=true)" : "(typescript: false)",
        setup.main ?? ".",
    ].join(" ");
}

interface SizeConfig {
    services: number;
    file: string;
    config: Record<string, unknown>;
}

/** Generates and validates each size's config; an invalid one stops the bench. */
function writeConfigs(work: string, sizes: number[]): SizeConfig[] {
    const configs = sizes.map((n) => {
        const config = generateConfig(n);
        checkGenerated(n, config, ROOT);
        const file = path.join(work, `config-${n}.json`);
        fs.writeFileSync(file, JSON.stringify(config));
        return { services: n, file, config };
    });
    console.log(`generated and validated configs for ${sizes.join(", ")} services`);
    return configs;
}

/**
 * The program and the baseline under `cmd/run`, alternating so background load hits both alike.
 * The baseline is loaded the way the program is (same `Pulumi.yaml` runtime options), and must
 * declare the same Docker resources.
 */
async function measureRuntime(
    c: SizeConfig,
    opts: BenchOptions,
    setup: RuntimeSetup,
    work: string,
): Promise<SizeResult> {
    if (setup.main !== undefined || (!setup.typescript && !loadsTypeScript(setup.nodeArgs))) {
        throw new CommandError(
            "Pulumi.yaml runs precompiled JavaScript: the runtime part loads bench/baseline.ts the way the program is loaded, so it needs the TypeScript setup (update bench/run.ts for a precompiled one)",
        );
    }
    const files = stackFileConfig({ stack: BENCH_STACK, config: c.config, root: ROOT });
    const run = (program: string | undefined) =>
        runUnderRuntime({
            root: ROOT,
            project: PROJECT,
            stack: BENCH_STACK,
            config: files.values,
            secretKeys: files.secretKeys,
            program,
            setup,
            workDir: work,
            extraNodeArgs:
                opts.cpuProf === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProf}`],
        });
    const n = c.services;
    const ours: RuntimeRunResult[] = [];
    const flat: RuntimeRunResult[] = [];
    for (let i = 0; i < opts.runs; i++) {
        ours.push(expect(await run(undefined), `index.ts with ${n} services`, 8 + 3 * n, n));
        flat.push(expect(await run(BASELINE), `baseline with ${n} services`, 5 + 2 * n, 0));
        if (i === 0) {
            sameDockerResources(n, ours[0]?.types ?? {}, flat[0]?.types ?? {});
        }
    }
    return sizeResult(n, RUNTIME_CONDITIONS, ours, flat, {
        configBytes: ours[0]?.configBytes ?? 0,
        pulumiCanStart: ours.every((r) => r.pulumiCanStart),
    });
}

function loadsTypeScript(nodeArgs: string[]): boolean {
    return nodeArgs.some((a) => /ts-node|tsx|@swc-node|esbuild-register/.test(a));
}

/** What makes the ratio meaningful: both declare the same Docker resources, type for type. */
function sameDockerResources(
    n: number,
    ours: Record<string, number>,
    flat: Record<string, number>,
): void {
    const docker = (t: Record<string, number>) =>
        JSON.stringify(
            Object.entries(t)
                .filter(([type]) => !type.startsWith("msa:"))
                .sort(([a], [b]) => a.localeCompare(b)),
        );
    if (docker(ours) !== docker(flat)) {
        throw new CommandError(
            `with ${n} services the baseline declares other Docker resources than index.ts: ${docker(flat)} vs ${docker(ours)}`,
        );
    }
}

/** What one run reports, whichever way it was measured. */
interface Sample {
    wallMs: number;
    cpuMs: number;
    peakRssMb: number;
    resources: number;
    invokes: number;
    rpcs?: Record<string, number>;
    logTail?: { logs: number; ms: number };
}

function sizeResult(
    n: number,
    conditions: string,
    ours: Sample[],
    flat: Sample[],
    config: Pick<SizeResult, "configBytes" | "pulumiCanStart"> = {},
): SizeResult {
    const measured = (list: Sample[]): Measured => ({
        wallMs: spread(list.map((r) => r.wallMs)),
        cpuMs: spread(list.map((r) => r.cpuMs)),
        peakRssMb: spread(list.map((r) => r.peakRssMb)),
        resources: list[0]?.resources ?? 0,
        invokes: list[0]?.invokes ?? 0,
        ...(list[0]?.rpcs === undefined ? {} : { rpcs: list[0].rpcs }),
        ...(list.length > 0 && list.every((r) => r.logTail !== undefined)
            ? {
                  logTail: {
                      logs: spread(list.map((r) => r.logTail?.logs ?? 0)),
                      ms: spread(list.map((r) => r.logTail?.ms ?? 0)),
                  },
              }
            : {}),
    });
    const program = measured(ours);
    const baseline = measured(flat);
    const result: SizeResult = {
        services: n,
        conditions,
        ...config,
        program,
        baseline,
        vsBaseline: vsBaseline(program, baseline),
        loadAverage: loadAverage()[0] ?? NaN,
    };
    console.log(
        `${String(n).padStart(4)} services (${conditions}): ${program.wallMs.median} ms wall (${program.wallMs.min}–${program.wallMs.max}), ${program.cpuMs.median} ms CPU, ${program.peakRssMb.median} MB; baseline ${baseline.wallMs.median} ms (${baseline.wallMs.min}–${baseline.wallMs.max}), ${baseline.cpuMs.median} ms CPU, ${baseline.peakRssMb.median} MB; ${result.vsBaseline.wall}x wall; load ${result.loadAverage}${config.pulumiCanStart === false ? `; PULUMI_CONFIG is ${config.configBytes} bytes: pulumi preview could not start this program (measured with the config from a file)` : ""}`,
    );
    return result;
}

/**
 * Ours: the provider, the network and database components with their 4 resources, then per
 * service two components (the service and its registry image), an image and a container, and one
 * digest lookup. Baseline: provider, network, DB image, volume and container, then an image and a
 * container per service. The stack resource itself is not counted.
 */
function expect<T extends { resources: number; invokes: number }>(
    r: T,
    what: string,
    resources: number,
    invokes: number,
): T {
    if (r.resources !== resources || r.invokes !== invokes) {
        throw new CommandError(
            `${what} declared ${r.resources} resources and ${r.invokes} invokes, expected ${resources} and ${invokes}`,
        );
    }
    return r;
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
    // One folder up from where tsc put it: its relative imports (`../lib/…`) move with it.
    const baseline = fs.readFileSync(path.join(out, "bench", "baseline.js"), "utf8");
    fs.writeFileSync(
        path.join(out, "baseline.js"),
        baseline.replace(/require\("\.\.\//g, 'require("./'),
    );
    console.log(`\ncompiled to JavaScript in ${Date.now() - t0} ms`);
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
    // A component and its child may share a name (a service and its registry image): key by type.
    const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
    const byKey = new Map(compiled.map((r) => [key(r), r]));
    const differences: string[] = [];
    if (compiled.length !== source.resources.length) {
        differences.push(
            `${compiled.length} resources, index.ts declares ${source.resources.length}`,
        );
    }
    for (const r of source.resources) {
        const other = byKey.get(key(r));
        if (other === undefined) {
            differences.push(`${key(r)} is missing`);
            continue;
        }
        differences.push(...diff(key(r), r.inputs, other.inputs));
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

/** Capture-only evaluations run the worker compiled next to the program. */
function runEval(spec: EvalSpec): WorkerResult {
    const worker = path.join(path.dirname(spec.program), "bench", "worker.js");
    const env = { ...process.env };
    // The bench itself runs under ts-node: keep its settings away from the measured processes.
    for (const key of Object.keys(env)) {
        if (key.startsWith("TS_NODE_")) {
            delete env[key];
        }
    }
    const r = spawnSync(process.execPath, [worker, JSON.stringify(spec)], {
        cwd: ROOT,
        encoding: "utf8",
        env,
        maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) {
        throw new CommandError(
            `capture-only evaluation failed (${path.basename(spec.program)} on ${path.basename(spec.configFile)}), exit ${r.status}:\n${r.stderr}`,
        );
    }
    const line = r.stdout.trim().split("\n").pop() ?? "";
    return JSON.parse(line) as WorkerResult;
}

function measureCapture(c: SizeConfig, runs: number, out: string): SizeResult {
    const n = c.services;
    const ours: WorkerResult[] = [];
    const flat: WorkerResult[] = [];
    const spec = (program: string): EvalSpec => ({
        kind: "eval",
        program: path.join(out, program),
        root: ROOT,
        stack: BENCH_STACK,
        configFile: c.file,
    });
    for (let i = 0; i < runs; i++) {
        ours.push(expect(runEval(spec("index.js")), `index.ts with ${n} services`, 8 + 3 * n, n));
        flat.push(
            expect(runEval(spec("baseline.js")), `baseline with ${n} services`, 5 + 2 * n, 0),
        );
    }
    return sizeResult(n, CAPTURE_CONDITIONS, ours, flat);
}

/**
 * The dev stack under `cmd/run`, loaded three ways: Pulumi's default (`typescript: true`, its own
 * type-checking ts-node), `Pulumi.yaml`'s setup, and precompiled JavaScript (`main` on the
 * compiled program, no TypeScript hook).
 */
async function measureStartup(runs: number, out: string, work: string): Promise<StartupResult[]> {
    const files = stackFileConfig({ stack: "dev", root: ROOT });
    // What the dev stack declares, as the capture sees it: every setup must declare the same.
    const expected = await captureStack({ stack: "dev" });
    const chosen = runtimeSetup(ROOT);
    const setups: { setup: string; runtime: RuntimeSetup; program?: string }[] = [
        {
            setup: "ts-node, type-checking (Pulumi's default, typescript: true)",
            runtime: { nodeArgs: [], typescript: true, tsconfig: chosen.tsconfig },
        },
        { setup: `Pulumi.yaml's setup: node ${describeSetup(chosen)}`, runtime: chosen },
        {
            setup: "precompiled JavaScript (tsc, then main: bin/index.js, typescript: false)",
            runtime: { nodeArgs: [], typescript: false },
            program: path.join(out, "index.js"),
        },
    ];
    const samples = setups.map(() => [] as RuntimeRunResult[]);
    for (let i = 0; i < runs; i++) {
        for (const [j, s] of setups.entries()) {
            const r = await runUnderRuntime({
                root: ROOT,
                project: PROJECT,
                stack: "dev",
                config: files.values,
                secretKeys: files.secretKeys,
                program: s.program,
                setup: s.runtime,
                workDir: work,
            });
            samples[j]?.push(
                expect(
                    r,
                    `dev stack (${s.setup})`,
                    expected.resources.length,
                    expected.invokes.length,
                ),
            );
        }
    }
    return setups.map((s, j) => {
        const list = samples[j] ?? [];
        return {
            setup: s.setup,
            wallMs: spread(list.map((r) => r.wallMs)),
            cpuMs: spread(list.map((r) => r.cpuMs)),
            peakRssMb: spread(list.map((r) => r.peakRssMb)),
        };
    });
}

if (require.main === module) {
    exitWith(main(process.argv.slice(2)));
}
