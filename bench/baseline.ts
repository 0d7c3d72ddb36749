/**
 * The bench's yardstick: a flat program that declares the same Docker resources as `index.ts` with
 * the same env (names and values), ports, network, labels, healthcheck and dependencies, but no
 * components, no config validation and no digest lookups: provider, network, DB image, volume and
 * container, and per service a `RemoteImage` (by tag) and a `Container`. It reads the same nested
 * config (`msa:registry`, `msa:database`, `msa:services`, …) and trusts it as given, with the
 * schema's defaults written out here. Never deployed. `test/bench/baseline.test.ts` keeps its
 * resource types, counts and container env in step with the program's.
 *
 * Where it knowingly differs from the program: the DB image tag is the configured one (or
 * `latest`), not derived from the build context's content; a service's image is pulled by tag, not
 * pinned by a looked-up digest.
 *
 * Like `index.ts`, it is an async function that gives the runtime a turn before each service, and
 * it leaves the SDK's per-promise stack traces unformatted (`lib/stackTraces.ts`), so the ratio
 * between the two is what components, validation and lookups cost, not how the declarations are
 * paced or what stack traces cost (docs/bench.md, "The baseline").
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ownValue as own } from "../lib/ownKey";
import { keepPromiseTracesUnformatted } from "../lib/stackTraces";

// As index.ts does: the SDK's per-promise traces are not source-mapped.
keepPromiseTracesUnformatted();

interface FlatRegistry {
    server?: string;
    namespace: string;
    project: string;
    username: string;
}

/** Container mode only: the bench's configs never use an external database. */
interface FlatDatabase {
    alias?: string;
    port?: number;
    hostPort?: number;
    bindAddress?: string;
    name: string;
    schema?: string;
    user?: string;
    containerName?: string;
    volumeName?: string;
    memoryMb?: number;
    client?: { kind?: string; dialect?: string; driverClassName?: string; type?: string };
    healthcheck?: { interval?: string; timeout?: string; retries?: number; startPeriod?: string };
    image?: { name?: string; context?: string; tag?: string; base?: string };
}

interface FlatService {
    image?: string;
    tag?: string;
    nodeName?: string;
    containerName?: string;
    namespace?: string;
    project?: string;
    ports?: { container: number; host?: number; bindAddress?: string; protocol?: string }[];
    env?: Record<string, string | number | boolean>;
    links?: string[];
    restart?: string;
    memoryMb?: number;
    stopGraceSeconds?: number;
}

const PGDATA = "/var/lib/postgresql/data";

const config = new pulumi.Config("msa");
const stack = pulumi.getStack();
const registry = config.requireObject<FlatRegistry>("registry");
const server = registry.server ?? "registry.gitlab.com";
const database = config.requireObject<FlatDatabase>("database");
const environment = config.get("environment") ?? stack;
const production = config.getBoolean("production") ?? true;
const prefix = config.get("namePrefix") ?? `msa-${environment}`;
const timezone = config.get("timezone") ?? "UTC";
const dbAlias = database.alias ?? "database";
const dbPort = database.port ?? 5432;
const dbSchema = database.schema ?? "public";
const dbUser = database.user ?? "postgres";
const client = {
    kind: "postgresql",
    dialect: "org.hibernate.dialect.PostgreSQLDialect",
    driverClassName: "org.postgresql.Driver",
    type: "postgresql_table",
    ...database.client,
};
const healthcheck = { interval: "1s", timeout: "3s", retries: 5, startPeriod: "60s" };
Object.assign(healthcheck, database.healthcheck);
const dbImage = { name: "db", context: "docker/db", tag: "latest", base: "postgres:14" };
Object.assign(dbImage, database.image);
const dbPassword = config.requireSecret("dbPassword");
const registryPassword = config.requireSecret("registryPassword");
const services = config.getObject<Record<string, FlatService>>("services") ?? {};
const secretEnv =
    config.getSecretObject<Record<string, Record<string, string>>>("secretEnv") ??
    pulumi.secret<Record<string, Record<string, string>>>({});
/** Secret env names per service, read (names only) from the raw config as the program does. */
const secretEnvNames = Object.fromEntries(
    Object.entries(
        JSON.parse(pulumi.runtime.allConfig()["msa:secretEnv"] ?? "{}") as Record<string, object>,
    ).map(([svc, vars]) => [svc, Object.keys(vars)]),
);

/** The stack's labels; a container's also say how a release replaces it. */
const labels = (component: string, release?: string) =>
    [
        { label: "msa.component", value: component },
        { label: "msa.environment", value: environment },
        ...(production ? [] : [{ label: "msa.production", value: "false" }]),
        { label: "msa.project", value: "msa" },
        ...(release === undefined ? [] : [{ label: "msa.release", value: release }]),
        { label: "msa.stack", value: stack },
    ].sort((a, b) => a.label.localeCompare(b.label));

const envPrefix = (key: string) => key.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1] ?? 0);

export = async () => {
    const provider = new docker.Provider("docker", {
        registryAuth: [
            { address: server, username: registry.username, password: registryPassword },
        ],
    });
    const network = new docker.Network(
        "network-network",
        { name: `${prefix}-net`, driver: "bridge", labels: labels("network") },
        { provider },
    );
    const image = new docker.Image(
        "database-image",
        {
            imageName: `${server}/${registry.namespace}/${registry.project}/${dbImage.name}:${dbImage.tag}`,
            build: {
                context: dbImage.context,
                dockerfile: `${dbImage.context}/Dockerfile`,
                args: { BASE_IMAGE: dbImage.base, TZ: timezone },
            },
            skipPush: false,
            registry: { server, username: registry.username, password: registryPassword },
        },
        { provider },
    );
    const volume = new docker.Volume(
        "database-volume",
        {
            name: database.volumeName ?? `msa-${stack.toLowerCase()}-db-data`,
            driver: "local",
            labels: labels("database"),
        },
        { provider, retainOnDelete: true, ignoreChanges: ["labels"] },
    );
    const db = new docker.Container(
        "database-container",
        {
            name: database.containerName ?? `${prefix}-db`,
            image: image.repoDigest,
            envs: [
                `POSTGRES_USER=${dbUser}`,
                pulumi.interpolate`POSTGRES_PASSWORD=${dbPassword}`,
                `POSTGRES_DB=${database.name}`,
                `DB_NAME=${database.name}`,
                `DB_SCHEMA_NAME=${dbSchema}`,
                `PGPORT=${dbPort}`,
                `PGDATA=${PGDATA}`,
                `TZ=${timezone}`,
                `PGUSER=${dbUser}`,
                `PGDATABASE=${database.name}`,
            ],
            volumes: [{ volumeName: volume.name, containerPath: PGDATA }],
            ports: [
                {
                    internal: dbPort,
                    external: database.hostPort ?? dbPort,
                    ip: database.bindAddress ?? "127.0.0.1",
                    protocol: "tcp",
                },
            ],
            networksAdvanced: [{ name: network.name, aliases: [dbAlias] }],
            healthcheck: {
                tests: ["CMD", "pg_isready", "-h", "127.0.0.1", "-p", String(dbPort)],
                ...healthcheck,
            },
            wait: true,
            waitTimeout:
                seconds(healthcheck.startPeriod) +
                healthcheck.retries *
                    (seconds(healthcheck.interval) + seconds(healthcheck.timeout)) +
                30,
            restart: "unless-stopped",
            memory: database.memoryMb,
            labels: labels("database", "delete-first: database restart (one data directory)"),
        },
        { provider },
    );

    const endpoints: Record<string, string[]> = {};
    for (const [key, svc] of Object.entries(services)) {
        await new Promise((resolve) => setImmediate(resolve));
        const published = (svc.ports ?? []).filter((p) => p.host !== undefined);
        const env: string[] = [
            `DB_HOST=${dbAlias}`,
            `DB_PORT=${dbPort}`,
            `DB_NAME=${database.name}`,
            `DB_SCHEMA_NAME=${dbSchema}`,
            `DB_USER=${dbUser}`,
            `TZ=${timezone}`,
            `DB_KIND=${client.kind}`,
            `DB_DIALECT=${client.dialect}`,
            `DB_DRIVER_CLASS_NAME=${client.driverClassName}`,
            `DB_TYPE=${client.type}`,
            `NODENAME=${svc.nodeName ?? key}`,
        ];
        for (const link of svc.links ?? []) {
            const port = own(services, link)?.ports?.[0]?.container;
            env.push(
                `${envPrefix(link)}_HOST=${link}`,
                `${envPrefix(link)}_PORT=${port}`,
                `${envPrefix(link)}_URL=http://${link}:${port}`,
            );
        }
        for (const [name, value] of Object.entries(svc.env ?? {})) {
            env.push(`${name}=${String(value)}`);
        }
        const repository = `${server}/${svc.namespace ?? registry.namespace}/${svc.project ?? registry.project}/${svc.image ?? key.toLowerCase().replace(/_/g, "-")}`;
        const remote = new docker.RemoteImage(
            `${key}-image`,
            { name: `${repository}:${svc.tag}`, keepLocally: true },
            { provider },
        );
        const first = published[0];
        const release =
            svc.containerName !== undefined
                ? "delete-first: fixed container name"
                : first !== undefined
                  ? `delete-first: publishes host port ${first.host}/${first.protocol ?? "tcp"} itself`
                  : "create-first";
        new docker.Container(
            `${key}-container`,
            {
                name: svc.containerName,
                image: remote.name,
                envs: [
                    ...env,
                    pulumi.interpolate`DB_PASSWORD=${dbPassword}`,
                    ...(own(secretEnvNames, key) ?? []).map(
                        (name) =>
                            pulumi.interpolate`${name}=${secretEnv.apply((all) => own(own(all, key) ?? {}, name) ?? "")}`,
                    ),
                ],
                ports: published.map((p) => ({
                    internal: p.container,
                    external: p.host,
                    ip: p.bindAddress ?? "0.0.0.0",
                    protocol: p.protocol ?? "tcp",
                })),
                networksAdvanced: [{ name: network.name, aliases: [key] }],
                restart: svc.restart ?? "always",
                memory: svc.memoryMb,
                labels: labels(key, release),
                wait: false,
                destroyGraceSeconds: svc.stopGraceSeconds ?? 10,
            },
            {
                provider,
                dependsOn: [db],
                deleteBeforeReplace: release === "create-first" ? false : undefined,
            },
        );
        endpoints[key] = published.map(
            (p) =>
                `http://${(p.bindAddress ?? "0.0.0.0") === "0.0.0.0" ? "localhost" : p.bindAddress}:${p.host}`,
        );
    }
    return { endpoints, dockerNetwork: network.name };
};
