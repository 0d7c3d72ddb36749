/**
 * External mode on a real engine: the services use a Postgres that runs outside the stack, and the
 * stack declares (and so creates) no DB image, container or volume.
 */
import type { Capture } from "../../capture";
import { DockerDriver, freePort, waitHealthy, type Deployment } from "./driver";
import {
    bridgeGateway,
    DB,
    docker,
    e2eEnv,
    externalDatabase,
    publishServices,
    removeStackLeftovers,
    serviceContainers,
    serviceReport,
    stackConfig,
    stackIds,
    stackLeftovers,
    stackSecrets,
    type StackIds,
} from "./fixtures";

const env = e2eEnv();
const driver = new DockerDriver(docker);
let ids: StackIds;
let externalName: string;
let external: { host: string; port: number };
let capture: Capture;
let deployment: Deployment;

beforeAll(async () => {
    ids = await stackIds("ext");
    // The "external" server: the Postgres base image on the host's network, listening only on
    // the host's docker0 address, which containers on any bridge reach like a server on the LAN.
    external = { host: await bridgeGateway(), port: await freePort() };
    externalName = `${ids.prefix}-external-postgres`;
    const container = await docker.createContainer({
        name: externalName,
        Image: env.postgresImage,
        Cmd: ["postgres", "-c", `listen_addresses=${external.host}`],
        Env: [
            `POSTGRES_USER=${DB.user}`,
            `POSTGRES_PASSWORD=${ids.dbPassword}`,
            `POSTGRES_DB=${DB.name}`,
            `PGPORT=${external.port}`,
        ],
        Healthcheck: {
            Test: ["CMD", "pg_isready", "-h", external.host, "-p", String(external.port)],
            Interval: 250_000_000,
            Retries: 100,
        },
        HostConfig: { NetworkMode: "host" },
    });
    await container.start();
    await waitHealthy(container, 60, externalName);
    await publishServices(env);
    capture = await driver.capture(
        ids.stack,
        stackConfig(env, ids, { "msa:database": externalDatabase(external.host, external.port) }),
        stackSecrets(env, ids),
    );
    deployment = await driver.deploy(capture);
});

afterAll(async () => {
    await removeStackLeftovers(ids.stack);
    await docker
        .getContainer(externalName)
        .remove({ force: true })
        .catch(() => undefined);
});

test("the stack declares no DB image, container or volume", () => {
    const declared = capture.resources.filter((r) => r.custom).map((r) => `${r.type} ${r.name}`);
    expect(declared.sort()).toEqual([
        "docker:index/container:Container billing-container",
        "docker:index/container:Container orders-container",
        "docker:index/network:Network network-network",
        "docker:index/remoteImage:RemoteImage billing-image",
        "docker:index/remoteImage:RemoteImage orders-image",
        "pulumi:providers:docker docker",
    ]);
});

test("the services wait for nothing but their network and image", () => {
    // Sorted: the program declares the services' containers in whatever order their images resolve.
    expect(
        serviceContainers(capture)
            .map((r) => ({ container: r.name, dependsOn: [...r.dependsOn].sort() }))
            .sort((a, b) => a.container.localeCompare(b.container)),
    ).toEqual(
        ["billing", "orders"].map((key) => ({
            container: `${key}-container`,
            dependsOn: [`${key}-image`, "network-network"].sort(),
        })),
    );
});

test("the services reach the Postgres running outside the stack", async () => {
    for (const [key, port] of [
        ["orders", ids.ordersPort],
        ["billing", ids.billingPort],
    ] as const) {
        const report = await serviceReport(`http://127.0.0.1:${port}/`);
        expect({ key, db: report.db }).toEqual({
            key,
            db: {
                host: external.host,
                port: String(external.port),
                user: DB.user,
                name: DB.name,
                ok: true,
                // The external server's own setup is not the stack's: no init script ran there.
                server: { database: DB.name, user: DB.user, schemaExists: false },
            },
        });
    }
});

test("no DB container or volume exists on the engine", async () => {
    // The services' containers are named by the provider (autonaming): the program sets no name.
    expect(await stackLeftovers(ids.stack)).toEqual({
        containers: [
            expect.stringMatching(/^billing-container-[0-9a-f]{7}$/),
            expect.stringMatching(/^orders-container-[0-9a-f]{7}$/),
        ],
        networks: [`${ids.prefix}-net`],
        volumes: [],
    });
    const byName = await docker.listContainers({
        all: true,
        filters: JSON.stringify({ name: [`${ids.prefix}-db`] }),
    });
    expect(byName).toEqual([]);
    const volumes = await docker.listVolumes({
        filters: JSON.stringify({ name: [`${ids.prefix}-db-data`] }),
    });
    expect(volumes.Volumes ?? []).toEqual([]);
});

test("destroy leaves nothing behind, and the external server keeps running", async () => {
    await driver.destroy(deployment);
    expect(await stackLeftovers(ids.stack)).toEqual({ containers: [], networks: [], volumes: [] });
    expect((await docker.getContainer(externalName).inspect()).State.Running).toBe(true);
});
