/**
 * Stack config validation: every bad input gets its own case and its exact message, and all
 * problems of one config are reported at once.
 */
import { readConfigMap } from "../config/read";
import { SecretPresence, validateStackConfig, ValidationResult } from "../config/validate";

const SECRETS: SecretPresence = { present: { dbPassword: true, registryPassword: true } };
const SECRET_KEYS = new Set(["dbPassword", "registryPassword"]);

function base(): Record<string, unknown> {
    return {
        registry: { namespace: "team", project: "msa", username: "deployer" },
        database: { name: "app" },
        services: {
            orders: { image: "orders", tag: "1.0.0", ports: [{ container: 8080, host: 8080 }] },
            billing: { image: "billing", tag: "1.0.0", links: ["orders"] },
        },
    };
}

function validate(
    raw: Record<string, unknown>,
    extra: { secrets?: SecretPresence; secretKeys?: string[] } = {},
): ValidationResult {
    return validateStackConfig({
        stack: "dev",
        raw,
        secrets: extra.secrets ?? SECRETS,
        secretKeys: new Set([...SECRET_KEYS, ...(extra.secretKeys ?? [])]),
    });
}

function errorsOf(result: ValidationResult): string[] {
    if (result.ok) {
        throw new Error("expected the config to be rejected");
    }
    return result.errors;
}

function reject(mutate: (c: Record<string, unknown>) => void): string[] {
    const raw = base();
    mutate(raw);
    return errorsOf(validate(raw));
}

const svc = (c: Record<string, unknown>, key: string) =>
    (c.services as Record<string, Record<string, unknown>>)[key] as Record<string, unknown>;
const db = (c: Record<string, unknown>) => c.database as Record<string, unknown>;
const external = (c: Record<string, unknown>) => {
    c.database = { mode: "external", host: "db.internal", name: "app" };
};

describe("a valid config", () => {
    test("resolves defaults and derived names", () => {
        const result = validate(base());
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        const c = result.config;
        expect(c.environment).toBe("dev");
        expect(c.namePrefix).toBe("msa-dev");
        expect(c.production).toBe(true);
        expect(c.protect).toBe(true);
        expect(c.registry?.server).toBe("registry.gitlab.com");
        expect(c.database).toEqual({
            mode: "container",
            alias: "database",
            port: 5432,
            hostPort: 5432,
            bindAddress: "127.0.0.1",
            name: "app",
            schema: "public",
            user: "postgres",
            containerName: "msa-dev-db",
            volumeName: "msa-dev-db-data",
            client: {
                kind: "postgresql",
                dialect: "org.hibernate.dialect.PostgreSQLDialect",
                driverClassName: "org.postgresql.Driver",
                type: "postgresql_table",
            },
            healthcheck: { interval: "1s", timeout: "3s", retries: 5, startPeriod: "60s" },
            image: { name: "db", context: "docker/db", base: "postgres:14", push: true },
        });
        expect(c.services.orders?.restart).toBe("always");
        expect(c.services.orders?.ports[0]).toEqual({
            container: 8080,
            host: 8080,
            bindAddress: "0.0.0.0",
            protocol: "tcp",
        });
        expect([...c.secretKeys]).toEqual([]);
    });

    test("the data volume's default name follows the stack, not the environment or prefix", () => {
        const raw = { ...base(), environment: "staging", namePrefix: "shop" };
        const result = validate(raw);
        expect(result.ok && result.config.database.mode === "container").toBe(true);
        if (!result.ok || result.config.database.mode !== "container") return;
        expect(result.config.database.volumeName).toBe("msa-dev-db-data");
        expect(result.config.database.containerName).toBe("shop-db");
    });

    test("a stack that is not production is not protected unless it says so", () => {
        const result = validate({ ...base(), production: false });
        expect(result.ok && result.config.protect).toBe(false);
    });

    test("an external database takes host, port and the shared keys", () => {
        const c = base();
        external(c);
        const result = validate(c);
        expect(result.ok && result.config.database).toEqual({
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

    test("a service key that ends in _ or - is refused: it is a network alias", () => {
        const c = base();
        (c.services as Record<string, unknown>)["a_"] = { image: "x", tag: "1" };
        expect(errorsOf(validate(c))).toEqual([
            'msa:services has a bad key "a_": must start with a letter, end with a letter or digit and hold only letters, digits, _ and - (at most 63)',
        ]);
    });

    test("a plain setting with KEY inside is accepted in env", () => {
        const c = base();
        svc(c, "orders").env = { CACHE_KEY_PREFIX: "o:" };
        expect(validate(c).ok).toBe(true);
    });

    test("a secret structured key is accepted and reported to the program", () => {
        const result = validate(base(), { secretKeys: ["database", "services"] });
        expect(result.ok && [...result.config.secretKeys].sort()).toEqual(["database", "services"]);
    });
});

describe("bad config, one message each", () => {
    const cases: [string, (c: Record<string, unknown>) => void, string[]][] = [
        [
            "host port out of range",
            (c) => ((svc(c, "orders").ports as Record<string, unknown>[])[0]!.host = 70000),
            ["msa:services.orders.ports[0].host must be 1-65535, got 70000"],
        ],
        [
            "container port zero",
            (c) => ((svc(c, "orders").ports as Record<string, unknown>[])[0]!.container = 0),
            ["msa:services.orders.ports[0].container must be 1-65535, got 0"],
        ],
        [
            "port not an integer",
            (c) => ((svc(c, "orders").ports as Record<string, unknown>[])[0]!.host = 80.5),
            ["msa:services.orders.ports[0].host must be an integer, got 80.5"],
        ],
        [
            "port as text",
            (c) => (db(c).port = "five"),
            ['msa:database.port must be an integer, got "five"'],
        ],
        ["missing required key", (c) => delete db(c).name, ["msa:database.name is required"]],
        ["missing database", (c) => delete c.database, ["msa:database is required"]],
        [
            "unknown top-level key (a typo)",
            (c) => (c.dbPasword = "x"),
            ["msa:dbPasword is not a known key"],
        ],
        [
            "unknown service key",
            (c) => (svc(c, "orders").imge = "x"),
            ["msa:services.orders.imge is not a known key"],
        ],
        [
            "bad db mode",
            (c) => (db(c).mode = "cloud"),
            ['msa:database.mode must be container or external, got "cloud"'],
        ],
        [
            "external mode without a host",
            (c) => (c.database = { mode: "external", name: "app" }),
            ["msa:database.host is required"],
        ],
        [
            "bind address not an IPv4 address",
            (c) => (db(c).bindAddress = "localhost"),
            ['msa:database.bindAddress must be an IPv4 address, got "localhost"'],
        ],
        [
            "bad restart policy",
            (c) => (svc(c, "orders").restart = "sometimes"),
            [
                'msa:services.orders.restart must be one of no, on-failure, always, unless-stopped, got "sometimes"',
            ],
        ],
        [
            "empty tag",
            (c) => (svc(c, "orders").tag = ""),
            ['msa:services.orders.tag must not be empty, got ""'],
        ],
        [
            "tag with shell metacharacters",
            (c) => (svc(c, "orders").tag = "1.0;rm -rf /"),
            ['msa:services.orders.tag must be a valid image tag, got "1.0;rm -rf /"'],
        ],
        [
            "upper-case image name",
            (c) => (svc(c, "orders").image = "Orders"),
            [
                'msa:services.orders.image must be a lower-case image path like orders or api/orders, got "Orders"',
            ],
        ],
        [
            "link to an unknown service",
            (c) => (svc(c, "billing").links = ["payments"]),
            [
                'msa:services.billing.links[0] names unknown service "payments"; known: orders, billing',
            ],
        ],
        [
            "link to itself",
            (c) => (svc(c, "billing").links = ["billing"]),
            ['msa:services.billing.links[0] must name another service, got its own name "billing"'],
        ],
        [
            "link to a service without ports",
            (c) => {
                svc(c, "orders").links = ["billing"];
                svc(c, "billing").links = [];
            },
            [
                'msa:services.orders.links[0] names service "billing", which has no ports to connect to',
            ],
        ],
        [
            "duplicate host port across services",
            (c) => (svc(c, "billing").ports = [{ container: 9000, host: 8080 }]),
            [
                "msa:services.billing.ports[0].host must be a free host port, got 8080, which msa:services.orders.ports[0].host already publishes",
            ],
        ],
        [
            "service port clashing with the DB port",
            (c) => (svc(c, "billing").ports = [{ container: 5432, host: 5432 }]),
            [
                "msa:services.billing.ports[0].host must be a free host port, got 5432, which msa:database.hostPort already publishes",
            ],
        ],
        [
            "env overriding a stack-set variable",
            (c) => (svc(c, "orders").env = { DB_HOST: "elsewhere" }),
            [
                "msa:services.orders.env.DB_HOST is set by the stack itself (database settings, NODENAME and link variables); remove it",
            ],
        ],
        [
            "plain-text secret in env",
            (c) => (svc(c, "orders").env = { API_TOKEN: "abc" }),
            [
                "msa:services.orders.env.API_TOKEN looks like a secret and must not be plain text; set it with: pulumi config set --secret --path 'msa:secretEnv.orders.API_TOKEN'",
            ],
        ],
        [
            "service key that is not a valid alias",
            (c) => ((c.services as Record<string, unknown>)["bad name"] = { image: "x", tag: "1" }),
            [
                'msa:services has a bad key "bad name": must start with a letter, end with a letter or digit and hold only letters, digits, _ and - (at most 63)',
            ],
        ],
        [
            "service named like the database alias",
            (c) => ((c.services as Record<string, unknown>).database = { image: "x", tag: "1" }),
            [
                'msa:services.database has the network alias "database", which msa:database.alias already uses (Docker\'s DNS ignores case); rename the service',
            ],
        ],
        [
            "service named like the database alias in another case",
            (c) => ((c.services as Record<string, unknown>).DATABASE = { image: "x", tag: "1" }),
            [
                'msa:services.DATABASE has the network alias "DATABASE", which msa:database.alias already uses (Docker\'s DNS ignores case); rename the service',
            ],
        ],
        [
            "two services whose aliases differ only in case",
            (c) => ((c.services as Record<string, unknown>).ORDERS = { image: "x", tag: "1" }),
            [
                "msa:services.ORDERS and msa:services.orders both give link variables the prefix ORDERS_; rename one",
                'msa:services.ORDERS has the network alias "ORDERS", which msa:services.orders already uses (Docker\'s DNS ignores case); rename the service',
            ],
        ],
        [
            "a service named db whose link variables would overwrite DB_HOST and DB_PORT",
            (c) => {
                (c.services as Record<string, unknown>).db = {
                    image: "x",
                    tag: "1",
                    containerName: "db-svc",
                    ports: [{ container: 80 }],
                };
                svc(c, "billing").links = ["db"];
            },
            [
                'msa:services.billing.links[0] names service "db", whose link variables would overwrite the stack\'s own DB_HOST, DB_PORT; rename that service',
            ],
        ],
        [
            "a service container named like the database container in another case",
            (c) => (svc(c, "orders").containerName = "MSA-DEV-DB"),
            [
                'msa:services.orders.containerName must be unique, got "MSA-DEV-DB", which msa:database.containerName also uses',
            ],
        ],
        [
            "two containers with one name",
            (c) => {
                svc(c, "orders").containerName = "app";
                svc(c, "billing").containerName = "app";
            },
            [
                'msa:services.billing.containerName must be unique, got "app", which msa:services.orders.containerName also uses',
            ],
        ],
        [
            "an explicit container name equal to the database's default",
            (c) => (svc(c, "orders").containerName = "msa-dev-db"),
            [
                'msa:services.orders.containerName must be unique, got "msa-dev-db", which msa:database.containerName also uses',
            ],
        ],
        [
            "a healthcheck with both http and command",
            (c) => (svc(c, "orders").healthcheck = { http: "/health", command: ["true"] }),
            ["msa:services.orders.healthcheck must have exactly one of http, command"],
        ],
        [
            "an http healthcheck path that could break out of the shell quoting",
            (c) => (svc(c, "orders").healthcheck = { http: "/h'; rm -rf /" }),
            [
                'msa:services.orders.healthcheck.http must be a path starting with /, got "/h\'; rm -rf /"',
            ],
        ],
        [
            "an http healthcheck on a service without ports",
            (c) => (svc(c, "billing").healthcheck = { http: "/health" }),
            [
                "msa:services.billing.healthcheck.http needs a port to check: give msa:services.billing.ports (the first container port is checked)",
            ],
        ],
        [
            "a proxy image without a tag",
            (c) => (c.proxy = { image: "haproxy" }),
            [
                'msa:proxy.image must be an image reference with a tag, like haproxy:3.0.6, got "haproxy"',
            ],
        ],
        [
            "huge value is cut short in the message",
            (c) => (db(c).name = "x".repeat(5000)),
            [
                `msa:database.name must be at most 63 characters, got "${"x".repeat(59)}…(5002 characters)`,
            ],
        ],
        [
            "services not a map",
            (c) => (c.services = ["orders"]),
            ['msa:services must be a map of service name to service settings, got ["orders"]'],
        ],
    ];

    test.each(cases)("%s", (_name, mutate, expected) => {
        expect(reject(mutate)).toEqual(expected);
    });

    test("missing secrets are named with the command that sets them", () => {
        const errors = errorsOf(validate(base(), { secrets: { present: {} } }));
        expect(errors).toEqual([
            "msa:registryPassword is required (set it with: pulumi config set --secret msa:registryPassword)",
            "msa:dbPassword is required (set it with: pulumi config set --secret msa:dbPassword)",
        ]);
    });

    test("secret env for an unknown service", () => {
        const errors = errorsOf(
            validate(base(), {
                secrets: { ...SECRETS, secretEnvNames: { payments: ["API_TOKEN"] } },
            }),
        );
        expect(errors).toEqual(['msa:secretEnv.payments names unknown service "payments"']);
    });

    test("secret env for a service that exists but has another error names only that error", () => {
        const c = base();
        svc(c, "orders").tag = "";
        const errors = errorsOf(
            validate(c, { secrets: { ...SECRETS, secretEnvNames: { orders: ["API_TOKEN"] } } }),
        );
        expect(errors).toEqual(['msa:services.orders.tag must not be empty, got ""']);
    });

    test("every problem is reported at once", () => {
        const errors = reject((c) => {
            db(c).port = 0;
            delete (c.registry as Record<string, unknown>).project;
            svc(c, "orders").tag = "";
        });
        expect(errors).toEqual([
            "msa:registry.project is required",
            "msa:database.port must be 1-65535, got 0",
            'msa:services.orders.tag must not be empty, got ""',
        ]);
    });
});

describe("one shape per database mode", () => {
    test.each([
        ["volumeName", "sf1_db_storage"],
        ["hostPort", 5432],
        ["bindAddress", "0.0.0.0"],
        ["healthcheck", { interval: "1s" }],
        ["image", { push: false }],
        ["memoryMb", 512],
        ["alias", "db"],
        ["containerName", "db"],
        ["publicBindOverride", true],
    ])("external mode refuses the container-mode key %s", (key, value) => {
        const errors = reject((c) => {
            external(c);
            db(c)[key] = value;
        });
        expect(errors).toEqual([
            `msa:database.${key} means nothing when msa:database.mode is external (it is a container-mode key); remove it`,
        ]);
    });

    test("container mode refuses the external-mode key host", () => {
        const errors = reject((c) => (db(c).host = "db.internal"));
        expect(errors).toEqual([
            "msa:database.host means nothing when msa:database.mode is container (it is an external-mode key); remove it",
        ]);
    });
});

describe("v1 keys", () => {
    test.each([
        ["dbMode", "external", "msa:database.mode"],
        ["dbPort", 5432, "msa:database.port"],
        ["dbVolumeName", "data", "msa:database.volumeName"],
        ["registryNamespace", "team", "msa:registry.namespace"],
        ["dbHealthcheck", { interval: "1s" }, "msa:database.healthcheck"],
        ["dbKind", "postgresql", "msa:database.client.kind"],
    ])("%s gets one error naming the key to use instead", (key, value, instead) => {
        const errors = reject((c) => (c[key] = value));
        expect(errors).toEqual([`msa:${key} is a v1 key; use ${instead} instead`]);
    });

    test("dbHost names both places it can go", () => {
        expect(reject((c) => (c.dbHost = "db"))).toEqual([
            "msa:dbHost is a v1 key; use msa:database.alias (container mode) or msa:database.host (external mode) instead",
        ]);
    });
});

describe("secrets", () => {
    test.each(["environment", "namePrefix", "timezone", "production", "protect"])(
        "%s set as a secret is refused, naming the key",
        (key) => {
            const c = base();
            c[key] = { environment: "dev", namePrefix: "msa-dev", timezone: "UTC" }[key] ?? true;
            const errors = errorsOf(validate(c, { secretKeys: [key] }));
            expect(errors).toEqual([
                `msa:${key} is set as a secret, but it cannot be one (it names, labels or switches things); set it without --secret: pulumi config set msa:${key} <value>`,
            ]);
        },
    );

    test.each(["dbPassword", "registryPassword"])(
        "%s in plain text in the stack file is an error that does not echo it",
        (key) => {
            const errors = errorsOf(
                validateStackConfig({
                    stack: "dev",
                    raw: base(),
                    secrets: SECRETS,
                    secretKeys: new Set([...SECRET_KEYS].filter((k) => k !== key)),
                }),
            );
            expect(errors).toEqual([
                `msa:${key} is in plain text in the stack file; remove it and set it with: pulumi config set --secret msa:${key}`,
            ]);
        },
    );

    test("a wrong-type value in a secret key is not echoed", () => {
        const c = base();
        db(c).port = "hunter2";
        const errors = errorsOf(validate(c, { secretKeys: ["database"] }));
        expect(errors).toEqual(["msa:database.port must be an integer, got [secret]"]);
        expect(errors.join("\n")).not.toContain("hunter2");
    });

    test("a bad service value in a secret services map is not echoed", () => {
        const c = base();
        svc(c, "orders").tag = "s3cr3t value";
        const errors = errorsOf(validate(c, { secretKeys: ["services"] }));
        expect(errors).toEqual(["msa:services.orders.tag must be a valid image tag, got [secret]"]);
    });
});

describe("values validated for what they are", () => {
    test.each([
        [
            "an external host with a port in it",
            (c: Record<string, unknown>) => {
                external(c);
                db(c).host = "db.example.com:6543";
            },
            'msa:database.host must be a host name or IPv4 address without a port (the port is its own key), got "db.example.com:6543"',
        ],
        [
            "a DB alias with a port in it",
            (c: Record<string, unknown>) => (db(c).alias = "db:5432"),
            'msa:database.alias must be one DNS label (letters, digits, _ and -), got "db:5432"',
        ],
        [
            "a DB alias with dots",
            (c: Record<string, unknown>) => (db(c).alias = "db.internal"),
            'msa:database.alias must be one DNS label (letters, digits, _ and -), got "db.internal"',
        ],
        [
            "an absurd healthcheck interval",
            (c: Record<string, unknown>) =>
                (db(c).healthcheck = { interval: "99999999999999999999h" }),
            'msa:database.healthcheck.interval must be a duration like 1s, 500ms or 1m30s, got "99999999999999999999h"',
        ],
        [
            "a healthcheck longer than an hour",
            (c: Record<string, unknown>) => (db(c).healthcheck = { startPeriod: "2h" }),
            'msa:database.healthcheck.startPeriod must be at most 60m, got "2h"',
        ],
        [
            "a database name over 63 bytes in fewer characters",
            (c: Record<string, unknown>) => (db(c).name = "데".repeat(22)),
            `msa:database.name must be at most 63 bytes (Postgres's limit), got "${"데".repeat(22)}"`,
        ],
        [
            "an env value over the size limit",
            (c: Record<string, unknown>) => (svc(c, "orders").env = { BIG: "x".repeat(40000) }),
            `msa:services.orders.env.BIG must be at most 32768 bytes, got "${"x".repeat(59)}…(40002 characters)`,
        ],
    ])("%s", (_name, mutate, expected) => {
        expect(reject(mutate)).toEqual([expected]);
    });
});

describe("reading the config the CLI passes", () => {
    test("parses booleans and objects by key, takes secret-ness from Pulumi, keeps secrets out", () => {
        const secret = new Set(["msa:dbPassword", "msa:secretEnv", "msa:database"]);
        const input = readConfigMap(
            "dev",
            {
                "msa:protect": "true",
                "msa:timezone": "0042",
                "msa:database": '{"name":"app","port":6543}',
                "msa:services": '{"a":{"image":"a","tag":"1"}}',
                "msa:dbPassword": "hunter2",
                "msa:secretEnv": '{"a":{"API_TOKEN":"t0ken"}}',
                "docker:host": "ssh://deploy@host",
            },
            (k) => secret.has(k),
        );
        expect(input.raw).toEqual({
            protect: true,
            timezone: "0042",
            database: { name: "app", port: 6543 },
            services: { a: { image: "a", tag: "1" } },
        });
        expect(input.secrets).toEqual({
            present: { dbPassword: true, secretEnv: true },
            secretEnvNames: { a: ["API_TOKEN"] },
        });
        expect([...(input.secretKeys ?? [])].sort()).toEqual([
            "database",
            "dbPassword",
            "secretEnv",
        ]);
        expect(JSON.stringify(input.secrets)).not.toContain("hunter2");
        expect(JSON.stringify(input.secrets)).not.toContain("t0ken");
    });

    test("a value that does not parse is kept so validation can name it", () => {
        const { raw } = readConfigMap(
            "dev",
            { "msa:database": "{not json", "msa:protect": "yes" },
            () => false,
        );
        expect(raw).toEqual({ database: "{not json", protect: "yes" });
    });
});

describe("cross-key checks still run when some keys are malformed", () => {
    test("a bad port does not hide a dangling link, and a bad service is still a known name", () => {
        const errors = reject((c) => {
            db(c).port = 0;
            svc(c, "orders").tag = "";
            svc(c, "billing").links = ["orders", "payments"];
        });
        expect(errors).toEqual([
            "msa:database.port must be 1-65535, got 0",
            'msa:services.orders.tag must not be empty, got ""',
            'msa:services.billing.links[1] names unknown service "payments"; known: orders, billing',
        ]);
    });
});

describe("Postgres names as Postgres checks them, and real time zones", () => {
    test.each([
        [
            "schema",
            "pg_app",
            "must not start with pg_ (Postgres reserves it for system schemas and roles)",
        ],
        [
            "user",
            "PG_admin",
            "must not start with pg_ (Postgres reserves it for system schemas and roles)",
        ],
        ["name", "template0", "must not be template0 or template1 (Postgres's template databases)"],
        ["name", "template1", "must not be template0 or template1 (Postgres's template databases)"],
    ])("database %s %j", (key, value, message) => {
        expect(reject((c) => (db(c)[key] = value))).toEqual([
            `msa:database.${key} ${message}, got ${JSON.stringify(value)}`,
        ]);
    });

    test("an unknown time zone (a typo) is refused", () => {
        expect(reject((c) => (c.timezone = "Asia/Seol"))).toEqual([
            'msa:timezone must be a time zone in the tz database, like Asia/Seoul, got "Asia/Seol"',
        ]);
    });

    test.each(["Asia/Seoul", "UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"])(
        "%s is a time zone",
        (tz) => {
            const c = base();
            c.timezone = tz;
            expect(validate(c).ok).toBe(true);
        },
    );
});

describe("runtime: container or swarm", () => {
    const swarm = (c: Record<string, unknown>) => (c.runtime = "swarm");
    test.each<[string, (c: Record<string, unknown>) => void, string]>([
        [
            "replicas on one Docker host",
            (c) => (svc(c, "orders").replicas = 3),
            "msa:services.orders.replicas means nothing when msa:runtime is container (one container per service); remove it or set msa:runtime: swarm",
        ],
        [
            "swarm settings on one Docker host",
            (c) => (c.swarm = { publish: "host" }),
            "msa:swarm means nothing when msa:runtime is container; remove it",
        ],
        [
            "a DB image kept on one host of a swarm",
            (c) => {
                swarm(c);
                db(c).image = { push: false };
            },
            "msa:database.image.push must be true when msa:runtime is swarm: every node pulls the image",
        ],
        [
            "a fixed container name in a swarm",
            (c) => {
                swarm(c);
                svc(c, "orders").containerName = "orders";
            },
            "msa:services.orders.containerName means nothing when msa:runtime is swarm (the service is named by its key); remove it",
        ],
        [
            "a service port bound to one address in a swarm",
            (c) => {
                swarm(c);
                c.swarm = { publish: "host" };
                c.proxy = { image: "haproxy:3.0.6" };
                svc(c, "orders").ports = [
                    { container: 8080, host: 8080, bindAddress: "0.0.0.0" },
                    { container: 8081, host: 8081, bindAddress: "127.0.0.1" },
                ];
            },
            "msa:services.orders.ports[1].bindAddress means nothing when msa:runtime is swarm (a swarm publishes a port on every address of its nodes, so 127.0.0.1 would not limit who connects); remove it",
        ],
        [
            "a published DB port in a swarm",
            (c) => {
                swarm(c);
                db(c).hostPort = 5432;
            },
            "msa:database.hostPort means nothing when msa:runtime is swarm (the database is reached in the overlay network only); remove it",
        ],
        [
            "host ports in host publish mode without the proxy",
            (c) => {
                swarm(c);
                c.swarm = { publish: "host" };
            },
            "msa:services.orders.ports publishes host ports, which need msa:proxy when msa:swarm.publish is host",
        ],
        [
            "an unknown runtime",
            (c) => (c.runtime = "k8s"),
            'msa:runtime must be one of container, swarm, got "k8s"',
        ],
    ])("%s", (_what, mutate, message) => {
        expect(reject(mutate)).toEqual([message]);
    });

    test("a swarm stack with replicas and the proxy in host mode is valid", () => {
        const c = base();
        c.runtime = "swarm";
        c.swarm = { publish: "host" };
        c.proxy = { image: "haproxy:3.0.6" };
        svc(c, "orders").replicas = 3;
        expect(validate(c).ok).toBe(true);
    });
});

describe("found by the fuzz", () => {
    test.each(["toString", "constructor", "hasOwnProperty", "__proto__"])(
        "a key named %s is an unknown key, never silently dropped",
        (key) => {
            const { raw, secrets, secretKeys } = readConfigMap(
                "dev",
                {
                    "msa:registry": JSON.stringify(base().registry),
                    "msa:database": JSON.stringify(base().database),
                    [`msa:${key}`]: "x",
                },
                (k) => k === "msa:dbPassword" || k === "msa:registryPassword",
            );
            const errors = errorsOf(
                validateStackConfig({
                    stack: "dev",
                    raw,
                    secrets: { ...secrets, present: { dbPassword: true, registryPassword: true } },
                    secretKeys: new Set([...(secretKeys ?? []), ...SECRET_KEYS]),
                }),
            );
            expect(errors).toEqual([
                key === "__proto__"
                    ? "msa:__proto__ is a key named __proto__, which a map cannot hold; rename it"
                    : `msa:${key} is not a known key`,
            ]);
        },
    );

    test("an env entry named __proto__ is refused", () => {
        const c = base();
        svc(c, "orders").env = JSON.parse('{"__proto__": "x"}') as Record<string, unknown>;
        expect(errorsOf(validate(c))).toEqual([
            "msa:services.orders.env.__proto__ is a key named __proto__, which a map cannot hold; rename it",
        ]);
    });

    test("a DB build context that is not a folder with a Dockerfile names the key", () => {
        expect(reject((c) => (db(c).image = { context: "docs" }))).toEqual([
            'msa:database.image.context must be a folder of the project with a Dockerfile, got "docs"',
        ]);
    });

    test("a registry with a port is a registry", () => {
        const c = base();
        (c.registry as Record<string, unknown>).server = "gitlab.example.com:5050";
        expect(validate(c).ok).toBe(true);
    });
});
