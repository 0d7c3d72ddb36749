/**
 * The env the stack sets on a service besides the database's and `TZ` (`NODENAME`, link variables,
 * the service's own env) and the Docker form of its health check, from a validated config.
 */
import { envVarPrefix, healthcheckTest, linkEnv, linkEnvNames, serviceEnv } from "../../config/env";
import { ServiceConfig, StackConfig } from "../../config/schema";
import { validateStackConfig } from "../../config/validate";

/** A config as `index.ts` gets it, from plain values (registry and secrets set). */
function configOf(services: Record<string, unknown>): StackConfig {
    const result = validateStackConfig({
        stack: "dev",
        raw: {
            registry: { namespace: "team", project: "msa", username: "deployer" },
            database: { name: "app" },
            services,
        },
        secrets: { present: { dbPassword: true, registryPassword: true } },
        secretKeys: new Set(["dbPassword", "registryPassword"]),
    });
    if (!result.ok) {
        throw new Error(`expected a valid config, got:\n${result.errors.join("\n")}`);
    }
    return result.config;
}

function serviceOf(svc: Record<string, unknown>): ServiceConfig {
    const cfg = configOf({ svc: { image: "svc", tag: "1.0.0", ...svc } });
    return cfg.services.svc as ServiceConfig;
}

describe("envVarPrefix and linkEnvNames", () => {
    test.each([
        ["orders-api", "ORDERS_API"],
        ["SERVICE_B", "SERVICE_B"],
        ["orders--v2", "ORDERS_V2"],
        ["a-_-b9", "A_B9"],
    ])("%s → %s", (key, prefix) => {
        expect(envVarPrefix(key)).toBe(prefix);
    });

    test("a link's variables are <PREFIX>_HOST, _PORT and _URL", () => {
        expect(linkEnvNames("orders-api")).toEqual([
            "ORDERS_API_HOST",
            "ORDERS_API_PORT",
            "ORDERS_API_URL",
        ]);
    });
});

describe("serviceEnv", () => {
    const cfg = configOf({
        "orders-api": {
            image: "orders",
            tag: "1.0.0",
            ports: [{ container: 8080 }, { container: 9090 }],
        },
        stock: { image: "stock", tag: "1.0.0", ports: [{ container: 7000, host: 17000 }] },
        billing: {
            image: "billing",
            tag: "1.0.0",
            nodeName: "billing-1",
            links: ["orders-api", "stock"],
            env: { LOG_LEVEL: "debug", WORKERS: 4, FEATURE_X: true },
        },
    });

    test("NODENAME, each link's variables, then the service's own env, in that order", () => {
        const env = serviceEnv(cfg, "billing");
        expect(env).toEqual({
            NODENAME: "billing-1",
            ORDERS_API_HOST: "orders-api",
            ORDERS_API_PORT: "8080",
            ORDERS_API_URL: "http://orders-api:8080",
            STOCK_HOST: "stock",
            STOCK_PORT: "7000",
            STOCK_URL: "http://stock:7000",
            LOG_LEVEL: "debug",
            WORKERS: "4",
            FEATURE_X: "true",
        });
        expect(Object.keys(env)).toEqual([
            "NODENAME",
            "ORDERS_API_HOST",
            "ORDERS_API_PORT",
            "ORDERS_API_URL",
            "STOCK_HOST",
            "STOCK_PORT",
            "STOCK_URL",
            "LOG_LEVEL",
            "WORKERS",
            "FEATURE_X",
        ]);
    });

    test("NODENAME defaults to the service key; no links, no env: nothing else", () => {
        expect(serviceEnv(cfg, "orders-api")).toEqual({ NODENAME: "orders-api" });
    });

    test("an unknown service is an error naming it", () => {
        expect(() => serviceEnv(cfg, "nope")).toThrow(new Error("unknown service nope"));
    });
});

describe("linkEnv", () => {
    test("points at the linked service's alias (its key) and first container port", () => {
        expect(
            linkEnv("SERVICE_D", serviceOf({ ports: [{ container: 8888 }, { container: 8900 }] })),
        ).toEqual({
            SERVICE_D_HOST: "SERVICE_D",
            SERVICE_D_PORT: "8888",
            SERVICE_D_URL: "http://SERVICE_D:8888",
        });
    });

    test("a service without ports cannot be linked to", () => {
        expect(() => linkEnv("worker", serviceOf({}))).toThrow(
            new Error("service worker has no port to link to"),
        );
    });
});

describe("healthcheckTest", () => {
    test("none without a health check", () => {
        expect(healthcheckTest(serviceOf({}))).toBeUndefined();
    });

    test("a command runs as given (exec form)", () => {
        expect(
            healthcheckTest(serviceOf({ healthcheck: { command: ["/bin/check", "--ready"] } })),
        ).toEqual(["CMD", "/bin/check", "--ready"]);
    });

    test("http checks the first container port with curl, wget or python3, whichever exists", () => {
        const svc = serviceOf({
            ports: [{ container: 8080 }, { container: 9090 }],
            healthcheck: { http: "/actuator/health" },
        });
        const url = "http://127.0.0.1:8080/actuator/health";
        expect(healthcheckTest(svc)).toEqual([
            "CMD-SHELL",
            `if command -v curl >/dev/null; then curl -fsS -o /dev/null '${url}'; exit $?; fi; ` +
                `if command -v wget >/dev/null; then wget -q -O /dev/null '${url}'; exit $?; fi; ` +
                `if command -v python3 >/dev/null; then python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' '${url}'; exit $?; fi; ` +
                "exit 1",
        ]);
    });
});
