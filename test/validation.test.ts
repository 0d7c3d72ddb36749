/**
 * Stack config validation: every bad input gets its own case and its exact message, and all
 * problems of one config are reported at once.
 */
import { validateStackConfig, ValidationResult } from "../config/validate";
import { readConfigMap } from "../config/read";
import { looksSecret } from "../config/env";

const SECRETS = { present: { dbPassword: true, registryPassword: true } };

function base(): Record<string, unknown> {
    return {
        registryNamespace: "team",
        registryProject: "msa",
        registryUsername: "deployer",
        dbName: "app",
        services: {
            orders: { image: "orders", tag: "1.0.0", ports: [{ container: 8080, host: 8080 }] },
            billing: { image: "billing", tag: "1.0.0", links: ["orders"] },
        },
    };
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
    return errorsOf(validateStackConfig("dev", raw, SECRETS));
}

const svc = (c: Record<string, unknown>, key: string) =>
    (c.services as Record<string, Record<string, unknown>>)[key] as Record<string, unknown>;

describe("a valid config", () => {
    test("resolves defaults and derived names", () => {
        const result = validateStackConfig("dev", base(), SECRETS);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        const c = result.config;
        expect(c.environment).toBe("dev");
        expect(c.namePrefix).toBe("msa-dev");
        expect(c.dbHost).toBe("database");
        expect(c.dbMode).toBe("container");
        expect(c.dbPort).toBe(5432);
        expect(c.dbBindAddress).toBe("127.0.0.1");
        expect(c.registryServer).toBe("registry.gitlab.com");
        expect(c.services.orders?.restart).toBe("always");
        expect(c.services.orders?.ports[0]).toEqual({
            container: 8080,
            host: 8080,
            bindAddress: "0.0.0.0",
            protocol: "tcp",
        });
        expect(c.dbHealthcheck).toEqual({
            interval: "1s",
            timeout: "3s",
            retries: 5,
            startPeriod: "60s",
        });
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
        ["port as text", (c) => (c.dbPort = "five"), ['msa:dbPort must be an integer, got "five"']],
        ["missing required key", (c) => delete c.dbName, ["msa:dbName is required"]],
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
            (c) => (c.dbMode = "cloud"),
            ['msa:dbMode must be one of container, external, got "cloud"'],
        ],
        [
            "external mode without a host",
            (c) => (c.dbMode = "external"),
            ["msa:dbHost is required when msa:dbMode is external"],
        ],
        [
            "bind address not an IPv4 address",
            (c) => (c.dbBindAddress = "localhost"),
            ['msa:dbBindAddress must be an IPv4 address, got "localhost"'],
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
                "msa:services.billing.ports[0].host must be a free host port, got 5432, which msa:dbHostPort already publishes",
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
                'msa:services has a bad key "bad name": must start with a letter and hold only letters, digits, _ and - (at most 63)',
            ],
        ],
        [
            "service named like the database alias",
            (c) => ((c.services as Record<string, unknown>).database = { image: "x", tag: "1" }),
            [
                'msa:services.database uses the database\'s network alias "database" (msa:dbHost); rename the service or set msa:dbHost',
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
            "huge value is cut short in the message",
            (c) => (c.dbName = "x".repeat(5000)),
            [`msa:dbName must be at most 63 characters, got "${"x".repeat(59)}…(5002 characters)`],
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
        const errors = errorsOf(validateStackConfig("dev", base(), { present: {} }));
        expect(errors).toEqual([
            "msa:registryPassword is required (set it with: pulumi config set --secret msa:registryPassword)",
            "msa:dbPassword is required (set it with: pulumi config set --secret msa:dbPassword)",
        ]);
    });

    test("secret env for an unknown service", () => {
        const errors = errorsOf(
            validateStackConfig("dev", base(), {
                ...SECRETS,
                secretEnvNames: { payments: ["API_TOKEN"] },
            }),
        );
        expect(errors).toEqual(['msa:secretEnv.payments names unknown service "payments"']);
    });

    test("every problem is reported at once", () => {
        const errors = reject((c) => {
            c.dbPort = 0;
            c.dbMode = "cloud";
            delete c.registryProject;
            svc(c, "orders").tag = "";
        });
        expect(errors).toEqual([
            "msa:registryProject is required",
            'msa:dbMode must be one of container, external, got "cloud"',
            "msa:dbPort must be 1-65535, got 0",
            'msa:services.orders.tag must not be empty, got ""',
        ]);
    });
});

describe("reading the config the CLI passes", () => {
    test("parses numbers, booleans and objects by key, and keeps secrets out", () => {
        const { raw, secrets } = readConfigMap({
            "msa:dbPort": "6543",
            "msa:protect": "true",
            "msa:dbName": "0042",
            "msa:services": '{"a":{"image":"a","tag":"1"}}',
            "msa:dbPassword": "hunter2",
            "msa:secretEnv": '{"a":{"API_TOKEN":"t0ken"}}',
            "docker:host": "ssh://deploy@host",
        });
        expect(raw).toEqual({
            dbPort: 6543,
            protect: true,
            dbName: "0042",
            services: { a: { image: "a", tag: "1" } },
        });
        expect(secrets).toEqual({
            present: { dbPassword: true, secretEnv: true },
            secretEnvNames: { a: ["API_TOKEN"] },
        });
        expect(JSON.stringify(secrets)).not.toContain("hunter2");
        expect(JSON.stringify(secrets)).not.toContain("t0ken");
    });

    test("a value that does not parse is kept so validation can name it", () => {
        const { raw } = readConfigMap({ "msa:dbPort": "54x", "msa:protect": "yes" });
        expect(raw).toEqual({ dbPort: "54x", protect: "yes" });
    });
});

describe("cross-key checks still run when some keys are malformed", () => {
    test("a bad port does not hide a dangling link, and a bad service is still a known name", () => {
        const errors = reject((c) => {
            c.dbPort = 0;
            svc(c, "orders").tag = "";
            svc(c, "billing").links = ["orders", "payments"];
        });
        expect(errors).toEqual([
            "msa:dbPort must be 1-65535, got 0",
            'msa:services.orders.tag must not be empty, got ""',
            'msa:services.billing.links[1] names unknown service "payments"; known: orders, billing',
        ]);
    });

    test("an external database with a malformed host is reported once", () => {
        const errors = reject((c) => {
            c.dbMode = "external";
            c.dbHost = "bad host!";
        });
        expect(errors).toEqual(['msa:dbHost must be a hostname or IP address, got "bad host!"']);
    });
});

describe("which env names look secret", () => {
    test.each([
        "DB_PASSWORD",
        "db_passwd",
        "SMTP_PWD",
        "CLIENT_SECRET",
        "API_TOKEN",
        "GOOGLE_CREDENTIALS",
        "APIKEY",
        "API_KEY",
        "STRIPE_KEY",
        "key",
        "PRIVATE_KEY_PEM",
        "AWS_ACCESS_KEY_ID",
        "SIGNING_KEY_BASE64",
        "secret.key",
    ])("%s must be a secret", (name) => {
        expect(looksSecret(name)).toBe(true);
    });

    test.each([
        "CACHE_KEY_PREFIX",
        "KEY_ID",
        "SORT_KEY_FIELD",
        "PRIMARY_KEY_COLUMN",
        "KEYCLOAK_URL",
        "MONKEY_MODE",
        "TOKENIZER_MODEL",
        "LOG_LEVEL",
    ])("%s may be plain", (name) => {
        expect(looksSecret(name)).toBe(false);
    });

    test("a plain setting with KEY inside is accepted in env", () => {
        const c = base();
        svc(c, "orders").env = { CACHE_KEY_PREFIX: "o:" };
        expect(validateStackConfig("dev", c, SECRETS).ok).toBe(true);
    });
});
