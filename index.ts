/**
 * The stack: validated config in, components wired together, outputs out. Nothing else lives here;
 * see `config/` for the schema and `components/` for what each piece declares.
 *
 * The config is read and checked when the module loads, so a bad stack config stops the program
 * before it declares anything. The declarations are an async function, which Pulumi awaits and
 * whose result is the stack outputs, so that it can give the runtime a turn between services (see
 * `runtimeTurn` below).
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import {
    DatabaseEndpoint,
    EdgeProxy,
    EdgeProxyRoute,
    externalDatabase,
    Microservice,
    PostgresDatabase,
    RegistryImages,
    ServiceNetwork,
    ServiceSpec,
    SwarmService,
} from "./components";
import { healthcheckTest, serviceEnv } from "./config/env";
import { type ServiceConfig, swarmSchema } from "./config/schema";
import {
    containerName,
    dbRepository,
    networkName,
    serviceRepository,
    stackLabels,
} from "./config/naming";
import { loadStackConfig } from "./config/pulumiConfig";
import { projectRoot } from "./config/projectRoot";
import { hostEndpoint } from "./lib/endpoint";
import { ownValue } from "./lib/ownKey";
import { keepPromiseTracesUnformatted } from "./lib/stackTraces";

// Before anything is declared: the SDK's per-promise traces are not source-mapped (lib/stackTraces.ts).
keepPromiseTracesUnformatted();

const { cfg, dbPassword, registryPassword, secretEnv, dockerHost } = loadStackConfig();
for (const key of cfg.secretKeys) {
    // Pulumi marks a structured key secret as a whole: it cannot say which value in it is.
    void pulumi.log.warn(
        `msa:${key} holds a secret (a value set with --secret --path): its env values, command arguments and user names are passed on as secrets; names, images, tags and ports cannot be secret and are used as plain text`,
    );
}

/** Config keys Pulumi holds as secrets: what can carry a secret in them is passed on as one. */
const secretIf = (
    key: "registry" | "database" | "services",
    value: string,
): pulumi.Input<string> => (cfg.secretKeys.has(key) ? pulumi.secret(value) : value);

export = async () => {
    const registry = cfg.registry;
    /** Registry credentials, for pulls (the provider) and pushes (built images). */
    const push = registry && {
        server: registry.server,
        username: secretIf("registry", registry.username),
        password: registryPassword,
    };
    const provider = new docker.Provider(
        "docker",
        {
            host: dockerHost,
            registryAuth: push && [
                { address: push.server, username: push.username, password: push.password },
            ],
        },
        // Stacks deployed before v2 created it inside the GitlabRegistry component.
        {
            aliases: [
                {
                    name: "gitlab-provider",
                    parent: pulumi.createUrn("gitlab", "msa:registry:GitlabRegistry"),
                },
            ],
        },
    );
    const opts = { providers: [provider] };

    const swarm = cfg.runtime === "swarm" ? (cfg.swarm ?? swarmSchema.parse({})) : undefined;
    /** With the edge proxy (on one host, or in swarm host mode) it owns the TCP host ports. */
    const proxied = cfg.proxy !== undefined && swarm?.publish !== "ingress";
    const network = new ServiceNetwork(
        "network",
        {
            networkName: networkName(cfg),
            labels: stackLabels(cfg, "network"),
            overlay: swarm !== undefined,
        },
        opts,
    );

    const db = cfg.database;
    const dbUser = secretIf("database", db.user);
    const postgres =
        db.mode === "container"
            ? new PostgresDatabase(
                  "database",
                  {
                      buildContext: fromRoot(db.image.context),
                      imageRepository: dbRepository(cfg, db.image.name),
                      imageTag: db.image.tag,
                      baseImage: db.image.base,
                      push: db.image.push ? push : undefined,
                      networkName: network.networkName,
                      alias: db.alias,
                      containerName: db.containerName,
                      volumeName: db.volumeName,
                      port: db.port,
                      hostPort: db.hostPort,
                      bindAddress: db.bindAddress,
                      dbName: db.name,
                      schema: db.schema,
                      user: dbUser,
                      password: dbPassword,
                      timezone: cfg.timezone,
                      healthcheck: db.healthcheck,
                      protect: cfg.protect,
                      memoryMb: db.memoryMb,
                      labels: stackLabels(cfg, "database"),
                      client: db.client,
                      swarm: swarm && { nodeLabel: swarm.dbNodeLabel },
                  },
                  opts,
              )
            : undefined;
    const endpoint: DatabaseEndpoint =
        postgres?.endpoint ??
        externalDatabase({
            host: db.mode === "external" ? db.host : db.alias,
            port: db.port,
            name: db.name,
            schema: db.schema,
            user: dbUser,
            password: dbPassword,
            client: db.client,
        });

    const pulled = Object.entries(cfg.services).filter(([, svc]) => svc.build === undefined);
    // One component for every service's registry image, not one each (docs/bench.md).
    const images =
        pulled.length > 0
            ? new RegistryImages(
                  "images",
                  {
                      images: Object.fromEntries(
                          pulled.map(([key, svc]) => [
                              key,
                              {
                                  repository: serviceRepository(cfg, key),
                                  tag: svc.tag ?? "",
                                  // Declared by the service itself before: same pulled image.
                                  formerOwner: pulumi.createUrn(
                                      key,
                                      swarm ? SwarmService.TYPE : Microservice.TYPE,
                                  ),
                              },
                          ]),
                      ),
                  },
                  opts,
              ).refs
            : {};

    const routes: EdgeProxyRoute[] = [];
    const services: [string, Microservice | SwarmService][] = [];
    for (const [key, svc] of Object.entries(cfg.services)) {
        await runtimeTurn();
        const secretServices = cfg.secretKeys.has("services");
        const plainEnv = serviceEnv(cfg, key);
        const spec: ServiceSpec = {
            image: svc.build
                ? {
                      repository: serviceRepository(cfg, key),
                      tag: svc.tag,
                      build: { ...svc.build, context: fromRoot(svc.build.context) },
                      push: svc.build.push ? push : undefined,
                  }
                : // Every service without a build is among `pulled`.
                  { ref: images[key] as pulumi.Output<string> },
            networkName: network.networkName,
            alias: key,
            database: endpoint,
            timezone: cfg.timezone,
            env: secretServices ? {} : plainEnv,
            secretEnv: {
                ...(secretServices ? plainEnv : {}),
                ...Object.fromEntries(
                    (ownValue(cfg.secretEnvNames, key) ?? []).map((name) => [
                        name,
                        secretEnv.apply((all) => ownValue(ownValue(all, key) ?? {}, name) ?? ""),
                    ]),
                ),
            },
            // With the edge proxy, it owns the TCP host ports: the service publishes only UDP.
            ports: proxied ? svc.ports.filter((p) => p.protocol === "udp") : svc.ports,
            healthcheck: svc.healthcheck && {
                ...svc.healthcheck,
                test: healthcheckTest(svc) ?? [],
            },
            stopGraceSeconds: svc.stopGraceSeconds,
            command: svc.command?.map((arg) => secretIf("services", arg)),
            memoryMb: svc.memoryMb,
            labels: stackLabels(cfg, `service:${key}`),
        };
        const service = swarm
            ? new SwarmService(
                  key,
                  {
                      ...spec,
                      replicas: svc.replicas,
                      endpointMode: swarm.publish === "ingress" ? "vip" : "dnsrr",
                  },
                  opts,
              )
            : new Microservice(
                  key,
                  { ...spec, containerName: containerName(cfg, key), restart: svc.restart },
                  opts,
              );
        services.push([key, service]);
        if (proxied) {
            routes.push(...proxyRoutes(key, svc));
        }
    }
    const proxy =
        cfg.proxy && proxied && routes.length > 0
            ? new EdgeProxy(
                  "proxy",
                  {
                      image: splitTag(cfg.proxy.image),
                      networkName: network.networkName,
                      routes,
                      memoryMb: cfg.proxy.memoryMb,
                      labels: stackLabels(cfg, "proxy"),
                      swarm: swarm !== undefined,
                  },
                  opts,
              )
            : undefined;

    return {
        dockerNetwork: network.networkName,
        database: {
            mode: db.mode,
            host: endpoint.host,
            port: endpoint.port,
            hostEndpoint: postgres?.hostEndpoint,
        },
        endpoints: Object.fromEntries(
            services.map(([key, s]) => [
                key,
                pulumi
                    .output(s.endpoints)
                    .apply((own) => [
                        ...routes
                            .filter((r) => r.alias === key)
                            .map((r) => hostEndpoint(r.bindAddress, r.hostPort)),
                        ...own,
                    ]),
            ]),
        ),
        ...(proxy ? { proxy: proxy.containerName } : {}),
        images: {
            ...(postgres ? { database: postgres.imageRef } : {}),
            ...Object.fromEntries(services.map(([key, s]) => [key, s.imageRef])),
        },
        connectionString: pulumi.secret(
            pulumi.interpolate`postgresql://${pulumi.output(dbUser).apply(encodeURIComponent)}:${dbPassword.apply(encodeURIComponent)}@${endpoint.host}:${endpoint.port}/${encodeURIComponent(db.name)}?currentSchema=${encodeURIComponent(db.schema)}`,
        ),
    };
};

/** The TCP host ports of a service, routed by the edge proxy to its alias (stacks with a proxy). */
function proxyRoutes(key: string, svc: ServiceConfig): EdgeProxyRoute[] {
    return svc.ports
        .filter((p) => p.host !== undefined && p.protocol === "tcp")
        .map((p) => ({
            hostPort: p.host as number,
            bindAddress: p.bindAddress,
            alias: key,
            port: p.container,
            mode: svc.healthcheck?.http !== undefined ? "http" : "tcp",
            healthPath: svc.healthcheck?.http,
            // Every replica, and as many new ones during a release.
            servers: Math.max(4, 2 * (svc.replicas ?? 1) + 1),
        }));
}

/** `haproxy:3.0.6` → repository and tag (the schema guarantees a tag). */
function splitTag(image: string): { repository: string; tag: string } {
    const colon = image.lastIndexOf(":");
    return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
}

/** A folder of the project, relative to where `pulumi` runs (the provider reads it from there). */
function fromRoot(folder: string): string {
    return path.relative(process.cwd(), path.join(projectRoot(), folder)) || ".";
}

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
