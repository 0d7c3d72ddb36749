/**
 * The bench's yardstick: a flat program that declares the same Docker resources as `index.ts`
 * (provider, network, DB image, volume and container, and per service a RemoteImage and a
 * Container with the same env, ports, network and labels) with no components, no config
 * validation and no digest lookups. It trusts the stack config as given. Never deployed.
 *
 * Like `index.ts`, it is an async function that gives the runtime a turn before each service, so
 * the ratio between the two is what components, validation and lookups cost, not how the
 * declarations are paced.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

interface FlatService {
    image: string;
    tag: string;
    ports?: { container: number; host?: number; bindAddress?: string; protocol?: string }[];
    env?: Record<string, string | number | boolean>;
    links?: string[];
    restart?: string;
    memoryMb?: number;
}

const config = new pulumi.Config("msa");
const stack = pulumi.getStack();
const server = config.get("registryServer") ?? "registry.gitlab.com";
const namespace = config.require("registryNamespace");
const project = config.require("registryProject");
const prefix = config.get("namePrefix") ?? `msa-${stack}`;
const environment = config.get("environment") ?? stack;
const dbHost = config.get("dbHost") ?? "database";
const dbPort = config.getNumber("dbPort") ?? 5432;
const dbName = config.require("dbName");
const dbUser = config.get("dbUser") ?? "postgres";
const dbPassword = config.requireSecret("dbPassword");
const timezone = config.get("timezone") ?? "UTC";
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

const labels = (component: string) =>
    [
        { label: "msa.component", value: component },
        { label: "msa.environment", value: environment },
        { label: "msa.project", value: "msa" },
        { label: "msa.stack", value: stack },
    ].sort((a, b) => a.label.localeCompare(b.label));

export = async () => {
    const provider = new docker.Provider("gitlab-provider", {
        registryAuth: [
            {
                address: server,
                username: config.require("registryUsername"),
                password: config.requireSecret("registryPassword"),
            },
        ],
    });
    const network = new docker.Network(
        "network-network",
        { name: `${prefix}-net`, driver: "bridge", labels: labels("network") },
        { provider },
    );
    const dbImage = new docker.Image(
        "database-image",
        {
            imageName: `${server}/${namespace}/${project}/db:latest`,
            build: {
                context: "docker/db",
                dockerfile: "docker/db/Dockerfile",
                args: { BASE_IMAGE: "postgres:14", TZ: timezone },
            },
            registry: {
                server,
                username: config.require("registryUsername"),
                password: dbPassword,
            },
        },
        { provider },
    );
    const volume = new docker.Volume(
        "database-volume",
        { name: `${prefix}-db-data`, driver: "local", labels: labels("database") },
        { provider },
    );
    const db = new docker.Container(
        "database-container",
        {
            name: `${prefix}-db`,
            image: dbImage.repoDigest,
            envs: [
                `POSTGRES_USER=${dbUser}`,
                pulumi.interpolate`POSTGRES_PASSWORD=${dbPassword}`,
                `POSTGRES_DB=${dbName}`,
                `PGPORT=${dbPort}`,
                `TZ=${timezone}`,
            ],
            volumes: [{ volumeName: volume.name, containerPath: "/var/lib/postgresql/data" }],
            networksAdvanced: [{ name: network.name, aliases: [dbHost] }],
            restart: "unless-stopped",
            labels: labels("database"),
        },
        { provider },
    );

    const envPrefix = (key: string) => key.toUpperCase().replace(/[^A-Z0-9]+/g, "_");

    const endpoints: Record<string, string[]> = {};
    for (const [key, svc] of Object.entries(services)) {
        await new Promise((resolve) => setImmediate(resolve));
        const ports = svc.ports ?? [];
        const env: string[] = [
            `DB_HOST=${dbHost}`,
            `DB_PORT=${dbPort}`,
            `DB_NAME=${dbName}`,
            `DB_USER=${dbUser}`,
            `TZ=${timezone}`,
            `NODENAME=${key}`,
        ];
        for (const link of svc.links ?? []) {
            const port = services[link]?.ports?.[0]?.container ?? 80;
            env.push(
                `${envPrefix(link)}_HOST=${link}`,
                `${envPrefix(link)}_PORT=${port}`,
                `${envPrefix(link)}_URL=http://${link}:${port}`,
            );
        }
        for (const [name, value] of Object.entries(svc.env ?? {})) {
            env.push(`${name}=${String(value)}`);
        }
        const image = new docker.RemoteImage(
            `${key}-image`,
            {
                name: `${server}/${namespace}/${project}/${svc.image}:${svc.tag}`,
                keepLocally: true,
            },
            { provider },
        );
        new docker.Container(
            `${key}-container`,
            {
                name: `${prefix}-${key.toLowerCase()}`,
                image: image.name,
                envs: [
                    ...env,
                    pulumi.interpolate`DB_PASSWORD=${dbPassword}`,
                    ...(secretEnvNames[key] ?? []).map(
                        (name) =>
                            pulumi.interpolate`${name}=${secretEnv.apply((all) => all[key]?.[name] ?? "")}`,
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
                networksAdvanced: [{ name: network.name, aliases: [key] }],
                restart: svc.restart ?? "always",
                memory: svc.memoryMb,
                labels: labels(key),
            },
            { provider, dependsOn: [db] },
        );
        endpoints[key] = ports
            .filter((p) => p.host !== undefined)
            .map((p) => `http://localhost:${p.host}`);
    }
    return { endpoints, dockerNetwork: network.name };
};
