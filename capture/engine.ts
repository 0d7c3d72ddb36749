/**
 * The capture engine: evaluates the real `index.ts` under Pulumi's mock runtime, with a monitor
 * that records every `RegisterResourceRequest` (protect, retainOnDelete, dependencies, parent, and
 * secret and unknown markers per list element) and every invoke. By default it runs as a preview:
 * what only the engine knows (digests, ids) is unknown, never made up. It always runs in Node's own
 * module system (see `capture/index.ts`), so each capture evaluates the program afresh.
 */
import * as path from "path";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import type {
    MockCallArgs,
    MockResourceArgs,
    MockResourceResult,
    Mocks,
} from "@pulumi/pulumi/runtime/mocks";
import * as pulumi from "@pulumi/pulumi";
import {
    serializeProperties,
    specialResourceSig,
    specialSecretSig,
    specialSigKey,
    unknownValue,
} from "@pulumi/pulumi/runtime/rpc";
import type { Capture, CapturedInvoke, CapturedResource, SecretValue } from "./types";
import { UNKNOWN_VALUE } from "./types";

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
    /**
     * Run as `pulumi preview` does: what the provider answers as unknown stays unknown, and
     * `apply` callbacks over it do not run. Off only when the hooks answer with real values.
     */
    preview: boolean;
}

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
            inputs: decodeStruct(req.getObject()),
            outputs: {},
            protect: Boolean(req.getProtect()),
            retainOnDelete: Boolean(req.getRetainondelete()),
            ...(req.getDeletebeforereplacedefined()
                ? { deleteBeforeReplace: Boolean(req.getDeletebeforereplace()) }
                : {}),
            dependsOn: [],
            dependsOnUrns: dependencyUrns(req),
        };
        this.recorded.resources.push(entry);
        await super.registerResource(req, (err: Pb, response: Pb) => {
            if (!err && response) {
                entry.urn = response.getUrn();
                entry.outputs = decodeStruct(response.getObject());
                this.byUrn.set(entry.urn, entry);
            }
            callback(err, response);
        });
    }
    public async invoke(req: Pb, callback: Callback): Promise<void> {
        this.recorded.invokes.push({
            token: req.getTok(),
            args: decodeStruct(req.getArgs()),
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

const decodeStruct = (struct: Pb): Record<string, unknown> =>
    decode(struct?.toJavaScript() ?? {}) as Record<string, unknown>;

/**
 * Wire values → plain values, with a marker on exactly the values that are secret or unknown (in a
 * preview, a string built from an unknown is unknown as a whole: the SDK sends the sentinel). No
 * output values (`specialOutputValueSig`) arrive: the runtime is told the monitor takes none.
 */
function decode(v: unknown): unknown {
    if (v === unknownValue) {
        return UNKNOWN_VALUE;
    }
    if (Array.isArray(v)) {
        return v.map(decode);
    }
    if (typeof v === "object" && v !== null) {
        const obj = v as Record<string, unknown>;
        switch (obj[specialSigKey]) {
            case specialSecretSig:
                return { __secret: true, value: decode(obj.value) } satisfies SecretValue;
            case specialResourceSig:
                return { resource: obj.urn };
            default:
                return Object.fromEntries(Object.entries(obj).map(([k, x]) => [k, decode(x)]));
        }
    }
    return v;
}

/**
 * Outputs only the engine learns by creating a resource (or a data source by asking the
 * registry), per type token. The default answers leave them unknown; any other output is the input
 * of the same name, so `name` is unknown only where the program leaves it to Docker.
 */
const ENGINE_COMPUTED: Record<string, string[]> = {
    "docker:index/image:Image": ["repoDigest", "baseImageName", "registryServer"],
    "docker:index/remoteImage:RemoteImage": ["imageId", "repoDigest"],
    "docker:index/volume:Volume": ["name", "mountpoint"],
    "docker:index/container:Container": ["name"],
    "docker:index/getRegistryImage:getRegistryImage": ["sha256Digest"],
};

/** The provider's answer by default: the inputs back, unknown for what only the engine knows. */
function echoInputs(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const computed = (ENGINE_COMPUTED[token] ?? []).map((key) => [key, unknownValue]);
    return { ...Object.fromEntries(computed), ...inputs };
}

/** A new resource: no id yet (unknown in a preview), computed outputs unknown. */
export const defaultOutputs = (args: MockResourceArgs): MockResourceResult => ({
    id: undefined,
    state: echoInputs(args.type, args.inputs as Record<string, unknown>),
});

export const defaultCall = (args: MockCallArgs): Record<string, unknown> =>
    echoInputs(args.token, args.inputs as Record<string, unknown>);

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
    installMonitor(monitor, opts);
    pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);

    const program = path.resolve(opts.program);
    forgetProjectModules(path.dirname(program));
    const outputs = await stackOutputs(await declare(program, fast));
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
        warnings: [],
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
function installMonitor(monitor: RecordingMonitor, opts: EngineOptions): void {
    runtimeSettings.setMockOptions(monitor, opts.project, opts.stack, opts.preview);
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

/**
 * The stack outputs as the engine receives them (serialized: secret, unknown in a preview, a
 * resource as its URN), decoded like the inputs.
 */
async function stackOutputs(outputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    return decode(await serializeProperties("stack outputs", outputs)) as Record<string, unknown>;
}
