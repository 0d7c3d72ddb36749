import * as docker from "@pulumi/docker";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { toLabels, withRelease } from "./labels";
import { RegistryImage } from "./registryImage";

/** Where the proxy's configuration is written inside its container (the official image's path). */
export const HAPROXY_CONFIG = "/usr/local/etc/haproxy/haproxy.cfg";
/** How many addresses of one alias the proxy follows at once: the old and new container, and room. */
const SERVERS_PER_ROUTE = 4;

export interface EdgeProxyRoute {
    /** Host port the proxy publishes; it never moves during a release. */
    hostPort: number;
    /** Host address it binds. Default `0.0.0.0`; with `swarm`, only that (host mode binds them all). */
    bindAddress?: string;
    /** The service's network alias and container port the proxy forwards to. */
    alias: string;
    port: number;
    /**
     * `http`: requests are retried on another container when one fails mid-release, and the
     * proxy checks `healthPath`. `tcp`: connections are retried; the check is a TCP connect.
     */
    mode: "http" | "tcp";
    /** Path the proxy checks (http mode). Default `/`. */
    healthPath?: string;
    /** Addresses of the alias followed at once (replicas, old and new). Default 4. */
    servers?: number;
}

export interface EdgeProxyArgs {
    /** Image with `haproxy` on the PATH: the official `haproxy:<version>` in production. */
    image: { repository: pulumi.Input<string>; tag: pulumi.Input<string> };
    networkName: pulumi.Input<string>;
    routes: EdgeProxyRoute[];
    /** Default: named by the engine. Not with `swarm` (a service runs the proxy, not a container). */
    containerName?: pulumi.Input<string>;
    labels?: pulumi.Input<Record<string, string>>;
    memoryMb?: number;
    /**
     * Run as a global swarm service (one proxy per node) publishing its ports in host mode, for
     * clusters without the ingress routing mesh. Default: a container on the Docker host.
     */
    swarm?: boolean;
}

/**
 * The edge proxy (HAProxy): owns the stack's published host ports and forwards each to a service's
 * network alias, re-resolving Docker's DNS every second and health-checking every address. During
 * a release the alias resolves to the old and the new container; the proxy sends traffic only to
 * those that pass its check and retries a failed request on another one, so the host port never
 * moves and a caller never sees the switch. The Docker provider comes from the caller.
 */
export class EdgeProxy extends pulumi.ComponentResource {
    public readonly containerName: pulumi.Output<string>;
    /** The proxy's configuration, as written into the container. */
    public readonly config: string;

    constructor(name: string, args: EdgeProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        checkArgs(name, args);
        super("msa:proxy:EdgeProxy", name, {}, opts);
        this.config = haproxyConfig(args.routes);
        const image = new RegistryImage(name, args.image, { parent: this });
        const ports = args.routes.map((r) => ({
            hostPort: r.hostPort,
            bindAddress: r.bindAddress,
        }));
        const labels = toLabels(withRelease(args.labels, "delete-first: owns the host ports"));
        const proxy = args.swarm
            ? swarmProxy(this, name, args, image.ref, this.config, labels)
            : new docker.Container(
                  `${name}-container`,
                  {
                      name: args.containerName,
                      image: image.ref,
                      command: ["haproxy", "-W", "-db", "-f", HAPROXY_CONFIG],
                      uploads: [{ file: HAPROXY_CONFIG, content: this.config }],
                      ports: ports.map((p) => ({
                          internal: p.hostPort,
                          external: p.hostPort,
                          ip: p.bindAddress ?? "0.0.0.0",
                          protocol: "tcp",
                      })),
                      networksAdvanced: [{ name: args.networkName }],
                      restart: "always",
                      memory: args.memoryMb,
                      // Its host ports are fixed: a new proxy can only start once the old one is
                      // gone. It is replaced only when the routes change, never by a release.
                      labels,
                  },
                  { parent: this },
              );
        this.containerName = proxy.name;
        this.registerOutputs({ containerName: this.containerName });
    }
}

/**
 * The proxy on every node of a swarm, its ports published on each node's own interfaces (host
 * mode needs no routing mesh). Its configuration is a swarm config, named after its content since
 * a config cannot change.
 */
function swarmProxy(
    parent: EdgeProxy,
    name: string,
    args: EdgeProxyArgs,
    image: pulumi.Input<string>,
    config: string,
    labels: pulumi.Input<docker.types.input.ServiceLabel[]>,
): docker.Service {
    const hash = crypto.createHash("sha256").update(config).digest("hex").slice(0, 12);
    const file = new docker.ServiceConfig(
        `${name}-config`,
        { name: `${name}-haproxy-${hash}`, data: Buffer.from(config).toString("base64") },
        { parent },
    );
    return new docker.Service(
        `${name}-service`,
        {
            taskSpec: {
                containerSpec: {
                    image,
                    commands: ["haproxy", "-W", "-db", "-f", HAPROXY_CONFIG],
                    configs: [
                        { configId: file.id, configName: file.name, fileName: HAPROXY_CONFIG },
                    ],
                    labels,
                },
                networksAdvanceds: [{ name: args.networkName }],
                resources: args.memoryMb
                    ? { limits: { memoryBytes: args.memoryMb * 1024 * 1024 } }
                    : undefined,
                restartPolicy: { condition: "any", delay: "2s" },
            },
            mode: { global: true },
            // Host ports are taken on each node: the old task stops before the new one starts.
            updateConfig: { parallelism: 1, order: "stop-first" },
            endpointSpec: {
                mode: "dnsrr",
                ports: args.routes.map((r) => ({
                    targetPort: r.hostPort,
                    publishedPort: r.hostPort,
                    protocol: "tcp",
                    publishMode: "host",
                })),
            },
            labels,
        },
        { parent },
    );
}

/**
 * One frontend and backend per route. The backend follows every address the alias resolves to
 * (`server-template`), starts with none (`init-addr none`: the proxy starts before the services
 * resolve) and marks an address up only once it passes the check.
 */
export function haproxyConfig(routes: EdgeProxyRoute[]): string {
    const lines = [
        "# Written by the msa stack (components/edgeProxy.ts); changes here are overwritten.",
        "global",
        "    log stdout format raw local0 info",
        "",
        "defaults",
        "    log global",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout check 1s",
        "    retries 3",
        "    option redispatch 1",
        "",
        "resolvers docker",
        "    nameserver dns 127.0.0.11:53",
        "    resolve_retries 3",
        "    timeout resolve 500ms",
        "    timeout retry 500ms",
        "    hold valid 1s",
        "    hold obsolete 1s",
        "    hold nx 1s",
        "    accepted_payload_size 8192",
    ];
    const used = new Set<string>();
    for (const r of routes) {
        const id = sectionName(r, used);
        lines.push(
            "",
            `frontend ${id}`,
            // Inside the container; the host address is Docker's port mapping.
            `    bind :${r.hostPort}`,
            `    mode ${r.mode}`,
            `    default_backend ${id}`,
            "",
            `backend ${id}`,
            `    mode ${r.mode}`,
            "    balance roundrobin",
            ...(r.mode === "http"
                ? [
                      `    option httpchk GET ${r.healthPath ?? "/"}`,
                      "    http-check expect status 200-399",
                      "    retry-on conn-failure empty-response response-timeout 502 503 504",
                  ]
                : []),
            "    default-server check inter 500ms fall 1 rise 1 resolvers docker init-addr none resolve-prefer ipv4",
            `    server-template ${id}_ ${r.servers ?? SERVERS_PER_ROUTE} ${r.alias}:${r.port}`,
        );
    }
    return `${lines.join("\n")}\n`;
}

/**
 * `<alias>_<port>`, unique among the sections: HAProxy refuses two frontends (or backends) of one
 * name, which two routes to one alias and port (on two host ports), or aliases that differ only
 * in a character HAProxy does not take (`a-b`, `a_b`), would otherwise give.
 */
function sectionName(r: EdgeProxyRoute, used: Set<string>): string {
    const base = `${r.alias.replace(/[^A-Za-z0-9_]/g, "_")}_${r.port}`;
    let id = base;
    for (let n = 1; used.has(id); n++) {
        id = n === 1 ? `${base}_${r.hostPort}` : `${base}_${r.hostPort}_${n}`;
    }
    used.add(id);
    return id;
}

function checkArgs(name: string, args: EdgeProxyArgs): void {
    const { routes } = args;
    const errors: string[] = [];
    const seen = new Set<string>();
    if (args.swarm === true && args.containerName !== undefined) {
        errors.push("containerName means nothing with swarm: a swarm service runs the proxy");
    }
    routes.forEach((r, i) => {
        for (const [field, port] of [
            ["hostPort", r.hostPort],
            ["port", r.port],
        ] as const) {
            if (!Number.isInteger(port) || port < 1 || port > 65535) {
                errors.push(`routes[${i}].${field} must be 1-65535, got ${port}`);
            }
        }
        if (seen.has(String(r.hostPort))) {
            errors.push(`routes[${i}].hostPort ${r.hostPort} is published twice`);
        }
        seen.add(String(r.hostPort));
        if (args.swarm === true && r.bindAddress !== undefined && r.bindAddress !== "0.0.0.0") {
            errors.push(
                `routes[${i}].bindAddress ${r.bindAddress} means nothing with swarm: host mode publishes on every address of a node`,
            );
        }
        if (r.healthPath !== undefined && !/^\/[^\s]*$/.test(r.healthPath)) {
            errors.push(
                `routes[${i}].healthPath must be a path starting with /, got ${JSON.stringify(r.healthPath)}`,
            );
        }
    });
    if (routes.length === 0) {
        errors.push("routes must not be empty: a proxy with nothing to route publishes nothing");
    }
    if (errors.length > 0) {
        throw new Error(`EdgeProxy ${name}: ${errors.join("; ")}`);
    }
}
