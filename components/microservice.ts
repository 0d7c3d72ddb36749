import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { contextTag } from "../lib/buildContext";
import { RESERVED_ENV } from "../lib/databaseEnv";
import type { DatabaseEndpoint } from "./databaseEndpoint";
import { toLabels } from "./labels";
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
    containerName: pulumi.Input<string>;
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
}

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

    constructor(name: string, args: MicroserviceArgs, opts?: pulumi.ComponentResourceOptions) {
        checkArgs(name, args);
        super("msa:service:Microservice", name, {}, opts);
        const imageRef = declareImage(this, name, args.image);
        const ports = args.ports ?? [];
        const published = ports.filter((p) => p.host !== undefined);
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
                labels: toLabels(args.labels),
            },
            { parent: this, dependsOn: args.database.readyAfter },
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

/** A port bound to every interface is reached on the Docker host as `localhost`. */
function displayAddress(bind: string): string {
    return bind === "0.0.0.0" ? "localhost" : bind;
}
