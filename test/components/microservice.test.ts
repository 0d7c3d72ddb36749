/**
 * `Microservice` on its own, with plain `pulumi.runtime.setMocks` (as pulumi/examples
 * `testing-unit-ts-mocks-jest`): what it declares from the endpoint it is given, and one exact
 * message per bad argument.
 */
import * as pulumi from "@pulumi/pulumi";
import { exampleDatabase, optionsRecorder, registeredOutputs, value } from "./harness";
import { isRpcSecret } from "@pulumi/pulumi/runtime/rpc";

const created: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
const { options, recordOptions } = optionsRecorder();
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

import { Microservice, MicroserviceArgs } from "../../components";

/** What a resource was registered with, once its registration has been answered. */
async function inputsOf(svc: Microservice): Promise<Record<string, unknown>> {
    const name = await value(svc.containerName);
    const found = created.find(
        (r) => r.type === "docker:index/container:Container" && unwrap(r.inputs.name) === name,
    );
    if (found === undefined) {
        throw new Error(`no container ${name}`);
    }
    return found.inputs;
}

/** The container `name` declared, once its registration has been answered (for unnamed ones). */
async function containerOf(svc: Microservice, name: string): Promise<Record<string, unknown>> {
    await value(svc.containerName);
    const found = created.find((r) => r.name === `${name}-container`);
    if (found === undefined) {
        throw new Error(`no container ${name}-container`);
    }
    return found.inputs;
}

/** The mock runtime hands a list holding a secret over as one secret: unwrap it. */
function unwrap(v: unknown): unknown {
    return isRpcSecret(v) ? (v as { value: unknown }).value : v;
}

function args(over: Partial<MicroserviceArgs> = {}): MicroserviceArgs {
    return {
        image: { repository: "registry.example.com/g/p/orders", tag: "1.2.3" },
        containerName: "orders",
        networkName: "net",
        alias: "orders",
        database: exampleDatabase(),
        ...over,
    };
}

beforeEach(() => {
    created.length = 0;
});

describe("Microservice", () => {
    test("declares a registry image pinned by digest and a container running it", async () => {
        const svc = new Microservice("orders", args());
        expect(await value(svc.imageRef)).toBe("registry.example.com/g/p/orders:1.2.3@sha256:feed");
        await inputsOf(svc);
        expect(await registeredOutputs(svc)).toEqual({
            imageRef: "registry.example.com/g/p/orders:1.2.3@sha256:feed",
            containerName: "orders",
            endpoints: [],
        });
        expect(created.map((r) => `${r.type} ${r.name}`)).toEqual([
            "msa:service:Microservice orders",
            "msa:registry:RegistryImage orders",
            "docker:index/remoteImage:RemoteImage orders-image",
            "docker:index/container:Container orders-container",
        ]);
    });

    test("runs an image resolved already (the stack's RegistryImages) as given, pulling nothing itself", async () => {
        const ref = "registry.example.com/g/p/orders:1.2.3@sha256:0123";
        const svc = new Microservice("given", args({ image: { ref }, containerName: "given" }));
        expect(await value(svc.imageRef)).toBe(ref);
        expect((await inputsOf(svc)).image).toBe(ref);
        expect(created.map((r) => `${r.type} ${r.name}`)).toEqual([
            "msa:service:Microservice given",
            "docker:index/container:Container given-container",
        ]);
    });

    test("builds DB_* from the endpoint, TZ, then its own env, then the secrets", async () => {
        const svc = new Microservice(
            "orders",
            args({
                containerName: "orders-env",
                timezone: "Asia/Seoul",
                env: { NODENAME: "n1" },
                secretEnv: { API_TOKEN: "t" },
            }),
        );
        const envs = (await inputsOf(svc)).envs;
        // The mock monitor sends a list holding a secret as one secret (the capture keeps it
        // per element; see test/stack.test.ts).
        expect(isRpcSecret(envs)).toBe(true);
        expect(unwrap(envs)).toEqual([
            "DB_HOST=db.internal",
            "DB_PORT=6432",
            "DB_NAME=app",
            "DB_SCHEMA_NAME=sales",
            "DB_USER=app_user",
            "TZ=Asia/Seoul",
            "DB_KIND=pg",
            "DB_DIALECT=D",
            "DB_DRIVER_CLASS_NAME=Drv",
            "DB_TYPE=T",
            "NODENAME=n1",
            "DB_PASSWORD=pw",
            "API_TOKEN=t",
        ]);
    });

    test("an IPv6 bind address is shown in brackets, every interface (::) as localhost", async () => {
        const svc = new Microservice(
            "orders",
            args({
                containerName: "orders-v6",
                ports: [
                    { container: 8080, host: 18081, bindAddress: "::1" },
                    { container: 8081, host: 18082, bindAddress: "::" },
                ],
            }),
        );
        expect(await value(svc.endpoints)).toEqual([
            "http://[::1]:18081",
            "http://localhost:18082",
        ]);
    });

    test("publishes only ports with a host port; defaults tcp and 0.0.0.0", async () => {
        const svc = new Microservice(
            "orders",
            args({
                containerName: "orders-ports",
                ports: [
                    { container: 8080, host: 18080 },
                    { container: 9000 },
                    { container: 5353, host: 5353, bindAddress: "127.0.0.1", protocol: "udp" },
                ],
            }),
        );
        expect(await value(svc.endpoints)).toEqual([
            "http://localhost:18080",
            "http://127.0.0.1:5353",
        ]);
        const inputs = await inputsOf(svc);
        expect(inputs.ports).toEqual([
            { internal: 8080, external: 18080, ip: "0.0.0.0", protocol: "tcp" },
            { internal: 5353, external: 5353, ip: "127.0.0.1", protocol: "udp" },
        ]);
        expect(inputs.restart).toBe("always");
    });

    test("with a fixed name, a release deletes first, and says so in a label", async () => {
        const svc = new Microservice("fixed", args({ containerName: "fixed" }), recordOptions);
        expect(svc.release).toEqual({ createFirst: false, why: "fixed container name" });
        const inputs = await inputsOf(svc);
        expect(inputs.labels).toEqual([
            { label: "msa.release", value: "delete-first: fixed container name" },
        ]);
        expect(options["fixed-container"]?.deleteBeforeReplace).toBeUndefined();
    });

    test("without a fixed name or host port, a release creates the new container first", async () => {
        const svc = new Microservice(
            "free",
            args({ containerName: undefined, ports: [{ container: 8080 }], labels: { team: "s" } }),
            recordOptions,
        );
        expect(svc.release).toEqual({ createFirst: true });
        const inputs = await containerOf(svc, "free");
        expect(inputs.name).toBeUndefined();
        expect(inputs.labels).toEqual([
            { label: "msa.release", value: "create-first" },
            { label: "team", value: "s" },
        ]);
        expect(options["free-container"]?.deleteBeforeReplace).toBe(false);
        expect(await value(svc.endpoints)).toEqual([]);
    });

    test.each<[string, MicroserviceArgs["ports"], string]>([
        ["tcp by default", [{ container: 80, host: 8080 }], "publishes host port 8080/tcp itself"],
        [
            "the first published one",
            [{ container: 53 }, { container: 53, host: 5353, protocol: "udp" }],
            "publishes host port 5353/udp itself",
        ],
    ])("a host port makes a release delete first: %s", async (_what, ports, why) => {
        const svc = new Microservice("hostport", args({ containerName: undefined, ports }));
        expect(svc.release).toEqual({ createFirst: false, why });
        expect((await containerOf(svc, "hostport")).labels).toEqual([
            { label: "msa.release", value: `delete-first: ${why}` },
        ]);
    });

    test("joins its network under its alias, and starts after the database is ready", async () => {
        const ready = new pulumi.ComponentResource("msa:test:Database", "db", {});
        const svc = new Microservice(
            "joined",
            args({
                containerName: "joined",
                database: { ...args().database, readyAfter: [ready] },
            }),
            recordOptions,
        );
        const inputs = await inputsOf(svc);
        expect(inputs.networksAdvanced).toEqual([{ name: "net", aliases: ["orders"] }]);
        expect(options["joined-container"]?.parent).toBe(svc);
        expect(options["joined-container"]?.dependsOn).toEqual([ready]);
    });

    test("without a health check, nothing to wait for; 10s to stop", async () => {
        const inputs = await inputsOf(new Microservice("plain", args({ containerName: "plain" })));
        expect(inputs.healthcheck).toBeUndefined();
        expect(inputs.wait).toBe(false);
        expect(inputs.waitTimeout).toBeUndefined();
        expect(inputs.destroyGraceSeconds).toBe(10);
    });

    test("passes on its health check, waiting long enough for it; its command, memory, restart, stop grace", async () => {
        const svc = new Microservice(
            "checked",
            args({
                containerName: "checked",
                healthcheck: {
                    test: ["CMD", "true"],
                    interval: "10s",
                    timeout: "5s",
                    retries: 3,
                    startPeriod: "30s",
                },
                command: ["serve"],
                memoryMb: 256,
                restart: "on-failure",
                stopGraceSeconds: 30,
            }),
        );
        const inputs = await inputsOf(svc);
        expect(inputs.healthcheck).toEqual({
            tests: ["CMD", "true"],
            interval: "10s",
            timeout: "5s",
            retries: 3,
            startPeriod: "30s",
        });
        expect(inputs.wait).toBe(true);
        // 30s to start, three checks of up to 10s + 5s, and 10s to spare.
        expect(inputs.waitTimeout).toBe(85);
        expect(inputs.command).toEqual(["serve"]);
        expect(inputs.memory).toBe(256);
        expect(inputs.restart).toBe("on-failure");
        expect(inputs.destroyGraceSeconds).toBe(30);
    });

    test("an env value that is an Output is passed on as its value", async () => {
        const svc = new Microservice(
            "outenv",
            args({ containerName: "outenv", env: { NODENAME: pulumi.output("n2") } }),
        );
        expect(unwrap((await inputsOf(svc)).envs)).toContain("NODENAME=n2");
    });

    test.each<[string, Partial<MicroserviceArgs>, string]>([
        [
            "an env name the endpoint sets",
            { env: { DB_HOST: "x" } },
            "Microservice bad: env DB_HOST is set from the database endpoint or timezone; remove it",
        ],
        [
            "a secret env name the endpoint sets",
            { secretEnv: { DB_PASSWORD: "x" } },
            "Microservice bad: env DB_PASSWORD is set from the database endpoint or timezone; remove it",
        ],
        [
            "an invalid env name",
            { env: { "BAD-NAME": "x" } },
            'Microservice bad: env name "BAD-NAME" is not a valid environment variable name',
        ],
        [
            "a port out of range",
            { ports: [{ container: 70000 }] },
            "Microservice bad: ports[0].container must be 1-65535, got 70000",
        ],
        [
            "a host port published twice",
            {
                ports: [
                    { container: 80, host: 8080 },
                    { container: 81, host: 8080 },
                ],
            },
            "Microservice bad: ports[1].host 8080 is published twice",
        ],
        [
            "an alias that is not one DNS label",
            { alias: "orders.internal" },
            'Microservice bad: alias must be one DNS label, got "orders.internal"',
        ],
    ])("refuses %s before declaring anything", (_what, over, message) => {
        expect(() => new Microservice("bad", args(over))).toThrow(message);
        expect(created.filter((r) => r.name.startsWith("bad"))).toEqual([]);
    });
});
