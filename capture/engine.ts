/**
 * The capture engine: evaluates the real `index.ts` under Pulumi's mock runtime, with a monitor
 * that records every `RegisterResourceRequest` (protect, retainOnDelete, dependencies, parent, and
 * secret markers per list element) and every invoke. It always runs in Node's own module system
 * (see `capture/index.ts`), so each capture evaluates the program afresh.
 */
import * as crypto from "crypto";
import * as path from "path";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import type {
    MockCallArgs,
    MockResourceArgs,
    MockResourceResult,
    Mocks,
} from "@pulumi/pulumi/runtime/mocks";
import * as pulumi from "@pulumi/pulumi";
import type { Capture, CapturedInvoke, CapturedResource, SecretValue } from "./types";

/** Overrides for what the mock provider answers; return undefined to keep the default. */
export interface MockHooks {
    newResource?(
        args: MockResourceArgs,
    ): Promise<MockResourceResult | undefined> | MockResourceResult | undefined;
    call?(
        args: MockCallArgs,
    ): Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined;
}

export interface EngineOptions {
    project: string;
    stack: string;
    /** Flat `namespace:key → string` config, as the CLI passes it. */
    config: Record<string, string>;
    secretKeys: string[];
    /** The program's entry file (`index.ts`, or `bin/index.js` when precompiled). */
    program: string;
    hooks?: MockHooks;
}

/** The sentinel the Pulumi wire format uses for special values (secrets, resource refs…). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * The mock monitor's requests are protobuf messages that the SDK types as `any`; this alias keeps
 * that in one place.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Pb = any;
type Callback = (err: Pb, response: Pb) => void;

interface Recorded {
    resources: CapturedResource[];
    invokes: CapturedInvoke[];
}

class RecordingMonitor extends MockMonitor {
    public readonly recorded: Recorded = { resources: [], invokes: [] };
    private readonly byUrn = new Map<string, CapturedResource>();

    constructor(mocks: Mocks) {
        super(mocks);
    }

    public async registerResource(req: Pb, callback: Callback): Promise<void> {
        const entry: CapturedResource = {
            urn: "",
            type: req.getType(),
            name: req.getName(),
            parent: null,
            parentUrn: req.getParent() || null,
            custom: req.getCustom(),
            provider: providerName(req.getProvider()),
            inputs: decode(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
            outputs: {},
            protect: Boolean(req.getProtect()),
            retainOnDelete: Boolean(req.getRetainondelete()),
            dependsOn: [],
            dependsOnUrns: dependencyUrns(req),
        };
        this.recorded.resources.push(entry);
        await super.registerResource(req, (err: Pb, response: Pb) => {
            if (!err && response) {
                entry.urn = response.getUrn();
                entry.outputs = decode(response.getObject()?.toJavaScript() ?? {}) as Record<
                    string,
                    unknown
                >;
                this.byUrn.set(entry.urn, entry);
            }
            callback(err, response);
        });
    }
    public async invoke(req: Pb, callback: Callback): Promise<void> {
        this.recorded.invokes.push({
            token: req.getTok(),
            args: decode(req.getArgs()?.toJavaScript() ?? {}) as Record<string, unknown>,
            provider: providerName(req.getProvider()),
        });
        return super.invoke(req, callback);
    }

    /** Resolves URNs to logical names once every registration has answered. */
    public finish(): Recorded {
        for (const r of this.recorded.resources) {
            r.parent = r.parentUrn
                ? (this.byUrn.get(r.parentUrn)?.name ?? nameOfUrn(r.parentUrn))
                : null;
            r.dependsOn = r.dependsOnUrns.map((u) => this.byUrn.get(u)?.name ?? nameOfUrn(u));
        }
        return this.recorded;
    }
}
function dependencyUrns(req: Pb): string[] {
    const urns = new Set<string>(req.getDependenciesList() as string[]);
    const propDeps = req.getPropertydependenciesMap();
    propDeps.forEach((deps: Pb) => {
        for (const u of deps.getUrnsList() as string[]) {
            urns.add(u);
        }
    });
    return [...urns].sort();
}

/** `urn:…::name::id` (a provider reference) → `name`. */
function providerName(ref: string): string | null {
    if (!ref) {
        return null;
    }
    const urn = ref.split("::").slice(0, -1).join("::");
    return nameOfUrn(urn);
}

function nameOfUrn(urn: string): string {
    return urn.split("::").pop() ?? urn;
}

/** Wire values → plain values, keeping a secret marker on exactly the values that are secret. */
function decode(v: unknown): unknown {
    if (Array.isArray(v)) {
        return v.map(decode);
    }
    if (typeof v === "object" && v !== null) {
        const obj = v as Record<string, unknown>;
        switch (obj[SIG_KEY]) {
            case SECRET_SIG:
                return { __secret: true, value: decode(obj.value) } satisfies SecretValue;
            case RESOURCE_SIG:
                return { resource: obj.urn };
            case OUTPUT_SIG: {
                const inner = obj.value === undefined ? UNKNOWN : decode(obj.value);
                return obj.secret === true
                    ? ({ __secret: true, value: inner } satisfies SecretValue)
                    : inner;
            }
            default:
                return Object.fromEntries(Object.entries(obj).map(([k, x]) => [k, decode(x)]));
        }
    }
    return v;
}

const sha = (text: string): string => crypto.createHash("sha256").update(text).digest("hex");

/** What a provider would compute: names of volumes and networks, image digests, ids. */
export function defaultOutputs(args: MockResourceArgs): MockResourceResult {
    const inputs = args.inputs as Record<string, unknown>;
    const id = `${args.name}-id`;
    switch (args.type) {
        case "docker:index/image:Image": {
            const imageName = String(inputs.imageName ?? "");
            const repo = imageName.replace(/:[^/:]+$/, "");
            const pushed = inputs.skipPush !== true;
            return {
                id,
                state: {
                    ...inputs,
                    repoDigest: pushed ? `${repo}@sha256:${sha(JSON.stringify(inputs))}` : "",
                    baseImageName: imageName,
                    registryServer: imageName.split("/")[0],
                },
            };
        }
        case "docker:index/remoteImage:RemoteImage": {
            const name = String(inputs.name ?? "");
            return {
                id,
                state: {
                    ...inputs,
                    imageId: `sha256:${sha(name)}`,
                    repoDigest: name.includes("@") ? name.replace(/:[^/:@]+@/, "@") : "",
                },
            };
        }
        case "docker:index/volume:Volume":
            return {
                id,
                state: {
                    ...inputs,
                    name: inputs.name ?? args.name,
                    mountpoint: `/var/lib/docker/volumes/${String(inputs.name ?? args.name)}/_data`,
                },
            };
        case "docker:index/network:Network":
            return { id, state: { ...inputs, name: inputs.name ?? args.name } };
        default:
            return { id, state: { ...inputs, name: inputs.name ?? args.name } };
    }
}

export function defaultCall(args: MockCallArgs): Record<string, unknown> {
    if (args.token === "docker:index/getRegistryImage:getRegistryImage") {
        const name = String((args.inputs as Record<string, unknown>).name);
        return { id: name, name, sha256Digest: `sha256:${sha(name)}` };
    }
    return {};
}

/**
 * Evaluates the program once and returns what it declared. Throws what the program throws.
 *
 * The SDK formats a stack trace for every promise it tracks (several per resource property, kept
 * for `PULUMI_DEBUG_PROMISE_LEAKS`); at hundreds of services that was half the CPU of a capture. So
 * the program runs with `Error.stackTraceLimit = 0` (the SDK's own source positions raise the limit
 * themselves) until it has declared everything. If it fails without a stack trace, it is evaluated
 * once more with stack traces, only so the error shows where it came from.
 */
export async function runCapture(opts: EngineOptions): Promise<Capture> {
    const fast = !process.env.PULUMI_DEBUG_PROMISE_LEAKS;
    try {
        return await evaluateOnce(opts, fast);
    } catch (err) {
        const configError = Array.isArray((err as { errors?: unknown }).errors);
        const traced = err instanceof Error && /\n\s+at /.test(err.stack ?? "");
        if (!fast || configError || traced) {
            throw err;
        }
        await evaluateOnce(opts, false);
        throw err;
    }
}

async function evaluateOnce(opts: EngineOptions, fast: boolean): Promise<Capture> {
    const hooks = opts.hooks ?? {};
    // A hook that throws would fail a registration the SDK never reports back, and the capture
    // would wait forever: keep going with the default answer and reject at the end instead.
    const hookErrors: unknown[] = [];
    const guarded = async <T>(answer: () => Promise<T | undefined> | T | undefined) => {
        try {
            return await answer();
        } catch (err) {
            hookErrors.push(err);
            return undefined;
        }
    };
    const mocks: Mocks = {
        newResource: async (args) =>
            (await guarded(() => hooks.newResource?.(args))) ?? defaultOutputs(args),
        call: async (args) => (await guarded(() => hooks.call?.(args))) ?? defaultCall(args),
    };
    const monitor = new RecordingMonitor(mocks);
    installMonitor(monitor, opts.project, opts.stack);
    pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);

    const warnings: string[] = [];
    const program = path.resolve(opts.program);
    forgetProjectModules(path.dirname(program));
    const exports = await declare(program, fast);
    const outputs = await resolveOutputs(exports);
    await runtimeSettings.waitForRPCs();
    if (hookErrors.length > 0) {
        throw hookErrors[0];
    }
    const recorded = monitor.finish();
    return {
        stack: opts.stack,
        resources: recorded.resources,
        invokes: recorded.invokes,
        outputs,
        warnings,
    };
}

/**
 * Runs the program as Pulumi's Node.js runtime does: loads the module and, when it exports a
 * function (as `index.ts` does), awaits what that returns; the result is the stack outputs. `fast`
 * skips stack traces meanwhile.
 */
async function declare(program: string, fast: boolean): Promise<Record<string, unknown>> {
    const saved = Error.stackTraceLimit;
    if (fast) {
        Error.stackTraceLimit = 0;
    }
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const loaded = require(program) as unknown;
        const outputs = loaded instanceof Function ? ((await loaded()) as unknown) : loaded;
        return (outputs ?? {}) as Record<string, unknown>;
    } finally {
        Error.stackTraceLimit = saved;
    }
}

/** `setMockOptions` resets the runtime's feature flags: set them as `setMocks` does. */
function installMonitor(monitor: RecordingMonitor, project: string, stack: string): void {
    runtimeSettings.setMockOptions(monitor, project, stack, false);
    const store = runtimeState.getStore();
    store.supportsSecrets = true;
    store.supportsResourceReferences = true;
    store.supportsOutputValues = false;
    store.supportsDeletedWith = true;
    store.supportsAliasSpecs = true;
    store.supportsTransforms = false;
}

// Runtime internals that `setMocks` uses but the SDK does not type publicly.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeSettings = require("@pulumi/pulumi/runtime/settings") as SettingsModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeState = require("@pulumi/pulumi/runtime/state") as {
    getStore(): Record<string, unknown>;
};

interface SettingsModule {
    setMockOptions(monitor: unknown, project: string, stack: string, preview: boolean): void;
    waitForRPCs(): Promise<void>;
}

/** Drops the program's own modules (not node_modules, not the capture) from Node's cache. */
function forgetProjectModules(root: string): void {
    const keep = path.join(__dirname, path.sep);
    for (const file of Object.keys(require.cache)) {
        if (
            file.startsWith(root + path.sep) &&
            !file.includes(`${path.sep}node_modules${path.sep}`) &&
            !file.startsWith(keep)
        ) {
            delete require.cache[file];
        }
    }
}

async function resolveOutputs(exports: Record<string, unknown>): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(exports)) {
        if (key === "__esModule") {
            continue;
        }
        out[key] = await resolveValue(value);
    }
    return out;
}

async function resolveValue(value: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        const [inner, secret] = await new Promise<[unknown, boolean]>((resolve) => {
            const o = value as pulumi.Output<unknown>;
            pulumi.all([o, pulumi.isSecret(o)]).apply(([v, s]) => resolve([v, s]));
        });
        const resolved = await resolveValue(inner);
        return secret ? ({ __secret: true, value: resolved } satisfies SecretValue) : resolved;
    }
    if (Array.isArray(value)) {
        return Promise.all(value.map(resolveValue));
    }
    if (typeof value === "object" && value !== null && !pulumi.Resource.isInstance(value)) {
        const entries = await Promise.all(
            Object.entries(value).map(async ([k, v]) => [k, await resolveValue(v)] as const),
        );
        return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
    }
    return value;
}
