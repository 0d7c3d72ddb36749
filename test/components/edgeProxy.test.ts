/**
 * `EdgeProxy` on its own, with plain `pulumi.runtime.setMocks`: the HAProxy configuration it
 * generates, the container or swarm service that runs it, the outputs it registers, and one exact
 * message per bad route.
 */
import * as pulumi from "@pulumi/pulumi";
import { optionsRecorder, registeredOutputs, value } from "./harness";
import * as crypto from "crypto";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}
const created: Registered[] = [];
const { options, recordOptions } = optionsRecorder();
void pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            created.push({ type: args.type, name: args.name, inputs: args.inputs });
            return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => ({ ...args.inputs, sha256Digest: "sha256:feed" }),
    },
    "msa",
    "test",
    false,
);

import { EdgeProxy, EdgeProxyArgs, EdgeProxyRoute, haproxyConfig } from "../../components";

/** The one resource declared with `name`, once its registration has been answered. */
async function declared(res: pulumi.Resource, name: string): Promise<Registered> {
    await value(res.urn);
    await registeredOutputs(res);
    const found = created.filter((r) => r.name === name);
    expect(found).toHaveLength(1);
    return found[0] as Registered;
}

const HTTP: EdgeProxyRoute = {
    hostPort: 8080,
    alias: "orders-api.v2",
    port: 3000,
    mode: "http",
    healthPath: "/health/live?full=1",
};
const TCP: EdgeProxyRoute = {
    hostPort: 5433,
    bindAddress: "127.0.0.1",
    alias: "pg",
    port: 5432,
    mode: "tcp",
    servers: 2,
};
/** http with every default: health path `/`, 4 servers. */
const WEB: EdgeProxyRoute = { hostPort: 80, alias: "web", port: 8081, mode: "http" };

const HEAD = `# Written by the msa stack (components/edgeProxy.ts); changes here are overwritten.
global
    log stdout format raw local0 info

defaults
    log global
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 1s
    retries 3
    option redispatch 1

resolvers docker
    nameserver dns 127.0.0.11:53
    resolve_retries 3
    timeout resolve 500ms
    timeout retry 500ms
    hold valid 1s
    hold obsolete 1s
    hold nx 1s
    accepted_payload_size 8192
`;
const HTTP_SECTION = `
frontend orders_api_v2_3000
    bind :8080
    mode http
    default_backend orders_api_v2_3000

backend orders_api_v2_3000
    mode http
    balance roundrobin
    option httpchk GET /health/live?full=1
    http-check expect status 200-399
    retry-on conn-failure empty-response response-timeout 502 503 504
    default-server check inter 500ms fall 1 rise 1 resolvers docker init-addr none resolve-prefer ipv4
    server-template orders_api_v2_3000_ 4 orders-api.v2:3000
`;
const TCP_SECTION = `
frontend pg_5432
    bind :5433
    mode tcp
    default_backend pg_5432

backend pg_5432
    mode tcp
    balance roundrobin
    default-server check inter 500ms fall 1 rise 1 resolvers docker init-addr none resolve-prefer ipv4
    server-template pg_5432_ 2 pg:5432
`;
const WEB_SECTION = `
frontend web_8081
    bind :80
    mode http
    default_backend web_8081

backend web_8081
    mode http
    balance roundrobin
    option httpchk GET /
    http-check expect status 200-399
    retry-on conn-failure empty-response response-timeout 502 503 504
    default-server check inter 500ms fall 1 rise 1 resolvers docker init-addr none resolve-prefer ipv4
    server-template web_8081_ 4 web:8081
`;

function args(over: Partial<EdgeProxyArgs> = {}): EdgeProxyArgs {
    return {
        image: { repository: "haproxy", tag: "2.9" },
        networkName: "net",
        routes: [HTTP, TCP],
        ...over,
    };
}

beforeEach(() => {
    created.length = 0;
});

describe("haproxyConfig", () => {
    test("an http route: checked on its health path, failed requests retried elsewhere", () => {
        expect(haproxyConfig([HTTP])).toBe(HEAD + HTTP_SECTION);
    });

    test("a tcp route: a TCP connect check, as many servers as asked", () => {
        expect(haproxyConfig([TCP])).toBe(HEAD + TCP_SECTION);
    });

    test("an http route with defaults: checks / and follows 4 addresses", () => {
        expect(haproxyConfig([WEB])).toBe(HEAD + WEB_SECTION);
    });

    test("section names stay unique: one alias and port on two host ports, aliases a-b and a_b", () => {
        const routes: EdgeProxyRoute[] = [
            { hostPort: 8080, alias: "a-b", port: 80, mode: "tcp" },
            { hostPort: 8081, alias: "a-b", port: 80, mode: "tcp" },
            { hostPort: 8082, alias: "a_b", port: 80, mode: "tcp" },
            // Its first choice is the second route's name.
            { hostPort: 8083, alias: "a_b_80", port: 8081, mode: "tcp" },
            // A host port given twice (EdgeProxy refuses it; the config alone still names it apart).
            { hostPort: 8081, alias: "a_b", port: 80, mode: "tcp" },
        ];
        const config = haproxyConfig(routes);
        const sections = config.split("\n").filter((l) => /^(frontend|backend) /.test(l));
        expect(sections).toEqual([
            "frontend a_b_80",
            "backend a_b_80",
            "frontend a_b_80_8081",
            "backend a_b_80_8081",
            "frontend a_b_80_8082",
            "backend a_b_80_8082",
            "frontend a_b_80_8081_8083",
            "backend a_b_80_8081_8083",
            "frontend a_b_80_8081_2",
            "backend a_b_80_8081_2",
        ]);
        // Each backend still follows its own alias.
        expect(config.split("\n").filter((l) => l.includes("server-template"))).toEqual([
            "    server-template a_b_80_ 4 a-b:80",
            "    server-template a_b_80_8081_ 4 a-b:80",
            "    server-template a_b_80_8082_ 4 a_b:80",
            "    server-template a_b_80_8081_8083_ 4 a_b_80:8081",
            "    server-template a_b_80_8081_2_ 4 a_b:80",
        ]);
    });

    test("one frontend and backend per route, in the routes' order", () => {
        expect(haproxyConfig([TCP, WEB, HTTP])).toBe(
            HEAD + TCP_SECTION + WEB_SECTION + HTTP_SECTION,
        );
    });
});

describe("EdgeProxy", () => {
    test("runs HAProxy in a container with its config uploaded and the routes' host ports", async () => {
        const proxy = new EdgeProxy(
            "edge",
            args({
                containerName: "edge-proxy",
                labels: { "msa.stack": "dev" },
                memoryMb: 64,
            }),
            recordOptions,
        );
        expect(proxy.config).toBe(HEAD + HTTP_SECTION + TCP_SECTION);
        const container = await declared(proxy, "edge-container");
        expect(created.map((r) => `${r.type} ${r.name}`)).toEqual([
            "msa:proxy:EdgeProxy edge",
            "msa:registry:RegistryImage edge",
            "docker:index/remoteImage:RemoteImage edge-image",
            "docker:index/container:Container edge-container",
        ]);
        expect(container.inputs).toEqual({
            name: "edge-proxy",
            image: "haproxy:2.9@sha256:feed",
            command: ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"],
            uploads: [
                {
                    file: "/usr/local/etc/haproxy/haproxy.cfg",
                    content: HEAD + HTTP_SECTION + TCP_SECTION,
                },
            ],
            ports: [
                { internal: 8080, external: 8080, ip: "0.0.0.0", protocol: "tcp" },
                { internal: 5433, external: 5433, ip: "127.0.0.1", protocol: "tcp" },
            ],
            networksAdvanced: [{ name: "net" }],
            restart: "always",
            memory: 64,
            labels: [
                { label: "msa.release", value: "delete-first: owns the host ports" },
                { label: "msa.stack", value: "dev" },
            ],
        });
        expect(options["edge-container"]?.parent).toBe(proxy);
        expect(await value(proxy.containerName)).toBe("edge-proxy");
        expect(await registeredOutputs(proxy)).toEqual({ containerName: "edge-proxy" });
    });

    test("without labels or memory, the container carries the release label and no limit", async () => {
        const proxy = new EdgeProxy("plain", args({ routes: [WEB] }));
        const container = await declared(proxy, "plain-container");
        expect(container.inputs.labels).toEqual([
            { label: "msa.release", value: "delete-first: owns the host ports" },
        ]);
        expect(container.inputs).not.toHaveProperty("memory");
        expect(container.inputs.ports).toEqual([
            { internal: 80, external: 80, ip: "0.0.0.0", protocol: "tcp" },
        ]);
    });

    test("in a swarm: a global service publishing in host mode, its config named by content", async () => {
        const proxy = new EdgeProxy(
            "swarm",
            args({
                swarm: true,
                memoryMb: 64,
                labels: { "msa.stack": "prod" },
                routes: [HTTP, { ...TCP, bindAddress: undefined }],
            }),
            recordOptions,
        );
        const config = HEAD + HTTP_SECTION + TCP_SECTION;
        const hash = crypto.createHash("sha256").update(config).digest("hex").slice(0, 12);
        expect(hash).toMatch(/^[0-9a-f]{12}$/);
        const service = await declared(proxy, "swarm-service");
        // The image registers once its digest is resolved: the order is not the declaration's.
        expect(created.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
            "docker:index/remoteImage:RemoteImage swarm-image",
            "docker:index/service:Service swarm-service",
            "docker:index/serviceConfig:ServiceConfig swarm-config",
            "msa:proxy:EdgeProxy swarm",
            "msa:registry:RegistryImage swarm",
        ]);
        expect(created.find((r) => r.name === "swarm-config")?.inputs).toEqual({
            name: `swarm-haproxy-${hash}`,
            data: Buffer.from(config).toString("base64"),
        });
        const labels = [
            { label: "msa.release", value: "delete-first: owns the host ports" },
            { label: "msa.stack", value: "prod" },
        ];
        expect(service.inputs).toEqual({
            taskSpec: {
                containerSpec: {
                    image: "haproxy:2.9@sha256:feed",
                    commands: ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"],
                    configs: [
                        {
                            configId: "swarm-config-id",
                            configName: `swarm-haproxy-${hash}`,
                            fileName: "/usr/local/etc/haproxy/haproxy.cfg",
                        },
                    ],
                    labels,
                },
                networksAdvanceds: [{ name: "net" }],
                resources: { limits: { memoryBytes: 64 * 1024 * 1024 } },
                restartPolicy: { condition: "any", delay: "2s" },
            },
            mode: { global: true },
            updateConfig: { parallelism: 1, order: "stop-first" },
            endpointSpec: {
                mode: "dnsrr",
                ports: [
                    { targetPort: 8080, publishedPort: 8080, protocol: "tcp", publishMode: "host" },
                    { targetPort: 5433, publishedPort: 5433, protocol: "tcp", publishMode: "host" },
                ],
            },
            labels,
        });
        expect(options["swarm-config"]?.parent).toBe(proxy);
        expect(options["swarm-service"]?.parent).toBe(proxy);
    });

    test("in a swarm without memoryMb, the service has no resource limits", async () => {
        const proxy = new EdgeProxy("swarm-free", args({ swarm: true, routes: [WEB] }));
        const service = await declared(proxy, "swarm-free-service");
        expect(service.inputs.taskSpec).not.toHaveProperty("resources");
        expect(created.find((r) => r.name === "swarm-free-config")?.inputs.data).toBe(
            Buffer.from(HEAD + WEB_SECTION).toString("base64"),
        );
    });

    test("accepts the ports at both ends of the range", async () => {
        const proxy = new EdgeProxy(
            "edges",
            args({ routes: [{ hostPort: 1, alias: "a", port: 65535, mode: "tcp" }] }),
        );
        const container = await declared(proxy, "edges-container");
        expect(container.inputs.ports).toEqual([
            { internal: 1, external: 1, ip: "0.0.0.0", protocol: "tcp" },
        ]);
        const other = new EdgeProxy(
            "edges2",
            args({ routes: [{ hostPort: 65535, alias: "a", port: 1, mode: "tcp" }] }),
        );
        expect(other.config).toContain("    server-template a_1_ 4 a:1\n");
    });

    test.each<[string, EdgeProxyRoute[], string]>([
        [
            "a host port out of range",
            [{ ...TCP, hostPort: 0 }],
            "EdgeProxy bad: routes[0].hostPort must be 1-65535, got 0",
        ],
        [
            "a target port out of range",
            [{ ...TCP, port: 65536 }],
            "EdgeProxy bad: routes[0].port must be 1-65535, got 65536",
        ],
        [
            "a port that is not an integer",
            [{ ...TCP, port: 5432.5 }],
            "EdgeProxy bad: routes[0].port must be 1-65535, got 5432.5",
        ],
        [
            "a host port published twice",
            [HTTP, { ...TCP, hostPort: 8080 }],
            "EdgeProxy bad: routes[1].hostPort 8080 is published twice",
        ],
        [
            "a health path that does not start with /",
            [{ ...HTTP, healthPath: "health/live" }],
            'EdgeProxy bad: routes[0].healthPath must be a path starting with /, got "health/live"',
        ],
        [
            "a health path with a space",
            [{ ...HTTP, healthPath: "/health live" }],
            'EdgeProxy bad: routes[0].healthPath must be a path starting with /, got "/health live"',
        ],
        [
            "no routes",
            [],
            "EdgeProxy bad: routes must not be empty: a proxy with nothing to route publishes nothing",
        ],
        [
            "several bad routes (every problem at once)",
            [
                { ...HTTP, hostPort: 70000, healthPath: "" },
                { ...TCP, port: 0 },
            ],
            "EdgeProxy bad: routes[0].hostPort must be 1-65535, got 70000; " +
                'routes[0].healthPath must be a path starting with /, got ""; ' +
                "routes[1].port must be 1-65535, got 0",
        ],
    ])("refuses %s before declaring anything", (_what, routes, message) => {
        expect(() => new EdgeProxy("bad", args({ routes }))).toThrow(new Error(message));
        expect(created.filter((r) => r.name.startsWith("bad"))).toEqual([]);
    });

    test.each<[string, Partial<EdgeProxyArgs>, string]>([
        [
            "a container name for the swarm's proxy",
            { swarm: true, containerName: "edge", routes: [HTTP] },
            "EdgeProxy bad: containerName means nothing with swarm: a swarm service runs the proxy",
        ],
        [
            "a route bound to one address in a swarm",
            { swarm: true, routes: [HTTP, { ...TCP, bindAddress: "127.0.0.1" }] },
            "EdgeProxy bad: routes[1].bindAddress 127.0.0.1 means nothing with swarm: host mode publishes on every address of a node",
        ],
    ])("refuses %s before declaring anything", (_what, over, message) => {
        expect(() => new EdgeProxy("bad", args(over))).toThrow(new Error(message));
        expect(created.filter((r) => r.name.startsWith("bad"))).toEqual([]);
    });

    test("a swarm route bound to 0.0.0.0, every address, is what host mode does", () => {
        const routes = [{ ...TCP, bindAddress: "0.0.0.0" }];
        expect(() => new EdgeProxy("any", args({ swarm: true, routes }))).not.toThrow();
    });
});
