/**
 * The pack as the Pulumi CLI runs it: `policy/index.ts` started as the analyzer plugin (the CLI's
 * way: it prints its gRPC port), then asked over gRPC to `Analyze` single resources and
 * `AnalyzeStack` a whole plan, with properties in the engine's wire format (secrets wrapped,
 * unknowns as the engine's sentinel). This is `@pulumi/policy`'s own server deciding types,
 * unwrapping secrets and proxying unknowns, so what the offline runner imitates is checked here
 * against the real thing. It needs no Pulumi CLI.
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
// The CLI's side of the analyzer protocol, from the modules the pack's own server uses.
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
    AnalyzeDiagnostic,
    AnalyzeRequest,
    AnalyzerResource,
    AnalyzerResourceOptions,
    AnalyzeResponse,
    AnalyzeStackRequest,
} from "@pulumi/pulumi/proto/analyzer_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import type { CapturedResource } from "../../capture/types";
import { isSecretValue, isUnknownValue } from "../../capture/types";
import { TYPES } from "../../policy/policies";
import { ROOT } from "../helpers";
import { container, DIGEST, nonProductionNetwork, resource, secret, UNKNOWN } from "./resources";

/** The engine's wire markers (`@pulumi/pulumi/runtime/rpc`). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const UNKNOWN_WIRE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

function wire(v: unknown): unknown {
    if (isSecretValue(v)) {
        return { [SIG_KEY]: SECRET_SIG, value: wire(v.value) };
    }
    if (isUnknownValue(v)) {
        return UNKNOWN_WIRE;
    }
    if (Array.isArray(v)) {
        return v.map(wire);
    }
    if (typeof v === "object" && v !== null) {
        // The engine sends no property for an input left undefined.
        const set = Object.entries(v).filter(([, x]) => x !== undefined);
        return Object.fromEntries(set.map(([k, x]) => [k, wire(x)]));
    }
    return v;
}

function fill<M extends AnalyzeRequest | AnalyzerResource>(message: M, r: CapturedResource): M {
    message.setType(r.type);
    message.setName(r.name);
    message.setUrn(r.urn);
    message.setProperties(Struct.fromJavaScript(wire(r.inputs) as Record<string, never>));
    message.setOptions(new AnalyzerResourceOptions().setProtect(r.protect));
    return message;
}

let pack: ChildProcess;
let client: AnalyzerClient;

beforeAll(async () => {
    pack = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "index.ts"], {
        cwd: path.join(ROOT, "policy"),
        env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
        stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<string>((resolve, reject) => {
        let out = "";
        pack.stdout?.on("data", (d: Buffer) => {
            out += d.toString();
            const line = out.split("\n")[0] ?? "";
            if (out.includes("\n")) {
                resolve(line.trim());
            }
        });
        pack.on("exit", (code) => reject(new Error(`the pack exited with ${String(code)}`)));
    });
    client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(() => {
    client?.close();
    pack?.kill();
});

type Diagnostic = [policy: string, level: number, message: string, urn?: string];

/**
 * Each diagnostic as policy, level, our one-line message and the URN a stack validation named. The
 * CLI shows the policy's description above the message: the server joins them with a newline.
 */
function diagnostics(res: AnalyzeResponse): Diagnostic[] {
    return res.getDiagnosticsList().map((d: AnalyzeDiagnostic): Diagnostic => {
        const prefix = `${d.getDescription()}\n`;
        const text = d.getMessage();
        const message = text.startsWith(prefix)
            ? text.slice(prefix.length)
            : `(no description) ${text}`;
        const urn = d.getUrn();
        return urn === ""
            ? [d.getPolicyname(), d.getEnforcementlevel(), message]
            : [d.getPolicyname(), d.getEnforcementlevel(), message, urn];
    });
}

function analyze(r: CapturedResource): Promise<Diagnostic[]> {
    return new Promise((resolve, reject) =>
        client.analyze(fill(new AnalyzeRequest(), r), (err, res) =>
            err ? reject(err) : resolve(diagnostics(res)),
        ),
    );
}

function analyzeStack(resources: CapturedResource[]): Promise<Diagnostic[]> {
    const req = new AnalyzeStackRequest().setResourcesList(
        resources.map((r) => fill(new AnalyzerResource(), r)),
    );
    return new Promise((resolve, reject) =>
        client.analyzeStack(req, (err, res) => (err ? reject(err) : resolve(diagnostics(res)))),
    );
}

/** `EnforcementLevel` in the analyzer protocol. */
const ADVISORY = 0;
const MANDATORY = 1;

describe("Analyze: one resource, as the CLI asks during a preview", () => {
    test("a privileged container on the host's PID namespace gets both violations", async () => {
        const c = container("evil", { privileged: true, pidMode: "host" });
        expect(await analyze(c)).toEqual([
            [
                "no-privileged-containers",
                MANDATORY,
                'Container "evil" runs privileged, which hands it the host; remove privileged: true',
            ],
            [
                "no-host-namespaces",
                MANDATORY,
                'Container "evil" sets pidMode: host, which lets it see and signal every process on the host; remove pidMode',
            ],
        ]);
    });

    test("a well-formed container passes; an unknown image or healthcheck is no error", async () => {
        expect(await analyze(container("orders"))).toEqual([]);
        const unknown = container("orders", { image: UNKNOWN, healthcheck: UNKNOWN });
        expect(await analyze(unknown)).toEqual([]);
    });

    test("the provider is matched by DockerProvider: a copied registry password is found", async () => {
        const provider = resource(TYPES.provider, "docker", {
            host: "ssh://deploy@app-host",
            registryAuth: [
                { address: "registry.example", username: "deploy", password: "glpat-1234" },
            ],
            sshOpts: ["-o", "SendEnv=glpat-1234"],
        });
        expect(await analyze(provider)).toEqual([
            [
                "passwords-are-secrets",
                MANDATORY,
                'Provider "docker" copies the registry password into sshOpts[1] in plain text; keep it only in registryAuth[0].password, as a secret',
            ],
        ]);
    });

    test("secrets arrive unwrapped: a secret password in its own entry passes", async () => {
        const c = container("orders", { envs: ["DB_HOST=db", secret("DB_PASSWORD=pw-1234")] });
        expect(await analyze(c)).toEqual([]);
    });

    test("advisory policies stay advisory", async () => {
        expect(await analyze(container("orders", { memory: undefined }))).toEqual([
            [
                "memory-limits",
                ADVISORY,
                'Container "orders" has no memory limit; set msa:services.orders.memoryMb',
            ],
        ]);
    });
});

describe("AnalyzeStack: the production rules over the whole stack", () => {
    const remote = (tag: string) =>
        resource(TYPES.remoteImage, "orders-image", {
            name: `registry.example/g/p/orders:${tag}@${DIGEST}`,
        });

    test("a moving tag in a production stack is reported on the image's URN", async () => {
        const image = remote("latest");
        expect(await analyzeStack([container("orders"), image])).toEqual([
            [
                "prod-images-pinned",
                MANDATORY,
                `RemoteImage "orders-image" pulls registry.example/g/p/orders:latest@${DIGEST}, whose tag latest moves in prod, so the next deploy may run another image; set the service's tag (msa:services.<key>.tag) to a release tag`,
                image.urn,
            ],
        ]);
    });

    test("a stack that declared msa:production: false passes; a version passes anywhere", async () => {
        expect(await analyzeStack([nonProductionNetwork(), remote("latest")])).toEqual([]);
        expect(await analyzeStack([container("orders"), remote("1.4.2")])).toEqual([]);
    });

    test("an unknown image name does not stop the stack check", async () => {
        const unknown = resource(TYPES.remoteImage, "unknown-image", { name: UNKNOWN });
        expect(await analyzeStack([unknown, remote("release")])).toHaveLength(1);
    });
});
