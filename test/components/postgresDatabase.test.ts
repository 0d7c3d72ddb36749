/**
 * `PostgresDatabase` on its own, with plain `pulumi.runtime.setMocks`: the endpoint it exposes,
 * what it declares on a Docker host and in a swarm (image, volume, container or service, the
 * healthcheck and its wait), the data volume's safety options, the image tag derived from the
 * build context, the outputs it registers, and one exact message per bad argument.
 */
import * as pulumi from "@pulumi/pulumi";
import { optionsRecorder, registeredOutputs, value } from "./harness";
import { isRpcSecret } from "@pulumi/pulumi/runtime/rpc";
import * as path from "path";
import { contextTag } from "../../lib/buildContext";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}
const created: Registered[] = [];
const { options, recordOptions } = optionsRecorder();
void pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            created.push({ type: args.type, name: args.name, inputs: args.inputs });
            const state =
                args.type === "docker:index/image:Image"
                    ? { ...args.inputs, repoDigest: "registry.example.com/g/p/db@sha256:beef" }
                    : args.inputs;
            return { id: `${args.name}-id`, state };
        },
        call: (args) => args.inputs,
    },
    "msa",
    "test",
    false,
);

import { PostgresDatabase, PostgresDatabaseArgs } from "../../components";

const CONTEXT = path.join(__dirname, "..", "..", "docker", "db");

/** The inputs of the one resource declared with `name`, once the component is registered. */
async function inputsOf(db: PostgresDatabase, name: string): Promise<Record<string, unknown>> {
    await registeredOutputs(db);
    const found = created.filter((r) => r.name === name);
    expect(found).toHaveLength(1);
    return (found[0] as Registered).inputs;
}

/** `type name` of each resource named `name` or `name-…`, sorted (registration order varies). */
function declaredBy(name: string): string[] {
    return created
        .filter((r) => r.name === name || r.name.startsWith(`${name}-`))
        .map((r) => `${r.type} ${r.name}`)
        .sort();
}

/** The mock runtime hands a value holding a secret over as one secret: unwrap it. */
function unwrap(v: unknown): unknown {
    return isRpcSecret(v) ? (v as { value: unknown }).value : v;
}

const HEALTHCHECK = {
    tests: ["CMD", "pg_isready", "-h", "127.0.0.1", "-p", "5432"],
    interval: "1s",
    timeout: "3s",
    retries: 5,
    startPeriod: "60s",
};

function args(over: Partial<PostgresDatabaseArgs> = {}): PostgresDatabaseArgs {
    return {
        buildContext: CONTEXT,
        imageRepository: "registry.example.com/g/p/db",
        networkName: "net",
        alias: "database",
        containerName: "db",
        volumeName: "db-data",
        dbName: "app",
        schema: "public",
        user: "postgres",
        password: pulumi.secret("pw"),
        healthcheck: { interval: "1s", timeout: "3s", retries: 5, startPeriod: "60s" },
        client: { kind: "pg", dialect: "D", driverClassName: "Drv", type: "T" },
        ...over,
    };
}

beforeEach(() => {
    created.length = 0;
});

describe("PostgresDatabase", () => {
    test("exposes the endpoint services connect to, waiting on the container", async () => {
        const db = new PostgresDatabase("database", args({ port: 6543 }));
        expect(db.endpoint).toMatchObject({
            host: "database",
            port: 6543,
            name: "app",
            schema: "public",
            user: "postgres",
        });
        expect(await pulumi.isSecret(pulumi.output(db.endpoint.password))).toBe(true);
        expect(db.endpoint.readyAfter).toHaveLength(1);
        expect(await value(db.hostEndpoint)).toBe("127.0.0.1:6543");
    });

    test("the data volume is always retained; protect is the caller's switch", async () => {
        const db = new PostgresDatabase("data1", args({ volumeName: "v1" }), recordOptions);
        await value(db.volumeName);
        expect(options["data1-volume"]).toMatchObject({
            retainOnDelete: true,
            protect: false,
            ignoreChanges: ["labels"],
        });
        const prot = new PostgresDatabase(
            "data2",
            args({ volumeName: "v2", protect: true }),
            recordOptions,
        );
        await value(prot.volumeName);
        expect(options["data2-volume"]).toMatchObject({ retainOnDelete: true, protect: true });
        expect(options["data2-container"]).toMatchObject({ protect: true });
    });

    test("without a tag, the image is tagged from its build context; pushed images run by digest", async () => {
        const db = new PostgresDatabase(
            "tagged",
            args({ push: { server: "registry.example.com", username: "u", password: "p" } }),
        );
        expect(await value(db.imageRef)).toBe("registry.example.com/g/p/db@sha256:beef");
        const image = created.find((r) => r.name === "tagged-image");
        expect(image?.inputs.imageName).toMatch(
            /^registry\.example\.com\/g\/p\/db:src-[0-9a-f]{12}$/,
        );
        expect(image?.inputs.skipPush).toBe(false);
    });

    test("a local build is not pushed and runs by name", async () => {
        const db = new PostgresDatabase("local", args({ imageTag: "dev" }));
        expect(await value(db.imageRef)).toBe("registry.example.com/g/p/db:dev");
        expect(created.find((r) => r.name === "local-image")?.inputs.skipPush).toBe(true);
    });

    test("on a Docker host: the image, a retained volume and a container that waits to be healthy", async () => {
        const db = new PostgresDatabase(
            "host",
            args({ memoryMb: 256, labels: { "msa.stack": "dev" } }),
            recordOptions,
        );
        const tag = contextTag(CONTEXT, { BASE_IMAGE: "postgres:14", TZ: "UTC" });
        const container = await inputsOf(db, "host-container");
        expect(declaredBy("host")).toEqual([
            "docker:index/container:Container host-container",
            "docker:index/image:Image host-image",
            "docker:index/volume:Volume host-volume",
            "msa:database:PostgresDatabase host",
        ]);
        expect(created.find((r) => r.name === "host-image")?.inputs).toEqual({
            imageName: `registry.example.com/g/p/db:${tag}`,
            build: {
                context: CONTEXT,
                dockerfile: path.join(CONTEXT, "Dockerfile"),
                args: { BASE_IMAGE: "postgres:14", TZ: "UTC" },
            },
            skipPush: true,
            // The provider's default, filled in by @pulumi/docker.
            buildOnPreview: false,
        });
        expect(created.find((r) => r.name === "host-volume")?.inputs).toEqual({
            name: "db-data",
            driver: "local",
            labels: [{ label: "msa.stack", value: "dev" }],
        });
        // The password makes the whole list a secret on its way to the engine.
        expect(isRpcSecret(container.envs)).toBe(true);
        expect({ ...container, envs: unwrap(container.envs) }).toEqual({
            name: "db",
            image: `registry.example.com/g/p/db:${tag}`,
            envs: [
                "POSTGRES_USER=postgres",
                "POSTGRES_PASSWORD=pw",
                "POSTGRES_DB=app",
                "DB_NAME=app",
                "DB_SCHEMA_NAME=public",
                "PGPORT=5432",
                "PGDATA=/var/lib/postgresql/data",
                "TZ=UTC",
                "PGUSER=postgres",
                "PGDATABASE=app",
            ],
            volumes: [{ volumeName: "db-data", containerPath: "/var/lib/postgresql/data" }],
            ports: [{ internal: 5432, external: 5432, ip: "127.0.0.1", protocol: "tcp" }],
            networksAdvanced: [{ name: "net", aliases: ["database"] }],
            healthcheck: HEALTHCHECK,
            wait: true,
            // 60s start period + 5 retries × (1s interval + 3s timeout), and 30s to spare.
            waitTimeout: 110,
            restart: "unless-stopped",
            memory: 256,
            labels: [
                {
                    label: "msa.release",
                    value: "delete-first: database restart (one data directory)",
                },
                { label: "msa.stack", value: "dev" },
            ],
        });
        expect(options["host-image"]?.parent).toBe(db);
        expect(options["host-volume"]?.parent).toBe(db);
        expect(options["host-container"]).toMatchObject({ parent: db, protect: false });
        expect(await registeredOutputs(db)).toEqual({
            imageRef: `registry.example.com/g/p/db:${tag}`,
            volumeName: "db-data",
            containerName: "db",
            hostEndpoint: "127.0.0.1:5432",
        });
    });

    test("a user given as an Output reaches the env as its value", async () => {
        const db = new PostgresDatabase(
            "outuser",
            args({ user: pulumi.output("admin"), imageTag: "t", containerName: "db-out" }),
        );
        const envs = unwrap((await inputsOf(db, "outuser-container")).envs) as string[];
        expect(envs.filter((e) => /^(POSTGRES_USER|PGUSER)=/.test(e))).toEqual([
            "POSTGRES_USER=admin",
            "PGUSER=admin",
        ]);
    });

    test("base image, timezone, port and host address: built, set and published as asked", async () => {
        const db = new PostgresDatabase(
            "custom",
            args({
                imageTag: "t1",
                baseImage: "postgres:16",
                timezone: "Asia/Seoul",
                port: 6543,
                hostPort: 15432,
                bindAddress: "0.0.0.0",
                healthcheck: { interval: "500ms", timeout: "1m", retries: 2, startPeriod: "1s" },
            }),
        );
        const container = await inputsOf(db, "custom-container");
        expect(created.find((r) => r.name === "custom-image")?.inputs.build).toEqual({
            context: CONTEXT,
            dockerfile: path.join(CONTEXT, "Dockerfile"),
            args: { BASE_IMAGE: "postgres:16", TZ: "Asia/Seoul" },
        });
        const envs = unwrap(container.envs) as string[];
        expect(envs).toContain("TZ=Asia/Seoul");
        expect(envs).toContain("PGPORT=6543");
        expect(container.ports).toEqual([
            { internal: 6543, external: 15432, ip: "0.0.0.0", protocol: "tcp" },
        ]);
        expect(container.healthcheck).toEqual({
            tests: ["CMD", "pg_isready", "-h", "127.0.0.1", "-p", "6543"],
            interval: "500ms",
            timeout: "1m",
            retries: 2,
            startPeriod: "1s",
        });
        // ceil(1 + 2 × 60.5) + 30
        expect(container.waitTimeout).toBe(152);
        expect(container).not.toHaveProperty("memory");
        expect(container.labels).toEqual([
            { label: "msa.release", value: "delete-first: database restart (one data directory)" },
        ]);
        expect(created.find((r) => r.name === "custom-volume")?.inputs.labels).toEqual([]);
        expect(await value(db.hostEndpoint)).toBe("0.0.0.0:15432");
    });

    test("in a swarm: one stop-first replica on the labelled nodes, its volume mounted by name", async () => {
        const db = new PostgresDatabase(
            "swarm",
            args({
                imageTag: "t2",
                swarm: { nodeLabel: "msa.db" },
                memoryMb: 256,
                labels: { "msa.stack": "prod" },
                protect: true,
            }),
            recordOptions,
        );
        const service = await inputsOf(db, "swarm-service");
        expect(declaredBy("swarm")).toEqual([
            "docker:index/image:Image swarm-image",
            "docker:index/service:Service swarm-service",
            "msa:database:PostgresDatabase swarm",
        ]);
        // The password makes the whole task spec a secret on its way to the engine.
        expect(isRpcSecret(service.taskSpec)).toBe(true);
        const taskSpec = unwrap(service.taskSpec) as Record<string, unknown>;
        expect(taskSpec.containerSpec).toEqual({
            image: "registry.example.com/g/p/db:t2",
            env: {
                POSTGRES_USER: "postgres",
                POSTGRES_PASSWORD: "pw",
                POSTGRES_DB: "app",
                DB_NAME: "app",
                DB_SCHEMA_NAME: "public",
                PGPORT: "5432",
                PGDATA: "/var/lib/postgresql/data",
                TZ: "UTC",
                PGUSER: "postgres",
                PGDATABASE: "app",
            },
            mounts: [
                {
                    type: "volume",
                    source: "db-data",
                    target: "/var/lib/postgresql/data",
                    volumeOptions: { labels: [{ label: "msa.stack", value: "prod" }] },
                },
            ],
            healthcheck: HEALTHCHECK,
            labels: [
                {
                    label: "msa.release",
                    value: "delete-first: database restart (one data directory)",
                },
                { label: "msa.stack", value: "prod" },
            ],
        });
        expect({ ...taskSpec, containerSpec: "(above)" }).toEqual({
            containerSpec: "(above)",
            networksAdvanceds: [{ name: "net", aliases: ["database"] }],
            placement: { constraints: ["node.labels.msa.db==true"] },
            resources: { limits: { memoryBytes: 256 * 1024 * 1024 } },
            restartPolicy: { condition: "any", delay: "2s" },
        });
        expect({ ...service, taskSpec: "(above)" }).toEqual({
            name: "db",
            taskSpec: "(above)",
            mode: { replicated: { replicas: 1 } },
            updateConfig: { parallelism: 1, order: "stop-first", failureAction: "rollback" },
            rollbackConfig: { parallelism: 1, order: "stop-first" },
            convergeConfig: { delay: "2s", timeout: "5m" },
            endpointSpec: { mode: "dnsrr" },
        });
        expect(options["swarm-service"]).toMatchObject({ parent: db, protect: true });
        expect(await value(db.volumeName)).toBe("db-data");
        expect(await value(db.hostEndpoint)).toBeUndefined();
        expect(db.endpoint.readyAfter).toHaveLength(1);
        expect(await value((db.endpoint.readyAfter[0] as pulumi.CustomResource).urn)).toMatch(
            /::swarm-service$/,
        );
        expect(await registeredOutputs(db)).toEqual({
            imageRef: "registry.example.com/g/p/db:t2",
            volumeName: "db-data",
            containerName: "db",
        });
    });

    test("in a swarm without memoryMb, the service has no resource limits", async () => {
        const db = new PostgresDatabase(
            "swarm2",
            args({ imageTag: "t3", swarm: { nodeLabel: "db" } }),
        );
        const taskSpec = unwrap((await inputsOf(db, "swarm2-service")).taskSpec);
        expect(taskSpec).not.toHaveProperty("resources");
        expect(taskSpec).toMatchObject({
            placement: { constraints: ["node.labels.db==true"] },
        });
    });

    test("accepts the ports at both ends of the range and a single retry", async () => {
        const db = new PostgresDatabase(
            "ends",
            args({
                imageTag: "t4",
                port: 1,
                hostPort: 65535,
                healthcheck: { interval: "1s", timeout: "1s", retries: 1, startPeriod: "0s" },
            }),
        );
        expect(await value(db.hostEndpoint)).toBe("127.0.0.1:65535");
        const other = new PostgresDatabase(
            "ends2",
            args({ imageTag: "t5", port: 65535, hostPort: 1 }),
        );
        expect(await value(other.hostEndpoint)).toBe("127.0.0.1:1");
    });

    test.each<[string, Partial<PostgresDatabaseArgs>, string]>([
        ["a port out of range", { port: 0 }, "PostgresDatabase bad: port must be 1-65535, got 0"],
        [
            "a host port out of range",
            { hostPort: 70000 },
            "PostgresDatabase bad: hostPort must be 1-65535, got 70000",
        ],
        [
            "a build context without a Dockerfile",
            { buildContext: __dirname },
            `PostgresDatabase bad: buildContext ${JSON.stringify(__dirname)} has no Dockerfile`,
        ],
        [
            "a healthcheck interval that is not a duration",
            { healthcheck: { interval: "soon", timeout: "3s", retries: 5, startPeriod: "60s" } },
            'PostgresDatabase bad: healthcheck.interval must be a duration like 1s, got "soon"',
        ],
        [
            "zero healthcheck retries",
            { healthcheck: { interval: "1s", timeout: "3s", retries: 0, startPeriod: "60s" } },
            "PostgresDatabase bad: healthcheck.retries must be at least 1, got 0",
        ],
        [
            "an empty database name",
            { dbName: "" },
            "PostgresDatabase bad: dbName must not be empty",
        ],
        [
            "a port that is not an integer",
            { port: 5432.5 },
            "PostgresDatabase bad: port must be 1-65535, got 5432.5",
        ],
        [
            "a healthcheck timeout that is not a duration",
            { healthcheck: { interval: "1s", timeout: "3", retries: 5, startPeriod: "60s" } },
            'PostgresDatabase bad: healthcheck.timeout must be a duration like 1s, got "3"',
        ],
        [
            "a healthcheck start period that is not a duration",
            { healthcheck: { interval: "1s", timeout: "3s", retries: 5, startPeriod: "1 min" } },
            'PostgresDatabase bad: healthcheck.startPeriod must be a duration like 1s, got "1 min"',
        ],
        [
            "healthcheck retries that are not an integer",
            { healthcheck: { interval: "1s", timeout: "3s", retries: 2.5, startPeriod: "60s" } },
            "PostgresDatabase bad: healthcheck.retries must be at least 1, got 2.5",
        ],
        ["an empty schema", { schema: "" }, "PostgresDatabase bad: schema must not be empty"],
        [
            "several bad arguments (every problem at once)",
            { port: 70000, hostPort: 0, dbName: "", schema: "" },
            "PostgresDatabase bad: port must be 1-65535, got 70000; hostPort must be 1-65535, got 0; " +
                "dbName must not be empty; schema must not be empty",
        ],
    ])("refuses %s before declaring anything", (_what, over, message) => {
        expect(() => new PostgresDatabase("bad", args(over))).toThrow(new Error(message));
        expect(created.filter((r) => r.name.startsWith("bad"))).toEqual([]);
    });
});
