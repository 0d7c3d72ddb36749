/**
 * The stack: validated config in, components wired together, outputs out. Nothing else lives here;
 * see `config/` for the schema and `components/` for what each piece declares.
 *
 * The config is read and checked when the module loads, so a bad stack config stops the program
 * before it declares anything. The declarations are an async function, which Pulumi awaits and
 * whose result is the stack outputs, so that it can give the runtime a turn between services (see
 * `runtimeTurn` below).
 */
import * as pulumi from "@pulumi/pulumi";
import { GitlabRegistry, Microservice, PostgresDatabase, ServiceNetwork } from "./components";
import {
    containerName,
    dbContainerName,
    dbRepository,
    dbVolumeName,
    networkName,
    serviceRepository,
    stackLabels,
} from "./config/naming";
import { plainServiceEnv, DB_PASSWORD_ENV } from "./config/env";
import { loadStackConfig } from "./config/pulumiConfig";

const { cfg, dbPassword, registryPassword, secretEnv, dockerHost } = loadStackConfig();

export = async () => {
    const registry = new GitlabRegistry("gitlab", {
        server: cfg.registryServer,
        namespace: cfg.registryNamespace,
        project: cfg.registryProject,
        username: cfg.registryUsername,
        password: registryPassword,
        dockerHost,
    });

    const network = new ServiceNetwork("network", {
        networkName: networkName(cfg),
        labels: stackLabels(cfg, "network"),
        provider: registry.provider,
    });

    const db =
        cfg.dbMode === "container"
            ? new PostgresDatabase("database", {
                  registry,
                  imageRepository: dbRepository(cfg),
                  imageTag: cfg.dbImageTag,
                  baseImage: cfg.dbBaseImage,
                  push: cfg.dbPushImage,
                  networkName: network.networkName,
                  alias: cfg.dbHost,
                  containerName: dbContainerName(cfg),
                  volumeName: dbVolumeName(cfg),
                  port: cfg.dbPort,
                  hostPort: cfg.dbHostPort,
                  bindAddress: cfg.dbBindAddress,
                  dbName: cfg.dbName,
                  schema: cfg.dbSchema,
                  user: cfg.dbUser,
                  password: dbPassword,
                  timezone: cfg.timezone,
                  healthcheck: cfg.dbHealthcheck,
                  protect: cfg.protect,
                  memoryMb: cfg.dbMemoryMb,
                  labels: stackLabels(cfg, "database"),
              })
            : undefined;

    const services: [string, Microservice][] = [];
    for (const [key, svc] of Object.entries(cfg.services)) {
        await runtimeTurn();
        const secretNames = cfg.secretEnvNames[key] ?? [];
        const service = new Microservice(key, {
            registry,
            repository: serviceRepository(cfg, key),
            tag: svc.tag,
            containerName: containerName(cfg, key),
            networkName: network.networkName,
            alias: key,
            env: plainServiceEnv(cfg, key),
            secretEnv: {
                [DB_PASSWORD_ENV]: dbPassword,
                ...Object.fromEntries(
                    secretNames.map((name) => [
                        name,
                        secretEnv.apply((all) => all[key]?.[name] ?? ""),
                    ]),
                ),
            },
            ports: svc.ports,
            restart: svc.restart,
            command: svc.command,
            memoryMb: svc.memoryMb,
            labels: stackLabels(cfg, key),
            dependsOn: db ? [db.container] : [],
        });
        services.push([key, service]);
    }

    return {
        dockerNetwork: network.networkName,
        database: {
            mode: cfg.dbMode,
            host: cfg.dbHost,
            port: cfg.dbPort,
            hostEndpoint: db?.hostEndpoint,
        },
        endpoints: Object.fromEntries(services.map(([key, s]) => [key, s.endpoints])),
        images: {
            ...(db ? { database: db.imageRef } : {}),
            ...Object.fromEntries(services.map(([key, s]) => [key, s.imageRef])),
        },
        connectionString: pulumi.secret(
            pulumi.interpolate`postgresql://${encodeURIComponent(cfg.dbUser)}:${dbPassword.apply(encodeURIComponent)}@${cfg.dbHost}:${cfg.dbPort}/${encodeURIComponent(cfg.dbName)}?currentSchema=${encodeURIComponent(cfg.dbSchema)}`,
        ),
    };
};

/**
 * Gives the Pulumi runtime a turn to take in the engine's answers to what has been declared so far.
 * Until a registration is answered, the SDK holds an Output and four tracked promises for each
 * property of the resource (a `docker.Container` has about 70). Declared all in one go, 500
 * services held all of them at once: 640 MB at the peak, more than the flat program that declares
 * the same resources. One service at a time it stays under 300 MB and is faster. Nothing waits for
 * a resource to be created: `setImmediate` only lets answers that have already arrived be handled.
 */
function runtimeTurn(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
}
