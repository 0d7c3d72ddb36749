/**
 * The stack: validated config in, components wired together, outputs out. Nothing else lives here;
 * see `config/` for the schema and `components/` for what each piece declares.
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

const services = Object.entries(cfg.services).map(([key, svc]) => {
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
                secretNames.map((name) => [name, secretEnv.apply((all) => all[key]?.[name] ?? "")]),
            ),
        },
        ports: svc.ports,
        restart: svc.restart,
        command: svc.command,
        memoryMb: svc.memoryMb,
        labels: stackLabels(cfg, key),
        dependsOn: db ? [db.container] : [],
    });
    return [key, service] as const;
});

export const dockerNetwork = network.networkName;
export const database = {
    mode: cfg.dbMode,
    host: cfg.dbHost,
    port: cfg.dbPort,
    hostEndpoint: db?.hostEndpoint,
};
export const endpoints = Object.fromEntries(services.map(([key, s]) => [key, s.endpoints]));
export const images = {
    ...(db ? { database: db.imageRef } : {}),
    ...Object.fromEntries(services.map(([key, s]) => [key, s.imageRef])),
};
export const connectionString = pulumi.secret(
    pulumi.interpolate`postgresql://${encodeURIComponent(cfg.dbUser)}:${dbPassword.apply(encodeURIComponent)}@${cfg.dbHost}:${cfg.dbPort}/${encodeURIComponent(cfg.dbName)}?currentSchema=${encodeURIComponent(cfg.dbSchema)}`,
);
