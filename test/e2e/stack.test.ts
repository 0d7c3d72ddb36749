/**
 * The declared stack (DB in a container) on a real Docker engine and a real registry, created by
 * the dockerode driver from exactly the inputs the program declares.
 */
import * as dgram from "dgram";
import type Docker from "dockerode";
import * as path from "path";
import { reveal, type Capture, type CapturedResource } from "../../capture";
import { projectRoot } from "../../config/stackFiles";
import { contextTag } from "../../lib/buildContext";
import {
    containerSpec,
    dependencies,
    DockerDriver,
    DriverError,
    waitHealthy,
    type Created,
    type Deployment,
} from "./driver";
import {
    bridgeGateway,
    DB,
    docker,
    e2eEnv,
    NAMESPACE,
    ORDERS_COMMAND,
    ORDERS_UDP_PORT,
    PROJECT_PATH,
    psql,
    execIn,
    publishServices,
    registryAuth,
    removeStackLeftovers,
    serviceContainers,
    serviceReport,
    sleep,
    stackConfig,
    stackIds,
    stackLeftovers,
    stackSecrets,
    startOrder,
    tcpConnects,
    type StackIds,
} from "./fixtures";

const env = e2eEnv();
const driver = new DockerDriver(docker);
let ids: StackIds;
let capture: Capture;
let deployment: Deployment;
/** A second stack, deployed only to show that the start-order check can fail. */
let unordered: StackIds | undefined;

const resource = (name: string): CapturedResource => {
    const r = capture.resources.find((x) => x.name === name);
    if (r === undefined) {
        throw new Error(`the capture declares no ${name}`);
    }
    return r;
};
const declaredName = (name: string): string => String(resource(name).inputs.name);
const dbContainer = (): string => declaredName("database-container");
const inspect = (name: string): Promise<Docker.ContainerInspectInfo> =>
    docker.getContainer(name).inspect();
const waitTimeout = (): number => Number(resource("database-container").inputs.waitTimeout);
const created = (name: string): Created => {
    const c = deployment.created.find((x) => x.resource.name === name);
    if (c === undefined) {
        throw new Error(`the deployment created no ${name}`);
    }
    return c;
};
/** A container's name on the engine: declared, or given by the provider (autonaming). */
const containerName = (name: string): string => created(name).name ?? declaredName(name);
const declaredLabels = (name: string): Record<string, string> =>
    Object.fromEntries(
        (resource(name).inputs.labels as { label: string; value: string }[]).map((l) => [
            l.label,
            l.value,
        ]),
    );

beforeAll(async () => {
    ids = await stackIds("stack");
    await publishServices(env);
    capture = await driver.capture(ids.stack, stackConfig(env, ids), stackSecrets(env, ids));
    deployment = await driver.deploy(capture);
});

afterAll(async () => {
    // Last resort if a test failed half-way; the "nothing left behind" test asserts the real path.
    await removeStackLeftovers(ids.stack);
    if (unordered !== undefined) {
        await removeStackLeftovers(unordered.stack);
    }
    for (const name of ["ours", "legacy"]) {
        await docker
            .getContainer(`${ids.prefix}-healthtime-${name}`)
            .remove({ force: true })
            .catch(() => undefined);
    }
});

describe("database container", () => {
    test("becomes healthy, and the init step created the database and schema", async () => {
        const info = await inspect(dbContainer());
        expect(info.State.Health?.Status).toBe("healthy");
        expect(
            await psql(
                dbContainer(),
                "postgres",
                `SELECT datname FROM pg_database WHERE datname = '${DB.name}'`,
            ),
        ).toBe(DB.name);
        expect(
            await psql(
                dbContainer(),
                DB.name,
                `SELECT nspname || ':' || pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = '${DB.schema}'`,
            ),
        ).toBe(`${DB.schema}:${DB.user}`);
        expect(await execIn(dbContainer(), ["cat", "/etc/timezone"])).toBe("Asia/Seoul");
    });

    test("the healthcheck is pg_isready over TCP, and PGUSER/PGDATABASE name the declared user and database", async () => {
        const info = await inspect(dbContainer());
        expect(info.Config.Healthcheck?.Test).toEqual([
            "CMD",
            "pg_isready",
            "-h",
            "127.0.0.1",
            "-p",
            "5432",
        ]);
        expect(info.Config.Env).toEqual(
            expect.arrayContaining([`PGUSER=${DB.user}`, `PGDATABASE=${DB.name}`]),
        );
        const passed = (info.State.Health?.Log ?? []).filter((p) => p.ExitCode === 0);
        expect(passed.length).toBeGreaterThan(0);
        expect(passed[passed.length - 1]?.Output.trim()).toBe(
            "127.0.0.1:5432 - accepting connections",
        );
        // libpq takes the user and database from that env alone (no -U, no -d): both exist, so
        // the entrypoint's init and later tools that rely on the env agree.
        expect(
            await execIn(dbContainer(), [
                "psql",
                "--no-psqlrc",
                "-Atc",
                "SELECT current_user || '/' || current_database()",
            ]),
        ).toBe(`${DB.user}/${DB.name}`);
        expect(info.HostConfig.Memory).toBe(DB.memoryMb * 1024 * 1024);
    });

    test("a second start and a second run of the init script neither fail nor duplicate", async () => {
        const container = docker.getContainer(dbContainer());
        const restartedAt = Math.floor(Date.now() / 1000);
        await container.restart();
        await waitHealthy(container, waitTimeout(), dbContainer());
        const logs = (
            await container.logs({ stdout: true, stderr: true, since: restartedAt })
        ).toString();
        expect(logs).toContain(
            "entrypoint: /var/lib/postgresql/data already initialised; skipping init",
        );
        expect(logs).not.toContain("ERROR");
        const script = "/docker-entrypoint-initdb.d/10-create-db-and-schema.sh";
        await execIn(dbContainer(), [script]);
        expect(
            await psql(
                dbContainer(),
                "postgres",
                `SELECT count(*) FROM pg_database WHERE datname = '${DB.name}'`,
            ),
        ).toBe("1");
        expect(
            await psql(
                dbContainer(),
                DB.name,
                `SELECT count(*) FROM pg_namespace WHERE nspname = '${DB.schema}'`,
            ),
        ).toBe("1");
    });
});

describe("services", () => {
    test("each service runs and reaches the database through the alias with the declared credentials", async () => {
        for (const [key, port] of [
            ["orders", ids.ordersPort],
            ["billing", ids.billingPort],
        ] as const) {
            const report = await serviceReport(`http://127.0.0.1:${port}/`);
            expect(report.node).toBe(key);
            expect(report.db).toEqual({
                host: DB.alias,
                port: "5432",
                user: DB.user,
                name: DB.name,
                ok: true,
                server: { database: DB.name, user: DB.user, schemaExists: true },
            });
            expect((await inspect(containerName(`${key}-container`))).State.Running).toBe(true);
        }
    });

    test("each link resolves to the linked service and answers", async () => {
        const net = `${ids.prefix}-net`;
        const ordersIp = (await inspect(containerName("orders-container"))).NetworkSettings
            .Networks[net]?.IPAddress;
        const billing = await serviceReport(`http://127.0.0.1:${ids.billingPort}/`);
        expect(billing.links).toEqual({
            ORDERS: {
                host: "orders",
                port: "8080",
                url: "http://orders:8080",
                addresses: [ordersIp],
                http: { status: 200, body: "ok" },
            },
        });
        const orders = await serviceReport(`http://127.0.0.1:${ids.ordersPort}/`);
        expect(orders.links).toEqual({});
        // The secret env reached billing only; the report names variables, never values.
        expect(billing.env).toContain("API_TOKEN");
        expect(orders.env).not.toContain("API_TOKEN");
    });

    test("every service depends on the DB container, and the engine started it after the DB was healthy", async () => {
        const services = serviceContainers(capture);
        expect(services.map((r) => r.name).sort()).toEqual([
            "billing-container",
            "orders-container",
        ]);
        for (const r of services) {
            expect({ container: r.name, dependsOn: r.dependsOn }).toEqual({
                container: r.name,
                dependsOn: expect.arrayContaining(["database-container"]),
            });
        }
        const order = await startOrder(deployment);
        console.log(
            order
                .map(
                    (o) =>
                        `${o.container} started ${o.startedAt - o.dbHealthyAt} ms after the DB's first passing healthcheck`,
                )
                .join("\n"),
        );
        expect(order.map((o) => [o.container, o.afterDbHealthy])).toEqual([
            ["billing-container", true],
            ["orders-container", true],
        ]);
    });

    test("the driver creates each dependency level concurrently, each resource after its dependencies", () => {
        const deps = dependencies(capture.resources);
        for (const c of deployment.created) {
            for (const dep of deps.get(c.resource.urn)?.needs ?? []) {
                const d = deployment.created.find((x) => x.resource.urn === dep);
                expect({
                    resource: c.resource.name,
                    dependency: d?.resource.name,
                    after: c.startedAt >= (d?.readyAt ?? Infinity),
                }).toEqual({
                    resource: c.resource.name,
                    dependency: d?.resource.name,
                    after: true,
                });
            }
        }
        // Independent resources overlap: each started before the other was done. One at a time,
        // the second would start only once the first had finished.
        const overlap = (a: string, b: string) =>
            created(a).startedAt < created(b).readyAt && created(b).startedAt < created(a).readyAt;
        expect({
            pulls: overlap("orders-image", "billing-image"),
            serviceContainers: overlap("orders-container", "billing-container"),
            networkAndVolume: overlap("network-network", "database-volume"),
        }).toEqual({ pulls: true, serviceContainers: true, networkAndVolume: true });
        expect(created("orders-container").level).toBe(created("database-container").level + 1);
    });

    test("containers carry the declared restart policy, memory limits and labels", async () => {
        const orders = await inspect(containerName("orders-container"));
        const billing = await inspect(containerName("billing-container"));
        const db = await inspect(dbContainer());
        expect(orders.HostConfig.RestartPolicy?.Name).toBe("always");
        expect(billing.HostConfig.RestartPolicy?.Name).toBe("unless-stopped");
        expect(db.HostConfig.RestartPolicy?.Name).toBe("unless-stopped");
        expect(orders.HostConfig.Memory).toBe(128 * 1024 * 1024);
        expect(billing.HostConfig.Memory).toBe(0);
        expect(db.HostConfig.Memory).toBe(DB.memoryMb * 1024 * 1024);
        expect(orders.Config.Labels).toEqual(declaredLabels("orders-container"));
        expect(orders.Config.Labels).toMatchObject({
            "msa.component": "service:orders",
            "msa.environment": "e2e",
            "msa.project": "msa",
            "msa.stack": ids.stack,
        });
    });

    test("orders runs the declared command, verbatim; billing the image's own", async () => {
        const orders = await inspect(containerName("orders-container"));
        expect(orders.Config.Cmd).toEqual(ORDERS_COMMAND);
        // What the engine started: the command's words, none split or interpreted by a shell.
        expect([orders.Path, ...orders.Args]).toEqual(ORDERS_COMMAND);
        const billing = await inspect(containerName("billing-container"));
        expect(billing.Config.Cmd).toEqual(["python3", "-u", "/app/app.py"]);
    });
});

describe("the start-order check", () => {
    test("fails when the services do not depend on the DB container (so it can catch a regression)", async () => {
        unordered = await stackIds("order");
        const declared = await driver.capture(
            unordered.stack,
            stackConfig(env, unordered),
            stackSecrets(env, unordered),
        );
        const db = declared.resources.find((r) => r.name === "database-container");
        // The same capture with the services' dependency on the DB container taken out: the
        // driver then starts them alongside the DB container, as the engine would.
        const stripped: Capture = {
            ...declared,
            resources: declared.resources.map((r) =>
                serviceContainers(declared).includes(r)
                    ? {
                          ...r,
                          dependsOn: r.dependsOn.filter((n) => n !== db?.name),
                          dependsOnUrns: r.dependsOnUrns.filter((u) => u !== db?.urn),
                      }
                    : r,
            ),
        };
        const unorderedDeployment = await driver.deploy(stripped);
        const order = await startOrder(unorderedDeployment);
        expect(order.map((o) => [o.container, o.afterDbHealthy])).toEqual([
            ["billing-container", false],
            ["orders-container", false],
        ]);
        await driver.destroy(unorderedDeployment, { unprotect: true });
        await removeStackLeftovers(unordered.stack);
    });
});

describe("published ports", () => {
    test("listen only on the declared bind address", async () => {
        const gateway = await bridgeGateway();
        const cases = [
            { container: dbContainer(), key: "5432/tcp", bind: "127.0.0.1", port: ids.dbHostPort },
            {
                container: containerName("orders-container"),
                key: "8080/tcp",
                bind: "127.0.0.1",
                port: ids.ordersPort,
            },
            {
                container: containerName("billing-container"),
                key: "8081/tcp",
                bind: "0.0.0.0",
                port: ids.billingPort,
            },
        ];
        for (const c of cases) {
            const info = await inspect(c.container);
            expect(info.HostConfig.PortBindings?.[c.key]).toEqual([
                { HostIp: c.bind, HostPort: String(c.port) },
            ]);
            expect(await tcpConnects("127.0.0.1", c.port)).toBe(true);
            // The host's own non-loopback address: reachable only when bound to every interface.
            expect({ port: c.key, viaGateway: await tcpConnects(gateway, c.port) }).toEqual({
                port: c.key,
                viaGateway: c.bind === "0.0.0.0",
            });
        }
    });

    test("the UDP port is published as UDP on its bind address, next to the TCP one", async () => {
        const orders = await inspect(containerName("orders-container"));
        const udp = `${ORDERS_UDP_PORT}/udp`;
        expect(orders.HostConfig.PortBindings).toEqual({
            "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: String(ids.ordersPort) }],
            [udp]: [{ HostIp: "127.0.0.1", HostPort: String(ids.ordersUdpPort) }],
        });
        // What the engine set up, not only what it was asked for.
        expect(orders.NetworkSettings.Ports[udp]).toEqual([
            { HostIp: "127.0.0.1", HostPort: String(ids.ordersUdpPort) },
        ]);
        expect(orders.NetworkSettings.Ports[`${ORDERS_UDP_PORT}/tcp`]).toBeUndefined();
        // Docker's proxy holds the host's UDP port: nobody else can bind it.
        expect(await udpBindError("127.0.0.1", ids.ordersUdpPort)).toBe("EADDRINUSE");
    });
});

describe("data", () => {
    test("rows survive removal and re-creation of the DB container", async () => {
        await psql(
            dbContainer(),
            DB.name,
            `CREATE TABLE ${DB.schema}.e2e_marker (note text); INSERT INTO ${DB.schema}.e2e_marker VALUES ('kept')`,
        );
        const before = (await inspect(dbContainer())).Id;
        await expect(driver.replace(deployment, "database-container")).rejects.toThrow(
            new DriverError(
                `refusing to replace protected resource ${resource("database-container").urn}; unprotect it first`,
            ),
        );
        await driver.replace(deployment, "database-container", { unprotect: true });
        const after = await inspect(dbContainer());
        expect(after.Id).not.toBe(before);
        expect(after.State.Health?.Status).toBe("healthy");
        expect(await psql(dbContainer(), DB.name, `SELECT note FROM ${DB.schema}.e2e_marker`)).toBe(
            "kept",
        );
        // Services reach the re-created container through the same alias.
        const report = await serviceReport(`http://127.0.0.1:${ids.ordersPort}/`);
        expect(report.db.ok).toBe(true);
    });
});

describe("registry", () => {
    test("push and pull go through the registry with auth, pinned by the registry's digests", async () => {
        const auth = registryAuth(env);
        const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
        const anonymous = await fetch(`http://${env.registry}/v2/_catalog`);
        expect(anonymous.status).toBe(401);
        const catalog = (await (
            await fetch(`http://${env.registry}/v2/_catalog`, { headers: { Authorization: basic } })
        ).json()) as { repositories: string[] };
        const repo = (image: string) => `${NAMESPACE}/${PROJECT_PATH}/${image}`;
        expect(catalog.repositories).toEqual(
            expect.arrayContaining([repo("db"), repo("orders"), repo("billing")]),
        );
        const server = env.registry;
        // No tag in the config: the default is the content hash of docker/db and the build args.
        const dbImage = String(resource("database-image").inputs.imageName);
        const tag = contextTag(path.join(projectRoot(), "docker", "db"), {
            BASE_IMAGE: env.postgresImage,
            TZ: "Asia/Seoul",
        });
        expect(tag).toMatch(/^src-[0-9a-f]{12}$/);
        expect(dbImage).toBe(`${server}/${repo("db")}:${tag}`);
        const dbDigest = await driver.registryDigest(dbImage, auth);
        expect((await inspect(dbContainer())).Config.Image).toBe(
            `${server}/${repo("db")}@${dbDigest}`,
        );
        for (const key of ["orders", "billing"]) {
            const digest = await driver.registryDigest(`${server}/${repo(key)}:1.0`, auth);
            const ref = `${server}/${repo(key)}:1.0@${digest}`;
            expect(resource(`${key}-image`).inputs.name).toBe(ref);
            expect((await inspect(containerName(`${key}-container`))).Config.Image).toBe(ref);
        }
    });

    test("a wrong password gives a clear error when pushing the DB image", async () => {
        const wrong = `wrong-${ids.dbPassword}`;
        const config = stackConfig(env, ids, { "msa:services": {} });
        const secrets = { "msa:registryPassword": wrong, "msa:dbPassword": ids.dbPassword };
        const failure = await driver.capture(ids.stack, config, secrets).then(
            () => new Error("the capture succeeded"),
            (e: Error) => e,
        );
        const image = String(resource("database-image").inputs.imageName);
        expect(failure.message).toContain(
            `push of ${image} to ${env.registry} failed: unauthorized: authentication required`,
        );
        expect(failure.message).not.toContain(wrong);
    });

    test("a wrong password gives a clear error when resolving a service image", async () => {
        const wrong = `wrong-${ids.dbPassword}`;
        const ref = `${env.registry}/${NAMESPACE}/${PROJECT_PATH}/orders:1.0`;
        await expect(
            driver.registryDigest(ref, { ...registryAuth(env), password: wrong }),
        ).rejects.toThrow(
            new DriverError(
                `registry ${env.registry} rejected the credentials of ${env.username} (HTTP 401) while resolving ${ref}`,
            ),
        );
    });
});

describe("time to healthy", () => {
    /**
     * Runs the declared DB container's image and env with the given healthcheck and returns when
     * Postgres first accepted a TCP connection and when Docker reported it healthy (the moment a
     * `wait`/`service_healthy` dependant may start), both in ms after the container started.
     */
    async function measure(
        name: string,
        healthcheck: Record<string, unknown>,
    ): Promise<{ accepting: number; healthy: number }> {
        const inputs = {
            ...(resource("database-container").inputs as Record<string, unknown>),
            name: `${ids.prefix}-healthtime-${name}`,
            healthcheck,
            ports: [],
            volumes: [],
            networksAdvanced: [],
            labels: [],
            restart: "no",
        };
        const spec = containerSpec(reveal(inputs) as Record<string, unknown>);
        const container = await docker.createContainer(spec);
        await container.start();
        const started = Date.now();
        const ip = (await container.inspect()).NetworkSettings.IPAddress;
        let accepting: number | undefined;
        let healthy: number | undefined;
        while (healthy === undefined || accepting === undefined) {
            if (accepting === undefined && (await tcpConnects(ip, 5432))) {
                accepting = Date.now() - started;
            }
            if (
                healthy === undefined &&
                (await container.inspect()).State.Health?.Status === "healthy"
            ) {
                healthy = Date.now() - started;
            }
            if (Date.now() - started > 120000) {
                throw new Error(`${name}: not healthy within 120 s`);
            }
            await sleep(50);
        }
        await container.remove({ force: true });
        return { accepting, healthy };
    }

    test("our healthcheck lets dependants start within 2 s of Postgres accepting connections", async () => {
        const declared = resource("database-container").inputs.healthcheck as Record<
            string,
            unknown
        >;
        const ours = await measure("ours", declared);
        const legacy = await measure("legacy", {
            ...declared,
            interval: "10s",
            timeout: "3s",
            retries: 3,
            startPeriod: "0s",
        });
        const lag = (m: { accepting: number; healthy: number }) => m.healthy - m.accepting;
        const line = (label: string, m: { accepting: number; healthy: number }) =>
            `${label}: accepting after ${m.accepting} ms, healthy after ${m.healthy} ms (+${lag(m)} ms)`;
        console.log(
            [
                "time to healthy (container start → dependants may start):",
                line(
                    `  ours   (interval ${String(declared.interval)}, timeout ${String(declared.timeout)}, retries ${String(declared.retries)})`,
                    ours,
                ),
                line("  legacy (interval 10s, timeout 3s, retries 3)", legacy),
                `  ratio legacy/ours: ${(legacy.healthy / ours.healthy).toFixed(1)}x`,
            ].join("\n"),
        );
        expect(lag(ours)).toBeLessThanOrEqual(2000);
    });
});

describe("destroy", () => {
    test("refuses while resources are protected, then leaves only the retained volume", async () => {
        const protectedUrns = [resource("database-volume").urn, resource("database-container").urn];
        await expect(driver.destroy(deployment)).rejects.toThrow(
            new DriverError(
                `refusing to destroy: protected resources ${protectedUrns.join(", ")}; unprotect them first`,
            ),
        );
        expect((await stackLeftovers(ids.stack)).containers).toHaveLength(3);
        await driver.destroy(deployment, { unprotect: true });
        const volume = declaredName("database-volume");
        expect(resource("database-volume").retainOnDelete).toBe(true);
        expect(await stackLeftovers(ids.stack)).toEqual({
            containers: [],
            networks: [],
            volumes: [volume],
        });
        // The retained volume is this test's to clean up.
        await docker.getVolume(volume).remove();
        expect(await stackLeftovers(ids.stack)).toEqual({
            containers: [],
            networks: [],
            volumes: [],
        });
    });
});

/** The error code of binding a UDP socket to host:port, or "bound" when the port was free. */
function udpBindError(host: string, port: number): Promise<string> {
    return new Promise((resolve) => {
        const socket = dgram.createSocket("udp4");
        socket.once("error", (err: NodeJS.ErrnoException) => {
            socket.close();
            resolve(err.code ?? err.message);
        });
        socket.bind(port, host, () => socket.close(() => resolve("bound")));
    });
}
