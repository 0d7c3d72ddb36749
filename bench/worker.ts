/**
 * One measured evaluation in a fresh process: `node <out>/bench/worker.js '<spec JSON>'`, where
 * `<out>` is the bench's compiled copy of the project (see `bench/run.ts`). It prints one JSON line:
 * wall time since the process started, CPU time of the whole process, peak RSS, and what the
 * evaluation declared (so the runner can check it).
 *
 * - `eval`: `captureStack` (the capture `npm run plan` uses) on a generated config, for the
 *   precompiled program or the flat baseline.
 * - `startup`: the dev stack, loaded the way Pulumi's Node.js runtime loads a program: ts-node with
 *   type-checking (its default), ts-node transpile-only, or precompiled JavaScript.
 */
import * as fs from "fs";
import * as path from "path";
import { captureStack, stackFileConfig } from "../capture";
import { runCapture } from "../capture/engine";
import { PROJECT } from "../config/schema";
import type { Capture } from "../capture";

export type StartupMode = "typecheck" | "transpile" | "js";

export interface EvalSpec {
    kind: "eval";
    /** Precompiled program entry (`<out>/index.js` or the baseline next to it). */
    program: string;
    /** Folder with `Pulumi.yaml` (the checkout). */
    root: string;
    stack: string;
    /** JSON file holding the generated `msa:key → value` config. */
    configFile: string;
    /** Where to write the captured resources, for the runner's equivalence check. */
    dumpFile?: string;
}

export interface StartupSpec {
    kind: "startup";
    mode: StartupMode;
    /** `index.ts` of the checkout for the ts-node modes, `<out>/index.js` for `js`. */
    program: string;
    root: string;
    stack: string;
}

export type WorkerSpec = EvalSpec | StartupSpec;

export interface WorkerResult {
    /** Since the process started (node's time origin) until the evaluation finished. */
    wallMs: number;
    /** The evaluation call alone (program load included: the capture loads it). */
    evalMs: number;
    /** User + system CPU of the whole process. */
    cpuMs: number;
    peakRssMb: number;
    resources: number;
    invokes: number;
    types: Record<string, number>;
}

async function main(): Promise<void> {
    const spec = JSON.parse(process.argv[2] ?? "") as WorkerSpec;
    const started = performance.now();
    const capture = spec.kind === "eval" ? await evaluate(spec) : await startup(spec);
    const evalMs = performance.now() - started;
    const wallMs = performance.now();
    const cpu = process.cpuUsage();
    const result: WorkerResult = {
        wallMs,
        evalMs,
        cpuMs: (cpu.user + cpu.system) / 1000,
        // maxRSS is in kilobytes.
        peakRssMb: process.resourceUsage().maxRSS / 1024,
        resources: capture.resources.length,
        invokes: capture.invokes.length,
        types: countTypes(capture),
    };
    if (spec.kind === "eval" && spec.dumpFile !== undefined) {
        fs.writeFileSync(spec.dumpFile, JSON.stringify(capture.resources));
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
}

function evaluate(spec: EvalSpec): Promise<Capture> {
    const config = JSON.parse(fs.readFileSync(spec.configFile, "utf8")) as Record<string, unknown>;
    return captureStack({ stack: spec.stack, config, program: spec.program, root: spec.root });
}

/**
 * Loads the program as the chosen setup does, then evaluates it with the capture engine directly
 * (`captureStack` would register its own transpile-only ts-node):
 * - `typecheck`: registers ts-node with the options `@pulumi/pulumi/cmd/run` uses by default (the
 *   project's ts-node and typescript, its tsconfig, type-checking);
 * - `transpile`: the hook comes from node's own arguments (`--require
 *   ts-node/register/transpile-only`), as `Pulumi.yaml`'s `nodeargs` gives it;
 * - `js`: plain node on the compiled program.
 */
function startup(spec: StartupSpec): Promise<Capture> {
    if (spec.mode === "transpile" && require.extensions[".ts"] === undefined) {
        throw new Error(
            "startup mode transpile needs node --require ts-node/register/transpile-only",
        );
    }
    if (spec.mode === "typecheck") {
        const tsconfig = path.join(spec.root, "tsconfig.json");
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const ts = require("typescript") as typeof import("typescript");
        const parsed = ts.parseConfigFileTextToJson(tsconfig, fs.readFileSync(tsconfig, "utf8"));
        const own = (parsed.config as { compilerOptions?: object }).compilerOptions ?? {};
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        (require("ts-node") as typeof import("ts-node")).register({
            compiler: "typescript",
            transpileOnly: false,
            project: tsconfig,
            skipProject: false,
            compilerOptions: {
                target: "ES2020",
                module: "nodenext",
                moduleResolution: "nodenext",
                sourceMap: "true",
                ...own,
            },
        });
    }
    const files = stackFileConfig({ stack: spec.stack, root: spec.root });
    return runCapture({
        project: PROJECT,
        stack: spec.stack,
        config: files.values,
        secretKeys: files.secretKeys,
        program: spec.program,
        preview: true,
    });
}

function countTypes(capture: Capture): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of capture.resources) {
        counts[r.type] = (counts[r.type] ?? 0) + 1;
    }
    return counts;
}

main().catch((err: unknown) => {
    const errors = (err as { errors?: unknown }).errors;
    process.stderr.write(
        `${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n${
            Array.isArray(errors) ? `  - ${errors.join("\n  - ")}\n` : ""
        }`,
    );
    process.exit(1);
});
