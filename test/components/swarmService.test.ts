/**
 * `SwarmService` on its own, with plain `pulumi.runtime.setMocks` (as pulumi/examples
 * `testing-unit-ts-mocks-jest`): the swarm service it declares from the spec, its rolling release,
 * what it publishes in each endpoint mode, and one exact message per bad argument.
 */
import * as pulumi from "@pulumi/pulumi";
import { exampleDatabase, optionsRecorder, registeredOutputs, value } from "./harness";
import { isRpcSecret } from "@pulumi/pulumi/runtime/rpc";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}
const created: Registered[] = [];
const { options, recordOptions } = optionsRecorder<pulumi.ResourceOptions>();
void pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            created.push({ type: args.type, name: args.name, inputs: args.inputs });
            return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => ({ ...args.inputs, sha256Digest: "sha256:feed" }),
    },
    "msa",
    "test",
    false,
);

import { SwarmService, SwarmServiceArgs } from "../../components";

/** The mock runtime hands a value holding a secret over as one secret: unwrap it, all the way down. */
function unwrap(v: unknown): unknown {
    if (isRpcSecret(v)) {
        return unwrap((v as { value: unknown }).value);
    }
    if (Array.isArray(v)) {
        return v.map(unwrap);
    }
    if (v !== null && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, unwrap(e)]));
    }
    return v;
}

/** What the service was registered with, once its registration has been answered. */
async function inputsOf(svc: SwarmService): Promise<Record<string, unknown>> {
    const name = await value(svc.serviceName);
    const found = created.find(
        (r) => r.type === "docker:index/service:Service" && unwrap(r.inputs.name) === name,
    );
    if (found === undefined) {
        throw new Error(`no service ${name}`);
    }
    return unwrap(found.inputs) as Record<string, unknown>;
}

function args(over: Partial<SwarmServiceArgs> = {}): SwarmServiceArgs {
    return {
        image: { repository: "registry.example.com/g/p/orders", tag: "1.2.3" },
        networkName: "net",
        alias: "orders",
        endpointMode: "vip",
        database: exampleDatabase(),
        ...over,
    };
}

beforeEach(() => {
    created.length = 0;
});

const DB_ENV = {
    DB_HOST: "db.internal",
    DB_PORT: "6432",
    DB_NAME: "app",
    DB_SCHEMA_NAME: "sales",
    DB_USER: "app_user",
    TZ: "UTC",
    DB_KIND: "pg",
    DB_DIALECT: "D",
    DB_DRIVER_CLASS_NAME: "Drv",
    DB_TYPE: "T",
    DB_PASSWORD: "pw",
};

describe("SwarmService", () => {
    test("declares a registry image pinned by digest and one replicated swarm service running it", async () => {
        const svc = new SwarmService("orders", args());
        expect(await value(svc.imageRef)).toBe("registry.example.com/g/p/orders:1.2.3@sha256:feed");
        expect(await value(svc.serviceName)).toBe("orders");
        expect(await inputsOf(svc)).toEqual({
            name: "orders",
            taskSpec: {
                containerSpec: {
                    image: "registry.example.com/g/p/orders:1.2.3@sha256:feed",
                    env: DB_ENV,
                    stopGracePeriod: "10s",
                    labels: [],
                },
                networksAdvanceds: [{ name: "net", aliases: ["orders"] }],
                restartPolicy: { condition: "any", delay: "2s" },
            },
            mode: { replicated: { replicas: 1 } },
            updateConfig: {
                parallelism: 1,
                order: "start-first",
                failureAction: "rollback",
                monitor: "10s",
                delay: "1s",
            },
            rollbackConfig: { parallelism: 1, order: "start-first", monitor: "10s", delay: "1s" },
            endpointSpec: { mode: "vip", ports: [] },
            labels: [{ label: "msa.release", value: "start-first (swarm rolling update)" }],
            convergeConfig: { delay: "2s", timeout: "5m" },
        });
        expect(created.map((r) => `${r.type} ${r.name}`)).toEqual([
            "msa:swarm:SwarmService orders",
            "msa:registry:RegistryImage orders",
            "docker:index/remoteImage:RemoteImage orders-image",
            "docker:index/service:Service orders-service",
        ]);
        expect(await value(svc.endpoints)).toEqual([]);
    });

    test("the env is DB_*, TZ, its own env and the secrets; the task spec holding them is secret", async () => {
        const svc = new SwarmService(
            "env",
            args({ alias: "env", env: { NODENAME: "n1" }, secretEnv: { API_TOKEN: "t" } }),
        );
        const name = await value(svc.serviceName);
        const raw = created.find((r) => r.name === "env-service")?.inputs;
        expect(name).toBe("env");
        expect(isRpcSecret(raw?.taskSpec)).toBe(true);
        const spec = (await inputsOf(svc)).taskSpec as { containerSpec: { env: unknown } };
        expect(spec.containerSpec.env).toEqual({ ...DB_ENV, NODENAME: "n1", API_TOKEN: "t" });
    });

    test("passes on its command, health check, stop grace, memory limit and labels", async () => {
        const svc = new SwarmService(
            "full",
            args({
                alias: "full",
                command: ["serve", "--port", "80"],
                healthcheck: {
                    test: ["CMD", "true"],
                    interval: "10s",
                    timeout: "5s",
                    retries: 3,
                    startPeriod: "30s",
                },
                stopGraceSeconds: 30,
                memoryMb: 256,
                labels: { team: "sales" },
            }),
        );
        const inputs = await inputsOf(svc);
        expect(inputs.taskSpec).toMatchObject({
            containerSpec: {
                args: ["serve", "--port", "80"],
                healthcheck: {
                    tests: ["CMD", "true"],
                    interval: "10s",
                    timeout: "5s",
                    retries: 3,
                    startPeriod: "30s",
                },
                stopGracePeriod: "30s",
                labels: [{ label: "team", value: "sales" }],
            },
            resources: { limits: { memoryBytes: 268435456 } },
        });
        // 30s to start and three checks 10s apart, and 5s to spare, before swarm judges the update.
        expect(inputs.updateConfig).toMatchObject({ monitor: "65s" });
        expect(inputs.rollbackConfig).toMatchObject({ monitor: "65s" });
        expect(inputs.labels).toEqual([
            { label: "msa.release", value: "start-first (swarm rolling update)" },
            { label: "team", value: "sales" },
        ]);
    });

    test("in vip mode, publishes its host ports through the routing mesh", async () => {
        const svc = new SwarmService(
            "mesh",
            args({
                alias: "mesh",
                replicas: 3,
                ports: [
                    { container: 80, host: 8080 },
                    { container: 9000 },
                    { container: 53, host: 5353, protocol: "udp" },
                ],
            }),
        );
        expect(await value(svc.endpoints)).toEqual([
            "http://localhost:8080",
            "http://localhost:5353",
        ]);
        expect(await registeredOutputs(svc)).toEqual({
            imageRef: "registry.example.com/g/p/orders:1.2.3@sha256:feed",
            serviceName: "mesh",
            endpoints: ["http://localhost:8080", "http://localhost:5353"],
        });
        const inputs = await inputsOf(svc);
        expect(inputs.mode).toEqual({ replicated: { replicas: 3 } });
        expect(inputs.endpointSpec).toEqual({
            mode: "vip",
            ports: [
                { targetPort: 80, publishedPort: 8080, protocol: "tcp", publishMode: "ingress" },
                { targetPort: 53, publishedPort: 5353, protocol: "udp", publishMode: "ingress" },
            ],
        });
    });

    test("in dnsrr mode, publishes a host port in host mode, on the node that runs the task", async () => {
        const svc = new SwarmService(
            "rr",
            args({
                alias: "rr",
                endpointMode: "dnsrr",
                ports: [{ container: 9000 }, { container: 53, host: 5353, protocol: "udp" }],
            }),
        );
        expect(await value(svc.endpoints)).toEqual(["http://localhost:5353"]);
        expect((await inputsOf(svc)).endpointSpec).toEqual({
            mode: "dnsrr",
            ports: [{ targetPort: 53, publishedPort: 5353, protocol: "udp", publishMode: "host" }],
        });
    });

    test("the service is its child and starts after the database is ready", async () => {
        const ready = new pulumi.ComponentResource("msa:test:Database", "db", {});
        const database = { ...args().database, readyAfter: [ready] };
        const svc = new SwarmService(
            "after",
            args({ alias: "after", database, replicas: 0 }),
            recordOptions,
        );
        expect((await inputsOf(svc)).mode).toEqual({ replicated: { replicas: 0 } });
        expect(options["after-service"]?.parent).toBe(svc);
        expect(options["after-service"]?.dependsOn).toEqual([ready]);
    });

    test("a port it does not publish may name a bind address: nothing is widened", async () => {
        const svc = new SwarmService(
            "inner",
            args({ alias: "inner", ports: [{ container: 9000, bindAddress: "127.0.0.1" }] }),
        );
        expect((await inputsOf(svc)).endpointSpec).toEqual({ mode: "vip", ports: [] });
    });

    test("takes 1000 replicas", async () => {
        const svc = new SwarmService("many", args({ alias: "many", replicas: 1000 }));
        expect((await inputsOf(svc)).mode).toEqual({ replicated: { replicas: 1000 } });
    });

    test.each<[string, Partial<SwarmServiceArgs>, string]>([
        [
            "negative replicas",
            { replicas: -1 },
            "SwarmService bad: replicas must be 0-1000, got -1",
        ],
        [
            "more than 1000 replicas",
            { replicas: 1001 },
            "SwarmService bad: replicas must be 0-1000, got 1001",
        ],
        [
            "a fractional number of replicas",
            { replicas: 1.5 },
            "SwarmService bad: replicas must be 0-1000, got 1.5",
        ],
        [
            "a published port bound to one address, and bad replicas (every problem at once)",
            {
                replicas: -1,
                ports: [
                    { container: 53, host: 53, protocol: "udp", bindAddress: "0.0.0.0" },
                    { container: 54, host: 54, protocol: "udp", bindAddress: "127.0.0.1" },
                ],
            },
            "SwarmService bad: replicas must be 0-1000, got -1; ports[1].bindAddress 127.0.0.1 means nothing in a swarm: it publishes on every address of a node",
        ],
        [
            "an env name the endpoint sets",
            { env: { DB_HOST: "x" } },
            "SwarmService bad: env DB_HOST is set from the database endpoint or timezone; remove it",
        ],
    ])("refuses %s before declaring anything", (_what, over, message) => {
        expect(() => new SwarmService("bad", args(over))).toThrow(new Error(message));
        expect(created.filter((r) => r.name.startsWith("bad"))).toEqual([]);
    });
});
