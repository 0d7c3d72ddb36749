/**
 * What the e2e tests share: the environment run.sh prepared (registry, base images), the test
 * stack's config, the sample services published to the registry, and probes (HTTP, psql, TCP).
 */
import Docker from "dockerode";
import * as crypto from "crypto";
import * as net from "net";
import { PassThrough } from "stream";
import { freePort, type RegistryAuth } from "./driver";

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
export const DB = { name: "shop-e2e", schema: "sales", user: "shop_owner", alias: "db" } as const;

/** Unique names and free ports for one test stack, so it collides with nothing on the engine. */
export interface StackIds {
    stack: string;
    prefix: string;
    dbHostPort: number;
    ordersPort: number;
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
        billingPort: await freePort(),
        dbPassword: crypto.randomBytes(12).toString("base64url"),
        apiToken: crypto.randomBytes(12).toString("base64url"),
    };
}

/**
 * The test stack: two sample services (billing links orders), orders published on loopback only
 * and billing on every interface, the DB in a container built FROM the local Postgres base image.
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
        "msa:registryServer": env.registry,
        "msa:registryNamespace": NAMESPACE,
        "msa:registryProject": PROJECT_PATH,
        "msa:registryUsername": env.username,
        "msa:registryPassword": env.password,
        "msa:dbPassword": ids.dbPassword,
        "msa:dbMode": "container",
        "msa:dbHost": DB.alias,
        "msa:dbPort": 5432,
        "msa:dbHostPort": ids.dbHostPort,
        "msa:dbBindAddress": "127.0.0.1",
        "msa:dbName": DB.name,
        "msa:dbSchema": DB.schema,
        "msa:dbUser": DB.user,
        "msa:timezone": "Asia/Seoul",
        "msa:dbImageTag": ids.stack,
        "msa:dbBaseImage": env.postgresImage,
        "msa:secretEnv": { billing: { API_TOKEN: ids.apiToken } },
        "msa:services": {
            orders: {
                image: "orders",
                tag: SERVICE_TAG,
                ports: [{ container: 8080, host: ids.ordersPort, bindAddress: "127.0.0.1" }],
                env: { LISTEN_PORTS: "8080" },
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
