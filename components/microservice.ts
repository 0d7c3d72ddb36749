import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { durationSeconds } from "../lib/duration";
import { hostEndpoint } from "../lib/endpoint";
import { toLabels, withRelease } from "./labels";
import {
    checkServiceSpec,
    declareImage,
    serviceEnv,
    ServiceHealthcheck,
    ServicePort,
    ServiceSpec,
} from "./serviceSpec";

export type { ServiceHealthcheck, ServiceImage as MicroserviceImage } from "./serviceSpec";
export type MicroservicePort = ServicePort;

export interface MicroserviceArgs extends ServiceSpec {
    /**
     * A fixed container name. Default: named by the engine, so a release can start the new
     * container next to the old one; a fixed name makes every release delete-first (downtime).
     */
    containerName?: pulumi.Input<string>;
    /** Restart policy. Default `always`. */
    restart?: "no" | "on-failure" | "always" | "unless-stopped";
}

/** How a release replaces this service's container, and why. */
export type ReleaseStrategy = { createFirst: true } | { createFirst: false; why: string };

/**
 * One application service: its image from the registry pinned by digest, and a container on the
 * stack's network that reaches its database through the endpoint it is given. The Docker provider
 * (host and registry credentials) comes from the caller's resource options.
 */
export class Microservice extends pulumi.ComponentResource {
    /** The Pulumi type token (`msa:service:Microservice`). */
    public static readonly TYPE = "msa:service:Microservice";
    /** `<repository>:<tag>@sha256:…`, the exact image the container runs. */
    public readonly imageRef: pulumi.Output<string>;
    public readonly containerName: pulumi.Output<string>;
    /** `http://<address>:<host port>` for each published port. */
    public readonly endpoints: pulumi.Output<string[]>;
    /** Whether a release creates the new container first (zero downtime), or why not. */
    public readonly release: ReleaseStrategy;

    constructor(name: string, args: MicroserviceArgs, opts?: pulumi.ComponentResourceOptions) {
        checkServiceSpec("Microservice", name, args);
        super(Microservice.TYPE, name, {}, opts);
        const imageRef = declareImage(this, name, args.image);
        const ports = args.ports ?? [];
        const published = ports.filter(
            (p): p is ServicePort & { host: number } => p.host !== undefined,
        );
        this.release = releaseStrategy(args, published);
        const labels = withRelease(
            args.labels,
            this.release.createFirst ? "create-first" : `delete-first: ${this.release.why}`,
        );
        const hc = args.healthcheck;
        const container = new docker.Container(
            `${name}-container`,
            {
                name: args.containerName,
                image: imageRef,
                envs: envList(args),
                ports: published.map((p) => ({
                    internal: p.container,
                    external: p.host,
                    ip: p.bindAddress ?? "0.0.0.0",
                    protocol: p.protocol ?? "tcp",
                })),
                networksAdvanced: [{ name: args.networkName, aliases: [args.alias] }],
                restart: args.restart ?? "always",
                command: args.command,
                memory: args.memoryMb,
                labels: toLabels(labels),
                healthcheck: hc && {
                    tests: hc.test,
                    interval: hc.interval,
                    timeout: hc.timeout,
                    retries: hc.retries,
                    startPeriod: hc.startPeriod,
                },
                // Created only once healthy: a release that never becomes healthy fails here,
                // before the old container is touched.
                wait: hc !== undefined,
                waitTimeout: hc && waitTimeoutSeconds(hc),
                destroyGraceSeconds: args.stopGraceSeconds ?? 10,
            },
            {
                parent: this,
                dependsOn: args.database.readyAfter,
                // The provider replaces containers delete-first; without a fixed name or host
                // port the new one can start (and pass its check) while the old one serves.
                deleteBeforeReplace: this.release.createFirst ? false : undefined,
            },
        );
        this.imageRef = imageRef;
        this.containerName = container.name;
        this.endpoints = pulumi.output(published.map((p) => hostEndpoint(p.bindAddress, p.host)));
        this.registerOutputs({
            imageRef: this.imageRef,
            containerName: this.containerName,
            endpoints: this.endpoints,
        });
    }
}

function releaseStrategy(args: MicroserviceArgs, published: ServicePort[]): ReleaseStrategy {
    if (args.containerName !== undefined) {
        return { createFirst: false, why: "fixed container name" };
    }
    if (published.length > 0) {
        const p = published[0] as ServicePort;
        return {
            createFirst: false,
            why: `publishes host port ${p.host}/${p.protocol ?? "tcp"} itself`,
        };
    }
    return { createFirst: true };
}

/** `NAME=value`, plain values as plain strings (no Output per variable), secrets as secrets. */
function envList(args: ServiceSpec): pulumi.Input<string>[] {
    const { plain, secret } = serviceEnv(args);
    return [
        ...plain.map(([k, v]) =>
            typeof v === "string" ? `${k}=${v}` : pulumi.interpolate`${k}=${v}`,
        ),
        ...secret.map(([k, v]) => pulumi.interpolate`${k}=${v}`),
    ];
}

/** Long enough for the start period plus every retry, so `wait` fails only on a real failure. */
function waitTimeoutSeconds(hc: ServiceHealthcheck): number {
    return (
        Math.ceil(
            durationSeconds(hc.startPeriod) +
                hc.retries * (durationSeconds(hc.interval) + durationSeconds(hc.timeout)),
        ) + 10
    );
}
