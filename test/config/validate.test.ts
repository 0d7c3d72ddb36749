/**
 * The checks of `validateStackConfig` that span keys, one bad input per case with its exact
 * message: when a registry and its password are needed, the default environment a stack name
 * gives, build contexts, the swarm rules, host port clashes and the shape of `msa:secretEnv`.
 */
import {
    formatPath,
    keyPath,
    SecretPresence,
    showValue,
    validateStackConfig,
    ValidationResult,
} from "../../config/validate";

const REGISTRY = { namespace: "team", project: "msa", username: "deployer" };
const LOCAL_BUILD = { context: "docker/example-service", push: false };
const LOCAL_DB = { name: "app", image: { push: false } };
const ALL_SECRETS: SecretPresence = { present: { dbPassword: true, registryPassword: true } };

function validate(
    raw: Record<string, unknown>,
    opts: { stack?: string; secrets?: SecretPresence; secretKeys?: string[] } = {},
): ValidationResult {
    return validateStackConfig({
        stack: opts.stack ?? "dev",
        raw,
        secrets: opts.secrets ?? ALL_SECRETS,
        secretKeys: new Set(opts.secretKeys ?? ["dbPassword", "registryPassword"]),
    });
}

function errorsOf(result: ValidationResult): string[] {
    if (result.ok) {
        throw new Error("expected the config to be rejected");
    }
    return result.errors;
}

function configOf(result: ValidationResult) {
    if (!result.ok) {
        throw new Error(`expected a valid config, got:\n${result.errors.join("\n")}`);
    }
    return result.config;
}

describe("a registry, and its password, when something uses one", () => {
    test.each([
        [
            "a pulled service",
            { database: LOCAL_DB, services: { orders: { image: "orders", tag: "1.0.0" } } },
            "msa:registry is required: msa:services.orders pulls its image from it",
        ],
        [
            "a built service that is pushed",
            { database: LOCAL_DB, services: { orders: { build: { ...LOCAL_BUILD, push: true } } } },
            "msa:registry is required: msa:services.orders.build.push is true",
        ],
        [
            "the database image, pushed by default",
            { database: { name: "app" }, services: { orders: { build: LOCAL_BUILD } } },
            "msa:registry is required: msa:database.image.push is true",
        ],
    ])("%s", (_what, raw, expected) => {
        expect(errorsOf(validate(raw))).toEqual([expected]);
    });

    test("everything built and kept on the Docker host: neither registry nor its password", () => {
        const raw = { database: LOCAL_DB, services: { orders: { build: LOCAL_BUILD } } };
        const cfg = configOf(validate(raw, { secrets: { present: { dbPassword: true } } }));
        expect(cfg.registry).toBeUndefined();
    });

    test("a registry in the stack file needs its password, even if nothing uses it yet", () => {
        const raw = {
            registry: REGISTRY,
            database: LOCAL_DB,
            services: { orders: { build: LOCAL_BUILD } },
        };
        expect(errorsOf(validate(raw, { secrets: { present: { dbPassword: true } } }))).toEqual([
            "msa:registryPassword is required (set it with: pulumi config set --secret msa:registryPassword)",
        ]);
    });

    test("an image to pull and neither registry nor password: both are named", () => {
        const raw = { database: LOCAL_DB, services: { orders: { image: "orders", tag: "1" } } };
        expect(errorsOf(validate(raw, { secrets: { present: { dbPassword: true } } }))).toEqual([
            "msa:registry is required: msa:services.orders pulls its image from it",
            "msa:registryPassword is required (set it with: pulumi config set --secret msa:registryPassword)",
        ]);
    });

    test("an image pulled from the registry needs its password", () => {
        const raw = {
            registry: REGISTRY,
            database: LOCAL_DB,
            services: { orders: { image: "orders", tag: "1" } },
        };
        expect(errorsOf(validate(raw, { secrets: { present: { dbPassword: true } } }))).toEqual([
            "msa:registryPassword is required (set it with: pulumi config set --secret msa:registryPassword)",
        ]);
    });
});

describe("the default environment comes from the stack name", () => {
    test.each([
        ["dev", "dev"],
        ["My_Stack..2", "my-stack-2"],
        ["12-prod", "prod"],
        ["prod-12", "prod-12"],
        ["--x", "x"],
        ["123", "stack"],
        ["_", "stack"],
        ["a".repeat(70), "a".repeat(63)],
    ])("stack %s: environment %s, names msa-<environment>", (stack, environment) => {
        const cfg = configOf(
            validate({ registry: REGISTRY, database: { name: "app" } }, { stack }),
        );
        expect(cfg.environment).toBe(environment);
        expect(cfg.namePrefix).toBe(`msa-${environment}`);
    });
});

describe("a service's image", () => {
    test("neither image nor build", () => {
        expect(
            errorsOf(
                validate({
                    registry: REGISTRY,
                    database: { name: "app" },
                    services: { orders: {} },
                }),
            ),
        ).toEqual([
            "msa:services.orders.image is required (or give msa:services.orders.build to build it here)",
            "msa:services.orders.tag is required for a pulled image",
        ]);
    });

    test("a pulled image without a tag", () => {
        const raw = {
            registry: REGISTRY,
            database: { name: "app" },
            services: { orders: { image: "orders" } },
        };
        expect(errorsOf(validate(raw))).toEqual([
            "msa:services.orders.tag is required for a pulled image",
        ]);
    });

    test("a built image needs no tag", () => {
        const raw = {
            registry: REGISTRY,
            database: { name: "app" },
            services: { orders: { build: LOCAL_BUILD } },
        };
        expect(validate(raw).ok).toBe(true);
    });
});

describe("build contexts are folders of the project holding their Dockerfile", () => {
    test.each([
        [
            "a folder that does not exist",
            { context: "docker/nope", push: false },
            'msa:services.orders.build must name a folder of the project holding Dockerfile, got context "docker/nope"',
        ],
        [
            "a Dockerfile the folder does not hold",
            { context: "docker/example-service", dockerfile: "Dockerfile.dev", push: false },
            'msa:services.orders.build must name a folder of the project holding Dockerfile.dev, got context "docker/example-service"',
        ],
    ])("%s", (_what, build, expected) => {
        const raw = {
            registry: REGISTRY,
            database: { name: "app" },
            services: { orders: { build } },
        };
        expect(errorsOf(validate(raw))).toEqual([expected]);
    });

    test("a Dockerfile named explicitly that the folder holds", () => {
        const build = { context: "docker/example-service", dockerfile: "Dockerfile", push: false };
        const raw = {
            registry: REGISTRY,
            database: { name: "app" },
            services: { orders: { build } },
        };
        expect(validate(raw).ok).toBe(true);
    });
});

describe("msa:secretEnv", () => {
    const raw = () => ({
        registry: REGISTRY,
        database: { name: "app" },
        services: { orders: { image: "orders", tag: "1", env: { LOG_LEVEL: "info" } } },
    });
    const withSecretEnv = (secretEnvNames: unknown): SecretPresence => ({
        present: { ...ALL_SECRETS.present, secretEnv: true },
        secretEnvNames,
    });
    const check = (secretEnvNames: unknown) =>
        validate(raw(), {
            secrets: withSecretEnv(secretEnvNames),
            secretKeys: ["dbPassword", "registryPassword", "secretEnv"],
        });

    test("names per service, reported to the program", () => {
        expect(configOf(check({ orders: ["API_TOKEN", "DB_KEY"] })).secretEnvNames).toEqual({
            orders: ["API_TOKEN", "DB_KEY"],
        });
    });

    test("not a map", () => {
        expect(errorsOf(check("(not a map)"))).toEqual([
            "msa:secretEnv must be a map of service name to { NAME: value }",
        ]);
    });

    test("a service's entry that is not a map", () => {
        expect(errorsOf(check({ orders: "(not a map)" }))).toEqual([
            "msa:secretEnv.orders must be a map of NAME: value",
        ]);
    });

    test("a service's names that are not all strings", () => {
        expect(errorsOf(check({ orders: ["API_TOKEN", 7] }))).toEqual([
            "msa:secretEnv.orders must be a map of NAME: value",
        ]);
    });

    test("a bad name is named; the good ones stay", () => {
        const result = check({ orders: ["API_TOKEN", "1BAD", "ALSO-BAD"] });
        expect(errorsOf(result)).toEqual([
            'msa:secretEnv.orders has a bad name "1BAD": must be a valid environment variable name',
            'msa:secretEnv.orders has a bad name "ALSO-BAD": must be a valid environment variable name',
        ]);
    });

    test.each([
        [
            "NODENAME",
            "msa:secretEnv.orders.NODENAME is also set by the stack or by msa:services.orders.env; keep one",
        ],
        [
            "LOG_LEVEL",
            "msa:secretEnv.orders.LOG_LEVEL is also set by the stack or by msa:services.orders.env; keep one",
        ],
    ])("%s set both ways", (name, expected) => {
        expect(errorsOf(check({ orders: [name] }))).toEqual([expected]);
    });
});

describe("names that Object.prototype also has", () => {
    const services = {
        constructor: { image: "a", tag: "1", ports: [{ container: 8080 }] },
        toString: { image: "b", tag: "1", links: ["constructor"], env: { hasOwnProperty: "1" } },
    };
    const raw = (extra: Record<string, unknown> = {}) => ({
        registry: REGISTRY,
        database: { name: "app" },
        services: { ...services, ...extra },
    });
    const withSecretEnv = (secretEnvNames: unknown) => ({
        secrets: { present: { ...ALL_SECRETS.present, secretEnv: true }, secretEnvNames },
        secretKeys: ["dbPassword", "registryPassword", "secretEnv"],
    });

    test("are service keys, env names and secret env names like any other", () => {
        const config = configOf(validate(raw(), withSecretEnv({ toString: ["valueOf"] })));
        expect(Object.keys(config.services)).toEqual(["constructor", "toString"]);
        expect(config.secretEnvNames).toEqual({ toString: ["valueOf"] });
    });

    test("a service without secret env is not handed the prototype's member", () => {
        expect(configOf(validate(raw())).secretEnvNames).toEqual({});
    });

    test("a secret env name toString is not mistaken for one the service's env sets", () => {
        const config = configOf(validate(raw(), withSecretEnv({ toString: ["toString"] })));
        expect(config.secretEnvNames).toEqual({ toString: ["toString"] });
    });

    test("a link to a service that does not exist is refused", () => {
        expect(
            errorsOf(
                validate(raw({ valueOf: { image: "c", tag: "1", links: ["hasOwnProperty"] } })),
            ),
        ).toEqual([
            'msa:services.valueOf.links[0] names unknown service "hasOwnProperty"; known: constructor, toString, valueOf',
        ]);
    });

    test("secret env for a service that does not exist is refused", () => {
        expect(errorsOf(validate(raw(), withSecretEnv({ valueOf: ["TOKEN"] })))).toEqual([
            'msa:secretEnv.valueOf names unknown service "valueOf"',
        ]);
    });

    test.each([
        [
            "a service",
            '{"__proto__":{"TOKEN":"x"}}',
            "msa:secretEnv.__proto__ is a key named __proto__, which a map cannot hold; rename it",
        ],
        [
            "a name",
            '{"toString":{"__proto__":"x"}}',
            "msa:secretEnv.toString.__proto__ is a key named __proto__, which a map cannot hold; rename it",
        ],
    ])("secret env that names %s __proto__ is refused", (_, json, expected) => {
        const names = Object.fromEntries(
            Object.entries(JSON.parse(json) as Record<string, object>).map(([k, v]) => [
                k,
                Object.keys(v),
            ]),
        );
        expect(errorsOf(validate(raw(), withSecretEnv(names)))).toEqual([expected]);
    });
});

describe("swarm", () => {
    const swarm = (extra: Record<string, unknown>) => ({
        runtime: "swarm",
        registry: REGISTRY,
        database: { name: "app" },
        ...extra,
    });

    test.each([
        ["bindAddress", { bindAddress: "0.0.0.0" }],
        ["publicBindOverride", { publicBindOverride: true }],
    ])("database.%s means nothing", (key, db) => {
        expect(errorsOf(validate(swarm({ database: { name: "app", ...db } })))).toContain(
            `msa:database.${key} means nothing when msa:runtime is swarm (the database is reached in the overlay network only); remove it`,
        );
    });

    test("an external database needs no image pushed", () => {
        const raw = swarm({ database: { mode: "external", host: "db.internal", name: "app" } });
        expect(validate(raw).ok).toBe(true);
    });

    test("a missing database is reported as missing, nothing else", () => {
        expect(errorsOf(validate({ runtime: "swarm", registry: REGISTRY }))).toEqual([
            "msa:database is required",
        ]);
    });

    test("a built service must be pushed: every node pulls it", () => {
        const raw = swarm({ services: { orders: { build: LOCAL_BUILD } } });
        expect(errorsOf(validate(raw))).toEqual([
            "msa:services.orders.build.push must be true when msa:runtime is swarm: every node pulls the image",
        ]);
    });

    test.each([
        ["a UDP host port", [{ container: 53, host: 53, protocol: "udp" }]],
        ["a port without a host port", [{ container: 8080 }]],
    ])("host publish mode without a proxy: %s is fine", (_what, ports) => {
        const raw = swarm({
            swarm: { publish: "host" },
            services: { orders: { image: "orders", tag: "1", ports } },
        });
        expect(validate(raw).ok).toBe(true);
    });
});

describe("host port clashes", () => {
    const ports = (...list: Record<string, unknown>[]) => ({
        registry: REGISTRY,
        database: { name: "app" },
        services: Object.fromEntries(
            list.map((p, i) => [`s${i}`, { image: "img", tag: "1", ports: [p] }]),
        ),
    });

    test.each([
        [
            "one port on two addresses",
            { host: 8080, bindAddress: "127.0.0.1" },
            { host: 8080, bindAddress: "10.0.0.5" },
        ],
        ["one port, TCP and UDP", { host: 8080 }, { host: 8080, protocol: "udp" }],
    ])("%s is no clash", (_what, a, b) => {
        expect(validate(ports({ container: 1, ...a }, { container: 1, ...b })).ok).toBe(true);
    });

    test.each([
        [
            "the same address",
            { host: 8080, bindAddress: "127.0.0.1" },
            { host: 8080, bindAddress: "127.0.0.1" },
        ],
        ["all addresses first", { host: 8080 }, { host: 8080, bindAddress: "127.0.0.1" }],
        ["all addresses second", { host: 8080, bindAddress: "127.0.0.1" }, { host: 8080 }],
    ])("%s clashes", (_what, a, b) => {
        expect(errorsOf(validate(ports({ container: 1, ...a }, { container: 1, ...b })))).toEqual([
            "msa:services.s1.ports[0].host must be a free host port, got 8080, which msa:services.s0.ports[0].host already publishes",
        ]);
    });
});

describe("keys a map cannot hold or the schema does not know", () => {
    test("__proto__ inside a list item", () => {
        const raw = JSON.parse(
            '{"registry":{"namespace":"team","project":"msa","username":"deployer"},"database":{"name":"app"},' +
                '"services":{"orders":{"image":"orders","tag":"1","ports":[{"container":1,"__proto__":{}}]}}}',
        ) as Record<string, unknown>;
        expect(errorsOf(validate(raw))).toContain(
            "msa:services.orders.ports[0].__proto__ is a key named __proto__, which a map cannot hold; rename it",
        );
    });

    test("a null value is named, not a crash", () => {
        const raw = {
            registry: REGISTRY,
            database: { name: "app" },
            services: { orders: { image: "orders", tag: null } },
        };
        expect(errorsOf(validate(raw))).toEqual([
            "msa:services.orders.tag must be a string, got null",
        ]);
    });

    test.each([
        ["a top-level key", { host: "db.internal" }, "msa:host is not a known key"],
        [
            "a registry key",
            { registry: { ...REGISTRY, host: "x" } },
            "msa:registry.host is not a known key",
        ],
        [
            "a key inside database.image",
            { database: { name: "app", image: { host: "x" } } },
            "msa:database.image.host is not a known key",
        ],
        [
            "a database key of neither mode",
            { database: { name: "app", colour: "blue" } },
            "msa:database.colour is not a known key",
        ],
    ])("%s that is no key of either database mode", (_what, extra, expected) => {
        const raw = { registry: REGISTRY, database: { name: "app" }, ...extra };
        expect(errorsOf(validate(raw))).toEqual([expected]);
    });

    test("an env value that is neither string, number nor boolean", () => {
        const raw = {
            registry: REGISTRY,
            database: { name: "app" },
            services: { orders: { image: "orders", tag: "1", env: { LOG: { level: "info" } } } },
        };
        expect(errorsOf(validate(raw))).toEqual([
            'msa:services.orders.env.LOG must be a string, number or boolean, got {"level":"info"}',
        ]);
    });

    test("a bad env name as a map key", () => {
        const raw = {
            registry: REGISTRY,
            database: { name: "app" },
            services: { orders: { image: "orders", tag: "1", env: { "1BAD": "x" } } },
        };
        expect(errorsOf(validate(raw))).toEqual([
            'msa:services.orders.env has a bad key "1BAD": must be a valid environment variable name',
        ]);
    });
});

describe("keys and values as messages show them", () => {
    const key60 = `s${"a".repeat(59)}`;
    const key61 = `s${"a".repeat(60)}`;

    test("plain words as they are, up to 60 characters", () => {
        expect(formatPath(["services", key60, "ports", 0, "host"])).toBe(
            `.services.${key60}.ports[0].host`,
        );
        expect(keyPath([key60, "x"])).toBe(`msa:${key60}.x`);
    });

    test("a longer word, or one that is not a plain word, is quoted and cut short", () => {
        expect(formatPath(["services", key61])).toBe(
            `.services[${JSON.stringify(key61).slice(0, 60)}…(63 characters)]`,
        );
        expect(formatPath(["services", "9lives", "a.b"])).toBe('.services["9lives"]["a.b"]');
        expect(keyPath([key61])).toBe(`msa:${JSON.stringify(key61).slice(0, 60)}…(63 characters)`);
        expect(keyPath(["9lives", "x"])).toBe('msa:"9lives".x');
    });

    test("a service key longer than 60 characters in a message", () => {
        const raw = {
            registry: REGISTRY,
            database: { name: "app" },
            services: { [key61]: { image: "orders", tag: "" } },
        };
        expect(errorsOf(validate(raw))).toEqual([
            `msa:services[${JSON.stringify(key61).slice(0, 60)}…(63 characters)].tag must not be empty, got ""`,
        ]);
    });

    test("values as JSON, cut short past 60 characters", () => {
        expect(showValue("x".repeat(58))).toBe(`"${"x".repeat(58)}"`);
        expect(showValue("x".repeat(59))).toBe(`"${"x".repeat(59)}…(61 characters)`);
        expect(showValue(undefined)).toBe("undefined");
    });

    test("a value JSON cannot show is shown as text", () => {
        expect(showValue(10n)).toBe("10");
        const loop: Record<string, unknown> = {};
        loop.self = loop;
        expect(showValue(loop)).toBe("[object Object]");
    });
});

describe("values at their limits", () => {
    const withService = (svc: Record<string, unknown>) => ({
        registry: REGISTRY,
        database: { name: "app" },
        services: { orders: { image: "orders", tag: "1", ...svc } },
    });

    test("a command argument of 32768 bytes, not one more", () => {
        expect(validate(withService({ command: ["x".repeat(32768)] })).ok).toBe(true);
        expect(errorsOf(validate(withService({ command: ["x".repeat(32769)] })))).toEqual([
            `msa:services.orders.command[0] must be at most 32768 bytes, got "${"x".repeat(59)}…(32771 characters)`,
        ]);
    });

    test("an env value of 32768 bytes, not one more; numbers and booleans as they are", () => {
        expect(validate(withService({ env: { A: "é".repeat(16384), N: 5, B: false } })).ok).toBe(
            true,
        );
        expect(errorsOf(validate(withService({ env: { A: "é".repeat(16384) + "x" } })))).toEqual([
            `msa:services.orders.env.A must be at most 32768 bytes, got "${"é".repeat(59)}…(16387 characters)`,
        ]);
    });

    test("an env value with a NUL byte", () => {
        expect(errorsOf(validate(withService({ env: { A: "a\u0000b" } })))).toEqual([
            'msa:services.orders.env.A must not contain NUL bytes, got "a\\u0000b"',
        ]);
    });

    test("a Postgres name of 63 bytes, counted in bytes", () => {
        const name = `${"é".repeat(31)}a`;
        expect(validate({ registry: REGISTRY, database: { name } }).ok).toBe(true);
    });

    test("a health check interval of 60m, not more", () => {
        const hc = (interval: string) =>
            withService({ ports: [{ container: 80 }], healthcheck: { http: "/", interval } });
        expect(validate(hc("60m")).ok).toBe(true);
        expect(errorsOf(validate(hc("3601s")))).toEqual([
            'msa:services.orders.healthcheck.interval must be at most 60m, got "3601s"',
        ]);
    });

    test.each(["/srv/app", "docker/../..", ".."])(
        "a build context outside the project: %s",
        (context) => {
            const raw = withService({ build: { context, push: false } });
            expect(errorsOf(validate(raw))).toEqual([
                `msa:services.orders.build.context must be a folder inside the project (relative, without ..), got ${JSON.stringify(context)}`,
            ]);
        },
    );

    test.each(["pg_app", "PG_App"])("a database user %s, which Postgres reserves", (user) => {
        expect(
            errorsOf(validate({ registry: REGISTRY, database: { name: "app", user } })),
        ).toHaveLength(1);
    });

    test("a database user and schema Postgres does not reserve", () => {
        const raw = {
            registry: REGISTRY,
            database: { name: "app", user: "app_pg_user", schema: "spg_x" },
        };
        expect(validate(raw).ok).toBe(true);
    });

    test("a database that is null", () => {
        expect(errorsOf(validate({ registry: REGISTRY, database: null }))).toEqual([
            "msa:database must have mode container or external, got null",
        ]);
    });

    test("1000 services, not one more", () => {
        const services = (n: number) =>
            Object.fromEntries(
                Array.from({ length: n }, (_, i) => [`s${i}`, { image: "img", tag: "1" }]),
            );
        expect(
            validate({ registry: REGISTRY, database: { name: "app" }, services: services(1000) })
                .ok,
        ).toBe(true);
        expect(
            errorsOf(
                validate({
                    registry: REGISTRY,
                    database: { name: "app" },
                    services: services(1001),
                }),
            ),
        ).toEqual(["msa:services must have at most 1000 services"]);
    });
});
