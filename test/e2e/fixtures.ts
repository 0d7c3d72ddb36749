/**
 * What the e2e tests share: the environment run.sh prepared (registry, base images), the test
 * stack's config, the sample services published to the registry, and probes (HTTP, psql, TCP).
 */
import Docker from "dockerode";
import * as crypto from "crypto";
import * as dgram from "dgram";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import type { Capture, CapturedResource } from "../../capture";
import { projectRoot } from "../../config/stackFiles";
import { freePort, type Deployment, type RegistryAuth } from "./driver";

export interface E2eEnv {
    /** `127.0.0.1:<port>` of the registry run.sh started. */
    registry: string;
    username: string;
    password: string;
    postgresImage: string;
    serviceImage: string;
}

export function e2eEnv(): E2eEnv {
    const need = (name: string): string => {
        const value = process.env[name];
        if (value === undefined || value === "") {
            throw new Error(`${name} is not set: run the e2e suite with npm run test:e2e`);
        }
        return value;
    };
    return {
        registry: need("E2E_REGISTRY"),
        username: need("E2E_REGISTRY_USER"),
        password: need("E2E_REGISTRY_PASSWORD"),
        postgresImage: need("E2E_POSTGRES_IMAGE"),
        serviceImage: need("E2E_SERVICE_IMAGE"),
    };
}

export const docker = new Docker({ socketPath: "/var/run/docker.sock" });

export const NAMESPACE = "e2e";
export const PROJECT_PATH = "msa";
export const SERVICE_TAG = "1.0";
export const DB = {
    name: "shop-e2e",
    schema: "sales",
    user: "shop_owner",
    alias: "db",
    memoryMb: 256,
} as const;
/**
 * The orders service's command: the sample app run differently from the image's own `CMD`
 * (`-B`), with an argument holding a space and a `;` that must reach it as one word, unparsed.
 */
export const ORDERS_COMMAND = ["python3", "-u", "-B", "/app/app.py", "--label=e2e run; no shell"];
/** A UDP port orders publishes (on loopback) besides its HTTP port. */
export const ORDERS_UDP_PORT = 9125;

/** Unique names and free ports for one test stack, so it collides with nothing on the engine. */
export interface StackIds {
    stack: string;
    prefix: string;
    dbHostPort: number;
    ordersPort: number;
    ordersUdpPort: number;
    billingPort: number;
    dbPassword: string;
    apiToken: string;
}

export async function stackIds(kind: string): Promise<StackIds> {
    const id = crypto.randomBytes(3).toString("hex");
    return {
        stack: `e2e-${kind}-${id}`,
        prefix: `msae2e-${kind}-${id}`,
        dbHostPort: await freePort(),
        ordersPort: await freePort(),
        ordersUdpPort: await freeUdpPort(),
        billingPort: await freePort(),
        dbPassword: crypto.randomBytes(12).toString("base64url"),
        apiToken: crypto.randomBytes(12).toString("base64url"),
    };
}

/**
 * `msa:database` of the test stack: Postgres in a container built FROM the local Postgres base
 * image, published on loopback, with a memory limit. The image tag is left to its default, the
 * content hash of `docker/db/` and the build args.
 */
export function containerDatabase(env: E2eEnv, ids: StackIds): Record<string, unknown> {
    return {
        mode: "container",
        alias: DB.alias,
        port: 5432,
        hostPort: ids.dbHostPort,
        bindAddress: "127.0.0.1",
        name: DB.name,
        schema: DB.schema,
        user: DB.user,
        memoryMb: DB.memoryMb,
        image: { base: env.postgresImage },
    };
}

/** `msa:database` for a Postgres the stack does not run. */
export function externalDatabase(host: string, port: number): Record<string, unknown> {
    return { mode: "external", host, port, name: DB.name, schema: DB.schema, user: DB.user };
}

/**
 * The test stack's plain config (v2): two sample services (billing links orders), orders
 * published on loopback only (HTTP and a UDP port) with its own command and billing on every
 * interface, the DB from `containerDatabase` unless `overrides` replaces `msa:database`.
 */
export function stackConfig(
    env: E2eEnv,
    ids: StackIds,
    overrides: Record<string, unknown> = {},
): Record<string, unknown> {
    return {
        "msa:environment": "e2e",
        "msa:namePrefix": ids.prefix,
        "msa:protect": true,
        "msa:timezone": "Asia/Seoul",
        "msa:registry": {
            server: env.registry,
            namespace: NAMESPACE,
            project: PROJECT_PATH,
            username: env.username,
        },
        "msa:database": containerDatabase(env, ids),
        "msa:services": {
            orders: {
                image: "orders",
                tag: SERVICE_TAG,
                ports: [
                    { container: 8080, host: ids.ordersPort, bindAddress: "127.0.0.1" },
                    {
                        container: ORDERS_UDP_PORT,
                        host: ids.ordersUdpPort,
                        bindAddress: "127.0.0.1",
                        protocol: "udp",
                    },
                ],
                env: { LISTEN_PORTS: "8080" },
                command: ORDERS_COMMAND,
                memoryMb: 128,
                restart: "always",
            },
            billing: {
                image: "billing",
                tag: SERVICE_TAG,
                ports: [{ container: 8081, host: ids.billingPort, bindAddress: "0.0.0.0" }],
                env: { LISTEN_PORTS: "8081" },
                links: ["orders"],
                restart: "unless-stopped",
            },
        },
        ...overrides,
    };
}

/**
 * The test stack's secrets, as `pulumi config set --secret` holds them: the program sees them as
 * secrets (a plain-text `msa:dbPassword` in the config is refused by validation).
 */
export function stackSecrets(
    env: E2eEnv,
    ids: StackIds,
    overrides: Record<string, unknown> = {},
): Record<string, unknown> {
    return {
        "msa:registryPassword": env.password,
        "msa:dbPassword": ids.dbPassword,
        "msa:secretEnv": { billing: { API_TOKEN: ids.apiToken } },
        ...overrides,
    };
}

export function registryAuth(env: E2eEnv): RegistryAuth {
    return { address: env.registry, username: env.username, password: env.password };
}

/** Publishes the sample image as `orders` and `billing`, as their own pipelines would. */
export async function publishServices(env: E2eEnv): Promise<void> {
    for (const name of ["orders", "billing"]) {
        await publishImage(env, env.serviceImage, name, SERVICE_TAG);
    }
}

/**
 * Pushes the local `image` to the e2e registry as `<registry>/e2e/msa/<name>:<tag>`, with the
 * test credentials; returns the digest the registry answered.
 */
export async function publishImage(
    env: E2eEnv,
    image: string,
    name: string,
    tag: string,
): Promise<string> {
    const repo = `${env.registry}/${NAMESPACE}/${PROJECT_PATH}/${name}`;
    await docker.getImage(image).tag({ repo, tag });
    const stream = await docker.getImage(`${repo}:${tag}`).push({
        authconfig: {
            username: env.username,
            password: env.password,
            serveraddress: env.registry,
        },
    });
    const events = await followProgress(stream);
    const failed = events.find((e) => e.error !== undefined);
    if (failed !== undefined) {
        throw new Error(`publishing ${repo}:${tag} failed: ${failed.error}`);
    }
    const digest = events
        .map((e) => (e.aux as { Digest?: string } | undefined)?.Digest)
        .find((d) => d !== undefined);
    if (digest === undefined) {
        throw new Error(`publishing ${repo}:${tag}: the registry answered no digest`);
    }
    return digest;
}

async function followProgress(
    stream: NodeJS.ReadableStream,
): Promise<{ error?: string; aux?: unknown }[]> {
    return new Promise((resolve, reject) =>
        docker.modem.followProgress(stream, (err: Error | null, res: unknown[]) =>
            err ? reject(err) : resolve(res as { error?: string; aux?: unknown }[]),
        ),
    );
}

/**
 * Builds `FROM <base>` plus `lines` as `tag`, unless an image of that tag exists already (the tag
 * names the base image's id, so a rebuilt base gets fresh variants).
 */
export async function buildVariant(base: string, tag: string, lines: string[]): Promise<string> {
    if (await imageExists(tag)) {
        return tag;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msa-e2e-variant-"));
    try {
        fs.writeFileSync(path.join(dir, "Dockerfile"), `FROM ${base}\n${lines.join("\n")}\n`);
        const stream = await docker.buildImage({ context: dir, src: ["Dockerfile"] }, { t: tag });
        const failed = (await followProgress(stream)).find((e) => e.error !== undefined);
        if (failed !== undefined) {
            throw new Error(`building ${tag} failed: ${failed.error}`);
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
    return tag;
}

async function imageExists(tag: string): Promise<boolean> {
    return docker
        .getImage(tag)
        .inspect()
        .then(
            () => true,
            () => false,
        );
}

/**
 * The edge proxy's image (docker/e2e/haproxy: Debian's haproxy laid out like the official image):
 * `E2E_HAPROXY_IMAGE` from docker/e2e/build-images.sh, or, where the setup did not export it,
 * built here from that Dockerfile on the local `debian:bookworm`.
 */
export async function haproxyImage(): Promise<string> {
    const exported = process.env.E2E_HAPROXY_IMAGE;
    if (exported !== undefined && exported !== "") {
        return exported;
    }
    const context = path.join(projectRoot(), "docker", "e2e", "haproxy");
    const hash = crypto
        .createHash("sha256")
        .update(fs.readFileSync(path.join(context, "Dockerfile")))
        .digest("hex")
        .slice(0, 12);
    const tag = `msa-e2e/haproxy:2-${hash}`;
    if (await imageExists(tag)) {
        return tag;
    }
    const stream = await docker.buildImage(
        { context, src: ["Dockerfile"] },
        { t: tag, buildargs: { BASE_IMAGE: "debian:bookworm" } },
    );
    const failed = (await followProgress(stream)).find((e) => e.error !== undefined);
    if (failed !== undefined) {
        throw new Error(`building ${tag} failed: ${failed.error}`);
    }
    return tag;
}

/** The release tests' service: the stack's only one, behind the edge proxy. */
export const WEB = { key: "web", port: 8080 } as const;
/** Tags of the service image the release tests publish. `BROKEN` never becomes healthy. */
export const RELEASES = { v1: "1", v2: "2", BROKEN: "3", v4: "4" } as const;

/**
 * Publishes the sample service as `web` in four releases, each its own image (so its own digest):
 * tags 1, 2 and 4 serve as usual; tag 3 starts a process that never listens, so its healthcheck
 * never passes, the way a release that cannot start looks. Also publishes the edge proxy's image
 * as `haproxy:2`. Returns each tag's digest and the proxy image reference for `msa:proxy`.
 */
export async function publishReleaseImages(
    env: E2eEnv,
): Promise<{ digests: Record<string, string>; proxyImage: string }> {
    const local = await localReleaseImages(env);
    const digests: Record<string, string> = {};
    for (const tag of Object.values(RELEASES)) {
        const lines = [`LABEL msa.e2e.release=${tag}`];
        if (tag === RELEASES.BROKEN) {
            lines.push(`CMD ["python3", "-c", "import time; time.sleep(86400)"]`);
        }
        const image = await buildVariant(env.serviceImage, local.image(tag), lines);
        digests[tag] = await publishImage(env, image, WEB.key, tag);
    }
    await publishImage(env, await haproxyImage(), "haproxy", "2");
    return {
        digests,
        proxyImage: `${env.registry}/${NAMESPACE}/${PROJECT_PATH}/haproxy:2`,
    };
}

/**
 * Where the release images are built locally: `msa-e2e/release-web:<release>-<sample image id>`,
 * so a rebuilt sample image gets fresh variants (and compose can run them by these names).
 */
export async function localReleaseImages(
    env: E2eEnv,
): Promise<{ repository: string; tag(release: string): string; image(release: string): string }> {
    const base = (await docker.getImage(env.serviceImage).inspect()).Id.replace("sha256:", "");
    const repository = "msa-e2e/release-web";
    const tag = (release: string) => `${release}-${base.slice(0, 12)}`;
    return { repository, tag, image: (release) => `${repository}:${tag(release)}` };
}

export interface ReleaseStack {
    stack: string;
    prefix: string;
    /** The host port the proxy publishes `web` on (loopback). */
    webPort: number;
    dbHostPort: number;
    dbPassword: string;
}

export async function releaseStack(kind: string): Promise<ReleaseStack> {
    const id = crypto.randomBytes(3).toString("hex");
    return {
        stack: `e2e-${kind}-${id}`,
        prefix: `msae2e-${kind}-${id}`,
        webPort: await freePort(),
        dbHostPort: await freePort(),
        dbPassword: crypto.randomBytes(12).toString("base64url"),
    };
}

export interface ReleaseOptions {
    /** `msa:services.web.healthcheck`; default `{http: /health}` with short periods. */
    healthcheck?: Record<string, unknown>;
    /**
     * `msa:services.web.stopGraceSeconds`; default 2. The sample app exits at once on SIGTERM (it
     * does not drain), so the grace is an upper bound the tests never wait out.
     */
    stopGraceSeconds?: number;
    /** `msa:database.hostPort`; default the stack's. */
    dbHostPort?: number;
}

/**
 * A stack that releases without downtime: the edge proxy (`msa:proxy`, the e2e HAProxy image in
 * the e2e registry) owns `web`'s host port on loopback, `web` runs `tag` with an HTTP healthcheck
 * on `/health` and no fixed name, and the DB runs in a container (not protected: `msa:production:
 * false`), so a change to it replaces it.
 */
export function releaseConfig(
    env: E2eEnv,
    ids: ReleaseStack,
    proxyImage: string,
    tag: string,
    opts: ReleaseOptions = {},
): Record<string, unknown> {
    return {
        "msa:environment": "e2e",
        "msa:namePrefix": ids.prefix,
        "msa:production": false,
        "msa:registry": {
            server: env.registry,
            namespace: NAMESPACE,
            project: PROJECT_PATH,
            username: env.username,
        },
        "msa:database": {
            mode: "container",
            alias: DB.alias,
            hostPort: opts.dbHostPort ?? ids.dbHostPort,
            bindAddress: "127.0.0.1",
            name: DB.name,
            schema: DB.schema,
            user: DB.user,
            image: { base: env.postgresImage },
        },
        "msa:proxy": { image: proxyImage },
        "msa:services": {
            [WEB.key]: {
                image: WEB.key,
                tag,
                ports: [{ container: WEB.port, host: ids.webPort, bindAddress: "127.0.0.1" }],
                env: { LISTEN_PORTS: String(WEB.port) },
                healthcheck: opts.healthcheck ?? {
                    http: "/health",
                    interval: "1s",
                    timeout: "1s",
                    retries: 2,
                    startPeriod: "2s",
                },
                stopGraceSeconds: opts.stopGraceSeconds ?? 2,
            },
        },
    };
}

export function releaseSecrets(env: E2eEnv, ids: ReleaseStack): Record<string, unknown> {
    return { "msa:registryPassword": env.password, "msa:dbPassword": ids.dbPassword };
}

export interface LoadReport {
    /** Requests that got an answer or an error (each counted once). */
    requests: number;
    /** Connection errors, timeouts and answers other than 2xx. */
    failed: number;
    statuses: Record<string, number>;
    errors: Record<string, number>;
    /** The first failures, with when they happened (ms after the load started). */
    firstFailures: { atMs: number; what: string }[];
    /** The first requests that took over a second: when they were sent and how long they took. */
    slow: { atMs: number; ms: number }[];
    /** When the load started (epoch ms), to line its times up with other events. */
    startedAt: number;
    maxLatencyMs: number;
    durationMs: number;
}

export interface LoadOptions {
    /** Concurrent request loops, each over its own keep-alive connection. Default 4. */
    workers?: number;
    /** Requests per second over all loops (each loop paces itself). Default 100. */
    rps?: number;
    /** The loops stop by themselves after this long. Default 120 s. */
    maxMs?: number;
    /** A request unanswered after this long counts as failed. Default 10 s. */
    timeoutMs?: number;
}

/**
 * Constant HTTP load on `url` (a loopback address): `workers` loops with keep-alive, paced to
 * `rps` in all, bounded by `maxMs`. `stop()` ends it and reports every request's outcome.
 */
export function startLoad(
    url: string,
    opts: LoadOptions = {},
): { stop(): Promise<LoadReport>; report(): LoadReport } {
    const { workers = 4, rps = 100, maxMs = 120_000, timeoutMs = 10_000 } = opts;
    const host = new URL(url).hostname;
    if (!/^127\./.test(host) && host !== "localhost") {
        throw new Error(`load goes to loopback addresses only, got ${host}`);
    }
    const agent = new http.Agent({ keepAlive: true, maxSockets: workers });
    const started = Date.now();
    const report: LoadReport = {
        requests: 0,
        failed: 0,
        statuses: {},
        errors: {},
        firstFailures: [],
        slow: [],
        startedAt: started,
        maxLatencyMs: 0,
        durationMs: 0,
    };
    const fail = (what: string) => {
        report.failed += 1;
        if (report.firstFailures.length < 20) {
            report.firstFailures.push({ atMs: Date.now() - started, what });
        }
    };
    const once = () =>
        new Promise<void>((resolve) => {
            const sent = performance.now();
            let settled = false;
            const done = (outcome: { status?: number; error?: string }) => {
                if (settled) {
                    return;
                }
                settled = true;
                report.requests += 1;
                const took = performance.now() - sent;
                report.maxLatencyMs = Math.max(report.maxLatencyMs, took);
                if (took > 1000 && report.slow.length < 20) {
                    report.slow.push({
                        atMs: Math.round(Date.now() - took - started),
                        ms: Math.round(took),
                    });
                }
                if (outcome.status !== undefined) {
                    const key = String(outcome.status);
                    report.statuses[key] = (report.statuses[key] ?? 0) + 1;
                    if (outcome.status < 200 || outcome.status > 299) {
                        fail(`HTTP ${key}`);
                    }
                } else {
                    const key = outcome.error ?? "error";
                    report.errors[key] = (report.errors[key] ?? 0) + 1;
                    fail(key);
                }
                resolve();
            };
            const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
                res.resume();
                res.on("end", () => done({ status: res.statusCode ?? 0 }));
                res.on("error", (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }));
            });
            req.on("timeout", () =>
                req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })),
            );
            req.on("error", (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }));
        });
    let stopping = false;
    const gap = (1000 * workers) / rps;
    const loop = async () => {
        while (!stopping && Date.now() - started < maxMs) {
            const t = Date.now();
            await once();
            const wait = gap - (Date.now() - t);
            if (wait > 0) {
                await sleep(wait);
            }
        }
    };
    const loops = Promise.all(Array.from({ length: workers }, loop));
    const snapshot = (): LoadReport => ({
        ...report,
        statuses: { ...report.statuses },
        errors: { ...report.errors },
        firstFailures: [...report.firstFailures],
        slow: [...report.slow],
        maxLatencyMs: Math.round(report.maxLatencyMs),
        durationMs: Date.now() - started,
    });
    return {
        report: snapshot,
        stop: async () => {
            stopping = true;
            await loops;
            agent.destroy();
            return snapshot();
        },
    };
}

/** Waits until `url` answers 2xx (the proxy routes to a healthy container), up to `timeoutMs`. */
export async function until2xx(url: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
        // A timer of our own, not AbortSignal.timeout: that one does not keep Node running, and a
        // fetch to a published port whose container is not listening yet (Docker's proxy accepts
        // and holds the connection) holds nothing either, so outside Jest Node would just exit.
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(new Error("no answer within 2 s")), 2000);
        try {
            const res = await fetch(url, { signal: abort.signal });
            if (res.ok) {
                return;
            }
            last = `HTTP ${res.status}`;
        } catch (e) {
            last = String(e);
        } finally {
            clearTimeout(timer);
        }
        await sleep(200);
    }
    throw new Error(`${url} did not answer 2xx within ${timeoutMs} ms: ${last}`);
}

export interface ContainerEvent {
    /** `create`, `start`, `kill`, `die`, `stop`, `destroy`, … */
    action: string;
    id: string;
    name: string;
    /** The engine's clock, in ms (from `timeNano`). */
    at: number;
}

/** What Docker itself logged for the containers of `stack` between `since` and `until` (ms). */
export async function containerEvents(
    stack: string,
    since: number,
    until: number,
): Promise<ContainerEvent[]> {
    const stream = (await docker.getEvents({
        since: Math.floor(since / 1000),
        until: Math.ceil(until / 1000) + 1,
        filters: JSON.stringify({ type: ["container"], label: [`msa.stack=${stack}`] }),
    })) as NodeJS.ReadableStream;
    const chunks: Buffer[] = [];
    for await (const chunk of stream) {
        chunks.push(Buffer.from(chunk as Buffer));
    }
    return Buffer.concat(chunks)
        .toString()
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => {
            const e = JSON.parse(line) as {
                Action: string;
                Actor: { ID: string; Attributes: Record<string, string> };
                timeNano: number;
            };
            return {
                action: e.Action,
                id: e.Actor.ID,
                name: e.Actor.Attributes.name ?? "",
                at: e.timeNano / 1e6,
            };
        });
}

/** The containers on the engine labelled as `component` of `stack` (running or not). */
export async function containersOf(
    stack: string,
    component: string,
): Promise<Docker.ContainerInfo[]> {
    const filters = JSON.stringify({ label: [`msa.stack=${stack}`, `msa.component=${component}`] });
    return docker.listContainers({ all: true, filters });
}

/** What the sample service's `GET /` answers (see docker/e2e/sample-service/app.py). */
export interface ServiceReport {
    node: string;
    port: number;
    db: {
        host: string;
        port: string;
        user: string;
        name: string;
        ok: boolean;
        error?: string;
        server?: { database: string; user: string; schemaExists: boolean };
    };
    links: Record<
        string,
        {
            host: string;
            port: string;
            url: string;
            addresses: string[];
            http: { status?: number; body?: string; error?: string };
        }
    >;
    env: string[];
}

/** The service's report, retried while the process starts (it answers within a second or two). */
export async function serviceReport(url: string, timeoutMs = 30000): Promise<ServiceReport> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const res = await fetch(url, { signal: AbortSignal.timeout(15000) });
            if (res.ok) {
                return (await res.json()) as ServiceReport;
            }
            last = `HTTP ${res.status}`;
        } catch (e) {
            last = e;
        }
        await sleep(250);
    }
    throw new Error(`${url} did not answer within ${timeoutMs} ms: ${String(last)}`);
}

/** Runs `psql` as the DB user inside the container; returns stdout, throws with stderr. */
export async function psql(containerName: string, database: string, sql: string): Promise<string> {
    return execIn(containerName, [
        "psql",
        "-v",
        "ON_ERROR_STOP=1",
        "--no-psqlrc",
        "-At",
        "-U",
        DB.user,
        "-d",
        database,
        "-c",
        sql,
    ]);
}

export async function execIn(containerName: string, cmd: string[]): Promise<string> {
    const exec = await docker.getContainer(containerName).exec({
        Cmd: cmd,
        AttachStdout: true,
        AttachStderr: true,
    });
    const stream = await exec.start({});
    const out = new PassThrough();
    const err = new PassThrough();
    const chunks: Buffer[] = [];
    const errChunks: Buffer[] = [];
    out.on("data", (c: Buffer) => chunks.push(c));
    err.on("data", (c: Buffer) => errChunks.push(c));
    docker.modem.demuxStream(stream, out, err);
    await new Promise<void>((resolve, reject) => {
        stream.on("end", resolve);
        stream.on("error", reject);
    });
    const info = await exec.inspect();
    const stdout = Buffer.concat(chunks).toString().trim();
    if (info.ExitCode !== 0) {
        throw new Error(
            `${cmd.join(" ")} exited ${info.ExitCode}: ${Buffer.concat(errChunks).toString().trim()}`,
        );
    }
    return stdout;
}

/** A UDP port nobody has bound right now, on loopback. */
export function freeUdpPort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const socket = dgram.createSocket("udp4");
        socket.once("error", reject);
        socket.bind(0, "127.0.0.1", () => {
            const { port } = socket.address();
            socket.close(() => resolve(port));
        });
    });
}

/** True when a TCP connection to host:port is accepted within 2 s. */
export function tcpConnects(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host, port });
        const done = (ok: boolean) => {
            socket.destroy();
            resolve(ok);
        };
        socket.setTimeout(2000, () => done(false));
        socket.once("connect", () => done(true));
        socket.once("error", () => done(false));
    });
}

/** The containers of the stack's services (`Microservice` components), as declared. */
export function serviceContainers(capture: Capture): CapturedResource[] {
    const byUrn = new Map(capture.resources.map((r) => [r.urn, r]));
    return capture.resources.filter(
        (r) =>
            r.type === "docker:index/container:Container" &&
            r.parentUrn !== null &&
            byUrn.get(r.parentUrn)?.type === "msa:service:Microservice",
    );
}

export interface StartOrder {
    /** Logical name of the service container. */
    container: string;
    /** When the engine started it (`State.StartedAt`). */
    startedAt: number;
    /** When the DB container's first healthcheck passed, by the engine's health log. */
    dbHealthyAt: number;
    afterDbHealthy: boolean;
}

/**
 * For each service container of a deployment, by name: did the engine start it after the DB
 * container's first passing healthcheck? Both times come from the engine, none from the driver's
 * sequencing.
 */
export async function startOrder(deployment: Deployment): Promise<StartOrder[]> {
    const db = deployment.created.find((c) => c.resource.name === "database-container");
    if (db?.healthyAt === undefined) {
        throw new Error("the deployment has no DB container that was waited for");
    }
    const dbHealthyAt = db.healthyAt;
    const out: StartOrder[] = [];
    for (const r of serviceContainers(deployment.capture)) {
        const id = deployment.created.find((c) => c.resource.urn === r.urn)?.id;
        if (id === undefined) {
            throw new Error(`the deployment did not create ${r.name}`);
        }
        const info = await docker.getContainer(id).inspect();
        const startedAt = Date.parse(info.State.StartedAt);
        out.push({
            container: r.name,
            startedAt,
            dbHealthyAt,
            afterDbHealthy: startedAt >= dbHealthyAt,
        });
    }
    return out.sort((a, b) => (a.container < b.container ? -1 : 1));
}

/** Containers, networks and volumes on the engine labelled as belonging to `stack`. */
export async function stackLeftovers(
    stack: string,
): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
    const filters = JSON.stringify({ label: [`msa.stack=${stack}`] });
    const containers = await docker.listContainers({ all: true, filters });
    const networks = await docker.listNetworks({ filters });
    const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
    return {
        containers: containers.map((c) => (c.Names[0] ?? "").replace(/^\//, "")).sort(),
        networks: networks.map((n) => n.Name).sort(),
        volumes: volumes.map((v) => v.Name).sort(),
    };
}

/** The name of the container of `stack` labelled as `component` (a service key, `database`). */
export async function containerOf(stack: string, component: string): Promise<string> {
    const filters = JSON.stringify({ label: [`msa.stack=${stack}`, `msa.component=${component}`] });
    const [found, ...more] = await docker.listContainers({ all: true, filters });
    if (found === undefined || more.length > 0) {
        throw new Error(
            `expected one ${component} container of ${stack}, found ${more.length + (found ? 1 : 0)}`,
        );
    }
    return (found.Names[0] ?? "").replace(/^\//, "");
}

/** Removes whatever `stack` left on the engine: the tests' own last-resort cleanup. */
export async function removeStackLeftovers(stack: string): Promise<void> {
    const filters = JSON.stringify({ label: [`msa.stack=${stack}`] });
    for (const c of await docker.listContainers({ all: true, filters })) {
        await docker.getContainer(c.Id).remove({ force: true });
    }
    for (const n of await docker.listNetworks({ filters })) {
        await docker.getNetwork(n.Id).remove();
    }
    for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) {
        await docker.getVolume(v.Name).remove();
    }
}

/**
 * The host's address on Docker's default bridge (`docker0`): a host address that is not
 * loopback, which containers on any bridge network reach and the outside world does not. Docker
 * gives the bridge the first address of its subnet unless configured otherwise.
 */
export async function bridgeGateway(): Promise<string> {
    const info = (await docker.getNetwork("bridge").inspect()) as {
        IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] };
    };
    const config = info.IPAM?.Config?.find((c) => c.Subnet?.includes(".") === true);
    if (config?.Gateway !== undefined) {
        return config.Gateway;
    }
    const base = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\//.exec(config?.Subnet ?? "");
    if (base === null) {
        throw new Error("Docker's default bridge network has no IPv4 subnet");
    }
    return `${base[1]}.${base[2]}.${base[3]}.${Number(base[4]) + 1}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
