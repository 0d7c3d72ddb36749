/**
 * What the swarm e2e test shares: the cluster `run.sh` started (cluster.sh's SWARM_* and
 * build-images.sh's E2E_* variables), an engine client per node, the swarm stack's config, the
 * images it runs, what the swarm reports about tasks, and a bounded load loop.
 */
import * as crypto from "crypto";
import Docker from "dockerode";
import { DriverError } from "../driver";
import { RegistryPublisher, type RegistryAccess } from "./registry";
import { until } from "./swarmDriver";

export interface SwarmEnv {
    /** Node (container and host) names, the manager first. */
    nodes: string[];
    /** Each node's address on the cluster's bridge, in the order of `nodes`. */
    addresses: string[];
    managerSocket: string;
    /** Folder holding `<node>/docker.sock`. */
    state: string;
    /** Folder kept between runs (the registry's storage, the publisher's image index). */
    cache: string;
    registry: RegistryAccess;
    postgresImage: string;
    serviceImage: string;
    haproxyImage: string;
}

export function swarmEnv(): SwarmEnv | undefined {
    const get = (name: string): string | undefined => {
        const value = process.env[name];
        return value === undefined || value === "" ? undefined : value;
    };
    if (get("SWARM_MANAGER_SOCKET") === undefined) {
        return undefined;
    }
    const need = (name: string): string => {
        const value = get(name);
        if (value === undefined) {
            throw new Error(`${name} is not set: run the swarm suite with npm run test:e2e:swarm`);
        }
        return value;
    };
    return {
        nodes: need("SWARM_NODES").split(" "),
        addresses: need("SWARM_NODE_ADDRESSES").split(" "),
        managerSocket: need("SWARM_MANAGER_SOCKET"),
        state: need("SWARM_STATE"),
        cache: need("SWARM_CACHE"),
        registry: {
            server: need("SWARM_REGISTRY"),
            username: need("SWARM_REGISTRY_USER"),
            password: need("SWARM_REGISTRY_PASSWORD"),
        },
        postgresImage: need("E2E_POSTGRES_IMAGE"),
        serviceImage: need("E2E_SERVICE_IMAGE"),
        haproxyImage: need("E2E_HAPROXY_IMAGE"),
    };
}

/** The engine that runs the nodes (this machine's). */
export const host = new Docker({ socketPath: "/var/run/docker.sock" });

export function nodeEngine(env: SwarmEnv, node: string): Docker {
    return new Docker({ socketPath: `${env.state}/${node}/docker.sock` });
}

export const NAMESPACE = "e2e";
export const PROJECT_PATH = "msa";
export const PROXY_REPOSITORY = "e2e/haproxy";
export const PROXY_TAG = "2.6";
export const DB = { name: "shop-swarm", schema: "sales", user: "shop_owner" } as const;
export const ORDERS_PORT = 18080;
export const BILLING_PORT = 18081;
export const REPLICAS = { orders: 3, billing: 2 } as const;

export interface SwarmIds {
    stack: string;
    prefix: string;
    dbPassword: string;
    apiToken: string;
}

export function swarmIds(): SwarmIds {
    const id = crypto.randomBytes(3).toString("hex");
    return {
        stack: `e2e-swarm-${id}`,
        prefix: `msae2e-swarm-${id}`,
        dbPassword: crypto.randomBytes(12).toString("base64url"),
        apiToken: crypto.randomBytes(12).toString("base64url"),
    };
}

/**
 * The swarm stack: `msa:runtime: swarm` without IPVS (`publish: host`: the edge proxy on every
 * node owns the host ports, services resolve by DNS round robin), the DB pinned to the node
 * labelled msa.db=true, orders (3 replicas) and billing (2, linked to orders) from the registry,
 * each with an HTTP healthcheck. `services` overrides entries of `msa:services` (a release).
 */
export function swarmConfig(
    env: SwarmEnv,
    ids: SwarmIds,
    services: Record<string, Record<string, unknown>> = {},
): Record<string, unknown> {
    const healthcheck = {
        http: "/health",
        interval: "1s",
        timeout: "2s",
        retries: 3,
        startPeriod: "5s",
    };
    const base: Record<string, Record<string, unknown>> = {
        orders: {
            image: "orders",
            tag: "1.0",
            replicas: REPLICAS.orders,
            ports: [{ container: 8080, host: ORDERS_PORT }],
            env: { LISTEN_PORTS: "8080" },
            healthcheck,
            memoryMb: 128,
        },
        billing: {
            image: "billing",
            tag: "1.0",
            replicas: REPLICAS.billing,
            ports: [{ container: 8081, host: BILLING_PORT }],
            env: { LISTEN_PORTS: "8081" },
            links: ["orders"],
            healthcheck,
        },
    };
    return {
        // The provider's engine is the manager (a real stack: ssh://deploy@manager).
        "docker:host": `unix://${env.managerSocket}`,
        "msa:environment": "e2e",
        "msa:namePrefix": ids.prefix,
        "msa:production": false,
        "msa:protect": false,
        "msa:runtime": "swarm",
        "msa:swarm": { publish: "host", dbNodeLabel: "msa.db" },
        "msa:registry": {
            server: env.registry.server,
            namespace: NAMESPACE,
            project: PROJECT_PATH,
            username: env.registry.username,
        },
        "msa:proxy": { image: `${env.registry.server}/${PROXY_REPOSITORY}:${PROXY_TAG}` },
        "msa:database": {
            mode: "container",
            name: DB.name,
            schema: DB.schema,
            user: DB.user,
            memoryMb: 256,
            image: { base: env.postgresImage },
        },
        "msa:services": Object.fromEntries(
            Object.entries(base).map(([k, v]) => [k, { ...v, ...(services[k] ?? {}) }]),
        ),
    };
}

export function swarmSecrets(env: SwarmEnv, ids: SwarmIds): Record<string, unknown> {
    return {
        "msa:registryPassword": env.registry.password,
        "msa:dbPassword": ids.dbPassword,
        "msa:secretEnv": { billing: { API_TOKEN: ids.apiToken } },
    };
}

/** Tags the tests publish: the first release, a good one, one that never becomes healthy. */
export const TAGS = { first: "1.0", release: "1.1", broken: "1.2-broken" } as const;

/**
 * Publishes what the stack pulls: orders and billing (the sample service) at every tag, the proxy
 * image, and the Postgres base image, which the manager pulls and names as the stack's
 * `msa:database.image.base` so the DB image builds there as on the single-host e2e engine.
 * Returns the orders digests by tag.
 */
export async function publishImages(
    env: SwarmEnv,
    log: (line: string) => void,
): Promise<Record<string, string>> {
    const publisher = new RegistryPublisher(host, env.registry, log, `${env.cache}/images`);
    try {
        const digests: Record<string, string> = {};
        for (const name of ["orders", "billing"]) {
            const repo = `${NAMESPACE}/${PROJECT_PATH}/${name}`;
            digests[`${name}:${TAGS.first}`] = await publisher.publish(
                env.serviceImage,
                repo,
                TAGS.first,
            );
            // The same layers under a new label: a new image (digest) that behaves the same.
            digests[`${name}:${TAGS.release}`] = await publisher.publish(
                env.serviceImage,
                repo,
                TAGS.release,
                { labels: { "msa.e2e.release": TAGS.release } },
            );
            // Starts, but never listens: its healthcheck never passes.
            digests[`${name}:${TAGS.broken}`] = await publisher.publish(
                env.serviceImage,
                repo,
                TAGS.broken,
                { cmd: ["python3", "-c", "import time; time.sleep(3600)"] },
            );
        }
        await publisher.publish(env.haproxyImage, PROXY_REPOSITORY, PROXY_TAG);
        const [baseRepo, baseTag] = splitTag(env.postgresImage);
        const baseInRegistry = `${NAMESPACE}/base/${baseRepo.replace(/^.*\//, "")}`;
        await publisher.publish(env.postgresImage, baseInRegistry, baseTag);
        const manager = nodeEngine(env, env.nodes[0] as string);
        const reference = `${env.registry.server}/${baseInRegistry}:${baseTag}`;
        const stream = await manager.pull(reference, {
            authconfig: {
                username: env.registry.username,
                password: env.registry.password,
                serveraddress: env.registry.server,
            },
        });
        await new Promise<void>((resolve, reject) =>
            manager.modem.followProgress(stream, (err: Error | null) =>
                err ? reject(err) : resolve(),
            ),
        );
        await manager.getImage(reference).tag({ repo: baseRepo, tag: baseTag });
        return digests;
    } finally {
        publisher.dispose();
    }
}

function splitTag(image: string): [string, string] {
    const colon = image.lastIndexOf(":");
    return [image.slice(0, colon), image.slice(colon + 1)];
}

export interface TaskInfo {
    id: string;
    node: string;
    image: string;
    state: string;
    desired: string;
    /** Its addresses on the stack's overlay network. */
    addresses: string[];
    env: string[];
}

/** The tasks of a service the swarm means to run (desired state running), with their node's name. */
export async function serviceTasks(manager: Docker, service: string): Promise<TaskInfo[]> {
    const nodes = (await manager.listNodes()) as {
        ID: string;
        Description?: { Hostname?: string };
    }[];
    const hostname = new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID]));
    const tasks = (await manager.listTasks({
        filters: JSON.stringify({ service: [service], "desired-state": ["running"] }),
    })) as {
        ID: string;
        NodeID?: string;
        DesiredState: string;
        Status?: { State?: string };
        Spec?: { ContainerSpec?: { Image?: string; Env?: string[] } };
        NetworksAttachments?: { Addresses?: string[]; Network?: { Spec?: { Name?: string } } }[];
    }[];
    return tasks.map((t) => ({
        id: t.ID,
        node: hostname.get(t.NodeID ?? "") ?? "",
        image: t.Spec?.ContainerSpec?.Image ?? "",
        state: t.Status?.State ?? "",
        desired: t.DesiredState,
        addresses: (t.NetworksAttachments ?? [])
            .filter((n) => n.Network?.Spec?.Name !== "ingress")
            .flatMap((n) => n.Addresses ?? [])
            .map((a) => a.replace(/\/\d+$/, "")),
        env: t.Spec?.ContainerSpec?.Env ?? [],
    }));
}

/** Waits until `count` tasks of `service` run (and no others are meant to), each passing `ok`. */
export async function waitForTasks(
    manager: Docker,
    service: string,
    count: number,
    ok: (t: TaskInfo) => boolean = () => true,
    timeoutMs = 120_000,
): Promise<TaskInfo[]> {
    let tasks: TaskInfo[] = [];
    await until(`${count} tasks of ${service} run`, timeoutMs, async () => {
        tasks = await serviceTasks(manager, service);
        return tasks.length === count && tasks.every((t) => t.state === "running" && ok(t));
    }).catch((err: Error) => {
        throw new DriverError(
            `${err.message}; now: ${JSON.stringify(tasks.map((t) => ({ node: t.node, state: t.state, image: t.image })))}`,
        );
    });
    return tasks;
}

/**
 * The service's update status (`completed`, `rollback_completed`, `paused`, …) once the update
 * that started after `since` (ms) has settled.
 */
export async function settledUpdate(
    manager: Docker,
    service: string,
    since: number,
    timeoutMs = 180_000,
): Promise<{ state: string; message: string; image: string }> {
    let info: Docker.Service | undefined;
    const settled = ["completed", "paused", "rollback_completed", "rollback_paused"];
    await until(`the update of ${service} settled`, timeoutMs, async () => {
        info = (await manager.getService(service).inspect()) as Docker.Service;
        const status = info.UpdateStatus;
        return (
            Date.parse(status?.StartedAt ?? "") >= since && settled.includes(status?.State ?? "")
        );
    });
    const spec = info?.Spec?.TaskTemplate as { ContainerSpec?: { Image?: string } } | undefined;
    return {
        state: info?.UpdateStatus?.State ?? "",
        message: info?.UpdateStatus?.Message ?? "",
        image: spec?.ContainerSpec?.Image ?? "",
    };
}

export interface LoadResult {
    requests: number;
    failed: number;
    /** The first few failures, for the message of a failing test. */
    failures: string[];
}

/**
 * Sends GET requests to `urls` in turn from `concurrency` loops until `stop` resolves, at most
 * `maxRequests` in all and `maxMs` long; anything but HTTP 200 within 10 s is a failed request.
 */
export async function underLoad<T>(
    urls: string[],
    during: () => Promise<T>,
    opts: { concurrency?: number; maxRequests?: number; maxMs?: number } = {},
): Promise<{ result: T; load: LoadResult }> {
    const { concurrency = 4, maxRequests = 50_000, maxMs = 240_000 } = opts;
    const load: LoadResult = { requests: 0, failed: 0, failures: [] };
    const deadline = Date.now() + maxMs;
    let stopped = false;
    let next = 0;
    const worker = async (): Promise<void> => {
        while (!stopped && load.requests < maxRequests && Date.now() < deadline) {
            const url = urls[next++ % urls.length] as string;
            load.requests++;
            try {
                const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
                await res.arrayBuffer();
                if (res.status !== 200) {
                    fail(`${url}: HTTP ${res.status}`);
                }
            } catch (err) {
                fail(`${url}: ${String((err as Error).cause ?? (err as Error).message)}`);
            }
        }
    };
    const fail = (why: string): void => {
        load.failed++;
        if (load.failures.length < 5) {
            load.failures.push(why);
        }
    };
    const workers = Array.from({ length: concurrency }, worker);
    // Traffic flows before the change starts and until it is over.
    await new Promise((r) => setTimeout(r, 1000));
    try {
        const result = await during();
        await new Promise((r) => setTimeout(r, 1000));
        return { result, load };
    } finally {
        stopped = true;
        await Promise.all(workers);
    }
}

/** Node availability: `drain` moves its tasks away, `active` takes tasks again. */
export async function setAvailability(
    manager: Docker,
    node: string,
    availability: "active" | "drain",
): Promise<void> {
    const found = (
        (await manager.listNodes()) as {
            ID: string;
            Version: { Index: number };
            Spec: Record<string, unknown>;
            Description?: { Hostname?: string };
        }[]
    ).find((n) => n.Description?.Hostname === node);
    if (found === undefined) {
        throw new Error(`no swarm node ${node}`);
    }
    // The modem sends `_query` as the query string and `_body` as the body.
    await manager.getNode(found.ID).update({
        _query: { version: found.Version.Index },
        _body: { ...found.Spec, Availability: availability },
    });
}

/** Each node's state as the manager sees it (`ready`, `down`), by hostname. */
export async function nodeStates(manager: Docker): Promise<Record<string, string>> {
    const nodes = (await manager.listNodes()) as {
        Description?: { Hostname?: string };
        Status?: { State?: string };
    }[];
    return Object.fromEntries(
        nodes.map((n) => [n.Description?.Hostname ?? "", n.Status?.State ?? ""]),
    );
}
