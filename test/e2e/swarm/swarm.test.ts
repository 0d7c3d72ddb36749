/**
 * The stack with `msa:runtime: swarm` on a three-node Docker Swarm (cluster.sh): what the program
 * declares, created by the swarm driver from exactly the captured inputs, and how the cluster
 * runs it: replicas spread over the nodes, services reaching the database and each other by name,
 * a release under load that fails no request, a release that never becomes healthy rolled back by
 * swarm, a drained and a stopped node whose tasks move to the others while the database stays on
 * its labelled node, and a destroy that leaves only the data volume.
 *
 * The cluster has no IPVS (the kernel here lacks it): the stack publishes with `msa:swarm.publish:
 * host`, so the edge proxy runs on every node in host mode and services resolve by DNS round robin.
 *
 * Prints one line at the end: `swarm: <N> nodes, <M> services, release failed requests <F> of <R>`.
 */
import type Docker from "dockerode";
import { reveal, type Capture, type CapturedResource } from "../../../capture";
import { DriverError } from "../driver";
import type { ServiceReport } from "../fixtures";
import { labels, T } from "./engineSpec";
import {
    BILLING_PORT,
    DB,
    host,
    nodeEngine,
    nodeStates,
    ORDERS_PORT,
    publishImages,
    REPLICAS,
    serviceTasks,
    setAvailability,
    settledUpdate,
    swarmConfig,
    swarmEnv,
    swarmIds,
    swarmSecrets,
    TAGS,
    underLoad,
    waitForTasks,
    type LoadResult,
    type SwarmEnv,
    type SwarmIds,
} from "./fixtures";
import { SwarmDriver, until, type SwarmDeployment } from "./swarmDriver";

const env = swarmEnv();
if (env === undefined) {
    process.stdout.write(
        "swarm e2e skipped: no cluster (SWARM_MANAGER_SOCKET unset); npm run test:e2e:swarm starts one\n",
    );
    test.skip("msa:runtime swarm on a three-node cluster (needs npm run test:e2e:swarm)", () =>
        undefined);
} else {
    describe("msa:runtime swarm on a three-node cluster", () => swarmSuite(env));
}

function swarmSuite(cluster: SwarmEnv): void {
    const t0 = Date.now();
    /** SWARM_E2E_LOG=1: what the driver does, with seconds since the suite started. */
    const log = process.env.SWARM_E2E_LOG
        ? (l: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${l}\n`)
        : () => undefined;
    const driver = new SwarmDriver(log);
    const manager = nodeEngine(cluster, cluster.nodes[0] as string);
    const [dbNode, drainedNode, stoppedNode] = cluster.nodes as [string, string, string];
    let ids: SwarmIds;
    let capture: Capture;
    let deployment: SwarmDeployment | undefined;
    let digests: Record<string, string>;
    let release: LoadResult | undefined;

    /** The declared resource; the service's name on the engine (declared or autonamed). */
    const resource = (name: string): CapturedResource => {
        const r = capture.resources.find((x) => x.name === name);
        if (r === undefined) {
            throw new Error(`the capture declares no ${name}`);
        }
        return r;
    };
    const serviceName = (logical: string): string => {
        const c = deployment?.created.find((x) => x.resource.name === logical);
        if (c?.name === undefined) {
            throw new Error(`the deployment created no service ${logical}`);
        }
        return c.name;
    };
    const dbService = (): string => serviceName("database-service");
    const proxyService = (): string => serviceName("proxy-service");
    const dataVolume = (): string => {
        const inputs = reveal(resource("database-service").inputs) as {
            taskSpec: { containerSpec: { mounts: { source: string }[] } };
        };
        return inputs.taskSpec.containerSpec.mounts[0]?.source ?? "";
    };
    const urls = (port: number, nodes = cluster.nodes, path = "/health"): string[] =>
        nodes.map((n) => `http://${cluster.addresses[cluster.nodes.indexOf(n)]}:${port}${path}`);
    const report = async (url: string): Promise<ServiceReport> => {
        const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
        expect(res.status).toBe(200);
        return (await res.json()) as ServiceReport;
    };
    /** Every orders replica runs the image published as `tag`. */
    const ordersRun = (tag: string) =>
        waitForTasks(manager, "orders", REPLICAS.orders, (t) =>
            t.image.endsWith(digests[`orders:${tag}`] as string),
        );
    /** Everything the stack runs is running: its tasks, and the proxy answering on `nodes`. */
    const stackAnswers = async (nodes: string[]): Promise<void> => {
        await until(`the proxy answers on ${nodes.join(", ")}`, 60_000, async () => {
            const answers = await Promise.all(
                [...urls(ORDERS_PORT, nodes), ...urls(BILLING_PORT, nodes)].map((u) =>
                    fetch(u, { signal: AbortSignal.timeout(3000) }).then(
                        (r) => r.status === 200,
                        () => false,
                    ),
                ),
            );
            return answers.every(Boolean);
        });
    };

    beforeAll(async () => {
        ids = swarmIds();
        digests = await publishImages(cluster, log);
        capture = await driver.capture(
            ids.stack,
            swarmConfig(cluster, ids),
            swarmSecrets(cluster, ids),
        );
        log("captured");
        deployment = await driver.deploy(capture);
        log("deployed");
        await waitForTasks(manager, dbService(), 1);
        await waitForTasks(manager, "orders", REPLICAS.orders);
        await waitForTasks(manager, "billing", REPLICAS.billing);
        await waitForTasks(manager, proxyService(), cluster.nodes.length);
        await stackAnswers(cluster.nodes);
        log("every task runs, the proxy answers on every node");
    }, 600_000);

    afterAll(async () => {
        if (deployment !== undefined && deployment.created.length > 0) {
            await driver.destroy(deployment, { unprotect: true }).catch(() => undefined);
        }
        if (ids !== undefined && capture !== undefined) {
            await nodeEngine(cluster, dbNode)
                .getVolume(dataVolume())
                .remove()
                .catch(() => undefined);
        }
        const services = capture?.resources.filter((r) => r.type === T.service).length ?? 0;
        process.stdout.write(
            `swarm: ${cluster.nodes.length} nodes, ${services} services, release failed requests ${release?.failed ?? "n/a"} of ${release?.requests ?? "n/a"}\n`,
        );
    }, 300_000);

    test("creates the declared swarm resources: overlay network, config, services as declared", async () => {
        const types = capture.resources.filter((r) => r.custom).map((r) => r.type);
        expect(types.filter((t) => t === T.service)).toHaveLength(4);
        const network = (await manager
            .getNetwork(String(reveal(resource("network-network").inputs.name)))
            .inspect()) as { Driver: string; Scope: string; Attachable: boolean };
        expect(network).toMatchObject({ Driver: "overlay", Scope: "swarm", Attachable: true });
        /** The Engine API's ServiceSpec as the engine holds it, read as JSON. */
        const spec = async (name: string) =>
            // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON paths are asserted below
            ((await manager.getService(name).inspect()) as Docker.Service).Spec as any;
        const orders = await spec("orders");
        expect(orders.Mode).toEqual({ Replicated: { Replicas: REPLICAS.orders } });
        expect(orders.UpdateConfig).toMatchObject({
            Order: "start-first",
            FailureAction: "rollback",
        });
        expect(orders.RollbackConfig).toMatchObject({ Order: "start-first" });
        expect(orders.EndpointSpec.Mode).toBe("dnsrr");
        expect(orders.TaskTemplate.Resources.Limits.MemoryBytes).toBe(128 * 1024 * 1024);
        expect(orders.TaskTemplate.ContainerSpec.Healthcheck.Test[0]).toBe("CMD-SHELL");
        const db = await spec(dbService());
        expect(db.TaskTemplate.Placement.Constraints).toEqual(["node.labels.msa.db==true"]);
        expect(db.UpdateConfig).toMatchObject({ Order: "stop-first" });
        expect(db.Mode).toEqual({ Replicated: { Replicas: 1 } });
        const proxy = await spec(proxyService());
        expect(proxy.Mode).toEqual({ Global: {} });
        expect(proxy.EndpointSpec.Ports).toEqual(
            [ORDERS_PORT, BILLING_PORT].map((p) => ({
                Protocol: "tcp",
                TargetPort: p,
                PublishedPort: p,
                PublishMode: "host",
            })),
        );
        expect(proxy.TaskTemplate.ContainerSpec.Configs).toHaveLength(1);
        // Labels reach the engine as declared.
        expect(labels(reveal(resource("orders-service").inputs.labels))).toEqual(orders.Labels);
    });

    test("spreads the replicas over the three nodes; the DB runs on the node labelled msa.db=true", async () => {
        const orders = await serviceTasks(manager, "orders");
        expect(new Set(orders.map((t) => t.node))).toEqual(new Set(cluster.nodes));
        const billing = await serviceTasks(manager, "billing");
        expect(new Set(billing.map((t) => t.node)).size).toBe(REPLICAS.billing);
        const proxy = await serviceTasks(manager, proxyService());
        expect(proxy.map((t) => t.node).sort()).toEqual([...cluster.nodes].sort());
        const db = await serviceTasks(manager, dbService());
        expect(db.map((t) => t.node)).toEqual([dbNode]);
        const nodes = (await manager.listNodes()) as {
            Description: { Hostname: string };
            Spec: { Labels?: Record<string, string> };
        }[];
        expect(
            nodes
                .filter((n) => n.Spec.Labels?.["msa.db"] === "true")
                .map((n) => n.Description.Hostname),
        ).toEqual([dbNode]);
    });

    test("services reach the DB and each other by name, through the proxy on every node", async () => {
        const ordersAddresses = (await serviceTasks(manager, "orders")).flatMap((t) => t.addresses);
        for (const node of cluster.nodes) {
            const [ordersUrl] = urls(ORDERS_PORT, [node], "/");
            const [billingUrl] = urls(BILLING_PORT, [node], "/");
            const orders = await report(ordersUrl as string);
            expect(orders.db).toMatchObject({ ok: true, host: "database", name: DB.name });
            expect(orders.db.server).toEqual({
                database: DB.name,
                user: DB.user,
                schemaExists: true,
            });
            const billing = await report(billingUrl as string);
            expect(billing.db.ok).toBe(true);
            expect(billing.env).toContain("API_TOKEN");
            const link = billing.links.ORDERS;
            // DNS round robin: the name resolves to every orders task.
            expect(link?.addresses.sort()).toEqual([...ordersAddresses].sort());
            expect(link?.http).toEqual({ status: 200, body: "ok" });
        }
    });

    test("the nodes pull with the credentials each service carries: the registry refuses anyone else", async () => {
        const res = await fetch(
            `http://${cluster.registry.server}/v2/e2e/msa/orders/manifests/${TAGS.first}`,
        );
        expect(res.status).toBe(401);
        for (const node of cluster.nodes.slice(1)) {
            // No login on the workers: what they pulled came with the service.
            const exec = await host.getContainer(node).exec({
                Cmd: ["test", "-e", "/root/.docker/config.json"],
            });
            await (await exec.start({})).resume();
            await until(
                `test in ${node} exits`,
                10_000,
                async () => (await exec.inspect()).Running === false,
            );
            expect((await exec.inspect()).ExitCode).toBe(1);
            const images = await nodeEngine(cluster, node).listImages();
            expect(
                images
                    .flatMap((i) => i.RepoDigests ?? [])
                    .some((d) => d.endsWith(digests[`orders:${TAGS.first}`] as string)),
            ).toBe(true);
        }
    });

    test("a release (new orders tag, new billing env) under constant load through the proxy fails no request", async () => {
        const next = await driver.capture(
            ids.stack,
            swarmConfig(cluster, ids, {
                orders: { tag: TAGS.release },
                billing: { env: { LISTEN_PORTS: "8081", RELEASE: TAGS.release } },
            }),
            swarmSecrets(cluster, ids),
        );
        const since = Date.now() - 500;
        const { result, load } = await underLoad(
            [...urls(ORDERS_PORT), ...urls(BILLING_PORT)],
            async () => {
                const actions = await driver.update(deployment as SwarmDeployment, next);
                const orders = await settledUpdate(manager, "orders", since);
                const billing = await settledUpdate(manager, "billing", since);
                await ordersRun(TAGS.release);
                await waitForTasks(manager, "billing", REPLICAS.billing, (t) =>
                    t.env.includes(`RELEASE=${TAGS.release}`),
                );
                return { actions, orders, billing };
            },
        );
        release = load;
        expect(result.actions).toMatchObject({
            "orders-service": "updated",
            "billing-service": "updated",
            "database-service": "same",
            "proxy-service": "same",
        });
        expect(result.orders.state).toBe("completed");
        expect(result.billing.state).toBe("completed");
        expect(load.requests).toBeGreaterThan(100);
        expect(load.failures).toEqual([]);
        expect(load.failed).toBe(0);
    });

    test("a release whose image never becomes healthy is rolled back by swarm, and the stack keeps serving", async () => {
        const broken = await driver.capture(
            ids.stack,
            swarmConfig(cluster, ids, {
                orders: { tag: TAGS.broken },
                billing: { env: { LISTEN_PORTS: "8081", RELEASE: TAGS.release } },
            }),
            swarmSecrets(cluster, ids),
        );
        const since = Date.now() - 500;
        const { result, load } = await underLoad(urls(ORDERS_PORT), async () => {
            // Without `convergeConfig` the provider (and so the driver) returns once the engine
            // took the update; with it, it waits and reports the rollback as an error.
            const outcome = await driver.update(deployment as SwarmDeployment, broken).then(
                () => "accepted",
                (err: Error) => err.message,
            );
            const orders = await settledUpdate(manager, "orders", since);
            await ordersRun(TAGS.release);
            return { outcome, orders };
        });
        expect(result.outcome === "accepted" || /rollback completed/.test(result.outcome)).toBe(
            true,
        );
        expect(result.orders.state).toBe("rollback_completed");
        expect(result.orders.image.endsWith(digests[`orders:${TAGS.release}`] as string)).toBe(
            true,
        );
        expect(load.failures).toEqual([]);
        expect(load.failed).toBe(0);
    });

    test("a drained node's tasks move to the others; the DB stays on its labelled node", async () => {
        await setAvailability(manager, drainedNode, "drain");
        try {
            const elsewhere = (t: { node: string }) => t.node !== drainedNode;
            await waitForTasks(manager, "orders", REPLICAS.orders, elsewhere);
            await waitForTasks(manager, "billing", REPLICAS.billing, elsewhere);
            await waitForTasks(manager, proxyService(), cluster.nodes.length - 1, elsewhere);
            expect((await serviceTasks(manager, dbService())).map((t) => t.node)).toEqual([dbNode]);
            await stackAnswers([dbNode, stoppedNode]);
        } finally {
            await setAvailability(manager, drainedNode, "active");
        }
        await waitForTasks(manager, proxyService(), cluster.nodes.length);
    });

    test("a stopped node's tasks move to the others; the DB stays on its labelled node", async () => {
        // SIGKILL to the node's dockerd: the node and every task on it are gone at once.
        await host.getContainer(stoppedNode).kill();
        try {
            await until(
                `${stoppedNode} is down`,
                60_000,
                async () => (await nodeStates(manager))[stoppedNode] === "down",
            );
            const elsewhere = (t: { node: string }) => t.node !== stoppedNode;
            await waitForTasks(manager, "orders", REPLICAS.orders, elsewhere);
            await waitForTasks(manager, "billing", REPLICAS.billing, elsewhere);
            expect((await serviceTasks(manager, dbService())).map((t) => t.node)).toEqual([dbNode]);
            await stackAnswers([dbNode, drainedNode]);
            const [ordersUrl] = urls(ORDERS_PORT, [drainedNode], "/");
            expect((await report(ordersUrl as string)).db.ok).toBe(true);
        } finally {
            // Back in the swarm (its state kept), so destroy is checked on all three nodes.
            await host.getContainer(stoppedNode).start();
            await until(
                `${stoppedNode} is ready again`,
                120_000,
                async () => (await nodeStates(manager))[stoppedNode] === "ready",
            );
        }
    });

    test("destroy leaves only the retained data volume, on the DB's node", async () => {
        await driver.destroy(deployment as SwarmDeployment, { unprotect: true });
        const stackFilter = JSON.stringify({ label: [`msa.stack=${ids.stack}`] });
        expect(await manager.listServices({ filters: stackFilter })).toEqual([]);
        expect(await manager.listConfigs()).toEqual([]);
        const networkName = String(reveal(resource("network-network").inputs.name));
        for (const node of cluster.nodes) {
            const engine = nodeEngine(cluster, node);
            // The restarted node removes its dead tasks' containers once it is back.
            await until(
                `${node} has no container of the stack`,
                60_000,
                async () =>
                    (await engine.listContainers({ all: true, filters: stackFilter })).length === 0,
            );
            const networks = (await engine.listNetworks()).map((n) => n.Name);
            expect(networks).not.toContain(networkName);
            const volumes = ((await engine.listVolumes()).Volumes ?? []).map((v) => v.Name);
            expect(volumes).toEqual(node === dbNode ? [dataVolume()] : []);
        }
        deployment = undefined;
    });

    test("the driver refuses an input it does not map, naming it, before creating anything", async () => {
        const withExtra = structuredClone(capture);
        const orders = withExtra.resources.find(
            (r) => r.name === "orders-service",
        ) as CapturedResource;
        (
            orders.inputs.taskSpec as { containerSpec: Record<string, unknown> }
        ).containerSpec.hostname = "x";
        const before = await manager.listServices();
        await expect(driver.deploy(withExtra)).rejects.toThrow(
            new DriverError(`${orders.urn}: unsupported inputs taskSpec.containerSpec.hostname`),
        );
        expect(await manager.listServices()).toEqual(before);
    });
}
