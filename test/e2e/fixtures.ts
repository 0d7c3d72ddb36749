/**
 * What the e2e tests share: the environment run.sh prepared (registry, base images), the test
 * stack's config, the sample services published to the registry, and probes (HTTP, psql, TCP).
 */
import Docker from "dockerode";
import * as crypto from "crypto";
import * as net from "net";
import * as dgram from "dgram";
import { PassThrough } from "stream";
import type { Capture, CapturedResource } from "../../capture";
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
        const repo = `${env.registry}/${NAMESPACE}/${PROJECT_PATH}/${name}`;
        await docker.getImage(env.serviceImage).tag({ repo, tag: SERVICE_TAG });
        const stream = await docker.getImage(`${repo}:${SERVICE_TAG}`).push({
            authconfig: {
                username: env.username,
                password: env.password,
                serveraddress: env.registry,
            },
        });
        const events = await new Promise<{ error?: string }[]>((resolve, reject) =>
            docker.modem.followProgress(stream, (err: Error | null, res: unknown[]) =>
                err ? reject(err) : resolve(res as { error?: string }[]),
            ),
        );
        const failed = events.find((e) => e.error !== undefined);
        if (failed !== undefined) {
            throw new Error(`publishing ${repo}:${SERVICE_TAG} failed: ${failed.error}`);
        }
    }
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
