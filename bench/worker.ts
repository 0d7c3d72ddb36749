/**
 * One capture-only evaluation in a fresh process: `node <out>/bench/worker.js '<spec JSON>'`, where
 * `<out>` is the bench's compiled copy of the project (see `bench/run.ts`). It prints one JSON line:
 * wall time since the process started, CPU time of the whole process, peak RSS, and what the
 * evaluation declared (so the runner can check it).
 *
 * This is `captureStack` (the capture `npm run plan` uses) on a generated config, for the
 * precompiled program or the flat baseline: Pulumi's mock runtime, `Error.stackTraceLimit = 0`
 * while the program declares, no `source-map-support`. The bench reports it apart from the
 * headline (`captureOnly` in results.json); what a preview pays is measured by `runtimeHost.ts`.
 */
import * as fs from "fs";
import { captureStack } from "../capture";
import type { Capture } from "../capture";

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
    const spec = JSON.parse(process.argv[2] ?? "") as EvalSpec;
    const started = performance.now();
    const capture = await evaluate(spec);
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
    if (spec.dumpFile !== undefined) {
        fs.writeFileSync(spec.dumpFile, JSON.stringify(capture.resources));
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
}

function evaluate(spec: EvalSpec): Promise<Capture> {
    const config = JSON.parse(fs.readFileSync(spec.configFile, "utf8")) as Record<string, unknown>;
    return captureStack({ stack: spec.stack, config, program: spec.program, root: spec.root });
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
