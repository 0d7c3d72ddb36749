import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { GitlabRegistry } from "./gitlabRegistry";
import { toLabels } from "./labels";

export interface MicroservicePort {
    /** Port the service listens on inside the container. */
    container: number;
    /** Host port to publish on; omitted means reachable inside the network only. */
    host?: number;
    /** Host address the published port binds to. Default `0.0.0.0`. */
    bindAddress?: string;
    protocol?: "tcp" | "udp";
}

export interface MicroserviceArgs {
    /** Registry (provider) the image is resolved and pulled through. */
    registry: GitlabRegistry;
    /** `<server>/<namespace>/<project>/<image>`. */
    repository: pulumi.Input<string>;
    /** Tag to resolve; the container runs the digest the tag points at when the stack is deployed. */
    tag: pulumi.Input<string>;
    containerName: pulumi.Input<string>;
    /** Network to join; the service is reachable there by `alias`. */
    networkName: pulumi.Input<string>;
    alias: pulumi.Input<string>;
    /** Plain env, readable in previews. */
    env: Record<string, pulumi.Input<string>>;
    /** Secret env (e.g. `DB_PASSWORD`); each value must be a secret Output. */
    secretEnv?: Record<string, pulumi.Input<string>>;
    ports?: MicroservicePort[];
    /** Restart policy. Default `always`. */
    restart?: pulumi.Input<string>;
    command?: pulumi.Input<string>[];
    memoryMb?: number;
    labels?: pulumi.Input<Record<string, string>>;
    /** Resources the container starts after, e.g. the database container (which waits until healthy). */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * One application service: its image resolved in the registry and pinned by digest, so a moving
 * tag never changes what runs unnoticed, and a container on the stack's network.
 */
export class Microservice extends pulumi.ComponentResource {
    /** `<repository>:<tag>@sha256:…`, the exact image the container runs. */
    public readonly imageRef: pulumi.Output<string>;
    public readonly containerName: pulumi.Output<string>;
    /** `http://<address>:<host port>` for each published port. */
    public readonly endpoints: pulumi.Output<string[]>;

    constructor(name: string, args: MicroserviceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa:service:Microservice", name, {}, opts);
        const provider = args.registry.provider;
        const tagged = pulumi.interpolate`${args.repository}:${args.tag}`;
        const resolved = docker.getRegistryImageOutput(
            { name: tagged },
            { parent: this, provider },
        );
        const image = new docker.RemoteImage(
            `${name}-image`,
            {
                name: pulumi.interpolate`${tagged}@${resolved.sha256Digest}`,
                pullTriggers: [resolved.sha256Digest],
                keepLocally: true,
            },
            { parent: this, provider },
        );
        const ports = args.ports ?? [];
        const container = new docker.Container(
            `${name}-container`,
            {
                name: args.containerName,
                image: image.name,
                envs: [
                    ...Object.entries(args.env).map(([k, v]) => envEntry(k, v)),
                    ...Object.entries(args.secretEnv ?? {}).map(
                        ([k, v]) => pulumi.interpolate`${k}=${pulumi.secret(v)}`,
                    ),
                ],
                ports: ports
                    .filter((p) => p.host !== undefined)
                    .map((p) => ({
                        internal: p.container,
                        external: p.host,
                        ip: p.bindAddress ?? "0.0.0.0",
                        protocol: p.protocol ?? "tcp",
                    })),
                networksAdvanced: [{ name: args.networkName, aliases: [args.alias] }],
                restart: args.restart ?? "always",
                command: args.command,
                memory: args.memoryMb,
                labels: toLabels(args.labels),
            },
            { parent: this, provider, dependsOn: args.dependsOn },
        );
        this.imageRef = image.name;
        this.containerName = container.name;
        this.endpoints = pulumi.output(
            ports
                .filter((p) => p.host !== undefined)
                .map((p) => `http://${displayAddress(p.bindAddress ?? "0.0.0.0")}:${p.host}`),
        );
        this.registerOutputs({
            imageRef: this.imageRef,
            containerName: this.containerName,
            endpoints: this.endpoints,
        });
    }
}

/**
 * `NAME=value`. A plain value stays a plain string: the wire value is the same, and a stack of
 * hundreds of services does not pay for an Output (and its promises) per variable.
 */
function envEntry(name: string, value: pulumi.Input<string>): pulumi.Input<string> {
    return typeof value === "string" ? `${name}=${value}` : pulumi.interpolate`${name}=${value}`;
}

/** A port bound to every interface is reached on the Docker host as `localhost`. */
function displayAddress(bind: string): string {
    return bind === "0.0.0.0" ? "localhost" : bind;
}
