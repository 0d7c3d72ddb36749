/**
 * Runs a program the way `pulumi preview` runs it, without the Pulumi CLI: a node process on
 * `@pulumi/pulumi/cmd/run` (the SDK's own entry point, which loads `source-map-support` and leaves
 * `Error.stackTraceLimit` alone), started as the CLI's Node.js language host starts it — with
 * `Pulumi.yaml`'s `runtime.options` (`nodeargs`, `typescript`, `tsconfig`, `main`), the flags
 * (`--monitor`, `--engine`, `--project`, `--stack`, `--dry-run`, …) and the config in
 * `PULUMI_CONFIG`/`PULUMI_CONFIG_SECRET_KEYS` — talking gRPC to a stand-in for the engine served
 * from this process.
 *
 * The stand-in answers as the engine does in a preview: every feature the SDK asks about is
 * supported; a registration comes back with its URN, no id, and its inputs as outputs with what
 * only the provider learns by creating the resource left unknown; a data source answers with a
 * known value (in a real preview the provider looks it up). It answers at once, so what is
 * measured is the program's own process: a lower bound of a real preview, whose engine also diffs
 * every resource with the provider plugin.
 *
 * The measured process reports its own CPU time, peak RSS and lifetime through a tiny preload
 * (`--require`, after `Pulumi.yaml`'s nodeargs) that writes them when the process exits.
 *
 * The CLI hands the whole stack config to the program in one environment variable,
 * `PULUMI_CONFIG`. Linux refuses to start a process with an environment string of 128 KiB or more
 * (`E2BIG`, "argument list too long"; pulumi/pulumi#8680), so a big enough config stops
 * `pulumi preview` before the program runs. The stand-in tries exactly what the CLI does; when the
 * system refuses, the result says so (`pulumiCanStart: false`) and, so the cost can still be
 * measured, the preload hands the same config over from a file instead.
 */
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import type * as grpcTypes from "@grpc/grpc-js";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";
import * as engproto from "@pulumi/pulumi/proto/engine_pb";
import * as engrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import * as resrpc from "@pulumi/pulumi/proto/resource_grpc_pb";
import {
    specialOutputValueSig,
    specialSecretSig,
    specialSigKey,
    unknownValue,
} from "@pulumi/pulumi/runtime/rpc";

/**
 * The gRPC library the SDK's generated services are built for: resolved from `@pulumi/pulumi`
 * itself (it is the SDK's dependency, not the project's).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const grpc = require(
    require.resolve("@grpc/grpc-js", {
        paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))],
    }),
) as typeof grpcTypes;

/** How the CLI's language host starts the program, from `Pulumi.yaml`'s `runtime.options`. */
export interface RuntimeSetup {
    /** `node` arguments before the entry point (`nodeargs`, split as a shell would). */
    nodeArgs: string[];
    /** `typescript` (default true): the SDK registers its own type-checking ts-node. */
    typescript: boolean;
    tsconfig?: string;
    /** `main`, relative to the project root; otherwise `.` (package.json `main`). */
    main?: string;
}

export function runtimeSetup(root: string): RuntimeSetup {
    const doc = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
        main?: unknown;
        runtime?: unknown;
    };
    const runtime = doc.runtime;
    const options =
        typeof runtime === "object" && runtime !== null
            ? ((runtime as { options?: Record<string, unknown> }).options ?? {})
            : {};
    const nodeargs = options.nodeargs;
    return {
        nodeArgs: typeof nodeargs === "string" ? shellWords(nodeargs) : [],
        typescript: options.typescript !== false,
        tsconfig: typeof options.tsconfig === "string" ? options.tsconfig : undefined,
        main: typeof doc.main === "string" ? doc.main : undefined,
    };
}

/** `a 'b c' "d"` → `["a", "b c", "d"]`: how the language host splits `nodeargs`. */
export function shellWords(text: string): string[] {
    const words: string[] = [];
    const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|((?:[^\s"'\\]|\\.)+)|(\s+)/g;
    let word: string | undefined;
    for (const m of text.matchAll(re)) {
        if (m[4] !== undefined) {
            if (word !== undefined) {
                words.push(word);
            }
            word = undefined;
            continue;
        }
        const part = m[1]?.replace(/\\(.)/g, "$1") ?? m[2] ?? m[3]?.replace(/\\(.)/g, "$1") ?? "";
        word = (word ?? "") + part;
    }
    if (word !== undefined) {
        words.push(word);
    }
    return words;
}

export interface RuntimeRunSpec {
    /** Project root: the working directory, where `Pulumi.yaml` and `package.json` are. */
    root: string;
    project: string;
    stack: string;
    /** Flat `namespace:key → string` config, as the CLI hands it over (secrets decrypted). */
    config: Record<string, string>;
    secretKeys: string[];
    /**
     * The program to run instead of the project's own (`main` or package.json `main`), e.g. the
     * baseline: the language host passes it as `main` would be.
     */
    program?: string;
    setup: RuntimeSetup;
    /** Folder for the preload and its report. */
    workDir: string;
    /** More node arguments (e.g. `--cpu-prof`), after the setup's. */
    extraNodeArgs?: string[];
    /** Kill the program after this long. Default 10 minutes. */
    timeoutMs?: number;
}

export interface RuntimeRunResult {
    /**
     * False when the system refused `PULUMI_CONFIG` as an environment variable (too big): the CLI
     * cannot start this program at all; the figures were measured with the config from a file.
     */
    pulumiCanStart: boolean;
    /** Bytes of `PULUMI_CONFIG=<json>`, the environment string the CLI would pass. */
    configBytes: number;
    /** The program process's lifetime: from its start until it exits. */
    wallMs: number;
    /** User + system CPU of the program process. */
    cpuMs: number;
    peakRssMb: number;
    /** Registered resources, without the stack itself. */
    resources: number;
    invokes: number;
    types: Record<string, number>;
    /** RPCs the program made, per method. */
    rpcs: Record<string, number>;
    /**
     * The SDK's log RPCs the stand-in received after the program's last registration, invoke or
     * output registration, and the milliseconds from then to the last log: the SDK sends its logs
     * one after another, and what is still queued when the program has declared everything is
     * time the preview waits (docs/bench.md, "The log tail").
     */
    logTail: { logs: number; ms: number };
    /** What the stand-in recorded, for checks. */
    registered: RegisteredResource[];
}

export interface RegisteredResource {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    parent: string;
}

export class RuntimeRunError extends Error {}

/** Runs the program once as `pulumi preview` would and reports what it cost. */
export async function runUnderRuntime(spec: RuntimeRunSpec): Promise<RuntimeRunResult> {
    const engine = new EngineStandIn(spec.project, spec.stack);
    const address = await engine.start();
    const probe = writeProbe(spec.workDir);
    const report = path.join(
        spec.workDir,
        `probe-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`,
    );
    try {
        const args = [
            ...spec.setup.nodeArgs,
            "--require",
            probe,
            ...(spec.extraNodeArgs ?? []),
            require.resolve("@pulumi/pulumi/cmd/run", { paths: [spec.root] }),
            `--monitor=${address.monitor}`,
            `--engine=${address.engine}`,
            "--organization=organization",
            `--project=${spec.project}`,
            `--stack=${spec.stack}`,
            `--pwd=${spec.root}`,
            "--dry-run",
            // The CLI's default: four per core; anything above 1 lets registrations overlap.
            "--parallel=8",
            `--root-directory=${spec.root}`,
            spec.program ?? spec.setup.main ?? ".",
        ];
        const config = JSON.stringify(spec.config);
        const env: NodeJS.ProcessEnv = {
            ...cleanEnv(process.env),
            PULUMI_CONFIG: config,
            PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(spec.secretKeys),
            MSA_BENCH_PROBE: report,
        };
        if (spec.setup.typescript) {
            env.PULUMI_NODEJS_TYPESCRIPT = "true";
        }
        if (spec.setup.tsconfig !== undefined) {
            env.PULUMI_NODEJS_TSCONFIG_PATH = spec.setup.tsconfig;
        }
        const timeout = spec.timeoutMs ?? 600_000;
        let pulumiCanStart = true;
        let exit: { code: number | null; stderr: string };
        try {
            exit = await runProcess(args, spec.root, env, timeout);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "E2BIG") {
                throw err;
            }
            // What `pulumi preview` reports as "fork/exec node: argument list too long".
            pulumiCanStart = false;
            const file = `${report}.config.json`;
            fs.writeFileSync(file, config);
            delete env.PULUMI_CONFIG;
            env.MSA_BENCH_CONFIG_FILE = file;
            exit = await runProcess(args, spec.root, env, timeout);
        }
        if (exit.code !== 0 || engine.errors.length > 0) {
            throw new RuntimeRunError(
                `${spec.program ?? "the program"} failed under cmd/run (exit ${exit.code}):\n${[
                    ...engine.errors,
                    exit.stderr.trim(),
                ]
                    .filter((l) => l !== "")
                    .join("\n")
                    .slice(0, 4000)}`,
            );
        }
        const measured = JSON.parse(fs.readFileSync(report, "utf8")) as {
            wallMs: number;
            cpuMs: number;
            peakRssMb: number;
        };
        const registered = engine.registered.filter((r) => r.type !== "pulumi:pulumi:Stack");
        const types: Record<string, number> = {};
        for (const r of registered) {
            types[r.type] = (types[r.type] ?? 0) + 1;
        }
        return {
            pulumiCanStart,
            configBytes: Buffer.byteLength(`PULUMI_CONFIG=${config}`),
            ...measured,
            resources: registered.length,
            invokes: engine.invokes,
            types,
            rpcs: { ...engine.calls },
            logTail: engine.logTail(),
            registered,
        };
    } finally {
        fs.rmSync(report, { force: true });
        fs.rmSync(`${report}.config.json`, { force: true });
        await engine.stop();
    }
}

/** The bench's own ts-node settings must not reach the measured process. */
function cleanEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return Object.fromEntries(
        Object.entries(env).filter(
            ([k]) =>
                !k.startsWith("TS_NODE_") &&
                !k.startsWith("PULUMI_NODEJS_") &&
                k !== "NODE_OPTIONS",
        ),
    );
}

function runProcess(
    args: string[],
    cwd: string,
    env: NodeJS.ProcessEnv,
    timeoutMs: number,
): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, args, {
            cwd,
            env,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        child.stdout.resume();
        child.stderr.on("data", (d: Buffer) => {
            stderr = (stderr + d.toString()).slice(-20_000);
        });
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            stderr += `\nkilled after ${timeoutMs} ms`;
        }, timeoutMs);
        child.on("error", (err) => {
            clearTimeout(timer);
            reject(err);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stderr });
        });
    });
}

/**
 * The preload: plain JavaScript, so it loads whatever `Pulumi.yaml`'s nodeargs register. It adds
 * an `exit` listener and, only when the system refused the config as an environment variable,
 * puts it where the SDK reads it (before the SDK loads).
 */
function writeProbe(dir: string): string {
    const file = path.join(dir, "probe.js");
    fs.writeFileSync(
        file,
        `"use strict";
const fs = require("fs");
if (process.env.MSA_BENCH_CONFIG_FILE) {
    process.env.PULUMI_CONFIG = fs.readFileSync(process.env.MSA_BENCH_CONFIG_FILE, "utf8");
}
const out = process.env.MSA_BENCH_PROBE;
if (out) {
    process.on("exit", () => {
        const cpu = process.cpuUsage();
        fs.writeFileSync(out, JSON.stringify({
            wallMs: performance.now(),
            cpuMs: (cpu.user + cpu.system) / 1000,
            peakRssMb: process.resourceUsage().maxRSS / 1024,
        }));
    });
}
`,
    );
    return file;
}

/**
 * Outputs only the provider learns by creating a resource (or, for a data source, by asking the
 * registry), per type token, as in `capture/engine.ts`. Everything else comes back as given.
 */
const ENGINE_COMPUTED: Record<string, string[]> = {
    "docker:index/image:Image": ["repoDigest", "baseImageName", "registryServer"],
    "docker:index/remoteImage:RemoteImage": ["imageId", "repoDigest"],
    "docker:index/volume:Volume": ["name", "mountpoint"],
    "docker:index/container:Container": ["name"],
};

/** Monitor calls by which a program declares something (not feature queries or shutdown). */
const DECLARING = new Set([
    "ResourceMonitor/registerResource",
    "ResourceMonitor/registerResourceOutputs",
    "ResourceMonitor/invoke",
]);

type Callback<T> = (err: grpcTypes.ServiceError | null, value?: T) => void;
type Call<Req> = { request: Req };

/**
 * The resource monitor and engine services of a preview, answering at once. Each on its own
 * server, as the CLI serves them (`--monitor` and `--engine` are two addresses): on one address
 * the SDK's two clients would share one HTTP/2 connection, and its serialized log RPCs would queue
 * behind the registrations.
 */
class EngineStandIn {
    public readonly registered: RegisteredResource[] = [];
    public readonly errors: string[] = [];
    public invokes = 0;
    /** Calls per RPC method (`ResourceMonitor/RegisterResource`, `Engine/Log`, …). */
    public readonly calls: Record<string, number> = {};
    /** When the last monitor call that declares something came, and when each log came. */
    private lastDeclaredAt = 0;
    private readonly logTimes: number[] = [];
    private readonly monitorServer = new grpc.Server();
    private readonly engineServer = new grpc.Server();
    private readonly qualifiedTypes = new Map<string, string>();
    private rootUrn = "";

    constructor(
        private readonly project: string,
        private readonly stack: string,
    ) {}

    public async start(): Promise<{ monitor: string; engine: string }> {
        this.monitorServer.addService(
            resrpc.ResourceMonitorService,
            this.counted("ResourceMonitor", {
                supportsFeature: (
                    _call: Call<resproto.SupportsFeatureRequest>,
                    cb: Callback<resproto.SupportsFeatureResponse>,
                ) => cb(null, new resproto.SupportsFeatureResponse().setHassupport(true)),
                registerResource: (
                    call: Call<resproto.RegisterResourceRequest>,
                    cb: Callback<resproto.RegisterResourceResponse>,
                ) => cb(null, this.registerResource(call.request)),
                registerResourceOutputs: (_call: unknown, cb: Callback<emptyproto.Empty>) =>
                    cb(null, new emptyproto.Empty()),
                invoke: (
                    call: Call<resproto.ResourceInvokeRequest>,
                    cb: Callback<provproto.InvokeResponse>,
                ) => cb(null, this.invoke(call.request)),
                registerPackage: (_call: unknown, cb: Callback<resproto.RegisterPackageResponse>) =>
                    cb(null, new resproto.RegisterPackageResponse().setRef("bench-package")),
                signalAndWaitForShutdown: (_call: unknown, cb: Callback<emptyproto.Empty>) =>
                    cb(null, new emptyproto.Empty()),
            }),
        );
        this.engineServer.addService(
            engrpc.EngineService,
            this.counted("Engine", {
                log: (call: Call<engproto.LogRequest>, cb: Callback<emptyproto.Empty>) => {
                    if (call.request.getSeverity() === engproto.LogSeverity.ERROR) {
                        this.errors.push(call.request.getMessage());
                    }
                    cb(null, new emptyproto.Empty());
                },
                getRootResource: (_call: unknown, cb: Callback<engproto.GetRootResourceResponse>) =>
                    cb(null, new engproto.GetRootResourceResponse().setUrn(this.rootUrn)),
                setRootResource: (
                    call: Call<engproto.SetRootResourceRequest>,
                    cb: Callback<engproto.SetRootResourceResponse>,
                ) => {
                    this.rootUrn = call.request.getUrn();
                    cb(null, new engproto.SetRootResourceResponse());
                },
            }),
        );
        return {
            monitor: await listen(this.monitorServer),
            engine: await listen(this.engineServer),
        };
    }

    /** The handlers, each counting its calls. */
    private counted<T extends Record<string, (call: never, cb: never) => void>>(
        service: string,
        handlers: T,
    ): T {
        return Object.fromEntries(
            Object.entries(handlers).map(([name, handle]) => [
                name,
                (call: never, cb: never) => {
                    const key = `${service}/${name}`;
                    this.calls[key] = (this.calls[key] ?? 0) + 1;
                    if (key === "Engine/log") {
                        this.logTimes.push(performance.now());
                    } else if (DECLARING.has(key)) {
                        this.lastDeclaredAt = performance.now();
                    }
                    handle(call, cb);
                },
            ]),
        ) as T;
    }

    /** The log RPCs after the last declaring call, and how long they took to arrive. */
    public logTail(): { logs: number; ms: number } {
        const after = this.logTimes.filter((t) => t > this.lastDeclaredAt);
        const last = after[after.length - 1];
        return {
            logs: after.length,
            ms: last === undefined ? 0 : Math.round(last - this.lastDeclaredAt),
        };
    }

    public async stop(): Promise<void> {
        await Promise.all(
            [this.monitorServer, this.engineServer].map(
                (server) => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
            ),
        );
    }

    private registerResource(
        req: resproto.RegisterResourceRequest,
    ): resproto.RegisterResourceResponse {
        const type = req.getType();
        const parent = req.getParent();
        const parentType = this.qualifiedTypes.get(parent);
        // The stack is not part of its children's qualified type, as in the engine's URNs.
        const qualified =
            parentType === undefined || parentType === "pulumi:pulumi:Stack"
                ? type
                : `${parentType}$${type}`;
        const urn = `urn:pulumi:${this.stack}::${this.project}::${qualified}::${req.getName()}`;
        this.qualifiedTypes.set(urn, qualified);
        this.registered.push({ urn, type, name: req.getName(), custom: req.getCustom(), parent });
        return new resproto.RegisterResourceResponse()
            .setUrn(urn)
            .setId("")
            .setObject(outputsOf(req, ENGINE_COMPUTED[type] ?? []));
    }

    private invoke(req: resproto.ResourceInvokeRequest): provproto.InvokeResponse {
        this.invokes++;
        const args = (req.getArgs()?.toJavaScript() ?? {}) as Record<string, unknown>;
        const result: Record<string, unknown> = { ...asOutputs(args) };
        if (req.getTok() === "docker:index/getRegistryImage:getRegistryImage") {
            const name = typeof args.name === "string" ? args.name : "";
            result.id = name;
            result.sha256Digest = `sha256:${createHash("sha256").update(name).digest("hex")}`;
        }
        return new provproto.InvokeResponse().setReturn(
            structproto.Struct.fromJavaScript(
                result as Record<string, structproto.JavaScriptValue>,
            ),
        );
    }
}

/** Serves `server` on a free local port; its address. */
function listen(server: grpcTypes.Server): Promise<string> {
    return new Promise((resolve, reject) => {
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
            err ? reject(err) : resolve(`127.0.0.1:${port}`),
        );
    });
}

/**
 * The registration's inputs as its outputs, plus `computed` as unknown. Only a remote component's
 * inputs can hold output values (the SDK keeps them for nothing else), so any other request's
 * struct is handed back as it came, without decoding it: the stand-in should cost the measured
 * process as little time as possible.
 */
function outputsOf(req: resproto.RegisterResourceRequest, computed: string[]): structproto.Struct {
    let object = req.getObject() ?? new structproto.Struct();
    if (req.getRemote()) {
        object = structproto.Struct.fromJavaScript(
            asOutputs(object.toJavaScript()) as Record<string, structproto.JavaScriptValue>,
        );
    }
    const fields = object.getFieldsMap();
    for (const key of computed) {
        if (!fields.has(key)) {
            fields.set(key, new structproto.Value().setStringValue(unknownValue));
        }
    }
    return object;
}

/**
 * Inputs as the engine hands them back as outputs: an output value becomes its value (kept secret
 * if it was), or unknown if it has none.
 */
function asOutputs<T>(v: T): T {
    if (Array.isArray(v)) {
        return v.map(asOutputs) as T;
    }
    if (typeof v === "object" && v !== null) {
        const obj = v as Record<string, unknown>;
        if (obj[specialSigKey] === specialOutputValueSig) {
            const value = "value" in obj ? asOutputs(obj.value) : unknownValue;
            return (
                obj.secret === true ? { [specialSigKey]: specialSecretSig, value } : value
            ) as T;
        }
        return Object.fromEntries(Object.entries(obj).map(([k, x]) => [k, asOutputs(x)])) as T;
    }
    return v;
}
