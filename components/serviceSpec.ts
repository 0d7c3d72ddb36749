/**
 * What a service is, whatever runs it: its image (pulled by digest or built here), its env (the
 * `DB_*` contract from its database endpoint, then its own, then its secrets), ports and health
 * check. `Microservice` runs it as a container on one Docker host, `SwarmService` as a swarm
 * service; a Kubernetes runtime would be a third consumer of the same spec.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { contextTag } from "../lib/buildContext";
import { RESERVED_ENV } from "../lib/databaseEnv";
import type { DatabaseEndpoint } from "./databaseEndpoint";
import { RegistryImage } from "./registryImage";

export interface ServicePort {
    /** Port the service listens on inside the container. */
    container: number;
    /** Host port to publish on; omitted means reachable inside the network only. */
    host?: number;
    /** Host address the published port binds to. Default `0.0.0.0`. */
    bindAddress?: string;
    /** Default `tcp`. */
    protocol?: "tcp" | "udp";
}

/**
 * Where the service's image comes from: a registry (pinned by digest), an image resolved already
 * (the stack's `RegistryImages`), or a build here.
 */
export type ServiceImage =
    | {
          /** `<server>/<namespace>/<project>/<image>`, resolved through the caller's provider. */
          repository: pulumi.Input<string>;
          /** Tag to resolve; the container runs the digest it points at when deployed. */
          tag: pulumi.Input<string>;
          ref?: undefined;
          build?: undefined;
      }
    | {
          /** The exact image to run, as given: `<repository>:<tag>@sha256:…` from `RegistryImages`. */
          ref: pulumi.Input<string>;
          build?: undefined;
      }
    | {
          /** Name of the built image (and where it is pushed). */
          repository: string;
          /** Default: `src-<hash>` of the build context and args. */
          tag?: string;
          ref?: undefined;
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

export interface ServiceSpec {
    image: ServiceImage;
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
    ports?: ServicePort[];
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

/**
 * The image as given, the registry image pinned by digest, or the image built here (run by digest
 * when pushed).
 */
export function declareImage(
    parent: pulumi.Resource,
    name: string,
    image: ServiceImage,
): pulumi.Output<string> {
    if (image.ref !== undefined) {
        return pulumi.output(image.ref);
    }
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
 * env, then the secrets (each wrapped as one). A plain value stays a plain string: the wire value is the same, and a
 * stack of hundreds of services does not pay for an Output (and its promises) per variable.
 */
export function serviceEnv(args: ServiceSpec): {
    plain: [string, pulumi.Input<string>][];
    secret: [string, pulumi.Input<string>][];
} {
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
    const secret: [string, pulumi.Input<string>][] = [
        ["DB_PASSWORD", pulumi.secret(db.password)],
        ...Object.entries(args.secretEnv ?? {}).map(([k, v]): [string, pulumi.Input<string>] => [
            k,
            pulumi.secret(v),
        ]),
    ];
    return { plain, secret };
}

/** Every bad argument, each with its own message, before anything is declared. */
export function checkServiceSpec(kind: string, name: string, args: ServiceSpec): void {
    const errors: string[] = [];
    const names = [...Object.keys(args.env ?? {}), ...Object.keys(args.secretEnv ?? {})];
    for (const env of Object.keys(args.secretEnv ?? {})) {
        if (Object.hasOwn(args.env ?? {}, env)) {
            errors.push(`env ${env} is given both in env and in secretEnv; keep one`);
        }
    }
    for (const env of names) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) {
            errors.push(`env name ${JSON.stringify(env)} is not a valid environment variable name`);
        } else if (RESERVED_ENV.includes(env) && env !== "NODENAME") {
            errors.push(`env ${env} is set from the database endpoint or timezone; remove it`);
        }
    }
    const seen = new Set<string>();
    const published: { bind: string; port: string }[] = [];
    (args.ports ?? []).forEach((p, i) => {
        for (const [field, port] of [
            ["container", p.container],
            ["host", p.host],
        ] as const) {
            if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
                errors.push(`ports[${i}].${field} must be 1-65535, got ${port}`);
            }
        }
        const bind = p.bindAddress ?? "0.0.0.0";
        const port = `${p.host}/${p.protocol ?? "tcp"}`;
        const key = `${bind}:${port}`;
        if (p.host !== undefined && seen.has(key)) {
            errors.push(`ports[${i}].host ${p.host} is published twice`);
        } else if (p.host !== undefined) {
            // 0.0.0.0 takes the port on every address: Docker refuses a second bind of it.
            const clash = published.find(
                (q) => q.port === port && (q.bind === "0.0.0.0" || bind === "0.0.0.0"),
            );
            if (clash !== undefined) {
                errors.push(
                    `ports[${i}].host ${port} on ${bind} clashes with the same port on ${clash.bind}`,
                );
            }
            published.push({ bind, port });
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
        throw new Error(`${kind} ${name}: ${errors.join("; ")}`);
    }
}
