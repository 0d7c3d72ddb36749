/**
 * Names of images, containers and networks, and the labels every resource carries, derived from a
 * validated config: the unit behind what the stack captures show resource by resource.
 */
import {
    containerName,
    dbRepository,
    LABEL_KEYS,
    networkName,
    serviceRepository,
    stackLabels,
} from "../../config/naming";
import { StackConfig } from "../../config/schema";
import { readConfigMap } from "../../config/read";
import { readStackFile } from "../../config/stackFiles";
import { validateStackConfig } from "../../config/validate";

const REGISTRY = { namespace: "team", project: "msa", username: "deployer" };
const LOCAL_BUILD = { context: "docker/example-service", push: false };

/** A config as `index.ts` gets it, from plain values (secrets all set; a container DB by default). */
function configOf(raw: Record<string, unknown>, stack = "dev"): StackConfig {
    const result = validateStackConfig({
        stack,
        raw: { database: { name: "app" }, ...raw },
        secrets: { present: { dbPassword: true, registryPassword: true } },
        secretKeys: new Set(["dbPassword", "registryPassword"]),
    });
    if (!result.ok) {
        throw new Error(`expected a valid config, got:\n${result.errors.join("\n")}`);
    }
    return result.config;
}

/** The real stack file, read as the program reads it. */
function stackFileConfig(stack: string): StackConfig {
    const files = readStackFile(stack);
    const input = readConfigMap(stack, files.values, (k) => files.secretKeys.includes(k));
    const result = validateStackConfig(input);
    if (!result.ok) {
        throw new Error(result.errors.join("\n"));
    }
    return result.config;
}

describe("serviceRepository", () => {
    test("a registry stack names an image <server>/<namespace>/<project>/<image>", () => {
        const cfg = configOf({
            registry: { ...REGISTRY, server: "gitlab.example.com:5050" },
            services: { orders: { image: "shop/orders", tag: "1.0.0" } },
        });
        expect(serviceRepository(cfg, "orders")).toBe(
            "gitlab.example.com:5050/team/msa/shop/orders",
        );
    });

    test("a service's own namespace and project win over the registry's", () => {
        const cfg = configOf({
            registry: REGISTRY,
            services: {
                orders: {
                    image: "orders",
                    tag: "1.0.0",
                    namespace: "other-group",
                    project: "legacy",
                },
                billing: { image: "billing", tag: "1.0.0", project: "payments" },
            },
        });
        expect(serviceRepository(cfg, "orders")).toBe(
            "registry.gitlab.com/other-group/legacy/orders",
        );
        expect(serviceRepository(cfg, "billing")).toBe("registry.gitlab.com/team/payments/billing");
    });

    test("without a registry an image is <namePrefix>/<image>, kept on the Docker host", () => {
        const cfg = configOf({
            namePrefix: "shop",
            database: { name: "app", image: { push: false } },
            services: { orders: { image: "orders", build: LOCAL_BUILD } },
        });
        expect(serviceRepository(cfg, "orders")).toBe("shop/orders");
    });

    test("a built service without an image is named after its key, lower case, _ as -", () => {
        const cfg = configOf({
            database: { name: "app", image: { push: false } },
            services: { Order_Api_V2: { build: LOCAL_BUILD } },
        });
        expect(serviceRepository(cfg, "Order_Api_V2")).toBe("msa-dev/order-api-v2");
    });

    test("the local stack file's service", () => {
        expect(serviceRepository(stackFileConfig("local"), "example")).toBe("msa-local/example");
    });

    test("an unknown service is an error naming it", () => {
        const cfg = configOf({ registry: REGISTRY, services: {} });
        expect(() => serviceRepository(cfg, "nope")).toThrow(new Error("unknown service nope"));
    });
});

describe("dbRepository", () => {
    test("in the registry: <server>/<namespace>/<project>/<image>", () => {
        const cfg = configOf({ registry: { ...REGISTRY, server: "gitlab.example.com" } });
        expect(dbRepository(cfg, "db")).toBe("gitlab.example.com/team/msa/db");
    });

    test("without a registry: <namePrefix>/<image>", () => {
        const cfg = configOf({
            namePrefix: "shop",
            database: { name: "app", image: { push: false } },
        });
        expect(dbRepository(cfg, "db")).toBe("shop/db");
    });
});

describe("container and network names", () => {
    test("a service's fixed container name, or none", () => {
        const cfg = configOf({
            registry: REGISTRY,
            services: {
                orders: { image: "orders", tag: "1.0.0", containerName: "orders_1" },
                billing: { image: "billing", tag: "1.0.0" },
            },
        });
        expect(containerName(cfg, "orders")).toBe("orders_1");
        expect(containerName(cfg, "billing")).toBeUndefined();
        expect(containerName(cfg, "nope")).toBeUndefined();
    });

    test("the network is <namePrefix>-net", () => {
        expect(networkName(configOf({ registry: REGISTRY, namePrefix: "shop" }))).toBe("shop-net");
        expect(networkName(stackFileConfig("dev"))).toBe("msa-dev-net");
    });
});

describe("stackLabels", () => {
    test("a production stack: project, stack, environment and component, no production label", () => {
        const cfg = configOf({ registry: REGISTRY, environment: "prod" }, "prod-eu");
        expect(stackLabels(cfg, "service:orders")).toEqual({
            "msa.project": "msa",
            "msa.stack": "prod-eu",
            "msa.environment": "prod",
            "msa.component": "service:orders",
        });
    });

    test('a stack that opted out of the production rules says so with msa.production "false"', () => {
        const cfg = configOf({ registry: REGISTRY, production: false });
        expect(stackLabels(cfg, "network")).toEqual({
            "msa.project": "msa",
            "msa.stack": "dev",
            "msa.environment": "dev",
            "msa.production": "false",
            "msa.component": "network",
        });
    });

    test("the DB container carries the public-bind override when the config allows one", () => {
        const cfg = configOf({
            registry: REGISTRY,
            database: { name: "app", bindAddress: "0.0.0.0", publicBindOverride: true },
        });
        expect(stackLabels(cfg, "database")).toEqual({
            "msa.project": "msa",
            "msa.stack": "dev",
            "msa.environment": "dev",
            "msa.component": "database",
            "msa.db-public-override": "true",
        });
        // Only the database's resources: the override says nothing about the rest.
        expect(stackLabels(cfg, "network")[LABEL_KEYS.dbPublicOverride]).toBeUndefined();
    });

    test("no override label without the override, nor for an external database", () => {
        const container = configOf({ registry: REGISTRY, database: { name: "app" } });
        expect(Object.keys(stackLabels(container, "database"))).not.toContain(
            "msa.db-public-override",
        );
        const external = configOf({
            registry: REGISTRY,
            database: { mode: "external", host: "db.internal", name: "app" },
        });
        expect(Object.keys(stackLabels(external, "database"))).not.toContain(
            "msa.db-public-override",
        );
    });
});
