/**
 * The name patterns of the config schema (service keys, image paths and tags, DNS labels, resource
 * and env names) and the port range, each through `validateStackConfig`: one value per case that
 * the pattern must accept or refuse, with the exact message.
 *
 * The patterns are module-level constants, built once when `config/schema.ts` is evaluated, so
 * every case validates with a fresh load of `config/` (`./freshConfig`).
 */
import {
    configOf,
    errorsOf,
    ORDERS,
    REGISTRY,
    shownValue,
    validate,
    withOrders,
} from "./freshConfig";

describe("service keys: a letter first, a letter or digit last, at most 63", () => {
    test.each(["a", "Z", "orders", "orders-api_2", `o${"r".repeat(61)}s`])(
        "%s is accepted",
        (key) => {
            const cfg = configOf(validate({ services: { [key]: ORDERS } }));
            expect(Object.keys(cfg.services)).toEqual([key]);
        },
    );

    test.each(["1orders", "-orders", "_orders", "orders-", "orders_", "orders.api", "orders api"])(
        "%s is refused",
        (key) => {
            expect(errorsOf(validate({ services: { [key]: ORDERS } }))).toEqual([
                `msa:services has a bad key "${key}": must start with a letter, end with a letter or digit and hold only letters, digits, _ and - (at most 63)`,
            ]);
        },
    );
});

describe("image tags: Docker's grammar", () => {
    test.each(["1", "1.0.0", "v1.2-rc.3", "_latest", "A_b-C.d", "x".repeat(128)])(
        "%s is accepted",
        (tag) => {
            expect(configOf(validate(withOrders({ tag }))).services.orders?.tag).toBe(tag);
        },
    );

    test.each([".1", "-rc", "1.0.0+build", "1.0/x", "v1 "])("%s is refused", (tag) => {
        expect(errorsOf(validate(withOrders({ tag })))).toEqual([
            `msa:services.orders.tag must be a valid image tag, got "${tag}"`,
        ]);
    });
});

describe("image paths: lower-case components, separated by . _ __ or runs of -", () => {
    test.each([
        "orders",
        "team.orders",
        "team_orders",
        "team__orders",
        "team-orders",
        "team--orders",
        "api/orders",
        "a/b",
        "api/v2/orders",
        "api/orders.v2",
        "api/orders_v2",
        "api/orders__v2",
        "api/orders--v2",
        "api/orders.v12",
        "api/orders-v2",
        "team--x.y/api/orders---v12",
    ])("%s is accepted", (image) => {
        expect(configOf(validate(withOrders({ image }))).services.orders?.image).toBe(image);
    });

    test.each([
        "-orders",
        ".orders",
        "Orders",
        "orders-",
        "orders.",
        "orders/",
        "orders/API",
        "orders/-api",
        "orders/api-",
        "team+orders",
        "api/orders+v2",
        "team...orders",
        "api/orders___v2",
    ])("%s is refused", (image) => {
        expect(errorsOf(validate(withOrders({ image })))).toEqual([
            `msa:services.orders.image must be a lower-case image path like orders or api/orders, got "${image}"`,
        ]);
    });

    test("a service's own namespace and project follow the same grammar", () => {
        const cfg = configOf(
            validate(withOrders({ namespace: "other-team/sub", project: "apps" })),
        );
        expect([cfg.services.orders?.namespace, cfg.services.orders?.project]).toEqual([
            "other-team/sub",
            "apps",
        ]);
        expect(errorsOf(validate(withOrders({ project: "Apps", namespace: "team/" })))).toEqual([
            'msa:services.orders.project must be a lower-case project path like orders or api/orders, got "Apps"',
            'msa:services.orders.namespace must be a lower-case namespace path like orders or api/orders, got "team/"',
        ]);
    });

    test("the database image's name follows the same grammar", () => {
        const cfg = configOf(
            validate({ database: { name: "app", image: { name: "infra/pg-14" } } }),
        );
        expect(cfg.database.mode === "container" && cfg.database.image.name).toBe("infra/pg-14");
        expect(errorsOf(validate({ database: { name: "app", image: { name: "PG" } } }))).toEqual([
            'msa:database.image.name must be a lower-case image path like orders or api/orders, got "PG"',
        ]);
    });

    test("the registry's namespace and project follow the same grammar", () => {
        const registry = { ...REGISTRY, namespace: "my-team/sub.group", project: "msa--apps" };
        expect(configOf(validate({ registry })).registry).toEqual({
            ...registry,
            server: "registry.gitlab.com",
        });
        expect(
            errorsOf(validate({ registry: { ...REGISTRY, namespace: "Team", project: "msa-" } })),
        ).toEqual([
            'msa:registry.namespace must be a lower-case namespace path like orders or api/orders, got "Team"',
            'msa:registry.project must be a lower-case project path like orders or api/orders, got "msa-"',
        ]);
    });
});

describe("DNS labels: the database alias, an external host, the registry server", () => {
    test.each(["db", "db-main", "db_main", "d", "0db9"])("alias %s is accepted", (alias) => {
        const cfg = configOf(validate({ database: { name: "app", alias } }));
        expect(cfg.database.mode === "container" && cfg.database.alias).toBe(alias);
    });

    test.each(["db.main", "-db", "db-", "db:5432", "db main"])("alias %s is refused", (alias) => {
        expect(errorsOf(validate({ database: { name: "app", alias } }))).toEqual([
            `msa:database.alias must be one DNS label (letters, digits, _ and -), got "${alias}"`,
        ]);
    });

    test.each(["db", "db.internal.example", "10.0.0.5", "pg_1.example"])(
        "external host %s is accepted",
        (host) => {
            const cfg = configOf(validate({ database: { mode: "external", name: "app", host } }));
            expect(cfg.database.mode === "external" && cfg.database.host).toBe(host);
        },
    );

    test.each(["db.", ".db", "db..example", "db:5432", "-db.example"])(
        "external host %s is refused",
        (host) => {
            expect(
                errorsOf(validate({ database: { mode: "external", name: "app", host } })),
            ).toEqual([
                `msa:database.host must be a host name or IPv4 address without a port (the port is its own key), got "${host}"`,
            ]);
        },
    );

    test.each(["gitlab.example.com", "gitlab.example.com:5050", "registry"])(
        "registry server %s is accepted",
        (server) => {
            expect(configOf(validate({ registry: { ...REGISTRY, server } })).registry?.server).toBe(
                server,
            );
        },
    );

    test("a registry server with a scheme is refused", () => {
        expect(
            errorsOf(validate({ registry: { ...REGISTRY, server: "https://gitlab.example.com" } })),
        ).toEqual([
            'msa:registry.server must be a registry host like registry.gitlab.com or gitlab.example.com:5050, got "https://gitlab.example.com"',
        ]);
    });
});

describe("container and volume names: a letter or digit first, then letters, digits, _ . -", () => {
    test.each(["orders", "0rders", "orders_1.v2-x"])("%s is accepted", (containerName) => {
        expect(
            configOf(validate(withOrders({ containerName }))).services.orders?.containerName,
        ).toBe(containerName);
    });

    test.each(["-orders", "_orders", ".orders", "orders:1", "orders/1", "orders 1"])(
        "%s is refused",
        (containerName) => {
            expect(errorsOf(validate(withOrders({ containerName })))).toEqual([
                `msa:services.orders.containerName must be a valid container name, got "${containerName}"`,
            ]);
        },
    );

    test("the database's container and volume names follow the same rule", () => {
        const cfg = configOf(validate({ database: { name: "app", volumeName: "pg.data_1" } }));
        expect(cfg.database.mode === "container" && cfg.database.volumeName).toBe("pg.data_1");
        expect(
            errorsOf(
                validate({
                    database: { name: "app", volumeName: "pg data", containerName: "-pg" },
                }),
            ),
        ).toEqual([
            'msa:database.containerName must be a valid container name, got "-pg"',
            'msa:database.volumeName must be a valid volume name, got "pg data"',
        ]);
    });
});

describe("env and build argument names: a letter or _ first, then letters, digits, _", () => {
    test.each(["A", "_", "ORDERS_URL", "_x9"])("env %s is accepted", (name) => {
        const cfg = configOf(validate(withOrders({ env: { [name]: "v" } })));
        expect(cfg.services.orders?.env).toEqual({ [name]: "v" });
    });

    test.each(["1ORDERS", "9_", "ORDERS-URL", "ORDERS.URL"])("env %s is refused", (name) => {
        expect(errorsOf(validate(withOrders({ env: { [name]: "v" } })))).toEqual([
            `msa:services.orders.env has a bad key "${name}": must be a valid environment variable name`,
        ]);
    });

    test("a build argument name starting with a digit is refused", () => {
        const build = { context: "docker/example-service", args: { "1VERSION": "2" } };
        expect(errorsOf(validate(withOrders({ image: undefined, tag: undefined, build })))).toEqual(
            [
                'msa:services.orders.build.args has a bad key "1VERSION": must be a valid build argument name',
            ],
        );
    });
});

describe("ports: 1-65535", () => {
    test.each([
        ["container", { container: 0 }, 0],
        ["container", { container: 65536 }, 65536],
        ["host", { container: 80, host: 70000 }, 70000],
    ])("ports[0].%s %p is refused", (key, portEntry, value) => {
        expect(errorsOf(validate(withOrders({ ports: [portEntry] })))).toEqual([
            `msa:services.orders.ports[0].${key} must be 1-65535, got ${value}`,
        ]);
    });

    test("the database port too", () => {
        expect(errorsOf(validate({ database: { name: "app", port: 0 } }))).toEqual([
            "msa:database.port must be 1-65535, got 0",
        ]);
    });

    test("1 and 65535 are accepted", () => {
        const cfg = configOf(validate(withOrders({ ports: [{ container: 1, host: 65535 }] })));
        expect(cfg.services.orders?.ports).toEqual([
            { container: 1, host: 65535, bindAddress: "0.0.0.0", protocol: "tcp" },
        ]);
    });
});

describe("bind addresses: IPv4, four octets of 0-255", () => {
    test.each([
        "0.0.0.0",
        "127.0.0.1",
        "1.2.3.4",
        "10.20.30.40",
        "99.99.99.99",
        "100.199.109.190",
        "200.201.249.240",
        "250.251.254.255",
        "255.255.255.255",
        "1.255.249.199",
        "1.250.240.100",
        "1.2.99.10",
        "249.0.0.9",
    ])("%s is accepted", (bindAddress) => {
        const cfg = configOf(validate(withOrders({ ports: [{ container: 80, bindAddress }] })));
        expect(cfg.services.orders?.ports[0]?.bindAddress).toBe(bindAddress);
    });

    test.each([
        "256.0.0.1",
        "260.0.0.1",
        "300.0.0.1",
        "1.2.3.256",
        "1.2.256.4",
        "1.2.3.260",
        "001.2.3.4",
        "1.2.3",
        "1.2",
        "1.2.3.4.5",
        "x1.2.3.4",
        "1.2.3.4x",
        "1.2.3.4:80",
        "1x2x3x4",
        "1..2.3",
        "",
        "localhost",
    ])("%p is refused", (bindAddress) => {
        expect(errorsOf(validate(withOrders({ ports: [{ container: 80, bindAddress }] })))).toEqual(
            [
                `msa:services.orders.ports[0].bindAddress must be an IPv4 address, got "${bindAddress}"`,
            ],
        );
    });

    test("the database's bind address follows the same rule", () => {
        expect(
            errorsOf(validate({ database: { name: "app", bindAddress: "127.0.0.256" } })),
        ).toEqual(['msa:database.bindAddress must be an IPv4 address, got "127.0.0.256"']);
    });
});

/** `[accepted values, refused values, the key's message]` of a top-level pattern. */
describe.each<[string, string[], string[], string]>([
    [
        "environment",
        ["dev", "prod-2", "a", "e2e--x"],
        ["Dev", "1dev", "-dev", "dev_1", "dev.1", "dev "],
        "must be lower-case letters, digits and -",
    ],
    [
        "namePrefix",
        ["msa-dev", "0x_y.z-1", "m"],
        ["-x", "_x", ".x", "Msa", "msa dev", "msa/dev", "msa-Dev"],
        "must be lower-case letters, digits, _, . and -",
    ],
    [
        "timezone",
        ["UTC", "Asia/Seoul", "America/Argentina/Buenos_Aires", "Etc/GMT+9", "Etc/GMT-14"],
        ["Asia Seoul", "/Asia", "Asia/", "Asia//Seoul", "Asia/Seoul ", " UTC", "Asia:Seoul"],
        "must be a tz database name like Asia/Seoul",
    ],
])("msa:%s", (key, good, bad, message) => {
    test.each(good)("%s is accepted", (value) => {
        expect(configOf(validate({ [key]: value }))[key as "environment"]).toBe(value);
    });

    test.each(bad)("%p is refused", (value) => {
        expect(errorsOf(validate({ [key]: value }))).toEqual([
            `msa:${key} ${message}, got "${value}"`,
        ]);
    });
});

describe("an http health check: a path of URL characters", () => {
    test.each(["/", "/healthz", "/api/v1/health?x=1&y=a,b;c=d:e@f%20(g)*+!$~_.-"])(
        "%s is accepted",
        (http) => {
            const cfg = configOf(
                validate(withOrders({ ports: [{ container: 80 }], healthcheck: { http } })),
            );
            expect(cfg.services.orders?.healthcheck?.http).toBe(http);
        },
    );

    test.each(["health", "api/health", "/health check", "/a'b", '/a"b', "/a\\b", "/a<b>"])(
        "%p is refused",
        (http) => {
            expect(
                errorsOf(
                    validate(withOrders({ ports: [{ container: 80 }], healthcheck: { http } })),
                ),
            ).toEqual([
                `msa:services.orders.healthcheck.http must be a path starting with /, got ${JSON.stringify(http)}`,
            ]);
        },
    );
});

describe("the swarm's database node label: lower case, a letter or digit first", () => {
    test.each(["msa.db", "0db.node_1-x", "d"])("%s is accepted", (dbNodeLabel) => {
        expect(
            configOf(validate({ runtime: "swarm", swarm: { dbNodeLabel } })).swarm?.dbNodeLabel,
        ).toBe(dbNodeLabel);
    });

    test.each(["msa.DB", "Msa.db", "-msa", ".msa", "msa db", "msa=true"])(
        "%p is refused",
        (dbNodeLabel) => {
            expect(errorsOf(validate({ runtime: "swarm", swarm: { dbNodeLabel } }))).toEqual([
                `msa:swarm.dbNodeLabel must be a node label key like msa.db, got "${dbNodeLabel}"`,
            ]);
        },
    );
});

describe("the proxy image: a lower-case reference with a tag", () => {
    test.each([
        "haproxy:3.0.6",
        "registry.example.com:5000/lib/ha_proxy-x:3.0.6-alpine",
        "h:_",
        `haproxy:${"t".repeat(128)}`,
    ])("%s is accepted", (image) => {
        expect(configOf(validate({ proxy: { image } })).proxy).toEqual({ image });
    });

    test.each([
        "haproxy",
        "haproxy:",
        "Haproxy:3",
        "/haproxy:3",
        ":3",
        "haproxy:3.0+x",
        "haproxy:3 ",
        "haproxy:.3",
        "haproxy:-3",
        `haproxy:${"t".repeat(129)}`,
    ])("%p is refused", (image) => {
        expect(errorsOf(validate({ proxy: { image } }))).toEqual([
            `msa:proxy.image must be an image reference with a tag, like haproxy:3.0.6, got ${shownValue(image)}`,
        ]);
    });
});
