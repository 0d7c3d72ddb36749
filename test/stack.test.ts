/**
 * The program under the mock runtime, with the real stack files: what it declares, exactly.
 */
import * as path from "path";
import { Capture, CaptureConfigError, captureStack, isSecretValue, redact } from "../capture";
import {
    byName,
    CONTAINER,
    countByType,
    IMAGE,
    NETWORK,
    PROVIDER,
    REMOTE_IMAGE,
    stackConfig,
    VOLUME,
} from "./helpers";

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const secret = expect.objectContaining({ __secret: true });

const DB_ENV = [
    "DB_HOST=db_instance",
    "DB_PORT=5432",
    "DB_NAME=sf1_db",
    "DB_SCHEMA_NAME=sf1_schema",
    "DB_USER=postgres",
    "TZ=Asia/Seoul",
    "DB_KIND=postgresql",
    "DB_DIALECT=org.hibernate.dialect.PostgreSQL10Dialect",
    "DB_DRIVER_CLASS_NAME=org.postgresql.Driver",
    "DB_TYPE=postgresql_table",
];

describe("dev stack (the legacy compose setup)", () => {
    let dev: Capture;
    beforeAll(async () => {
        dev = await captureStack({ stack: "dev" });
    });

    test("declares exactly the network, volume, DB image and container, and two services", () => {
        expect(countByType(dev)).toEqual({
            "msa:registry:GitlabRegistry": 1,
            "msa:network:ServiceNetwork": 1,
            "msa:database:PostgresDatabase": 1,
            "msa:service:Microservice": 2,
            [PROVIDER]: 1,
            [NETWORK]: 1,
            [VOLUME]: 1,
            [IMAGE]: 1,
            [REMOTE_IMAGE]: 2,
            [CONTAINER]: 3,
        });
        const custom = dev.resources.filter((r) => r.custom && r.type !== PROVIDER);
        expect(custom.every((r) => r.provider === "gitlab-provider")).toBe(true);
    });

    test("one provider carries the registry credentials", () => {
        const provider = byName(dev, "gitlab-provider");
        expect(isSecretValue(provider.inputs.registryAuth)).toBe(true);
        const auth = JSON.parse(
            (provider.inputs.registryAuth as { value: string }).value,
        ) as unknown;
        expect(auth).toEqual([
            {
                address: "registry.gitlab.com",
                username: "gitlab-deploy-token",
                password: "placeholder-msa-registryPassword",
            },
        ]);
    });

    test("network and volume", () => {
        expect(byName(dev, "network-network").inputs).toMatchObject({
            name: "msa-dev-net",
            driver: "bridge",
        });
        const volume = byName(dev, "database-volume");
        expect(volume.inputs).toMatchObject({ name: "sf1_db_storage", driver: "local" });
        expect([volume.protect, volume.retainOnDelete]).toEqual([false, false]);
    });

    test("the DB image is built from docker/db with base image and timezone as build args", () => {
        const image = byName(dev, "database-image");
        expect(redact(image.inputs)).toEqual({
            imageName: "registry.gitlab.com/my-group/msa/db:dev",
            build: {
                context: "docker/db",
                dockerfile: "docker/db/Dockerfile",
                args: { BASE_IMAGE: "postgres:14", TZ: "Asia/Seoul" },
            },
            buildOnPreview: false,
            skipPush: false,
            registry: {
                server: "registry.gitlab.com",
                username: "gitlab-deploy-token",
                password: "[secret]",
            },
        });
    });

    test("the DB container: pinned image, healthcheck, wait, loopback port, alias, volume", () => {
        const db = byName(dev, "database-container");
        const image = byName(dev, "database-image");
        expect(db.inputs.image).toBe(image.outputs.repoDigest);
        expect(db.inputs.image).toMatch(/^registry\.gitlab\.com\/my-group\/msa\/db@sha256:/);
        expect(db.inputs).toMatchObject({
            name: "db_instance",
            restart: "unless-stopped",
            wait: true,
            ports: [{ internal: 5432, external: 5432, ip: "127.0.0.1", protocol: "tcp" }],
            networksAdvanced: [{ name: "msa-dev-net", aliases: ["db_instance"] }],
            volumes: [{ volumeName: "sf1_db_storage", containerPath: "/var/lib/postgresql/data" }],
            healthcheck: {
                tests: [
                    "CMD",
                    "pg_isready",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    "5432",
                    "-U",
                    "postgres",
                    "-d",
                    "sf1_db",
                ],
                interval: "1s",
                timeout: "3s",
                retries: 5,
                startPeriod: "60s",
            },
        });
        expect(db.inputs.envs).toEqual([
            "POSTGRES_USER=postgres",
            secret,
            "POSTGRES_DB=sf1_db",
            "DB_NAME=sf1_db",
            "DB_SCHEMA_NAME=sf1_schema",
            "PGPORT=5432",
            "PGDATA=/var/lib/postgresql/data",
            "TZ=Asia/Seoul",
        ]);
        expect(db.dependsOn.sort()).toEqual([
            "database-image",
            "database-volume",
            "network-network",
        ]);
    });

    test("SERVICE_B: image resolved and pinned by digest, legacy env, port 8080", () => {
        const invoke = dev.invokes.find(
            (i) => i.args.name === "registry.gitlab.com/my-group/msa/service-b:latest",
        );
        expect(invoke?.token).toBe("docker:index/getRegistryImage:getRegistryImage");
        const image = byName(dev, "SERVICE_B-image");
        const digest = (image.inputs.pullTriggers as string[])[0] as string;
        expect(digest).toMatch(DIGEST);
        expect(image.inputs.name).toBe(
            `registry.gitlab.com/my-group/msa/service-b:latest@${digest}`,
        );
        const c = byName(dev, "SERVICE_B-container");
        expect(c.inputs.image).toBe(image.inputs.name);
        expect(c.inputs).toMatchObject({
            name: "SERVICE_B",
            restart: "always",
            ports: [{ internal: 8080, external: 8080, ip: "0.0.0.0", protocol: "tcp" }],
            networksAdvanced: [{ name: "msa-dev-net", aliases: ["SERVICE_B"] }],
        });
        expect(c.inputs.envs).toEqual([...DB_ENV, "NODENAME=SERVICE_B1", secret]);
        expect(c.dependsOn).toContain("database-container");
    });

    test("SERVICE_D: two ports and a link to SERVICE_B instead of a host IP", () => {
        const c = byName(dev, "SERVICE_D-container");
        expect(c.inputs).toMatchObject({
            name: "SERVICE_D",
            restart: "always",
            ports: [
                { internal: 8888, external: 8888, ip: "0.0.0.0", protocol: "tcp" },
                { internal: 8900, external: 8900, ip: "0.0.0.0", protocol: "tcp" },
            ],
        });
        expect(c.inputs.envs).toEqual([
            ...DB_ENV,
            "NODENAME=kit1",
            "SERVICE_B_HOST=SERVICE_B",
            "SERVICE_B_PORT=8080",
            "SERVICE_B_URL=http://SERVICE_B:8080",
            secret,
        ]);
        expect(c.dependsOn).toContain("database-container");
    });

    test("stack outputs", () => {
        expect(redact(dev.outputs)).toEqual({
            dockerNetwork: "msa-dev-net",
            database: {
                mode: "container",
                host: "db_instance",
                port: 5432,
                hostEndpoint: "127.0.0.1:5432",
            },
            endpoints: {
                SERVICE_B: ["http://localhost:8080"],
                SERVICE_D: ["http://localhost:8888", "http://localhost:8900"],
            },
            images: {
                database: byName(dev, "database-container").inputs.image,
                SERVICE_B: byName(dev, "SERVICE_B-image").inputs.name,
                SERVICE_D: byName(dev, "SERVICE_D-image").inputs.name,
            },
            connectionString: "[secret]",
        });
    });

    test("unset secrets are placeholders and warnings", () => {
        expect(dev.warnings).toEqual([
            "msa:registryPassword is not set in Pulumi.dev.yaml; a placeholder secret was used (pulumi config set --secret msa:registryPassword)",
            "msa:dbPassword is not set in Pulumi.dev.yaml; a placeholder secret was used (pulumi config set --secret msa:dbPassword)",
        ]);
    });
});

describe("prod stack (external database)", () => {
    let prod: Capture;
    beforeAll(async () => {
        prod = await captureStack({ stack: "prod" });
    });

    test("no DB image, container or volume at all", () => {
        expect(countByType(prod)).toEqual({
            "msa:registry:GitlabRegistry": 1,
            "msa:network:ServiceNetwork": 1,
            "msa:service:Microservice": 2,
            [PROVIDER]: 1,
            [NETWORK]: 1,
            [REMOTE_IMAGE]: 2,
            [CONTAINER]: 2,
        });
    });

    test("services use the external host and port, pinned tags, memory limits", () => {
        const b = byName(prod, "SERVICE_B-container");
        const envs = b.inputs.envs as unknown[];
        expect(envs.slice(0, 2)).toEqual(["DB_HOST=db.prod.internal", "DB_PORT=5432"]);
        expect(b.inputs.memory).toBe(1024);
        expect(b.dependsOn).not.toContain("database-container");
        expect(byName(prod, "SERVICE_B-image").inputs.name).toMatch(
            /^registry\.gitlab\.com\/my-group\/msa\/service-b:1\.4\.2@sha256:[0-9a-f]{64}$/,
        );
        expect(byName(prod, "SERVICE_D-image").inputs.name).toMatch(/service-d:2\.1\.0@sha256:/);
        for (const r of prod.resources.filter((x) => x.type === REMOTE_IMAGE)) {
            expect(r.inputs.name).not.toMatch(/:latest@/);
        }
    });

    test("outputs name the external database", () => {
        expect(redact(prod.outputs.database)).toEqual({
            mode: "external",
            host: "db.prod.internal",
            port: 5432,
        });
    });
});

describe("the external-database toggle", () => {
    test("flipping dev to external removes the DB and points services at the server", async () => {
        const config = {
            ...stackConfig("dev"),
            "msa:dbMode": "external",
            "msa:dbHost": "10.1.2.3",
            "msa:dbPort": 6432,
        };
        const c = await captureStack({ stack: "dev", config });
        const types = c.resources.map((r) => r.type);
        expect(types).not.toContain(IMAGE);
        expect(types).not.toContain(VOLUME);
        expect(types).not.toContain("msa:database:PostgresDatabase");
        expect(c.resources.filter((r) => r.type === CONTAINER).map((r) => r.name)).toEqual([
            "SERVICE_B-container",
            "SERVICE_D-container",
        ]);
        const envs = byName(c, "SERVICE_D-container").inputs.envs as unknown[];
        expect(envs.slice(0, 2)).toEqual(["DB_HOST=10.1.2.3", "DB_PORT=6432"]);
        expect(byName(c, "SERVICE_D-container").dependsOn).not.toContain("database-container");
    });
});

describe("secrets", () => {
    const PASSWORD = "s3cr3t-Pa55";
    const TOKEN = "glpat-registry-token";
    let c: Capture;
    beforeAll(async () => {
        c = await captureStack({
            stack: "dev",
            config: {
                ...stackConfig("dev"),
                "msa:dbPassword": PASSWORD,
                "msa:registryPassword": TOKEN,
                "msa:secretEnv": { SERVICE_B: { API_TOKEN: "tok-123" } },
            },
        });
    });

    /** Every place a string containing `needle` occurs, and whether a secret wraps it. */
    function occurrences(value: unknown, needle: string, inSecret = false): boolean[] {
        if (isSecretValue(value)) {
            return occurrences(value.value, needle, true);
        }
        if (typeof value === "string") {
            return value.includes(needle) ? [inSecret] : [];
        }
        if (Array.isArray(value)) {
            return value.flatMap((v) => occurrences(v, needle, inSecret));
        }
        if (typeof value === "object" && value !== null) {
            return Object.values(value).flatMap((v) => occurrences(v, needle, inSecret));
        }
        return [];
    }

    test.each([
        ["DB password", PASSWORD, 5],
        ["registry token", TOKEN, 2],
        ["secret env", "tok-123", 1],
    ])("the %s is a secret wherever it flows", (_what, needle, places) => {
        const found = occurrences(
            { resources: c.resources.map((r) => [r.inputs, r.outputs]), outputs: c.outputs },
            needle,
        );
        expect(found.length).toBeGreaterThanOrEqual(places);
        expect(found.every((wrapped) => wrapped)).toBe(true);
    });

    test("only the password element of an env list is secret", () => {
        const envs = byName(c, "SERVICE_B-container").inputs.envs as unknown[];
        expect(envs.filter(isSecretValue)).toHaveLength(2);
        expect(envs.filter((e) => typeof e === "string")).toHaveLength(11);
        expect((envs.filter(isSecretValue) as { value: string }[]).map((e) => e.value)).toEqual([
            `DB_PASSWORD=${PASSWORD}`,
            "API_TOKEN=tok-123",
        ]);
    });

    test("the connection string output is a secret", () => {
        expect(c.outputs.connectionString).toEqual({
            __secret: true,
            value: `postgresql://postgres:${PASSWORD}@db_instance:5432/sf1_db?currentSchema=sf1_schema`,
        });
    });

    test("redacted captures never contain a secret", () => {
        const text = JSON.stringify(redact({ r: c.resources, o: c.outputs, i: c.invokes }));
        for (const s of [PASSWORD, TOKEN, "tok-123"]) {
            expect(text).not.toContain(s);
        }
    });
});

describe("defaults and protection", () => {
    test("the DB port binds 127.0.0.1 unless configured otherwise", async () => {
        const config = stackConfig("dev");
        delete config["msa:dbBindAddress"];
        delete config["msa:dbHostPort"];
        const c = await captureStack({ stack: "dev", config });
        expect(byName(c, "database-container").inputs.ports).toEqual([
            { internal: 5432, external: 5432, ip: "127.0.0.1", protocol: "tcp" },
        ]);
    });

    test("protect: the volume is protected and retained, the container protected", async () => {
        const c = await captureStack({
            stack: "dev",
            config: { ...stackConfig("dev"), "msa:protect": true },
        });
        const volume = byName(c, "database-volume");
        const container = byName(c, "database-container");
        expect([volume.protect, volume.retainOnDelete]).toEqual([true, true]);
        expect([container.protect, container.retainOnDelete]).toEqual([true, false]);
    });

    test("prod sets protection", () => {
        expect(stackConfig("prod")["msa:protect"]).toBe(true);
    });

    test("a local DB build is not pushed and runs by name", async () => {
        const c = await captureStack({
            stack: "dev",
            config: { ...stackConfig("dev"), "msa:dbPushImage": false },
        });
        const image = byName(c, "database-image");
        expect(image.inputs.skipPush).toBe(true);
        expect(image.inputs.registry).toBeUndefined();
        expect(byName(c, "database-container").inputs.image).toBe(
            "registry.gitlab.com/my-group/msa/db:dev",
        );
    });
});

describe("invalid config creates nothing", () => {
    test("the program stops before declaring any resource", async () => {
        let created = 0;
        const config = { ...stackConfig("dev"), "msa:dbPort": 70000, "msa:dbMode": "cloud" };
        const attempt = captureStack({
            stack: "dev",
            config,
            hooks: {
                newResource: () => {
                    created += 1;
                    return undefined;
                },
            },
        });
        await expect(attempt).rejects.toThrow(CaptureConfigError);
        await expect(attempt).rejects.toMatchObject({
            errors: [
                'msa:dbMode must be one of container, external, got "cloud"',
                "msa:dbPort must be 1-65535, got 70000",
            ],
        });
        expect(created).toBe(0);
    });
});

describe("mock hooks", () => {
    test("a hook that throws rejects the capture with its error instead of hanging", async () => {
        const attempt = captureStack({
            stack: "dev",
            hooks: {
                call: () => {
                    throw new Error("registry said 401 Unauthorized");
                },
            },
        });
        await expect(attempt).rejects.toThrow("registry said 401 Unauthorized");
    });

    test("a hook's answer replaces the default one", async () => {
        const digest = `sha256:${"ab".repeat(32)}`;
        const c = await captureStack({
            stack: "dev",
            hooks: { call: (args) => ({ name: args.inputs.name, sha256Digest: digest }) },
        });
        expect(byName(c, "SERVICE_B-image").inputs.pullTriggers).toEqual([digest]);
    });
});

describe("the program gives the runtime a turn between services", () => {
    test("each service's registrations are answered before the next service is declared", async () => {
        const answered: string[] = [];
        const seenAtDeclaration: Record<string, string[]> = {};
        await captureStack({
            stack: "dev",
            hooks: {
                newResource: (args) => {
                    if (args.type === "msa:service:Microservice") {
                        seenAtDeclaration[args.name] = [...answered];
                    }
                    answered.push(args.name);
                    return undefined;
                },
            },
        });
        // Answered before SERVICE_B was declared: everything but the services.
        expect(seenAtDeclaration.SERVICE_B).toEqual(
            expect.arrayContaining(["database-container", "network-network", "gitlab-provider"]),
        );
        expect(seenAtDeclaration.SERVICE_B?.some((n) => n.startsWith("SERVICE_"))).toBe(false);
        expect(seenAtDeclaration.SERVICE_D).toEqual(
            expect.arrayContaining(["SERVICE_B", "SERVICE_B-image", "SERVICE_B-container"]),
        );
    });

    test("a program that fails after a turn rejects the capture with its error and stack", async () => {
        const attempt = captureStack({
            stack: "dev",
            program: path.join(__dirname, "fixtures", "failsAfterTurn.ts"),
        });
        await expect(attempt).rejects.toThrow("failed after declaring one network");
        await expect(attempt).rejects.toMatchObject({
            stack: expect.stringContaining("failsAfterTurn.ts"),
        });
    });
});
