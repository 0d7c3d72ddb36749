import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { contextTag } from "../lib/buildContext";
import { durationSeconds } from "../lib/duration";
import { RESERVED_ENV } from "../lib/databaseEnv";
import type { DatabaseEndpoint } from "./databaseEndpoint";
import { toLabels, withRelease } from "./labels";
import { RegistryImage } from "./registryImage";

export interface MicroservicePort {
    /** Port the service listens on inside the container. */
    container: number;
    /** Host port to publish on; omitted means reachable inside the network only. */
    host?: number;
    /** Host address the published port binds to. Default `0.0.0.0`. */
    bindAddress?: string;
    /** Default `tcp`. */
    protocol?: "tcp" | "udp";
}

/** Where the service's image comes from: a registry (pinned by digest), or a build here. */
export type MicroserviceImage =
    | {
          /** `<server>/<namespace>/<project>/<image>`, resolved through the caller's provider. */
          repository: pulumi.Input<string>;
          /** Tag to resolve; the container runs the digest it points at when deployed. */
          tag: pulumi.Input<string>;
          build?: undefined;
      }
    | {
          /** Name of the built image (and where it is pushed). */
          repository: string;
          /** Default: `src-<hash>` of the build context and args. */
          tag?: string;
          build: {
              /** Folder with the Dockerfile, relative to the working directory. */
              context: string;
              /** Relative to the context. Default `Dockerfile`. */
              dockerfile?: string;
              args?: Record<string, string>;
              target?: string;
          };
          /** Registry credentials to push with; omitted, the image stays on the Docker host. */
          push?: {
              server: pulumi.Input<string>;
              username: pulumi.Input<string>;
              password: pulumi.Input<string>;
          };
      };

export interface MicroserviceArgs {
    image: MicroserviceImage;
    /**
     * A fixed container name. Default: named by the engine, so a release can start the new
     * container next to the old one; a fixed name makes every release delete-first (downtime).
     */
    containerName?: pulumi.Input<string>;
    /** Network to join; the service is reachable there by `alias`. */
    networkName: pulumi.Input<string>;
    alias: string;
    /** Where the database is: gives `DB_HOST`, `DB_PORT`, … `DB_PASSWORD` (secret). */
    database: DatabaseEndpoint;
    /** `TZ`. Default `UTC`. */
    timezone?: pulumi.Input<string>;
    /** Further plain env, readable in previews (`NODENAME`, link variables). Not `DB_*` or `TZ`. */
    env?: Record<string, pulumi.Input<string>>;
    /** Secret env; each value is passed on as a secret. */
    secretEnv?: Record<string, pulumi.Input<string>>;
    ports?: MicroservicePort[];
    /** Restart policy. Default `always`. */
    restart?: "no" | "on-failure" | "always" | "unless-stopped";
    /** Replaces the image's command. */
    command?: pulumi.Input<string>[];
    memoryMb?: number;
    labels?: pulumi.Input<Record<string, string>>;
    /** Health check; a new container counts as started only once it passes. */
    healthcheck?: ServiceHealthcheck;
    /** Seconds a replaced container gets to finish in-flight requests. Default 10. */
    stopGraceSeconds?: number;
}

export interface ServiceHealthcheck {
    /** Docker's form: `["CMD", …]` or `["CMD-SHELL", "…"]`. */
    test: string[];
    interval: string;
    timeout: string;
    retries: number;
    startPeriod: string;
}

/** How a release replaces this service's container, and why. */
export type ReleaseStrategy = { createFirst: true } | { createFirst: false; why: string };

/**
 * One application service: its image from the registry pinned by digest, and a container on the
 * stack's network that reaches its database through the endpoint it is given. The Docker provider
 * (host and registry credentials) comes from the caller's resource options.
 */
export class Microservice extends pulumi.ComponentResource {
    /** `<repository>:<tag>@sha256:…`, the exact image the container runs. */
    public readonly imageRef: pulumi.Output<string>;
    public readonly containerName: pulumi.Output<string>;
    /** `http://<address>:<host port>` for each published port. */
    public readonly endpoints: pulumi.Output<string[]>;
    /** Whether a release creates the new container first (zero downtime), or why not. */
    public readonly release: ReleaseStrategy;

    constructor(name: string, args: MicroserviceArgs, opts?: pulumi.ComponentResourceOptions) {
        checkArgs(name, args);
        super("msa:service:Microservice", name, {}, opts);
        const imageRef = declareImage(this, name, args.image);
        const ports = args.ports ?? [];
        const published = ports.filter((p) => p.host !== undefined);
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
                envs: serviceEnvs(args),
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
        this.endpoints = pulumi.output(
            published.map((p) => `http://${displayAddress(p.bindAddress ?? "0.0.0.0")}:${p.host}`),
        );
        this.registerOutputs({
            imageRef: this.imageRef,
            containerName: this.containerName,
            endpoints: this.endpoints,
        });
    }
}

/** The registry image pinned by digest, or the image built here (run by digest when pushed). */
function declareImage(
    parent: Microservice,
    name: string,
    image: MicroserviceImage,
): pulumi.Output<string> {
    if (image.build === undefined) {
        return new RegistryImage(name, image, { parent }).ref;
    }
    const { build } = image;
    const args = build.args ?? {};
    const tag = image.tag ?? contextTag(build.context, { ...args, TARGET: build.target ?? "" });
    const built = new docker.Image(
        `${name}-image`,
        {
            imageName: `${image.repository}:${tag}`,
            build: {
                context: build.context,
                dockerfile: path.join(build.context, build.dockerfile ?? "Dockerfile"),
                args,
                target: build.target,
            },
            skipPush: image.push === undefined,
            registry: image.push,
        },
        { parent },
    );
    return image.push ? built.repoDigest : built.imageName;
}

/**
 * `DB_*` from the endpoint (in the legacy `.env.db.postgres` order, with `TZ`), then the caller's
 * env, then the secrets. A plain value stays a plain string: the wire value is the same, and a
 * stack of hundreds of services does not pay for an Output (and its promises) per variable.
 */
function serviceEnvs(args: MicroserviceArgs): pulumi.Input<string>[] {
    const db = args.database;
    const plain: [string, pulumi.Input<string>][] = [
        ["DB_HOST", db.host],
        [
            "DB_PORT",
            typeof db.port === "number" ? String(db.port) : pulumi.output(db.port).apply(String),
        ],
        ["DB_NAME", db.name],
        ["DB_SCHEMA_NAME", db.schema],
        ["DB_USER", db.user],
        ["TZ", args.timezone ?? "UTC"],
        ["DB_KIND", db.client.kind],
        ["DB_DIALECT", db.client.dialect],
        ["DB_DRIVER_CLASS_NAME", db.client.driverClassName],
        ["DB_TYPE", db.client.type],
        ...Object.entries(args.env ?? {}),
    ];
    const secret = [["DB_PASSWORD", db.password], ...Object.entries(args.secretEnv ?? {})] as const;
    return [
        ...plain.map(([k, v]) =>
            typeof v === "string" ? `${k}=${v}` : pulumi.interpolate`${k}=${v}`,
        ),
        ...secret.map(([k, v]) => pulumi.interpolate`${k}=${pulumi.secret(v)}`),
    ];
}

/** Every bad argument, each with its own message, before anything is declared. */
function checkArgs(name: string, args: MicroserviceArgs): void {
    const errors: string[] = [];
    const names = [...Object.keys(args.env ?? {}), ...Object.keys(args.secretEnv ?? {})];
    for (const env of names) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) {
            errors.push(`env name ${JSON.stringify(env)} is not a valid environment variable name`);
        } else if (RESERVED_ENV.includes(env) && env !== "NODENAME") {
            errors.push(`env ${env} is set from the database endpoint or timezone; remove it`);
        }
    }
    const seen = new Set<string>();
    (args.ports ?? []).forEach((p, i) => {
        for (const [field, port] of [
            ["container", p.container],
            ["host", p.host],
        ] as const) {
            if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
                errors.push(`ports[${i}].${field} must be 1-65535, got ${port}`);
            }
        }
        const key = `${p.bindAddress ?? "0.0.0.0"}:${p.host}/${p.protocol ?? "tcp"}`;
        if (p.host !== undefined && seen.has(key)) {
            errors.push(`ports[${i}].host ${p.host} is published twice`);
        }
        seen.add(key);
    });
    const build = args.image.build;
    if (build && !fs.existsSync(path.join(build.context, build.dockerfile ?? "Dockerfile"))) {
        errors.push(
            `image.build: ${JSON.stringify(path.join(build.context, build.dockerfile ?? "Dockerfile"))} does not exist`,
        );
    }
    if (!/^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/.test(args.alias)) {
        errors.push(`alias must be one DNS label, got ${JSON.stringify(args.alias)}`);
    }
    if (errors.length > 0) {
        throw new Error(`Microservice ${name}: ${errors.join("; ")}`);
    }
}

function releaseStrategy(args: MicroserviceArgs, published: MicroservicePort[]): ReleaseStrategy {
    if (args.containerName !== undefined) {
        return { createFirst: false, why: "fixed container name" };
    }
    if (published.length > 0) {
        const p = published[0] as MicroservicePort;
        return {
            createFirst: false,
            why: `publishes host port ${p.host}/${p.protocol ?? "tcp"} itself`,
        };
    }
    return { createFirst: true };
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

/** A port bound to every interface is reached on the Docker host as `localhost`. */
function displayAddress(bind: string): string {
    return bind === "0.0.0.0" ? "localhost" : bind;
}
