/**
 * The swarm driver's own rules, without an engine: how a `docker.Service`'s inputs (pulumi-docker's
 * names, as a capture records them) become the Engine API's ServiceSpec, with the provider's
 * defaults, and the allow-list that refuses what the driver does not map, at every depth.
 */
import type { CapturedResource } from "../../../capture";
import { UNKNOWN_VALUE } from "../../../capture";
import { serviceSpec, T } from "./engineSpec";
import { swarmInputProblems } from "./swarmDriver";

const URN = "urn:pulumi:s::msa::docker:index/service:Service::orders-service";

function resource(type: string, name: string, inputs: Record<string, unknown>): CapturedResource {
    return {
        urn: `urn:pulumi:s::msa::${type}::${name}`,
        type,
        name,
        parent: null,
        parentUrn: null,
        custom: true,
        provider: "docker",
        inputs,
        outputs: {},
        protect: false,
        retainOnDelete: false,
        dependsOn: [],
        dependsOnUrns: [],
    };
}

/** A replicated service as the program declares one, every mapped field set. */
const ORDERS = {
    name: "orders",
    labels: [{ label: "msa.stack", value: "s" }],
    taskSpec: {
        containerSpec: {
            image: "reg.example/e2e/msa/orders:1.0@sha256:" + "a".repeat(64),
            args: ["--port", "8080"],
            env: { DB_HOST: "database" },
            labels: [{ label: "msa.component", value: "service:orders" }],
            healthcheck: {
                tests: ["CMD-SHELL", "true"],
                interval: "1s",
                timeout: "2s",
                retries: 3,
                startPeriod: "5s",
            },
            stopGracePeriod: "10s",
            mounts: [{ type: "volume", source: "data", target: "/data" }],
        },
        networksAdvanceds: [{ name: "net", aliases: ["orders"] }],
        placement: { constraints: ["node.labels.msa.db==true"] },
        resources: { limits: { memoryBytes: 134217728 } },
        restartPolicy: { condition: "any", delay: "2s" },
    },
    mode: { replicated: { replicas: 3 } },
    updateConfig: {
        parallelism: 1,
        order: "start-first",
        failureAction: "rollback",
        monitor: "13s",
        delay: "1s",
    },
    rollbackConfig: { parallelism: 1, order: "start-first", monitor: "13s", delay: "1s" },
    endpointSpec: { mode: "dnsrr", ports: [] },
};

describe("serviceSpec: a docker.Service's inputs as the Engine API's ServiceSpec", () => {
    test("maps every declared field", () => {
        expect(serviceSpec(ORDERS, "orders")).toEqual({
            Name: "orders",
            Labels: { "msa.stack": "s" },
            TaskTemplate: {
                ContainerSpec: {
                    Image: ORDERS.taskSpec.containerSpec.image,
                    Labels: { "msa.component": "service:orders" },
                    Command: undefined,
                    Args: ["--port", "8080"],
                    Env: ["DB_HOST=database"],
                    Healthcheck: {
                        Test: ["CMD-SHELL", "true"],
                        Interval: 1e9,
                        Timeout: 2e9,
                        StartPeriod: 5e9,
                        Retries: 3,
                    },
                    StopGracePeriod: 10e9,
                    StopSignal: undefined,
                    Mounts: [
                        {
                            Type: "volume",
                            Source: "data",
                            Target: "/data",
                            ReadOnly: false,
                            VolumeOptions: undefined,
                        },
                    ],
                    Configs: [],
                },
                Networks: [{ Target: "net", Aliases: ["orders"] }],
                Placement: {
                    Constraints: ["node.labels.msa.db==true"],
                    Preferences: [],
                    MaxReplicas: undefined,
                },
                Resources: { Limits: { MemoryBytes: 134217728 }, Reservations: undefined },
                RestartPolicy: {
                    Condition: "any",
                    Delay: 2e9,
                    MaxAttempts: undefined,
                    Window: undefined,
                },
                ForceUpdate: undefined,
            },
            Mode: { Replicated: { Replicas: 3 } },
            UpdateConfig: {
                Parallelism: 1,
                Delay: 1e9,
                FailureAction: "rollback",
                Monitor: 13e9,
                MaxFailureRatio: 0,
                Order: "start-first",
            },
            RollbackConfig: {
                Parallelism: 1,
                Delay: 1e9,
                FailureAction: "pause",
                Monitor: 13e9,
                MaxFailureRatio: 0,
                Order: "start-first",
            },
            EndpointSpec: { Mode: "dnsrr", Ports: [] },
        });
    });

    test("fills what a given block leaves out with the provider's defaults", () => {
        const spec = serviceSpec(
            {
                taskSpec: {
                    containerSpec: {
                        image: "i",
                        configs: [{ configId: "c1", fileName: "/etc/x.cfg" }],
                    },
                },
                mode: { replicated: {} },
                updateConfig: { order: "start-first" },
                endpointSpec: { ports: [{ targetPort: 80 }] },
            },
            "x",
        ) as unknown as Record<string, Record<string, unknown>>;
        expect(spec.Mode).toEqual({ Replicated: { Replicas: 1 } });
        expect(spec.UpdateConfig).toEqual({
            Parallelism: 1,
            Delay: 0,
            FailureAction: "pause",
            Monitor: 5e9,
            MaxFailureRatio: 0,
            Order: "start-first",
        });
        expect(spec.RollbackConfig).toBeUndefined();
        expect(spec.EndpointSpec).toEqual({
            Mode: undefined,
            Ports: [
                {
                    Name: undefined,
                    Protocol: "tcp",
                    TargetPort: 80,
                    PublishedPort: undefined,
                    PublishMode: "ingress",
                },
            ],
        });
        expect((spec.TaskTemplate?.ContainerSpec as { Configs: unknown }).Configs).toEqual([
            {
                ConfigID: "c1",
                ConfigName: undefined,
                File: { Name: "/etc/x.cfg", UID: "0", GID: "0", Mode: 0o444 },
            },
        ]);
    });

    test("a global service, host-mode ports, a config the engine named", () => {
        const spec = serviceSpec(
            {
                taskSpec: {
                    containerSpec: {
                        image: "haproxy",
                        commands: ["haproxy", "-f", "/cfg"],
                        configs: [{ configId: "pending", configName: "cfg-1", fileName: "/cfg" }],
                    },
                },
                mode: { global: true },
                endpointSpec: {
                    mode: "dnsrr",
                    ports: [
                        { targetPort: 81, publishedPort: 81, protocol: "tcp", publishMode: "host" },
                    ],
                },
            },
            "proxy-service-1a2b3c4",
            (id) => (id === "pending" ? "engine-id" : id),
        ) as unknown as Record<string, Record<string, Record<string, unknown>>>;
        expect(spec.Mode).toEqual({ Global: {} });
        expect(spec.TaskTemplate?.ContainerSpec?.Command).toEqual(["haproxy", "-f", "/cfg"]);
        expect(spec.TaskTemplate?.ContainerSpec?.Configs).toEqual([
            {
                ConfigID: "engine-id",
                ConfigName: "cfg-1",
                File: { Name: "/cfg", UID: "0", GID: "0", Mode: 0o444 },
            },
        ]);
        expect(spec.EndpointSpec).toEqual({
            Mode: "dnsrr",
            Ports: [
                {
                    Name: undefined,
                    Protocol: "tcp",
                    TargetPort: 81,
                    PublishedPort: 81,
                    PublishMode: "host",
                },
            ],
        });
    });
});

describe("the allow-list refuses what the driver does not map, naming the path", () => {
    test("a complete service passes, a secret env value included", () => {
        const withSecret = {
            ...ORDERS,
            taskSpec: {
                ...ORDERS.taskSpec,
                containerSpec: {
                    ...ORDERS.taskSpec.containerSpec,
                    env: { DB_PASSWORD: { __secret: true, value: "pw" } },
                },
            },
        };
        expect(swarmInputProblems(resource(T.service, "orders-service", withSecret))).toEqual([]);
    });

    test.each([
        ["taskSpec.containerSpec.hostname", { hostname: "x" }],
        ["taskSpec.containerSpec.secrets", { secrets: [] }],
        [
            "taskSpec.containerSpec.healthcheck.startInterval",
            { healthcheck: { tests: ["CMD", "true"], startInterval: "1s" } },
        ],
        [
            "taskSpec.containerSpec.mounts[0].tmpfsOptions",
            { mounts: [{ type: "tmpfs", target: "/t", tmpfsOptions: {} }] },
        ],
        [
            "taskSpec.containerSpec.mounts[0].bindOptions",
            { mounts: [{ type: "bind", target: "/t", bindOptions: {} }] },
        ],
        [
            "taskSpec.containerSpec.configs[0].fileSelinux",
            { configs: [{ configId: "c", fileName: "/f", fileSelinux: "x" }] },
        ],
    ])("%s", (path, extra) => {
        const inputs = {
            ...ORDERS,
            taskSpec: {
                ...ORDERS.taskSpec,
                containerSpec: { ...ORDERS.taskSpec.containerSpec, ...extra },
            },
        };
        expect(swarmInputProblems(resource(T.service, "orders-service", inputs))).toEqual([
            `${URN}: unsupported inputs ${path}`,
        ]);
    });

    test.each([
        [
            "taskSpec.logDriver",
            { taskSpec: { ...ORDERS.taskSpec, logDriver: { name: "json-file" } } },
        ],
        [
            "endpointSpec.ports[0].hostIp",
            { endpointSpec: { ports: [{ targetPort: 80, hostIp: "0.0.0.0" }] } },
        ],
        ["mode.replicatedJob", { mode: { replicatedJob: {} } }],
        ["updateConfig.monitorWindow", { updateConfig: { monitorWindow: "1s" } }],
        ["convergeConfig.interval", { convergeConfig: { interval: "1s" } }],
    ])("%s", (path, extra) => {
        expect(
            swarmInputProblems(resource(T.service, "orders-service", { ...ORDERS, ...extra })),
        ).toEqual([`${URN}: unsupported inputs ${path}`]);
    });

    test("a value only the engine knows, and a duration in a form the driver does not parse", () => {
        const unknownImage = {
            ...ORDERS,
            taskSpec: {
                ...ORDERS.taskSpec,
                containerSpec: { ...ORDERS.taskSpec.containerSpec, image: UNKNOWN_VALUE },
            },
        };
        expect(
            swarmInputProblems(resource(T.service, "orders-service", unknownImage))[0],
        ).toContain("taskSpec.containerSpec.image (unknown until deployed)");
        const oddDuration = {
            ...ORDERS,
            updateConfig: { ...ORDERS.updateConfig, monitor: "1.5s" },
        };
        expect(swarmInputProblems(resource(T.service, "orders-service", oddDuration))).toEqual([
            `${URN}: unsupported inputs duration "1.5s" is not of the form 1m30s / 500ms`,
        ]);
    });

    test("a bridge network (a swarm service joins overlays only), a container, a secret resource", () => {
        expect(
            swarmInputProblems(resource(T.network, "net", { name: "n", driver: "bridge" })),
        ).toEqual([
            'urn:pulumi:s::msa::docker:index/network:Network::net: unsupported inputs driver "bridge" (a swarm service joins overlay networks only)',
        ]);
        expect(
            swarmInputProblems(resource("docker:index/container:Container", "c", { image: "i" })),
        ).toEqual([
            "urn:pulumi:s::msa::docker:index/container:Container::c: the driver cannot create docker:index/container:Container",
        ]);
        expect(swarmInputProblems(resource("docker:index/secret:Secret", "s", {}))).toEqual([
            "urn:pulumi:s::msa::docker:index/secret:Secret::s: the driver cannot create docker:index/secret:Secret",
        ]);
    });
});
