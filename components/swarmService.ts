import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { durationSeconds } from "../lib/duration";
import { toLabels, withRelease } from "./labels";
import { checkServiceSpec, declareImage, serviceEnv, ServiceSpec } from "./serviceSpec";

export interface SwarmServiceArgs extends ServiceSpec {
    /** Tasks to run. Default 1. */
    replicas?: number;
    /**
     * How its ports reach callers. `vip`: swarm's virtual IP, and host ports through the ingress
     * routing mesh (needs IPVS in the nodes' kernels). `dnsrr`: the alias resolves to every task,
     * and a host port is published in host mode, on the node that runs the task (the stack gives
     * such a service only its UDP ports: the edge proxy owns the TCP ones).
     */
    endpointMode: "vip" | "dnsrr";
}

/**
 * One application service as a Docker Swarm service: replicas spread over the nodes, rolling
 * releases that start each new task before stopping an old one and roll back by themselves when
 * the new tasks do not become healthy. The same spec as `Microservice`; the Docker provider (a
 * manager's `docker:host`) comes from the caller.
 *
 * `DB_PASSWORD` stays an env variable, not a swarm secret: the applications read it from the env
 * (the legacy contract), and a swarm secret is a file. It is a secret in Pulumi's state and
 * previews; anyone with the manager's API can read it, as they could a swarm secret by running a
 * task.
 */
export class SwarmService extends pulumi.ComponentResource {
    /** The Pulumi type token (`msa:swarm:SwarmService`). */
    public static readonly TYPE = "msa:swarm:SwarmService";
    public readonly imageRef: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    /** `http://localhost:<port>` for each published port (in host mode: on a node running a task). */
    public readonly endpoints: pulumi.Output<string[]>;

    constructor(name: string, args: SwarmServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        checkServiceSpec("SwarmService", name, args);
        checkSwarmArgs(name, args);
        const replicas = args.replicas ?? 1;
        super(SwarmService.TYPE, name, {}, opts);
        const imageRef = declareImage(this, name, args.image);
        const { plain, secret } = serviceEnv(args);
        const hc = args.healthcheck;
        // Long enough for a task to start and pass its check before swarm judges the update.
        const monitor = hc
            ? `${Math.ceil(durationSeconds(hc.startPeriod) + hc.retries * durationSeconds(hc.interval)) + 5}s`
            : "10s";
        const published = (args.ports ?? []).filter((p) => p.host !== undefined);
        const service = new docker.Service(
            `${name}-service`,
            {
                name: args.alias,
                taskSpec: {
                    containerSpec: {
                        image: imageRef,
                        env: Object.fromEntries([...plain, ...secret]),
                        // `args` replaces the image's CMD, as `command` does for a container;
                        // `commands` would replace its entrypoint.
                        args: args.command,
                        healthcheck: hc && {
                            tests: hc.test,
                            interval: hc.interval,
                            timeout: hc.timeout,
                            retries: hc.retries,
                            startPeriod: hc.startPeriod,
                        },
                        stopGracePeriod: `${args.stopGraceSeconds ?? 10}s`,
                        labels: toLabels(args.labels),
                    },
                    networksAdvanceds: [{ name: args.networkName, aliases: [args.alias] }],
                    resources: args.memoryMb
                        ? { limits: { memoryBytes: args.memoryMb * 1024 * 1024 } }
                        : undefined,
                    restartPolicy: { condition: "any", delay: "2s" },
                },
                mode: { replicated: { replicas } },
                updateConfig: {
                    parallelism: 1,
                    order: "start-first",
                    failureAction: "rollback",
                    monitor,
                    delay: "1s",
                },
                rollbackConfig: { parallelism: 1, order: "start-first", monitor, delay: "1s" },
                endpointSpec: {
                    mode: args.endpointMode,
                    ports: published.map((p) => ({
                        targetPort: p.container,
                        publishedPort: p.host,
                        protocol: p.protocol ?? "tcp",
                        // Without a virtual IP there is no routing mesh: the task's own node.
                        publishMode: args.endpointMode === "vip" ? "ingress" : "host",
                    })),
                },
                labels: toLabels(withRelease(args.labels, "start-first (swarm rolling update)")),
                // Wait until swarm has converged (or rolled back), so a failed release fails `pulumi up`.
                convergeConfig: { delay: "2s", timeout: "5m" },
            },
            { parent: this, dependsOn: args.database.readyAfter },
        );
        this.imageRef = imageRef;
        this.serviceName = service.name;
        this.endpoints = pulumi.output(published.map((p) => `http://localhost:${p.host}`));
        this.registerOutputs({
            imageRef: this.imageRef,
            serviceName: this.serviceName,
            endpoints: this.endpoints,
        });
    }
}

/** What only a swarm refuses, every problem at once: the replica count, a narrower bind. */
function checkSwarmArgs(name: string, args: SwarmServiceArgs): void {
    const errors: string[] = [];
    const replicas = args.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 0 || replicas > 1000) {
        errors.push(`replicas must be 0-1000, got ${replicas}`);
    }
    (args.ports ?? []).forEach((p, i) => {
        if (p.host !== undefined && p.bindAddress !== undefined && p.bindAddress !== "0.0.0.0") {
            errors.push(
                `ports[${i}].bindAddress ${p.bindAddress} means nothing in a swarm: it publishes on every address of a node`,
            );
        }
    });
    if (errors.length > 0) {
        throw new Error(`SwarmService ${name}: ${errors.join("; ")}`);
    }
}
