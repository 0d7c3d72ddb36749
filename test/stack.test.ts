/**
 * The program under the mock runtime, with the real stack files: what it declares, exactly.
 */
import * as path from "path";
import { Capture, CaptureConfigError, captureStack, isSecretValue, redact } from "../capture";
import {
    byName,
    CONTAINER,
    countByType,
    digestOf,
    IMAGE,
    NETWORK,
    PROVIDER,
    REGISTRY,
    REMOTE_IMAGE,
    stackConfig,
    VOLUME,
} from "./helpers";

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
        dev = await captureStack({ stack: "dev", hooks: REGISTRY, preview: false });
    });

    test("declares exactly the network, volume, DB image and container, two services, the proxy", () => {
        expect(countByType(dev)).toEqual({
            "msa:network:ServiceNetwork": 1,
            "msa:database:PostgresDatabase": 1,
            "msa:service:Microservice": 2,
            "msa:registry:RegistryImages": 1,
            "msa:registry:RegistryImage": 1,
            "msa:proxy:EdgeProxy": 1,
            [PROVIDER]: 1,
            [NETWORK]: 1,
            [VOLUME]: 1,
            [IMAGE]: 1,
            [REMOTE_IMAGE]: 3,
            [CONTAINER]: 4,
        });
        const custom = dev.resources.filter((r) => r.custom && r.type !== PROVIDER);
        expect(custom.every((r) => r.provider === "docker")).toBe(true);
    });

    test("one provider carries the registry credentials", () => {
        const provider = byName(dev, "docker");
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
        // Not protected (dev is not production), but never deleted with the stack.
        expect([volume.protect, volume.retainOnDelete]).toEqual([false, true]);
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
                tests: ["CMD", "pg_isready", "-h", "127.0.0.1", "-p", "5432"],
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
            "PGUSER=postgres",
            "PGDATABASE=sf1_db",
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
        const digest = digestOf("registry.gitlab.com/my-group/msa/service-b:latest");
        expect(image.inputs.pullTriggers).toEqual([digest]);
        expect(image.inputs.name).toBe(
            `registry.gitlab.com/my-group/msa/service-b:latest@${digest}`,
        );
        const c = byName(dev, "SERVICE_B-container");
        expect(c.inputs.image).toBe(image.inputs.name);
        expect(c.inputs).toMatchObject({
            restart: "always",
            // Published by the edge proxy, so that a release can start a second container.
            ports: [],
            networksAdvanced: [{ name: "msa-dev-net", aliases: ["SERVICE_B"] }],
            destroyGraceSeconds: 10,
        });
        // Named by the engine: a fixed name would make every release delete-first.
        expect(c.inputs.name).toBeUndefined();
        expect(c.deleteBeforeReplace).toBe(false);
        expect(c.inputs.labels).toContainEqual({ label: "msa.release", value: "create-first" });
        expect(c.inputs.envs).toEqual([...DB_ENV, "NODENAME=SERVICE_B1", secret]);
        expect(c.dependsOn).toContain("database-container");
    });

    test("the edge proxy owns the host ports and routes them to the service aliases", () => {
        const proxy = byName(dev, "proxy-container");
        expect(proxy.inputs).toMatchObject({
            command: ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"],
            ports: [
                { internal: 8080, external: 8080, ip: "0.0.0.0", protocol: "tcp" },
                { internal: 8888, external: 8888, ip: "0.0.0.0", protocol: "tcp" },
                { internal: 8900, external: 8900, ip: "0.0.0.0", protocol: "tcp" },
            ],
            networksAdvanced: [{ name: "msa-dev-net" }],
            restart: "always",
        });
        expect(proxy.deleteBeforeReplace).toBeUndefined();
        const config = (proxy.inputs.uploads as { content: string }[])[0]?.content ?? "";
        expect(config).toContain("server-template SERVICE_B_8080_ 4 SERVICE_B:8080");
        expect(config).toContain("server-template SERVICE_D_8888_ 4 SERVICE_D:8888");
        expect(config).toContain("server-template SERVICE_D_8900_ 4 SERVICE_D:8900");
        expect(byName(dev, "proxy-image").inputs.name).toBe(
            `haproxy:3.0.6@${digestOf("haproxy:3.0.6")}`,
        );
    });

    test("SERVICE_D: two ports and a link to SERVICE_B instead of a host IP", () => {
        const c = byName(dev, "SERVICE_D-container");
        expect(c.inputs).toMatchObject({ restart: "always", ports: [] });
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
            // Written out from the registry stub's answers, not read back from the capture.
            images: {
                database: `registry.gitlab.com/my-group/msa/db@${digestOf("registry.gitlab.com/my-group/msa/db:dev")}`,
                SERVICE_B: `registry.gitlab.com/my-group/msa/service-b:latest@${digestOf("registry.gitlab.com/my-group/msa/service-b:latest")}`,
                SERVICE_D: `registry.gitlab.com/my-group/msa/service-d:latest@${digestOf("registry.gitlab.com/my-group/msa/service-d:latest")}`,
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
        prod = await captureStack({ stack: "prod", hooks: REGISTRY, preview: false });
    });

    test("no DB image, container or volume at all", () => {
        expect(countByType(prod)).toEqual({
            "msa:network:ServiceNetwork": 1,
            "msa:service:Microservice": 2,
            "msa:registry:RegistryImages": 1,
            "msa:registry:RegistryImage": 1,
            "msa:proxy:EdgeProxy": 1,
            [PROVIDER]: 1,
            [NETWORK]: 1,
            [REMOTE_IMAGE]: 3,
            [CONTAINER]: 3,
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
            "msa:database": {
                mode: "external",
                host: "10.1.2.3",
                port: 6432,
                name: "sf1_db",
                schema: "sf1_schema",
            },
        };
        const c = await captureStack({ stack: "dev", config });
        const types = c.resources.map((r) => r.type);
        expect(types).not.toContain(IMAGE);
        expect(types).not.toContain(VOLUME);
        expect(types).not.toContain("msa:database:PostgresDatabase");
        expect(c.resources.filter((r) => r.type === CONTAINER).map((r) => r.name)).toEqual([
            "SERVICE_B-container",
            "SERVICE_D-container",
            "proxy-container",
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
            secrets: {
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
        const db = config["msa:database"] as Record<string, unknown>;
        delete db.bindAddress;
        delete db.hostPort;
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

    test("a stack that does not opt out of production is protected by default", async () => {
        const config = stackConfig("dev");
        delete config["msa:production"];
        const c = await captureStack({ stack: "dev", config });
        expect(byName(c, "database-volume").protect).toBe(true);
        expect(byName(c, "database-container").protect).toBe(true);
    });

    test("prod sets protection", () => {
        expect(stackConfig("prod")["msa:protect"]).toBe(true);
    });

    test("the DB image tag, when unset, is derived from the build context's content", async () => {
        const config = stackConfig("dev");
        delete (config["msa:database"] as { image?: unknown }).image;
        const [a, b] = [
            await captureStack({ stack: "dev", config }),
            await captureStack({ stack: "dev", config }),
        ];
        const name = byName(a, "database-image").inputs.imageName;
        expect(name).toMatch(/^registry\.gitlab\.com\/my-group\/msa\/db:src-[0-9a-f]{12}$/);
        expect(byName(b, "database-image").inputs.imageName).toBe(name);
        const other = await captureStack({
            stack: "dev",
            config: { ...config, "msa:timezone": "UTC" },
        });
        expect(byName(other, "database-image").inputs.imageName).not.toBe(name);
    });

    test("a local DB build is not pushed and runs by name", async () => {
        const c = await captureStack({
            stack: "dev",
            config: {
                ...stackConfig("dev"),
                "msa:database": {
                    ...(stackConfig("dev")["msa:database"] as object),
                    image: { tag: "dev", push: false },
                },
            },
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
        const config = {
            ...stackConfig("dev"),
            "msa:database": { mode: "cloud", port: 70000 },
            "msa:dbPort": 5432,
        };
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
                "msa:dbPort is a v1 key; use msa:database.port instead",
                'msa:database.mode must be container or external, got "cloud"',
            ],
        });
        expect(created).toBe(0);
    });

    test("the error names the stack, and its trace is a trace", async () => {
        const attempt = captureStack({ stack: "dev", config: {} });
        await expect(attempt).rejects.toMatchObject({
            stackName: "dev",
            message: expect.stringMatching(/^invalid stack config for dev:\n {2}- msa:/) as unknown,
            stack: expect.stringMatching(
                /^CaptureConfigError: invalid stack config for dev:/,
            ) as unknown,
        });
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
        // Answered before SERVICE_B was declared: everything but the services (their registry
        // images come first, all in one component).
        expect(seenAtDeclaration.SERVICE_B).toEqual(
            expect.arrayContaining([
                "database-container",
                "network-network",
                "docker",
                "images",
                "SERVICE_B-image",
                "SERVICE_D-image",
            ]),
        );
        expect(seenAtDeclaration.SERVICE_B?.filter((n) => n.startsWith("SERVICE_")).sort()).toEqual(
            ["SERVICE_B-image", "SERVICE_D-image"],
        );
        expect(seenAtDeclaration.SERVICE_D).toEqual(
            expect.arrayContaining(["SERVICE_B", "SERVICE_B-container"]),
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

describe("a secret wherever it appears in config", () => {
    /** A value set with `pulumi config set --secret --path`: the whole key becomes secret. */
    const secure = { secure: "v1:AAAA" };

    test("a secret registry username reaches the provider and the push as a secret", async () => {
        const config = stackConfig("dev");
        (config["msa:registry"] as Record<string, unknown>).username = secure;
        const c = await captureStack({ stack: "dev", config });
        expect(isSecretValue(byName(c, "docker").inputs.registryAuth)).toBe(true);
        const push = byName(c, "database-image").inputs.registry as Record<string, unknown>;
        expect(isSecretValue(push.username)).toBe(true);
        expect(JSON.stringify(redact(c.resources.map((r) => r.inputs)))).not.toContain(
            "placeholder-msa-registry",
        );
    });

    test("a secret database user is a secret in every env element that carries it", async () => {
        const config = stackConfig("dev");
        (config["msa:database"] as Record<string, unknown>).user = secure;
        const c = await captureStack({ stack: "dev", config });
        const dbEnv = byName(c, "database-container").inputs.envs as unknown[];
        const svcEnv = byName(c, "SERVICE_B-container").inputs.envs as unknown[];
        for (const [envs, name] of [
            [dbEnv, "POSTGRES_USER="],
            [dbEnv, "PGUSER="],
            [svcEnv, "DB_USER="],
        ] as const) {
            const element = envs.find((e) => isSecretValue(e) && String(e.value).startsWith(name));
            expect(element).toBeDefined();
            expect(envs.filter((e) => typeof e === "string" && e.startsWith(name))).toEqual([]);
        }
        expect(isSecretValue(c.outputs.connectionString)).toBe(true);
    });

    test("a secret service env entry and command element flow on as secrets", async () => {
        const config = stackConfig("dev");
        const services = config["msa:services"] as Record<string, Record<string, unknown>>;
        services.SERVICE_B = {
            ...services.SERVICE_B,
            env: { FEATURE_FLAGS: secure },
            command: ["serve", "--flags", secure],
        };
        const c = await captureStack({ stack: "dev", config });
        const b = byName(c, "SERVICE_B-container").inputs;
        const envs = b.envs as unknown[];
        expect(envs.filter((e) => typeof e === "string" && e.startsWith("FEATURE_FLAGS="))).toEqual(
            [],
        );
        expect(
            envs.some((e) => isSecretValue(e) && String(e.value).startsWith("FEATURE_FLAGS=")),
        ).toBe(true);
        expect((b.command as unknown[]).every(isSecretValue)).toBe(true);
        // What only names or addresses things stays readable.
        expect(b.networksAdvanced).toEqual([{ name: "msa-dev-net", aliases: ["SERVICE_B"] }]);
    });

    test("a plain password committed in the stack file is refused without echoing it", async () => {
        const attempt = captureStack({
            stack: "dev",
            config: { ...stackConfig("dev"), "msa:dbPassword": "hunter2" },
        });
        await expect(attempt).rejects.toMatchObject({
            errors: [
                "msa:dbPassword is in plain text in the stack file; remove it and set it with: pulumi config set --secret msa:dbPassword",
            ],
        });
        await expect(attempt).rejects.not.toThrow(/hunter2/);
    });

    test("a secret where a secret cannot go is refused, naming the key", async () => {
        const attempt = captureStack({
            stack: "dev",
            config: { ...stackConfig("dev"), "msa:environment": secure },
        });
        await expect(attempt).rejects.toMatchObject({
            errors: [
                "msa:environment is set as a secret, but it cannot be one (it names, labels or switches things); set it without --secret: pulumi config set msa:environment <value>",
            ],
        });
    });
});

describe("the README's switch to an external database keeps the data", () => {
    const external = {
        mode: "external",
        host: "db.internal",
        port: 5432,
        name: "sf1_db",
        schema: "sf1_schema",
    };

    test("protected stack → unprotect and up → switch and up: the volume is never deleted", async () => {
        const dev = stackConfig("dev");
        // Step 0: a protected container-mode stack.
        const protectedStack = await captureStack({
            stack: "dev",
            config: { ...dev, "msa:protect": true },
        });
        const v0 = byName(protectedStack, "database-volume");
        expect([v0.protect, v0.retainOnDelete]).toEqual([true, true]);
        // Step 1: `msa:protect: false`, `pulumi up`: the volume is still retained on delete.
        const unprotected = await captureStack({
            stack: "dev",
            config: { ...dev, "msa:protect": false },
        });
        const v1 = byName(unprotected, "database-volume");
        expect([v1.protect, v1.retainOnDelete]).toEqual([false, true]);
        expect(v1.inputs.name).toBe(v0.inputs.name);
        // Step 2: switch to external: no volume is declared any more; the engine deletes what
        // is no longer declared only as its last state allows, and that state says retain.
        const switched = await captureStack({
            stack: "dev",
            config: { ...dev, "msa:protect": false, "msa:database": external },
        });
        expect(switched.resources.filter((r) => r.type === VOLUME)).toEqual([]);
        expect(switched.resources.filter((r) => r.type === CONTAINER).map((r) => r.name)).toEqual([
            "SERVICE_B-container",
            "SERVICE_D-container",
            "proxy-container",
        ]);
    });
});

describe("releases: create-first, health-gated, announced", () => {
    const dev = () => stackConfig("dev");
    const withServices = (services: Record<string, unknown>) => ({
        ...dev(),
        "msa:services": services,
    });

    test("a service with an http health check waits until healthy and is routed in http mode", async () => {
        const c = await captureStack({
            stack: "dev",
            config: withServices({
                orders: {
                    image: "orders",
                    tag: "1.0.0",
                    ports: [{ container: 8080, host: 18080 }],
                    healthcheck: { http: "/health" },
                    stopGraceSeconds: 20,
                },
            }),
        });
        const orders = byName(c, "orders-container");
        const test = (orders.inputs.healthcheck as { tests: string[] }).tests;
        expect(test[0]).toBe("CMD-SHELL");
        expect(test[1]).toContain("curl -fsS -o /dev/null 'http://127.0.0.1:8080/health'");
        expect(orders.inputs).toMatchObject({
            healthcheck: { interval: "2s", timeout: "2s", retries: 3, startPeriod: "30s" },
            wait: true,
            // 30 s start period + 3 × (2 s + 2 s), and a margin.
            waitTimeout: 52,
            destroyGraceSeconds: 20,
            ports: [],
        });
        expect(orders.deleteBeforeReplace).toBe(false);
        const config = (byName(c, "proxy-container").inputs.uploads as { content: string }[])[0]
            ?.content;
        expect(config).toContain("option httpchk GET /health");
        expect(config).toContain("    mode http");
    });

    test("a fixed container name makes releases delete-first, and the label says why", async () => {
        const c = await captureStack({
            stack: "dev",
            config: withServices({
                orders: { image: "orders", tag: "1.0.0", containerName: "orders" },
            }),
        });
        const orders = byName(c, "orders-container");
        expect(orders.deleteBeforeReplace).toBeUndefined();
        expect(orders.inputs.labels).toContainEqual({
            label: "msa.release",
            value: "delete-first: fixed container name",
        });
    });

    test("a UDP host port stays on the service (the proxy does TCP), which makes it delete-first", async () => {
        const c = await captureStack({
            stack: "dev",
            config: withServices({
                dns: {
                    image: "dns",
                    tag: "1.0.0",
                    ports: [
                        { container: 53, host: 5353, protocol: "udp" },
                        { container: 8053, host: 8053 },
                    ],
                },
            }),
        });
        const dns = byName(c, "dns-container");
        expect(dns.inputs.ports).toEqual([
            { internal: 53, external: 5353, ip: "0.0.0.0", protocol: "udp" },
        ]);
        expect(dns.inputs.labels).toContainEqual({
            label: "msa.release",
            value: "delete-first: publishes host port 5353/udp itself",
        });
        expect(byName(c, "proxy-container").inputs.ports).toEqual([
            { internal: 8053, external: 8053, ip: "0.0.0.0", protocol: "tcp" },
        ]);
    });

    test("the database is never created first, and says so", async () => {
        const c = await captureStack({ stack: "dev" });
        const db = byName(c, "database-container");
        expect(db.deleteBeforeReplace).toBeUndefined();
        expect(db.inputs.labels).toContainEqual({
            label: "msa.release",
            value: "delete-first: database restart (one data directory)",
        });
    });

    test("without msa:proxy a service publishes its own ports and releases delete-first", async () => {
        const config = dev();
        delete config["msa:proxy"];
        const c = await captureStack({ stack: "dev", config });
        expect(c.resources.some((r) => r.type === "msa:proxy:EdgeProxy")).toBe(false);
        const b = byName(c, "SERVICE_B-container");
        expect(b.inputs.ports).toEqual([
            { internal: 8080, external: 8080, ip: "0.0.0.0", protocol: "tcp" },
        ]);
        expect(b.inputs.labels).toContainEqual({
            label: "msa.release",
            value: "delete-first: publishes host port 8080/tcp itself",
        });
    });
});

describe("staging: the swarm runtime (Pulumi.staging.yaml)", () => {
    let staging: Capture;
    beforeAll(async () => {
        staging = await captureStack({ stack: "staging", hooks: REGISTRY, preview: false });
    });
    const SERVICE = "docker:index/service:Service";

    test("services are swarm services on an attachable overlay; no container anywhere", () => {
        expect(staging.resources.filter((r) => r.type === CONTAINER)).toEqual([]);
        expect(
            staging.resources
                .filter((r) => r.type === SERVICE)
                .map((r) => r.name)
                .sort(),
        ).toEqual(["SERVICE_B-service", "SERVICE_D-service", "database-service", "proxy-service"]);
        expect(byName(staging, "network-network").inputs).toMatchObject({
            driver: "overlay",
            attachable: true,
        });
    });

    test("a service: replicas, start-first updates that roll back, dnsrr, health and limits", () => {
        const b = byName(staging, "SERVICE_B-service").inputs as Record<string, unknown>;
        expect(b).toMatchObject({
            name: "SERVICE_B",
            mode: { replicated: { replicas: 3 } },
            updateConfig: { order: "start-first", failureAction: "rollback", parallelism: 1 },
            rollbackConfig: { order: "start-first", parallelism: 1 },
            endpointSpec: { mode: "dnsrr", ports: [] },
            taskSpec: {
                networksAdvanceds: [{ name: "msa-staging-net", aliases: ["SERVICE_B"] }],
                resources: { limits: { memoryBytes: 1024 * 1024 * 1024 } },
                restartPolicy: { condition: "any" },
            },
        });
        const env = (b.taskSpec as { containerSpec: { env: Record<string, unknown> } })
            .containerSpec.env;
        expect(env.DB_HOST).toBe("db_instance");
        expect(isSecretValue(env.DB_PASSWORD)).toBe(true);
    });

    test("the database: one task pinned to the labelled node, stop-first, its volume mounted", () => {
        const d = byName(staging, "database-service");
        expect(d.inputs).toMatchObject({
            mode: { replicated: { replicas: 1 } },
            updateConfig: { order: "stop-first" },
            taskSpec: {
                placement: { constraints: ["node.labels.msa.db==true"] },
                containerSpec: {
                    mounts: [
                        {
                            type: "volume",
                            source: "msa-staging-db-data",
                            target: "/var/lib/postgresql/data",
                        },
                    ],
                },
            },
        });
        expect(staging.resources.some((r) => r.type === VOLUME)).toBe(false);
    });

    test("the proxy runs on every node, its ports published in host mode", () => {
        expect(byName(staging, "proxy-service").inputs).toMatchObject({
            mode: { global: true },
            endpointSpec: {
                mode: "dnsrr",
                ports: [
                    { targetPort: 8080, publishedPort: 8080, publishMode: "host", protocol: "tcp" },
                    { targetPort: 8888, publishedPort: 8888, publishMode: "host", protocol: "tcp" },
                    { targetPort: 8900, publishedPort: 8900, publishMode: "host", protocol: "tcp" },
                ],
            },
        });
        expect(
            staging.resources.some((r) => r.type === "docker:index/serviceConfig:ServiceConfig"),
        ).toBe(true);
    });

    test("with the routing mesh, services publish through ingress and no proxy runs", async () => {
        const config = stackConfig("staging");
        config["msa:swarm"] = { publish: "ingress" };
        const c = await captureStack({ stack: "staging", config });
        expect(c.resources.some((r) => r.type === "msa:proxy:EdgeProxy")).toBe(false);
        expect(byName(c, "SERVICE_B-service").inputs.endpointSpec).toEqual({
            mode: "vip",
            ports: [
                { targetPort: 8080, publishedPort: 8080, protocol: "tcp", publishMode: "ingress" },
            ],
        });
    });
});

describe("every declared input reaches the resource (each would be caught if dropped)", () => {
    let c: Capture;
    beforeAll(async () => {
        const config = stackConfig("dev");
        delete config["msa:proxy"];
        const db = config["msa:database"] as Record<string, unknown>;
        db.memoryMb = 512;
        db.healthcheck = { interval: "2s", timeout: "1s", retries: 4, startPeriod: "10s" };
        config["msa:services"] = {
            orders: {
                image: "orders",
                namespace: "other-group",
                project: "shop",
                tag: "3.1.4",
                restart: "on-failure",
                command: ["serve", "--port", "8080"],
                memoryMb: 300,
                ports: [
                    { container: 5353, host: 15353, bindAddress: "127.0.0.1", protocol: "udp" },
                ],
            },
        };
        c = await captureStack({ stack: "dev", config, hooks: REGISTRY, preview: false });
    });

    test("a service's command, restart, memory, udp port and its own namespace/project", () => {
        const orders = byName(c, "orders-container").inputs;
        expect(orders).toMatchObject({
            command: ["serve", "--port", "8080"],
            restart: "on-failure",
            memory: 300,
            ports: [{ internal: 5353, external: 15353, ip: "127.0.0.1", protocol: "udp" }],
        });
        const image = byName(c, "orders-image").inputs;
        expect(image).toEqual({
            name: `registry.gitlab.com/other-group/shop/orders:3.1.4@${digestOf("registry.gitlab.com/other-group/shop/orders:3.1.4")}`,
            pullTriggers: [digestOf("registry.gitlab.com/other-group/shop/orders:3.1.4")],
            keepLocally: true,
        });
    });

    test("the DB container's memory, and a wait timeout with its margin", () => {
        const db = byName(c, "database-container").inputs;
        expect(db.memory).toBe(512);
        // 10 s start period + 4 × (2 s + 1 s) = 22 s, and 30 s of margin.
        expect(db.waitTimeout).toBe(52);
        expect(db.healthcheck).toMatchObject({
            interval: "2s",
            timeout: "1s",
            retries: 4,
            startPeriod: "10s",
        });
    });
});
