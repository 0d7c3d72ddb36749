import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import type { GitlabRegistry } from "./gitlabRegistry";
import { projectRoot } from "../config/stackFiles";
import { toLabels } from "./labels";

/** Where Postgres keeps its data inside the container (the official image's `PGDATA`). */
export const PGDATA = "/var/lib/postgresql/data";
/** Build context of the DB image, relative to the project root (the working directory of `pulumi`). */
export const DB_BUILD_CONTEXT =
    path.relative(process.cwd(), path.join(projectRoot(), "docker", "db")) || ".";

export interface HealthcheckArgs {
    interval: string;
    timeout: string;
    retries: number;
    startPeriod: string;
}

export interface PostgresDatabaseArgs {
    /** Registry (provider and credentials) the image is pushed to and pulled from. */
    registry: GitlabRegistry;
    /** Image repository, `<server>/<namespace>/<project>/<image>`. */
    imageRepository: pulumi.Input<string>;
    /** Image tag; CI sets the commit id. */
    imageTag: pulumi.Input<string>;
    /** Base image of `docker/db/Dockerfile`. Default `postgres:14`. */
    baseImage?: pulumi.Input<string>;
    /** Push the built image to the registry. Default `true`; `false` builds on the Docker host only. */
    push?: boolean;
    /** Docker network to join, and the alias other containers reach the database by. */
    networkName: pulumi.Input<string>;
    alias: pulumi.Input<string>;
    containerName: pulumi.Input<string>;
    volumeName: pulumi.Input<string>;
    /** Port Postgres listens on inside the network (`PGPORT`). Default 5432. */
    port?: number;
    /** Host port the DB port is published on. Default: `port`. */
    hostPort?: number;
    /** Address the host port binds to. Default `127.0.0.1`, never every interface unless asked. */
    bindAddress?: pulumi.Input<string>;
    /** Database and schema created on first start; user and password of the superuser. */
    dbName: pulumi.Input<string>;
    schema: pulumi.Input<string>;
    user: pulumi.Input<string>;
    /** Must be a secret Output. */
    password: pulumi.Input<string>;
    /** tz database name, baked into the image and set as `TZ`. Default `UTC`. */
    timezone?: pulumi.Input<string>;
    healthcheck: HealthcheckArgs;
    /** Protect the volume and container, and keep the volume on delete. Default `false`. */
    protect?: boolean;
    memoryMb?: number;
    labels?: pulumi.Input<Record<string, string>>;
}

/**
 * Postgres built from `docker/db/` (the legacy custom image) and run with its data on a named
 * volume. The database and schema are created on first start by the image's init script, and
 * dependants start only once the healthcheck passes (`wait: true`).
 */
export class PostgresDatabase extends pulumi.ComponentResource {
    /** Image reference the container runs: pinned by digest when pushed. */
    public readonly imageRef: pulumi.Output<string>;
    public readonly volumeName: pulumi.Output<string>;
    public readonly containerName: pulumi.Output<string>;
    /** Host and port inside the stack's network. */
    public readonly host: pulumi.Output<string>;
    public readonly port: pulumi.Output<number>;
    /** The published `address:port` on the Docker host. */
    public readonly hostEndpoint: pulumi.Output<string>;
    /** The container, for `dependsOn` of the services. */
    public readonly container: docker.Container;

    constructor(name: string, args: PostgresDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa:database:PostgresDatabase", name, {}, opts);
        const provider = args.registry.provider;
        const protect = args.protect ?? false;
        const port = args.port ?? 5432;
        const push = args.push ?? true;
        const timezone = args.timezone ?? "UTC";
        const labels = toLabels(args.labels);

        const image = new docker.Image(
            `${name}-image`,
            {
                imageName: pulumi.interpolate`${args.imageRepository}:${args.imageTag}`,
                build: {
                    context: DB_BUILD_CONTEXT,
                    dockerfile: path.join(DB_BUILD_CONTEXT, "Dockerfile"),
                    args: {
                        BASE_IMAGE: pulumi.output(args.baseImage ?? "postgres:14"),
                        TZ: pulumi.output(timezone),
                    },
                },
                skipPush: !push,
                registry: push ? args.registry.credentials : undefined,
            },
            { parent: this, provider },
        );
        const volume = new docker.Volume(
            `${name}-volume`,
            { name: args.volumeName, driver: "local", labels },
            { parent: this, provider, protect, retainOnDelete: protect },
        );
        this.imageRef = push ? image.repoDigest : image.imageName;
        this.container = new docker.Container(
            `${name}-container`,
            {
                name: args.containerName,
                image: this.imageRef,
                envs: [
                    pulumi.interpolate`POSTGRES_USER=${args.user}`,
                    pulumi.interpolate`POSTGRES_PASSWORD=${pulumi.secret(args.password)}`,
                    pulumi.interpolate`POSTGRES_DB=${args.dbName}`,
                    pulumi.interpolate`DB_NAME=${args.dbName}`,
                    pulumi.interpolate`DB_SCHEMA_NAME=${args.schema}`,
                    `PGPORT=${port}`,
                    `PGDATA=${PGDATA}`,
                    pulumi.interpolate`TZ=${timezone}`,
                ],
                volumes: [{ volumeName: volume.name, containerPath: PGDATA }],
                ports: [
                    {
                        internal: port,
                        external: args.hostPort ?? port,
                        ip: args.bindAddress ?? "127.0.0.1",
                        protocol: "tcp",
                    },
                ],
                networksAdvanced: [{ name: args.networkName, aliases: [args.alias] }],
                healthcheck: {
                    // TCP, not the socket: during first-start init Postgres listens on the socket only,
                    // so a socket check would report healthy before the database and schema exist.
                    tests: pulumi
                        .all([args.user, args.dbName])
                        .apply(([user, db]) => [
                            "CMD",
                            "pg_isready",
                            "-h",
                            "127.0.0.1",
                            "-p",
                            String(port),
                            "-U",
                            user,
                            "-d",
                            db,
                        ]),
                    interval: args.healthcheck.interval,
                    timeout: args.healthcheck.timeout,
                    retries: args.healthcheck.retries,
                    startPeriod: args.healthcheck.startPeriod,
                },
                wait: true,
                waitTimeout: waitTimeoutSeconds(args.healthcheck),
                restart: "unless-stopped",
                memory: args.memoryMb,
                labels,
            },
            { parent: this, provider, protect },
        );
        this.volumeName = volume.name;
        this.containerName = this.container.name;
        this.host = pulumi.output(args.alias);
        this.port = pulumi.output(port);
        this.hostEndpoint = pulumi.interpolate`${args.bindAddress ?? "127.0.0.1"}:${args.hostPort ?? port}`;
        this.registerOutputs({
            imageRef: this.imageRef,
            volumeName: this.volumeName,
            containerName: this.containerName,
            host: this.host,
            port: this.port,
            hostEndpoint: this.hostEndpoint,
        });
    }
}

/** Long enough for the start period plus every retry, so `wait` fails only on a real failure. */
function waitTimeoutSeconds(hc: HealthcheckArgs): number {
    return (
        Math.ceil(
            durationSeconds(hc.startPeriod) +
                hc.retries * (durationSeconds(hc.interval) + durationSeconds(hc.timeout)),
        ) + 30
    );
}

/** `1m30s` → 90; `500ms` → 0.5. The schema guarantees the format. */
export function durationSeconds(text: string): number {
    const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
    let total = 0;
    for (const [, amount, unit] of text.matchAll(/([0-9]+)(ms|s|m|h)/g)) {
        total += Number(amount) * (units[unit ?? "s"] ?? 1);
    }
    return total;
}
