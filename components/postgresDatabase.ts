import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { contextTag } from "../lib/buildContext";
import { DURATION_PATTERN, durationSeconds } from "../lib/duration";
import type { DatabaseClientSettings, DatabaseEndpoint } from "./databaseEndpoint";
import { toLabels, withRelease } from "./labels";

/** Where Postgres keeps its data inside the container (the official image's `PGDATA`). */
export const PGDATA = "/var/lib/postgresql/data";

export interface HealthcheckArgs {
    interval: string;
    timeout: string;
    retries: number;
    startPeriod: string;
}

export interface PostgresDatabaseArgs {
    /** Folder with the DB image's `Dockerfile` (`docker/db/`), relative to the working directory. */
    buildContext: string;
    /** Image repository, `<server>/<namespace>/<project>/<image>`. */
    imageRepository: string;
    /**
     * Image tag. Default: `src-<hash>` of the build context's files and build args, so the same
     * commit always builds the same tag and CI never writes one into config.
     */
    imageTag?: string;
    /** Base image of the Dockerfile. Default `postgres:14`. */
    baseImage?: string;
    /**
     * Registry credentials to push with; the image is pulled through the caller's provider.
     * Omitted: the image is built on the Docker host only, not pushed.
     */
    push?: {
        server: pulumi.Input<string>;
        username: pulumi.Input<string>;
        password: pulumi.Input<string>;
    };
    /** Docker network to join, and the alias other containers reach the database by. */
    networkName: pulumi.Input<string>;
    alias: string;
    containerName: pulumi.Input<string>;
    volumeName: pulumi.Input<string>;
    /** Port Postgres listens on inside the network (`PGPORT`). Default 5432. */
    port?: number;
    /** Host port the DB port is published on. Default: `port`. */
    hostPort?: number;
    /** Address the host port binds to. Default `127.0.0.1`, never every interface unless asked. */
    bindAddress?: string;
    /** Database and schema created on first start; user and password of the superuser. */
    dbName: string;
    schema: string;
    user: pulumi.Input<string>;
    /** Must be a secret Output. */
    password: pulumi.Input<string>;
    /** tz database name, baked into the image and set as `TZ`. Default `UTC`. */
    timezone?: string;
    healthcheck: HealthcheckArgs;
    /** Protect the volume and container from deletion. Default `false`. */
    protect?: boolean;
    memoryMb?: number;
    labels?: pulumi.Input<Record<string, string>>;
    /** What the applications are told about the database (`DB_KIND`, …), passed on in `endpoint`. */
    client: DatabaseClientSettings;
    /**
     * Run as a single-replica swarm service pinned to the nodes labelled `<nodeLabel>=true`
     * (its volume is node-local), updated stop-first. Default: a container on the Docker host.
     */
    swarm?: { nodeLabel: string };
}

/**
 * Postgres built from the legacy custom image and run with its data on a named volume. The
 * database and schema are created on first start by the image's init script, and dependants start
 * only once the healthcheck passes (`wait: true`). The Docker provider comes from the caller.
 *
 * The data volume is always kept when the stack stops declaring it (`retainOnDelete`), as
 * `docker compose down` without `-v` keeps it; `protect` additionally refuses to delete or replace
 * it at all (the production switch).
 */
export class PostgresDatabase extends pulumi.ComponentResource {
    /** Image reference the container runs: pinned by digest when pushed. */
    public readonly imageRef: pulumi.Output<string>;
    public readonly volumeName: pulumi.Output<string>;
    /** The container's name, or the swarm service's. */
    public readonly containerName: pulumi.Output<string>;
    /** Where services reach the database, and what they start after. */
    public readonly endpoint: DatabaseEndpoint;
    /** The published `address:port` on the Docker host; none in a swarm (reached in the network only). */
    public readonly hostEndpoint: pulumi.Output<string | undefined>;

    constructor(name: string, args: PostgresDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        checkArgs(name, args);
        super("msa:database:PostgresDatabase", name, {}, opts);
        const protect = args.protect ?? false;
        const port = args.port ?? 5432;
        const hostPort = args.hostPort ?? port;
        const bindAddress = args.bindAddress ?? "127.0.0.1";
        const labels = toLabels(args.labels);
        // Never created first: two Postgres on one data directory corrupt it.
        const containerLabels = toLabels(
            withRelease(args.labels, "delete-first: database restart (one data directory)"),
        );
        const buildArgs = {
            BASE_IMAGE: args.baseImage ?? "postgres:14",
            TZ: args.timezone ?? "UTC",
        };
        const tag = args.imageTag ?? contextTag(args.buildContext, buildArgs);

        const image = new docker.Image(
            `${name}-image`,
            {
                imageName: `${args.imageRepository}:${tag}`,
                build: {
                    context: args.buildContext,
                    dockerfile: path.join(args.buildContext, "Dockerfile"),
                    args: buildArgs,
                },
                skipPush: args.push === undefined,
                registry: args.push,
            },
            { parent: this },
        );
        this.imageRef = args.push ? image.repoDigest : image.imageName;
        const env: [string, pulumi.Input<string>][] = [
            ["POSTGRES_USER", args.user],
            ["POSTGRES_PASSWORD", pulumi.secret(args.password)],
            ["POSTGRES_DB", args.dbName],
            ["DB_NAME", args.dbName],
            ["DB_SCHEMA_NAME", args.schema],
            ["PGPORT", String(port)],
            ["PGDATA", PGDATA],
            ["TZ", args.timezone ?? "UTC"],
            // For the healthcheck: libpq reads these as plain names, whereas `-d` would
            // parse a name holding `=` as connection settings.
            ["PGUSER", args.user],
            ["PGDATABASE", args.dbName],
        ];
        const healthcheck = {
            // TCP, not the socket: during first-start init Postgres listens on the socket
            // only, so a socket check would pass before the database and schema exist.
            tests: ["CMD", "pg_isready", "-h", "127.0.0.1", "-p", String(port)],
            interval: args.healthcheck.interval,
            timeout: args.healthcheck.timeout,
            retries: args.healthcheck.retries,
            startPeriod: args.healthcheck.startPeriod,
        };
        let ready: docker.Container | docker.Service;
        if (args.swarm === undefined) {
            const volume = new docker.Volume(
                `${name}-volume`,
                { name: args.volumeName, driver: "local", labels },
                {
                    parent: this,
                    protect,
                    retainOnDelete: true,
                    // Docker cannot relabel a volume; a new label must never cost the data.
                    ignoreChanges: ["labels"],
                },
            );
            ready = new docker.Container(
                `${name}-container`,
                {
                    name: args.containerName,
                    image: this.imageRef,
                    envs: env.map(([k, v]) =>
                        typeof v === "string" ? `${k}=${v}` : pulumi.interpolate`${k}=${v}`,
                    ),
                    volumes: [{ volumeName: volume.name, containerPath: PGDATA }],
                    ports: [
                        { internal: port, external: hostPort, ip: bindAddress, protocol: "tcp" },
                    ],
                    networksAdvanced: [{ name: args.networkName, aliases: [args.alias] }],
                    healthcheck,
                    wait: true,
                    waitTimeout: waitTimeoutSeconds(args.healthcheck),
                    restart: "unless-stopped",
                    memory: args.memoryMb,
                    labels: containerLabels,
                },
                { parent: this, protect },
            );
            this.volumeName = volume.name;
        } else {
            // The volume lives on the labelled node: swarm creates it there with the first task,
            // and no one removes it with the service (the data is kept, as retainOnDelete would).
            ready = new docker.Service(
                `${name}-service`,
                {
                    name: args.containerName,
                    taskSpec: {
                        containerSpec: {
                            image: this.imageRef,
                            env: Object.fromEntries(env),
                            mounts: [
                                {
                                    type: "volume",
                                    source: args.volumeName,
                                    target: PGDATA,
                                    // Found by `msa.stack` like every other resource of the stack.
                                    volumeOptions: { labels: labels },
                                },
                            ],
                            healthcheck,
                            labels: containerLabels,
                        },
                        networksAdvanceds: [{ name: args.networkName, aliases: [args.alias] }],
                        placement: { constraints: [`node.labels.${args.swarm.nodeLabel}==true`] },
                        resources: args.memoryMb
                            ? { limits: { memoryBytes: args.memoryMb * 1024 * 1024 } }
                            : undefined,
                        restartPolicy: { condition: "any", delay: "2s" },
                    },
                    mode: { replicated: { replicas: 1 } },
                    // Never two at once: the old task stops before the new one starts.
                    updateConfig: {
                        parallelism: 1,
                        order: "stop-first",
                        failureAction: "rollback",
                    },
                    rollbackConfig: { parallelism: 1, order: "stop-first" },
                    convergeConfig: { delay: "2s", timeout: "5m" },
                    endpointSpec: { mode: "dnsrr" },
                },
                { parent: this, protect },
            );
            this.volumeName = pulumi.output(args.volumeName);
        }
        this.containerName = ready.name;
        this.endpoint = {
            host: args.alias,
            port,
            name: args.dbName,
            schema: args.schema,
            user: args.user,
            password: pulumi.secret(args.password),
            client: args.client,
            readyAfter: [ready],
        };
        this.hostEndpoint = pulumi.output(
            args.swarm === undefined ? `${bindAddress}:${hostPort}` : undefined,
        );
        this.registerOutputs({
            imageRef: this.imageRef,
            volumeName: this.volumeName,
            containerName: this.containerName,
            hostEndpoint: this.hostEndpoint,
        });
    }
}

/** Long enough for the start period plus every retry, so `wait` fails only on a real failure. */
export function waitTimeoutSeconds(hc: HealthcheckArgs): number {
    return (
        Math.ceil(
            durationSeconds(hc.startPeriod) +
                hc.retries * (durationSeconds(hc.interval) + durationSeconds(hc.timeout)),
        ) + 30
    );
}

/** Every bad argument, each with its own message, before anything is declared. */
function checkArgs(name: string, args: PostgresDatabaseArgs): void {
    const errors: string[] = [];
    for (const [field, port] of [
        ["port", args.port],
        ["hostPort", args.hostPort],
    ] as const) {
        if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
            errors.push(`${field} must be 1-65535, got ${port}`);
        }
    }
    if (!fs.existsSync(path.join(args.buildContext, "Dockerfile"))) {
        errors.push(`buildContext ${JSON.stringify(args.buildContext)} has no Dockerfile`);
    }
    for (const field of ["interval", "timeout", "startPeriod"] as const) {
        if (!DURATION_PATTERN.test(args.healthcheck[field])) {
            errors.push(
                `healthcheck.${field} must be a duration like 1s, got ${JSON.stringify(args.healthcheck[field])}`,
            );
        }
    }
    if (!Number.isInteger(args.healthcheck.retries) || args.healthcheck.retries < 1) {
        errors.push(`healthcheck.retries must be at least 1, got ${args.healthcheck.retries}`);
    }
    for (const field of ["dbName", "schema"] as const) {
        if (args[field] === "") {
            errors.push(`${field} must not be empty`);
        }
    }
    if (errors.length > 0) {
        throw new Error(`PostgresDatabase ${name}: ${errors.join("; ")}`);
    }
}
