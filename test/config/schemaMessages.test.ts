/**
 * What the config schema says about each kind of bad value, and the defaults it fills in: one bad
 * input per case, through `validateStackConfig`, with the exact messages (and only those: a check
 * that aborts keeps the later checks of the same value quiet).
 *
 * The schema is built once, when `config/schema.ts` is evaluated, so every case validates with a
 * fresh load of `config/` (`./freshConfig`).
 */
import {
    configOf,
    errorsOf,
    freshConfig,
    ORDERS,
    REGISTRY,
    shownValue,
    validate,
    withOrders,
} from "./freshConfig";

const LONG = "x".repeat(32769);
const withOrdersFields = { image: "orders", tag: "1.0.0" };

describe("defaults", () => {
    test("a minimal stack gets every documented default", () => {
        const cfg = configOf(
            validate({
                services: {
                    orders: { image: "orders", tag: "1.0.0", ports: [{ container: 80 }] },
                    billing: { build: { context: "docker/example-service" } },
                },
            }),
        );
        expect({ ...cfg, secretKeys: [...cfg.secretKeys] }).toEqual({
            production: true,
            timezone: "UTC",
            runtime: "container",
            registry: { server: "registry.gitlab.com", ...REGISTRY },
            database: {
                mode: "container",
                alias: "database",
                port: 5432,
                name: "app",
                schema: "public",
                user: "postgres",
                client: {
                    kind: "postgresql",
                    dialect: "org.hibernate.dialect.PostgreSQLDialect",
                    driverClassName: "org.postgresql.Driver",
                    type: "postgresql_table",
                },
                bindAddress: "127.0.0.1",
                healthcheck: { interval: "1s", timeout: "3s", retries: 5, startPeriod: "60s" },
                image: { name: "db", context: "docker/db", base: "postgres:14", push: true },
                containerName: "msa-dev-db",
                volumeName: "msa-dev-db-data",
                hostPort: 5432,
            },
            services: {
                orders: {
                    image: "orders",
                    tag: "1.0.0",
                    ports: [{ container: 80, bindAddress: "0.0.0.0", protocol: "tcp" }],
                    env: {},
                    restart: "always",
                    links: [],
                    stopGraceSeconds: 10,
                },
                billing: {
                    build: { context: "docker/example-service", args: {}, push: true },
                    ports: [],
                    env: {},
                    restart: "always",
                    links: [],
                    stopGraceSeconds: 10,
                },
            },
            stack: "dev",
            environment: "dev",
            namePrefix: "msa-dev",
            protect: true,
            secretEnvNames: {},
            secretKeys: [],
        });
    });

    test("a service health check, swarm and an external database", () => {
        const cfg = configOf(
            validate({
                runtime: "swarm",
                swarm: {},
                database: { mode: "external", name: "app", host: "db.internal" },
                ...withOrders({ ports: [{ container: 80 }], healthcheck: { http: "/" } }),
            }),
        );
        expect(cfg.swarm).toEqual({ publish: "ingress", dbNodeLabel: "msa.db" });
        expect(cfg.services.orders?.healthcheck).toEqual({
            http: "/",
            interval: "2s",
            timeout: "2s",
            retries: 3,
            startPeriod: "30s",
        });
        expect(cfg.database).toEqual({
            mode: "external",
            host: "db.internal",
            port: 5432,
            name: "app",
            schema: "public",
            user: "postgres",
            client: {
                kind: "postgresql",
                dialect: "org.hibernate.dialect.PostgreSQLDialect",
                driverClassName: "org.postgresql.Driver",
                type: "postgresql_table",
            },
        });
    });
});

test("durations up to an hour, retries 1-100 and 32768-byte values are accepted", () => {
    const long = "x".repeat(32768);
    const cfg = configOf(
        validate({
            database: {
                name: "app",
                healthcheck: { interval: "60m", timeout: "1h", retries: 1, startPeriod: "59m60s" },
            },
            ...withOrders({
                healthcheck: { command: [long], retries: 100 },
                env: { LONG: long },
                memoryMb: 6,
            }),
        }),
    );
    expect(cfg.database.mode === "container" && cfg.database.healthcheck).toEqual({
        interval: "60m",
        timeout: "1h",
        retries: 1,
        startPeriod: "59m60s",
    });
    expect(cfg.services.orders?.healthcheck?.retries).toBe(100);
    expect(cfg.services.orders?.env).toEqual({ LONG: long });
});

test("the ends of every range are accepted", () => {
    const cfg = configOf(
        validate({
            runtime: "swarm",
            database: { name: "app", memoryMb: 1048576, healthcheck: { retries: 100 } },
            services: {
                orders: {
                    ...withOrdersFields,
                    ports: Array.from({ length: 100 }, (_, i) => ({ container: i + 1 })),
                    memoryMb: 6,
                    replicas: 0,
                    stopGraceSeconds: 0,
                    healthcheck: { command: ["/bin/check", "--ready", ""], retries: 1 },
                },
                billing: {
                    ...withOrdersFields,
                    replicas: 1000,
                    stopGraceSeconds: 3600,
                    command: [],
                },
            },
        }),
    );
    expect(cfg.database.mode === "container" && cfg.database.memoryMb).toBe(1048576);
    expect(cfg.database.mode === "container" && cfg.database.healthcheck.retries).toBe(100);
    const { orders, billing } = cfg.services;
    expect(orders?.ports).toHaveLength(100);
    expect([orders?.memoryMb, orders?.replicas, orders?.stopGraceSeconds]).toEqual([6, 0, 0]);
    expect(orders?.healthcheck?.command).toEqual(["/bin/check", "--ready", ""]);
    expect(orders?.healthcheck?.retries).toBe(1);
    expect([billing?.replicas, billing?.stopGraceSeconds, billing?.command]).toEqual([
        1000,
        3600,
        [],
    ]);
});

test("Postgres names of 63 bytes, and outside the pg_ namespace, are accepted", () => {
    const name = `${"é".repeat(31)}a`;
    const cfg = configOf(validate({ database: { name, schema: "pgx", user: "app_pg_" } }));
    expect(cfg.database).toMatchObject({ name, schema: "pgx", user: "app_pg_" });
});

describe("bad values, each with its message", () => {
    test.each<[string, Record<string, unknown>, string[]]>([
        // Ports.
        [
            "a port that is a string",
            withOrders({ ports: [{ container: "80" }] }),
            ['msa:services.orders.ports[0].container must be an integer, got "80"'],
        ],
        [
            "a port that is a fraction",
            withOrders({ ports: [{ container: 80.5 }] }),
            ["msa:services.orders.ports[0].container must be an integer, got 80.5"],
        ],
        [
            "an unknown protocol and an unknown port key",
            withOrders({ ports: [{ container: 80, protocol: "sctp", extra: 1 }] }),
            [
                'msa:services.orders.ports[0].protocol must be one of tcp, udp, got "sctp"',
                "msa:services.orders.ports[0].extra is not a known key",
            ],
        ],
        [
            "a bind address that is not a string",
            withOrders({ ports: [{ container: 80, bindAddress: 1 }] }),
            ["msa:services.orders.ports[0].bindAddress must be a string, got 1"],
        ],
        // Booleans.
        [
            "production: yes",
            { production: "yes" },
            ['msa:production must be true or false, got "yes"'],
        ],
        ["protect: 1", { protect: 1 }, ["msa:protect must be true or false, got 1"]],
        // Text: command arguments.
        [
            "a command argument that is a number",
            withOrders({ command: [1] }),
            ["msa:services.orders.command[0] must be a string, got 1"],
        ],
        [
            "a command argument with a NUL byte",
            withOrders({ command: ["a\u0000b"] }),
            ['msa:services.orders.command[0] must not contain NUL bytes, got "a\\u0000b"'],
        ],
        [
            "a command argument too long (and with a NUL byte: the length is all that is said)",
            withOrders({ command: [`${LONG}\u0000`] }),
            [
                `msa:services.orders.command[0] must be at most 32768 bytes, got ${shownValue(`${LONG}\u0000`)}`,
            ],
        ],
        [
            "a command that is not a list",
            withOrders({ command: "run" }),
            ['msa:services.orders.command must be a list, got "run"'],
        ],
        // Non-empty strings: each check stops the ones after it.
        [
            "an empty node name",
            withOrders({ nodeName: "" }),
            ['msa:services.orders.nodeName must not be empty, got ""'],
        ],
        [
            "a node name of 256 characters",
            withOrders({ nodeName: "n".repeat(256) }),
            [
                `msa:services.orders.nodeName must be at most 255 characters, got ${shownValue("n".repeat(256))}`,
            ],
        ],
        [
            "a node name that is a number",
            withOrders({ nodeName: 5 }),
            ["msa:services.orders.nodeName must be a string, got 5"],
        ],
        [
            "a node name with a NUL byte",
            withOrders({ nodeName: "a\u0000" }),
            ['msa:services.orders.nodeName must not contain NUL bytes, got "a\\u0000"'],
        ],
        [
            "an empty tag: not also an invalid tag",
            withOrders({ tag: "" }),
            ['msa:services.orders.tag must not be empty, got ""'],
        ],
        [
            "a tag of 129 characters: not also an invalid tag",
            withOrders({ tag: "t".repeat(129) }),
            [
                `msa:services.orders.tag must be at most 128 characters, got ${shownValue("t".repeat(129))}`,
            ],
        ],
        [
            "a tag with a NUL byte: not also an invalid tag",
            withOrders({ tag: "1\u0000" }),
            ['msa:services.orders.tag must not contain NUL bytes, got "1\\u0000"'],
        ],
        [
            "an alias of 64 characters",
            { database: { name: "app", alias: "a".repeat(64) } },
            [`msa:database.alias must be at most 63 characters, got ${shownValue("a".repeat(64))}`],
        ],
        [
            "a host of 254 characters",
            { database: { mode: "external", name: "app", host: "h".repeat(254) } },
            [
                `msa:database.host must be at most 253 characters, got ${shownValue("h".repeat(254))}`,
            ],
        ],
        [
            "a container name of 129 characters",
            withOrders({ containerName: "c".repeat(129) }),
            [
                `msa:services.orders.containerName must be at most 128 characters, got ${shownValue("c".repeat(129))}`,
            ],
        ],
        [
            "an image path of 256 characters",
            withOrders({ image: "i".repeat(256) }),
            [
                `msa:services.orders.image must be at most 255 characters, got ${shownValue("i".repeat(256))}`,
            ],
        ],
        // Postgres identifiers.
        [
            "a database name of 64 bytes in 32 characters",
            { database: { name: "é".repeat(32) } },
            [
                `msa:database.name must be at most 63 bytes (Postgres's limit), got "${"é".repeat(32)}"`,
            ],
        ],
        [
            "a user too long and reserved: the length is all that is said",
            { database: { name: "app", user: `pg_${"é".repeat(31)}` } },
            [
                `msa:database.user must be at most 63 bytes (Postgres's limit), got "pg_${"é".repeat(31)}"`,
            ],
        ],
        [
            "a schema and a user in Postgres's pg_ namespace, in any case",
            { database: { name: "app", schema: "PG_x", user: "pg_y" } },
            [
                'msa:database.schema must not start with pg_ (Postgres reserves it for system schemas and roles), got "PG_x"',
                'msa:database.user must not start with pg_ (Postgres reserves it for system schemas and roles), got "pg_y"',
            ],
        ],
        [
            "a template database",
            { database: { name: "template0" } },
            [
                `msa:database.name must not be template0 or template1 (Postgres's template databases), got "template0"`,
            ],
        ],
        [
            "the other template database",
            { database: { name: "template1" } },
            [
                `msa:database.name must not be template0 or template1 (Postgres's template databases), got "template1"`,
            ],
        ],
        // Time zones.
        [
            "an unknown time zone",
            { timezone: "Asia/Seol" },
            [
                'msa:timezone must be a time zone in the tz database, like Asia/Seoul, got "Asia/Seol"',
            ],
        ],
        [
            "a time zone that is no tz name: not also an unknown one",
            { timezone: "Asia Seoul" },
            ['msa:timezone must be a tz database name like Asia/Seoul, got "Asia Seoul"'],
        ],
        // Memory.
        [
            "memory out of range",
            { database: { name: "app", memoryMb: 1048577 }, ...withOrders({ memoryMb: 5 }) },
            [
                "msa:database.memoryMb must be 6-1048576, got 1048577",
                "msa:services.orders.memoryMb must be 6-1048576, got 5",
            ],
        ],
        [
            "memory that is a fraction",
            withOrders({ memoryMb: 6.5 }),
            ["msa:services.orders.memoryMb must be an integer, got 6.5"],
        ],
        [
            "memory that is a string",
            withOrders({ memoryMb: "64" }),
            ['msa:services.orders.memoryMb must be an integer, got "64"'],
        ],
        // The database's health check.
        [
            "durations and retries",
            {
                database: {
                    name: "app",
                    healthcheck: { interval: "2", timeout: "61m", retries: 0, startPeriod: 5 },
                },
            },
            [
                'msa:database.healthcheck.interval must be a duration like 1s, 500ms or 1m30s, got "2"',
                'msa:database.healthcheck.timeout must be at most 60m, got "61m"',
                "msa:database.healthcheck.retries must be 1-100, got 0",
                "msa:database.healthcheck.startPeriod must be a string, got 5",
            ],
        ],
        [
            "retries that are a fraction, a start period over an hour",
            { database: { name: "app", healthcheck: { retries: 1.5, startPeriod: "1h1s" } } },
            [
                "msa:database.healthcheck.retries must be an integer, got 1.5",
                'msa:database.healthcheck.startPeriod must be at most 60m, got "1h1s"',
            ],
        ],
        [
            "a malformed duration over an hour: not also too long",
            { database: { name: "app", healthcheck: { interval: "2h ", timeout: "1234567s" } } },
            [
                'msa:database.healthcheck.interval must be a duration like 1s, 500ms or 1m30s, got "2h "',
                'msa:database.healthcheck.timeout must be a duration like 1s, 500ms or 1m30s, got "1234567s"',
            ],
        ],
        [
            "retries and replicas that are strings",
            {
                database: { name: "app", healthcheck: { retries: "5" } },
                ...withOrders({ healthcheck: { command: ["x"], retries: "3" }, replicas: "2" }),
            },
            [
                'msa:database.healthcheck.retries must be an integer, got "5"',
                'msa:services.orders.healthcheck.retries must be an integer, got "3"',
                'msa:services.orders.replicas must be an integer, got "2"',
            ],
        ],
        [
            "101 retries",
            { database: { name: "app", healthcheck: { retries: 101 } } },
            ["msa:database.healthcheck.retries must be 1-100, got 101"],
        ],
        // Env values.
        [
            "env values of the wrong kind, too long or with a NUL byte",
            withOrders({ env: { A: null, B: LONG, C: "x\u0000", D: 1, E: true, F: [1] } }),
            [
                "msa:services.orders.env.A must be a string, number or boolean, got null",
                `msa:services.orders.env.B must be at most 32768 bytes, got ${shownValue(LONG)}`,
                'msa:services.orders.env.C must not contain NUL bytes, got "x\\u0000"',
                "msa:services.orders.env.F must be a string, number or boolean, got [1]",
            ],
        ],
        [
            "an env that is a list",
            withOrders({ env: [] }),
            ["msa:services.orders.env must be a map of NAME: value, got []"],
        ],
        // Builds.
        [
            "a build outside the project, with bad keys",
            {
                services: {
                    orders: {
                        build: {
                            context: "../x",
                            dockerfile: "",
                            args: [1],
                            push: "yes",
                            target: "",
                        },
                    },
                },
            },
            [
                'msa:services.orders.build.context must be a folder inside the project (relative, without ..), got "../x"',
                'msa:services.orders.build.dockerfile must not be empty, got ""',
                "msa:services.orders.build.args must be a map of NAME: value, got [1]",
                'msa:services.orders.build.target must not be empty, got ""',
                'msa:services.orders.build.push must be true or false, got "yes"',
            ],
        ],
        [
            "an absolute build context and a build argument that is a number",
            { services: { orders: { build: { context: "/x", args: { A: 5 } } } } },
            [
                'msa:services.orders.build.context must be a folder inside the project (relative, without ..), got "/x"',
                "msa:services.orders.build.args.A must be a string, got 5",
            ],
        ],
        // A service's health check.
        [
            "an http check that is no path",
            withOrders({ ports: [{ container: 80 }], healthcheck: { http: "health" } }),
            ['msa:services.orders.healthcheck.http must be a path starting with /, got "health"'],
        ],
        [
            "an empty command check",
            withOrders({ healthcheck: { command: [] } }),
            ["msa:services.orders.healthcheck.command must not be empty, got []"],
        ],
        [
            "a command check that is no list, retries that are a fraction",
            withOrders({ healthcheck: { command: "x", retries: 1.5 } }),
            [
                'msa:services.orders.healthcheck.command must be a list, got "x"',
                "msa:services.orders.healthcheck.retries must be an integer, got 1.5",
            ],
        ],
        [
            "both http and command, 101 retries",
            withOrders({
                ports: [{ container: 80 }],
                healthcheck: { http: "/", command: ["x"], retries: 101 },
            }),
            [
                "msa:services.orders.healthcheck.retries must be 1-100, got 101",
                "msa:services.orders.healthcheck must have exactly one of http, command",
            ],
        ],
        [
            "neither http nor command, no retries",
            withOrders({ healthcheck: { retries: 0 } }),
            [
                "msa:services.orders.healthcheck.retries must be 1-100, got 0",
                "msa:services.orders.healthcheck must have exactly one of http, command",
            ],
        ],
        // Swarm, runtime, proxy.
        [
            "an unknown swarm publish mode and a bad node label",
            { runtime: "swarm", swarm: { publish: "x", dbNodeLabel: "Msa.db" } },
            [
                'msa:swarm.publish must be ingress or host, got "x"',
                'msa:swarm.dbNodeLabel must be a node label key like msa.db, got "Msa.db"',
            ],
        ],
        [
            "an unknown runtime",
            { runtime: "k8s" },
            ['msa:runtime must be one of container, swarm, got "k8s"'],
        ],
        [
            "a proxy image without a tag, too little memory",
            { proxy: { image: "haproxy", memoryMb: 1 } },
            [
                'msa:proxy.image must be an image reference with a tag, like haproxy:3.0.6, got "haproxy"',
                "msa:proxy.memoryMb must be 6-1048576, got 1",
            ],
        ],
        // A service's other keys.
        [
            "ports, restart, links, replicas and grace of the wrong kind or range",
            withOrders({
                ports: {},
                restart: "never",
                links: "a",
                replicas: -1,
                stopGraceSeconds: 3601,
            }),
            [
                "msa:services.orders.ports must be a list, got {}",
                'msa:services.orders.restart must be one of no, on-failure, always, unless-stopped, got "never"',
                'msa:services.orders.links must be a list, got "a"',
                "msa:services.orders.replicas must be 0-1000, got -1",
                "msa:services.orders.stopGraceSeconds must be 0-3600, got 3601",
            ],
        ],
        [
            "a link that is no string, too many replicas, a negative grace",
            withOrders({ links: [1], replicas: 1001, stopGraceSeconds: -1 }),
            [
                "msa:services.orders.links[0] must be a string, got 1",
                "msa:services.orders.replicas must be 0-1000, got 1001",
                "msa:services.orders.stopGraceSeconds must be 0-3600, got -1",
            ],
        ],
        [
            "replicas and grace that are fractions or strings",
            withOrders({ replicas: 1.5, stopGraceSeconds: "10" }),
            [
                "msa:services.orders.replicas must be an integer, got 1.5",
                'msa:services.orders.stopGraceSeconds must be an integer, got "10"',
            ],
        ],
        [
            "101 ports",
            withOrders({ ports: Array.from({ length: 101 }, (_, i) => ({ container: i + 1 })) }),
            ["msa:services.orders.ports must have at most 100 entries, got " + portsShown(101)],
        ],
        // Top-level keys.
        [
            "services that are a list",
            { services: [] },
            ["msa:services must be a map of service name to service settings, got []"],
        ],
        [
            "an upper-case environment, a name prefix starting with -",
            { environment: "Dev", namePrefix: "-x" },
            [
                'msa:environment must be lower-case letters, digits and -, got "Dev"',
                'msa:namePrefix must be lower-case letters, digits, _, . and -, got "-x"',
            ],
        ],
        [
            "an empty registry user",
            { registry: { ...REGISTRY, username: "" } },
            ['msa:registry.username must not be empty, got ""'],
        ],
        [
            "an unknown database mode",
            { database: { mode: "cloud", name: "app" } },
            ['msa:database.mode must be container or external, got "cloud"'],
        ],
        [
            "a database that is no map",
            { database: "postgres" },
            ['msa:database must have mode container or external, got "postgres"'],
        ],
        [
            "a database that is null",
            { database: null },
            ["msa:database must have mode container or external, got null"],
        ],
        [
            "a database that is a list",
            { database: [] },
            ["msa:database must have mode container or external, got []"],
        ],
    ])("%s", (_what, raw, expected) => {
        expect(errorsOf(validate(raw))).toEqual(expected);
    });

    test("1000 services are accepted", () => {
        const services = Object.fromEntries(
            Array.from({ length: 1000 }, (_, i) => [`s${i}`, { image: "orders", tag: "1.0.0" }]),
        );
        expect(Object.keys(configOf(validate({ services })).services)).toHaveLength(1000);
    });

    test("1001 services", () => {
        const services = Object.fromEntries(
            Array.from({ length: 1001 }, (_, i) => [`s${i}`, { image: "orders", tag: "1.0.0" }]),
        );
        expect(errorsOf(validate({ services }))).toEqual([
            "msa:services must have at most 1000 services",
        ]);
    });
});

/** How a message shows a list of n ports `{container: i}`: JSON, cut short. */
function portsShown(n: number): string {
    return shownValue(Array.from({ length: n }, (_, i) => ({ container: i + 1 })));
}

test("every v1 key is named with the key that replaced it", () => {
    const v1 = {
        registryServer: "msa:registry.server",
        registryNamespace: "msa:registry.namespace",
        registryProject: "msa:registry.project",
        registryUsername: "msa:registry.username",
        dbMode: "msa:database.mode",
        dbHost: "msa:database.alias (container mode) or msa:database.host (external mode)",
        dbPort: "msa:database.port",
        dbHostPort: "msa:database.hostPort",
        dbBindAddress: "msa:database.bindAddress",
        dbPublicBindOverride: "msa:database.publicBindOverride",
        dbName: "msa:database.name",
        dbSchema: "msa:database.schema",
        dbUser: "msa:database.user",
        dbKind: "msa:database.client.kind",
        dbDialect: "msa:database.client.dialect",
        dbDriverClassName: "msa:database.client.driverClassName",
        dbType: "msa:database.client.type",
        dbImageName: "msa:database.image.name",
        dbImageTag: "msa:database.image.tag",
        dbBaseImage: "msa:database.image.base",
        dbPushImage: "msa:database.image.push",
        dbContainerName: "msa:database.containerName",
        dbVolumeName: "msa:database.volumeName",
        dbMemoryMb: "msa:database.memoryMb",
        dbHealthcheck: "msa:database.healthcheck",
    };
    const raw = Object.fromEntries(Object.keys(v1).map((k) => [k, "x"]));
    expect(errorsOf(validate(raw))).toEqual(
        Object.entries(v1).map(([k, now]) => `msa:${k} is a v1 key; use ${now} instead`),
    );
});

describe("secrets: the passwords are required, msa:secretEnv is not", () => {
    const validateWith = (present: Record<string, boolean>) =>
        freshConfig().validate.validateStackConfig({
            stack: "dev",
            raw: { registry: REGISTRY, database: { name: "app" }, services: { orders: ORDERS } },
            secrets: { present },
            secretKeys: new Set(Object.keys(present)),
        });

    test("neither password", () => {
        expect(errorsOf(validateWith({}))).toEqual([
            "msa:registryPassword is required (set it with: pulumi config set --secret msa:registryPassword)",
            "msa:dbPassword is required (set it with: pulumi config set --secret msa:dbPassword)",
        ]);
    });

    test("both passwords and no secretEnv", () => {
        const cfg = configOf(validateWith({ registryPassword: true, dbPassword: true }));
        expect(cfg.secretEnvNames).toEqual({});
    });
});
