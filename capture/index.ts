/**
 * One capture of what the program declares, shared by the offline plan, the policy check, the e2e
 * driver and the bench. Reads the stack's config from its files (or takes it), evaluates the real
 * `index.ts` under the mock runtime and returns the declared resources.
 *
 * The engine is loaded through Node's own `require`, never a test runner's module registry, so
 * every capture evaluates the program afresh in one process (Jest's registry cannot forget a
 * module). Captures run one at a time: the Pulumi runtime is process-global.
 */
import Module from "module";
import * as path from "path";
import {
    flattenStackConfig,
    projectDefaults,
    projectRoot,
    readStackFile,
    StackFileConfig,
} from "../config/stackFiles";
import { PROJECT } from "../config/schema";
import type { EngineOptions, MockHooks } from "./engine";
import { Capture, CaptureConfigError } from "./types";

export * from "./types";
export type { MockHooks } from "./engine";

export interface CaptureOptions {
    stack: string;
    /** Config to use instead of `Pulumi.<stack>.yaml` (project defaults still apply first). */
    config?: Record<string, unknown>;
    /**
     * Secret values, keyed `msa:key`, as the CLI hands them over once decrypted: the program sees
     * them as secrets (what a `secure:` stack-file value becomes under `pulumi up`).
     */
    secrets?: Record<string, unknown>;
    /** Answers of the mock provider to override (the e2e driver resolves real digests). */
    hooks?: MockHooks;
    /**
     * Evaluate as `pulumi preview` does (default true): digests, ids and whatever else only the
     * engine knows are `UnknownValue`s. Set false only when `hooks` answer every such value the
     * program reads; a default answer left unknown then reads as undefined.
     */
    preview?: boolean;
    /** Folder holding `Pulumi.yaml` and the stack files. Default: this checkout. */
    root?: string;
    /** Program entry. Default: this checkout's `index.ts`; the bench passes precompiled JavaScript. */
    program?: string;
}

type Engine = { runCapture(opts: EngineOptions): Promise<Capture> };

const nodeRequire = nodeOwnRequire();
let queue: Promise<unknown> = Promise.resolve();

export function stackFileConfig(
    opts: Pick<CaptureOptions, "stack" | "config" | "root" | "secrets">,
): StackFileConfig {
    const root = opts.root ?? projectRoot();
    if (opts.config === undefined) {
        return readStackFile(opts.stack, root, opts.secrets);
    }
    return flattenStackConfig(
        opts.stack,
        { ...projectDefaults(root), ...opts.config },
        opts.secrets,
    );
}

/** Declares the stack under the mock runtime. Throws `CaptureConfigError` for invalid config. */
export function captureStack(opts: CaptureOptions): Promise<Capture> {
    const run = queue.then(() => captureNow(opts));
    queue = run.catch(() => undefined);
    return run;
}

async function captureNow(opts: CaptureOptions): Promise<Capture> {
    const files = stackFileConfig(opts);
    const program = opts.program ?? path.join(projectRoot(), "index.ts");
    const engine = loadEngine(program);
    let capture: Capture;
    try {
        capture = await engine.runCapture({
            project: PROJECT,
            stack: opts.stack,
            config: files.values,
            secretKeys: files.secretKeys,
            program,
            hooks: opts.hooks,
            preview: opts.preview ?? true,
        });
    } catch (err) {
        const errors = (err as { errors?: unknown }).errors;
        if (Array.isArray(errors) && errors.every((e) => typeof e === "string")) {
            throw new CaptureConfigError(opts.stack, errors as string[]);
        }
        throw err;
    }
    capture.warnings.push(
        ...files.missingSecrets.map(
            (k) =>
                `${k} is not set in Pulumi.${opts.stack}.yaml; a placeholder secret was used (pulumi config set --secret ${k})`,
        ),
    );
    return capture;
}

/**
 * A `require` served by Node's own module system. `createRequire` will not do: Jest replaces it
 * with its registry's, while a `Module` instance still loads through Node.
 */
function nodeOwnRequire(): NodeJS.Require {
    const NodeModule = Module as unknown as {
        new (id: string): Module;
        _nodeModulePaths(dir: string): string[];
        _extensions: Record<string, unknown>;
    };
    const owner = new NodeModule(__filename);
    owner.filename = __filename;
    owner.paths = NodeModule._nodeModulePaths(__dirname);
    const load = ((id: string) => owner.require(id)) as NodeJS.Require;
    load.extensions = NodeModule._extensions as NodeJS.RequireExtensions;
    return load;
}

/** The engine next to the program: TypeScript through ts-node, or the precompiled JavaScript. */
function loadEngine(program: string): Engine {
    const typescript = program.endsWith(".ts");
    if (typescript && nodeRequire.extensions[".ts"] === undefined) {
        (nodeRequire("ts-node") as typeof import("ts-node")).register({
            transpileOnly: true,
            project: path.join(projectRoot(), "tsconfig.json"),
        });
    }
    const engine = typescript
        ? path.join(__dirname, "engine.ts")
        : path.join(path.dirname(program), "capture", "engine.js");
    return nodeRequire(engine) as Engine;
}
