/**
 * The runtimes as `index.ts` wires them: one Docker host (a bridge network, containers) or a
 * swarm (an attachable overlay, swarm services, and the edge proxy or the routing mesh).
 *
 * Each test captures the stack itself: mutation testing runs only the tests that executed the code
 * it mutates, and a capture in a `beforeAll` belongs to no test.
 */
import { captureStack } from "../capture";
import { byName, CONTAINER, stackConfig } from "./helpers";

const SERVICE = "docker:index/service:Service";

test("one Docker host: a plain bridge network", async () => {
    const c = await captureStack({ stack: "dev" });
    const network = byName(c, "network-network").inputs;
    expect(network).toMatchObject({ name: "msa-dev-net", driver: "bridge" });
    expect(network.attachable).toBeUndefined();
    expect(c.resources.filter((r) => r.type === SERVICE)).toEqual([]);
});

describe("staging: swarm with the edge proxy in host mode (Pulumi.staging.yaml)", () => {
    test("an attachable overlay network, and the services resolve by DNS round robin", async () => {
        const c = await captureStack({ stack: "staging" });
        expect(byName(c, "network-network").inputs).toMatchObject({
            name: "msa-staging-net",
            driver: "overlay",
            attachable: true,
        });
        for (const name of ["SERVICE_B-service", "SERVICE_D-service"]) {
            expect(byName(c, name).inputs.endpointSpec).toEqual({ mode: "dnsrr", ports: [] });
        }
        expect(c.resources.filter((r) => r.type === CONTAINER)).toEqual([]);
    });

    test("the proxy is a global swarm service following every replica, and one more each", async () => {
        const c = await captureStack({ stack: "staging" });
        expect(byName(c, "proxy-service").inputs).toMatchObject({ mode: { global: true } });
        const data = byName(c, "proxy-config").inputs.data as string;
        const config = Buffer.from(data, "base64").toString("utf8");
        const templates = config.split("\n").filter((l) => l.includes("server-template"));
        // SERVICE_B: 3 replicas, SERVICE_D: 2; during a rolling update each gets as many new ones.
        expect(templates).toEqual([
            "    server-template SERVICE_B_8080_ 7 SERVICE_B:8080",
            "    server-template SERVICE_D_8888_ 5 SERVICE_D:8888",
            "    server-template SERVICE_D_8900_ 5 SERVICE_D:8900",
        ]);
        expect(c.outputs.endpoints).toEqual({
            SERVICE_B: ["http://localhost:8080"],
            SERVICE_D: ["http://localhost:8888", "http://localhost:8900"],
        });
    });
});

test("swarm without msa:swarm: the routing mesh, and the database on nodes labelled msa.db", async () => {
    const config = stackConfig("staging");
    delete config["msa:swarm"];
    const c = await captureStack({ stack: "staging", config });
    expect(c.resources.filter((r) => r.type === CONTAINER)).toEqual([]);
    expect(c.resources.some((r) => r.type === "msa:proxy:EdgeProxy")).toBe(false);
    expect(byName(c, "network-network").inputs).toMatchObject({ driver: "overlay" });
    expect(byName(c, "SERVICE_B-service").inputs.endpointSpec).toEqual({
        mode: "vip",
        ports: [{ targetPort: 8080, publishedPort: 8080, protocol: "tcp", publishMode: "ingress" }],
    });
    expect(byName(c, "database-service").inputs).toMatchObject({
        taskSpec: { placement: { constraints: ["node.labels.msa.db==true"] } },
    });
});

test("with the routing mesh, each service's endpoints are its own published ports, once", async () => {
    const config = stackConfig("staging");
    config["msa:swarm"] = { publish: "ingress", dbNodeLabel: "db-node" };
    const c = await captureStack({ stack: "staging", config });
    expect(byName(c, "database-service").inputs).toMatchObject({
        taskSpec: { placement: { constraints: ["node.labels.db-node==true"] } },
    });
    expect(c.outputs.endpoints).toEqual({
        SERVICE_B: ["http://localhost:8080"],
        SERVICE_D: ["http://localhost:8888", "http://localhost:8900"],
    });
});

test("in host mode, a UDP host port (which the edge proxy cannot carry) is published on the task's node", async () => {
    const config = stackConfig("staging");
    const services = config["msa:services"] as Record<string, unknown>;
    services.dns = {
        image: "dns",
        tag: "1.0.0",
        ports: [{ container: 53, host: 5353, protocol: "udp" }],
    };
    const c = await captureStack({ stack: "staging", config });
    expect(byName(c, "dns-service").inputs.endpointSpec).toEqual({
        mode: "dnsrr",
        ports: [{ targetPort: 53, publishedPort: 5353, protocol: "udp", publishMode: "host" }],
    });
    expect(byName(c, "SERVICE_B-service").inputs.endpointSpec).toEqual({
        mode: "dnsrr",
        ports: [],
    });
});
