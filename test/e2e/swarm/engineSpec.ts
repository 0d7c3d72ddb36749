/**
 * What the swarm driver implements of the docker provider's swarm resources, and how it maps their
 * inputs onto the Docker Engine API, as the provider does (terraform-provider-docker's
 * `resource_docker_service_structures.go`, which pulumi-docker bridges): the same field for
 * field, the same defaults for a field left out of a block that is given.
 *
 * `SWARM_SUPPORTED` is the allow-list, at every depth: an input it does not name (a top-level
 * input, or a field inside `taskSpec.containerSpec`, `endpointSpec.ports[]`, `mounts[]`, …) is
 * refused before anything is created, so nothing declared is silently dropped. Plain module: no
 * engine, tested in `driver.test.ts`.
 */
import type Docker from "dockerode";
import { DURATION_PATTERN, durationSeconds } from "../../../lib/duration";
import type { Shape } from "../driver";

export const T = {
    provider: "pulumi:providers:docker",
    network: "docker:index/network:Network",
    volume: "docker:index/volume:Volume",
    image: "docker:index/image:Image",
    remoteImage: "docker:index/remoteImage:RemoteImage",
    service: "docker:index/service:Service",
    serviceConfig: "docker:index/serviceConfig:ServiceConfig",
    getRegistryImage: "docker:index/getRegistryImage:getRegistryImage",
} as const;

const scalar = "scalar" as const;
const list = (of: Shape): Shape => ({ list: of });
const map = (of: Shape): Shape => ({ map: of });
const fields = (f: Record<string, Shape>): Shape => ({ fields: f });
const LABELS = list(fields({ label: scalar, value: scalar }));

/** `updateConfig` and `rollbackConfig` take the same fields. */
const UPDATE_FIELDS = fields({
    parallelism: scalar,
    delay: scalar,
    failureAction: scalar,
    monitor: scalar,
    maxFailureRatio: scalar,
    order: scalar,
});

export const SWARM_SUPPORTED: Readonly<Record<string, Readonly<Record<string, Shape>>>> = {
    [T.provider]: {
        registryAuth: list(fields({ address: scalar, username: scalar, password: scalar })),
        host: scalar,
    },
    [T.network]: { name: scalar, driver: scalar, attachable: scalar, labels: LABELS },
    [T.volume]: { name: scalar, driver: scalar, labels: LABELS },
    [T.image]: {
        imageName: scalar,
        build: fields({ context: scalar, dockerfile: scalar, args: map(scalar), target: scalar }),
        skipPush: scalar,
        registry: fields({ server: scalar, username: scalar, password: scalar }),
        buildOnPreview: scalar,
    },
    [T.remoteImage]: { name: scalar, pullTriggers: list(scalar), keepLocally: scalar },
    [T.serviceConfig]: { name: scalar, data: scalar, dataRaw: scalar, labels: LABELS },
    [T.service]: {
        name: scalar,
        labels: LABELS,
        auth: fields({ serverAddress: scalar, username: scalar, password: scalar }),
        taskSpec: fields({
            containerSpec: fields({
                image: scalar,
                commands: list(scalar),
                args: list(scalar),
                env: map(scalar),
                labels: LABELS,
                healthcheck: fields({
                    tests: list(scalar),
                    interval: scalar,
                    timeout: scalar,
                    retries: scalar,
                    startPeriod: scalar,
                }),
                stopGracePeriod: scalar,
                stopSignal: scalar,
                mounts: list(
                    fields({
                        type: scalar,
                        source: scalar,
                        target: scalar,
                        readOnly: scalar,
                        volumeOptions: fields({
                            noCopy: scalar,
                            labels: LABELS,
                            driverName: scalar,
                            driverOptions: map(scalar),
                        }),
                    }),
                ),
                configs: list(
                    fields({
                        configId: scalar,
                        configName: scalar,
                        fileName: scalar,
                        fileUid: scalar,
                        fileGid: scalar,
                        fileMode: scalar,
                    }),
                ),
            }),
            networksAdvanceds: list(fields({ name: scalar, aliases: list(scalar) })),
            placement: fields({
                constraints: list(scalar),
                prefs: list(scalar),
                maxReplicas: scalar,
            }),
            resources: fields({
                limits: fields({ memoryBytes: scalar, nanoCpus: scalar }),
                reservation: fields({ memoryBytes: scalar, nanoCpus: scalar }),
            }),
            restartPolicy: fields({
                condition: scalar,
                delay: scalar,
                maxAttempts: scalar,
                window: scalar,
            }),
            forceUpdate: scalar,
        }),
        mode: fields({ replicated: fields({ replicas: scalar }), global: scalar }),
        updateConfig: UPDATE_FIELDS,
        rollbackConfig: UPDATE_FIELDS,
        endpointSpec: fields({
            mode: scalar,
            ports: list(
                fields({
                    name: scalar,
                    protocol: scalar,
                    targetPort: scalar,
                    publishedPort: scalar,
                    publishMode: scalar,
                }),
            ),
        }),
        convergeConfig: fields({ delay: scalar, timeout: scalar }),
    },
};

type Inputs = Record<string, unknown>;
interface Label {
    label: string;
    value: string;
}

/**
 * The Engine API's ServiceSpec for a `docker.Service`'s inputs (secrets revealed). `name` is the
 * service's name (declared, or the provider's autoname); `configId` turns a `configs[].configId`
 * the program took from a `docker.ServiceConfig` into the id the engine gave that config.
 */
export function serviceSpec(
    inputs: Inputs,
    name: string,
    configId: (declared: string) => string = (id) => id,
): Docker.CreateServiceOptions {
    const task = (inputs.taskSpec ?? {}) as Inputs;
    const container = (task.containerSpec ?? {}) as Inputs;
    const hc = container.healthcheck as Inputs | undefined;
    const placement = task.placement as Inputs | undefined;
    const resources = task.resources as Inputs | undefined;
    const restart = task.restartPolicy as Inputs | undefined;
    const mode = inputs.mode as Inputs | undefined;
    const replicated = mode?.replicated as Inputs | undefined;
    const endpoint = inputs.endpointSpec as Inputs | undefined;
    return {
        Name: name,
        Labels: labels(inputs.labels),
        TaskTemplate: {
            ContainerSpec: {
                Image: String(container.image),
                Labels: labels(container.labels),
                Command: container.commands as string[] | undefined,
                Args: container.args as string[] | undefined,
                // The provider writes a map's entries as NAME=value, in no particular order.
                Env: Object.entries((container.env ?? {}) as Record<string, string>).map(
                    ([k, v]) => `${k}=${v}`,
                ),
                Healthcheck:
                    hc === undefined
                        ? undefined
                        : {
                              Test: hc.tests as string[] | undefined,
                              Interval: nanoseconds(hc.interval) ?? 0,
                              Timeout: nanoseconds(hc.timeout) ?? 0,
                              StartPeriod: nanoseconds(hc.startPeriod) ?? 0,
                              Retries: (hc.retries as number | undefined) ?? 0,
                          },
                StopGracePeriod: nanoseconds(container.stopGracePeriod),
                StopSignal: container.stopSignal as string | undefined,
                Mounts: ((container.mounts ?? []) as Inputs[]).map(mountSpec),
                Configs: ((container.configs ?? []) as Inputs[]).map((c) => ({
                    ConfigID: configId(String(c.configId)),
                    ConfigName: c.configName as string | undefined,
                    // The provider's defaults: root-owned, world-readable.
                    File: {
                        Name: String(c.fileName),
                        UID: (c.fileUid as string | undefined) ?? "0",
                        GID: (c.fileGid as string | undefined) ?? "0",
                        Mode: (c.fileMode as number | undefined) ?? 0o444,
                    },
                })),
            },
            Networks: ((task.networksAdvanceds ?? []) as Inputs[]).map((n) => ({
                Target: String(n.name),
                Aliases: (n.aliases ?? []) as string[],
            })),
            Placement:
                placement === undefined
                    ? undefined
                    : {
                          Constraints: placement.constraints as string[] | undefined,
                          Preferences: ((placement.prefs ?? []) as string[]).map((p) => ({
                              Spread: { SpreadDescriptor: p },
                          })),
                          MaxReplicas: placement.maxReplicas as number | undefined,
                      },
            Resources:
                resources === undefined
                    ? undefined
                    : {
                          Limits: resourceSpec(resources.limits),
                          Reservations: resourceSpec(resources.reservation),
                      },
            RestartPolicy:
                restart === undefined
                    ? undefined
                    : {
                          Condition: restart.condition as string | undefined,
                          Delay: nanoseconds(restart.delay),
                          MaxAttempts: restart.maxAttempts as number | undefined,
                          Window: nanoseconds(restart.window),
                      },
            ForceUpdate: task.forceUpdate as number | undefined,
        },
        // No mode: the engine's default, one replica. A replicated block without a count: 1.
        Mode:
            mode?.global === true
                ? { Global: {} }
                : mode === undefined
                  ? undefined
                  : { Replicated: { Replicas: (replicated?.replicas as number | undefined) ?? 1 } },
        UpdateConfig: updateSpec(inputs.updateConfig),
        RollbackConfig: updateSpec(inputs.rollbackConfig),
        EndpointSpec: {
            Mode: endpoint?.mode as "vip" | "dnsrr" | undefined,
            Ports: ((endpoint?.ports ?? []) as Inputs[]).map((p) => ({
                Name: p.name as string | undefined,
                Protocol: ((p.protocol as string | undefined) ?? "tcp") as "tcp" | "udp",
                TargetPort: Number(p.targetPort),
                PublishedPort: p.publishedPort as number | undefined,
                PublishMode: ((p.publishMode as string | undefined) ?? "ingress") as
                    "ingress" | "host",
            })),
        },
    } as unknown as Docker.CreateServiceOptions;
}

/** The provider's defaults for a block given without them: parallelism 1, monitor 5s, pause. */
function updateSpec(value: unknown): Record<string, unknown> | undefined {
    if (value === undefined) {
        return undefined;
    }
    const u = value as Inputs;
    return {
        Parallelism: (u.parallelism as number | undefined) ?? 1,
        Delay: nanoseconds(u.delay) ?? 0,
        FailureAction: (u.failureAction as string | undefined) ?? "pause",
        Monitor: nanoseconds(u.monitor) ?? 5e9,
        MaxFailureRatio: Number(u.maxFailureRatio ?? 0),
        Order: (u.order as string | undefined) ?? "stop-first",
    };
}

function mountSpec(m: Inputs): Record<string, unknown> {
    const volume = m.volumeOptions as Inputs | undefined;
    return {
        Type: String(m.type),
        Source: m.source as string | undefined,
        Target: String(m.target),
        ReadOnly: m.readOnly === true,
        VolumeOptions:
            volume === undefined
                ? undefined
                : {
                      NoCopy: volume.noCopy === true,
                      Labels: labels(volume.labels),
                      DriverConfig:
                          volume.driverName === undefined && volume.driverOptions === undefined
                              ? undefined
                              : {
                                    Name: volume.driverName as string | undefined,
                                    Options: volume.driverOptions as
                                        Record<string, string> | undefined,
                                },
                  },
    };
}

function resourceSpec(value: unknown): Record<string, number> | undefined {
    if (value === undefined) {
        return undefined;
    }
    const r = value as Inputs;
    return {
        ...(r.memoryBytes === undefined ? {} : { MemoryBytes: Number(r.memoryBytes) }),
        ...(r.nanoCpus === undefined ? {} : { NanoCPUs: Number(r.nanoCpus) }),
    };
}

/** Go-style duration (`1s`, `500ms`, `1m30s`) → nanoseconds, as the Engine API wants. */
export function nanoseconds(duration: unknown): number | undefined {
    if (duration === undefined) {
        return undefined;
    }
    // Go also takes `1.5s` or `10us`; the driver implements the form the program writes.
    if (typeof duration !== "string" || !DURATION_PATTERN.test(duration)) {
        throw new Error(`duration ${JSON.stringify(duration)} is not of the form 1m30s / 500ms`);
    }
    return Math.round(durationSeconds(duration) * 1e9);
}

export function labels(value: unknown): Record<string, string> {
    return Object.fromEntries(((value ?? []) as Label[]).map((l) => [l.label, l.value]));
}
