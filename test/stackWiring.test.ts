/**
 * How `index.ts` wires config into components, seen in what it declares: the one Docker provider
 * (its registry credentials and the alias that keeps pre-v2 stacks from replacing it), the
 * warnings for secret config keys, the component labels, the proxy routes and build contexts.
 *
 * Each test captures the stack itself: mutation testing runs only the tests that executed the code
 * it mutates, and a capture in a `beforeAll` belongs to no test.
 */
import Module from "module";
import { captureStack, isSecretValue } from "../capture";
import { byName, CONTAINER, NETWORK, PROVIDER, REGISTRY, stackConfig, VOLUME } from "./helpers";

/**
 * Node's own `require`: the capture evaluates the program through it (capture/index.ts), so what
 * the program calls (`pulumi.log`, the mock monitor) is that module system's copy, not Jest's.
 */
function nodeRequire<T>(id: string): T {
    const NodeModule = Module as unknown as {
        new (id: string): Module;
        _nodeModulePaths(dir: string): string[];
    };
    const owner = new NodeModule(__filename);
    owner.filename = __filename;
    owner.paths = NodeModule._nodeModulePaths(__dirname);
    return owner.require(id) as T;
}

interface AliasSpec {
    name: string;
    type: string;
    stack: string;
    project: string;
    parenturn: string;
}

/**
 * The alias specs each resource was registered with, by name, as the mock monitor received them.
 */
async function aliasSpecs(
    options: Parameters<typeof captureStack>[0],
): Promise<Map<string, AliasSpec[]>> {
    const { MockMonitor } = nodeRequire<{
        MockMonitor: { prototype: { registerResource(req: RegisterRequest): unknown } };
    }>("@pulumi/pulumi/runtime/mocks");
    const register = jest.spyOn(MockMonitor.prototype, "registerResource");
    try {
        await captureStack(options);
        const specs = new Map<string, AliasSpec[]>();
        for (const [req] of register.mock.calls) {
            const own = req.getAliasesList().map((a) => a.getSpec()?.toObject());
            specs.set(
                req.getName(),
                own.filter((a): a is AliasSpec => a !== undefined),
            );
        }
        return specs;
    } finally {
        register.mockRestore();
    }
}

/** The URN an alias with a parent names, as the engine derives it (type chain of the parent). */
function urnOfAlias(alias: AliasSpec, name: string): string {
    const parent = /^urn:pulumi:([^:]+)::([^:]+)::(.+)::[^:]+$/.exec(alias.parenturn);
    if (parent === null) {
        throw new Error(`not a parent URN: ${alias.parenturn}`);
    }
    const [, stack, project, types] = parent;
    return `urn:pulumi:${stack}::${project}::${types}$docker:index/remoteImage:RemoteImage::${alias.name || name}`;
}

/** A protobuf message of the resource monitor's protocol, as far as these tests read it. */
interface RegisterRequest {
    getName(): string;
    getAliasesList(): { getSpec(): { toObject(): AliasSpec } | undefined }[];
}

const secure = { secure: "v1:AAAA" };

describe("the Docker provider", () => {
    test("carries the registry credentials, and every resource and lookup goes through it", async () => {
        const c = await captureStack({
            stack: "dev",
            secrets: { "msa:registryPassword": "glpat-token" },
        });
        const providers = c.resources.filter((r) => r.type === PROVIDER);
        expect(providers.map((r) => r.name)).toEqual(["docker"]);
        const auth = providers[0]?.inputs.registryAuth as { value: string };
        expect(JSON.parse(auth.value)).toEqual([
            {
                address: "registry.gitlab.com",
                username: "gitlab-deploy-token",
                password: "glpat-token",
            },
        ]);
        const custom = c.resources.filter((r) => r.custom && r.type !== PROVIDER);
        expect(custom.length).toBeGreaterThan(0);
        expect(custom.filter((r) => r.provider !== "docker").map((r) => r.name)).toEqual([]);
        expect(c.invokes.length).toBeGreaterThan(0);
        expect(c.invokes.filter((i) => i.provider !== "docker")).toEqual([]);
    });

    test("keeps the URN it had inside the pre-v2 GitlabRegistry component, so it is not replaced", async () => {
        const aliases = await aliasSpecs({ stack: "dev" });
        expect(aliases.get("docker")).toEqual([
            {
                name: "gitlab-provider",
                type: "",
                stack: "",
                project: "",
                parenturn: "urn:pulumi:dev::msa::msa:registry:GitlabRegistry::gitlab",
            },
        ]);
    });
});

describe("the services' registry images: one component for all of them", () => {
    test("each image is pulled under `images`, whose inputs are every repository and tag", async () => {
        const c = await captureStack({ stack: "dev" });
        const images = c.resources.filter((r) => r.type === "msa:registry:RegistryImages");
        expect(images.map((r) => [r.name, r.parent, r.inputs])).toEqual([
            [
                "images",
                null,
                {
                    images: {
                        SERVICE_B: {
                            repository: "registry.gitlab.com/my-group/msa/service-b",
                            tag: "latest",
                        },
                        SERVICE_D: {
                            repository: "registry.gitlab.com/my-group/msa/service-d",
                            tag: "latest",
                        },
                    },
                },
            ],
        ]);
        for (const key of ["SERVICE_B", "SERVICE_D"]) {
            const pulled = byName(c, `${key}-image`);
            expect(pulled.parent).toBe("images");
            expect(byName(c, `${key}-container`).inputs.image).toBe(pulled.inputs.name);
        }
        // The services no longer hold a registry image of their own (the proxy still does).
        expect(
            c.resources.filter((r) => r.type === "msa:registry:RegistryImage").map((r) => r.name),
        ).toEqual(["proxy"]);
    });

    // The URNs the images had when each service declared its own RegistryImage, as earlier
    // versions of the program registered them: an alias to each, so an upgrade replaces nothing.
    test.each([
        ["dev", "msa:service:Microservice"],
        ["staging", "msa:swarm:SwarmService"],
    ])("on %s, each pulled image keeps the URN it had under its %s", async (stack, owner) => {
        const aliases = await aliasSpecs({ stack });
        for (const key of ["SERVICE_B", "SERVICE_D"]) {
            expect(aliases.get(`${key}-image`)?.map((a) => urnOfAlias(a, `${key}-image`))).toEqual([
                `urn:pulumi:${stack}::msa::${owner}$msa:registry:RegistryImage$docker:index/remoteImage:RemoteImage::${key}-image`,
                `urn:pulumi:${stack}::msa::${owner}$docker:index/remoteImage:RemoteImage::${key}-image`,
            ]);
        }
    });

    test("a stack whose services are all built here declares no `images` component", async () => {
        const config = stackConfig("dev");
        config["msa:services"] = {
            api: {
                build: { context: ".", dockerfile: "docker/example-service/Dockerfile" },
                tag: "1.0.0",
            },
        };
        const c = await captureStack({ stack: "dev", config });
        expect(c.resources.map((r) => r.type)).not.toContain("msa:registry:RegistryImages");
        expect(byName(c, "api-image").type).toBe("docker:index/image:Image");
        expect(c.invokes.map((i) => i.args.name)).not.toContain(
            "registry.gitlab.com/my-group/msa/api:1.0.0",
        );
    });
});

describe("secret config keys", () => {
    const warningsOf = async (config: Record<string, unknown>): Promise<string[]> => {
        const log = nodeRequire<{ warn(msg: string): Promise<void> }>("@pulumi/pulumi/log");
        // Recorded, not printed: the test output stays readable.
        const warn = jest.spyOn(log, "warn").mockResolvedValue();
        try {
            await captureStack({ stack: "dev", config });
            return warn.mock.calls.map(([msg]) => msg).filter((msg) => msg.startsWith("msa:"));
        } finally {
            warn.mockRestore();
        }
    };
    const holdsASecret = (key: string) =>
        `msa:${key} holds a secret (a value set with --secret --path): its env values, command arguments and user names are passed on as secrets; names, images, tags and ports cannot be secret and are used as plain text`;

    test("each structured key that holds a secret gets a warning saying what stays plain", async () => {
        const config = stackConfig("dev");
        (config["msa:registry"] as Record<string, unknown>).username = secure;
        const services = config["msa:services"] as Record<string, Record<string, unknown>>;
        services.SERVICE_B = { ...services.SERVICE_B, env: { FEATURE_FLAGS: secure } };
        expect(await warningsOf(config)).toEqual([
            holdsASecret("registry"),
            holdsASecret("services"),
        ]);
    });

    test("a stack without secrets in its structured keys gets no such warning", async () => {
        expect(await warningsOf(stackConfig("dev"))).toEqual([]);
    });
});

describe("component labels", () => {
    test("every resource names the component it belongs to", async () => {
        const c = await captureStack({ stack: "dev" });
        const component = (name: string) =>
            (byName(c, name).inputs.labels as { label: string; value: string }[]).find(
                (l) => l.label === "msa.component",
            )?.value;
        expect(
            Object.fromEntries(
                c.resources
                    .filter((r) => [CONTAINER, VOLUME, NETWORK].includes(r.type))
                    .map((r) => [r.name, component(r.name)]),
            ),
        ).toEqual({
            "network-network": "network",
            "database-volume": "database",
            "database-container": "database",
            "SERVICE_B-container": "service:SERVICE_B",
            "SERVICE_D-container": "service:SERVICE_D",
            "proxy-container": "proxy",
        });
        expect(byName(c, "network-network").inputs.labels).toEqual([
            { label: "msa.component", value: "network" },
            { label: "msa.environment", value: "dev" },
            { label: "msa.production", value: "false" },
            { label: "msa.project", value: "msa" },
            { label: "msa.stack", value: "dev" },
        ]);
    });
});

describe("proxy routes", () => {
    const withServices = (services: Record<string, unknown>) => ({
        ...stackConfig("dev"),
        "msa:services": services,
    });
    const proxyConfig = (c: Awaited<ReturnType<typeof captureStack>>) =>
        (byName(c, "proxy-container").inputs.uploads as { content: string }[])[0]?.content ?? "";

    test("only TCP ports with a host port are routed; a service without an http check in tcp mode", async () => {
        const c = await captureStack({
            stack: "dev",
            config: withServices({
                cache: {
                    image: "cache",
                    tag: "7.2.4",
                    ports: [
                        { container: 6379, host: 16379, bindAddress: "127.0.0.1" },
                        // Reached on the stack's network only: nothing to publish.
                        { container: 6380 },
                    ],
                },
            }),
        });
        expect(byName(c, "proxy-container").inputs.ports).toEqual([
            { internal: 16379, external: 16379, ip: "127.0.0.1", protocol: "tcp" },
        ]);
        const config = proxyConfig(c);
        expect(config).toContain("backend cache_6379\n    mode tcp\n    balance roundrobin\n");
        expect(config).not.toContain("mode http");
        expect(config).not.toContain("httpchk");
        expect(config).not.toContain("6380");
        expect(byName(c, "cache-container").inputs.ports).toEqual([]);
    });

    test("the proxy image reference is split at its last colon: a registry port stays in the name", async () => {
        const config = stackConfig("dev");
        config["msa:proxy"] = { image: "registry.example.com:5000/edge/haproxy:3.0.6" };
        const c = await captureStack({ stack: "dev", config, hooks: REGISTRY, preview: false });
        const lookups = c.invokes
            .filter((i) => i.token === "docker:index/getRegistryImage:getRegistryImage")
            .map((i) => i.args.name);
        expect(lookups).toContain("registry.example.com:5000/edge/haproxy:3.0.6");
        expect(byName(c, "proxy-image").inputs.name).toMatch(
            /^registry\.example\.com:5000\/edge\/haproxy:3\.0\.6@sha256:[0-9a-f]{64}$/,
        );
    });
});

describe("paths inside the official images", () => {
    test("the database keeps its data in the image's PGDATA; the proxy's config is where HAProxy reads it", async () => {
        const c = await captureStack({ stack: "dev", config: stackConfig("dev") });
        const db = byName(c, "database-container").inputs;
        expect(db.envs).toContain("PGDATA=/var/lib/postgresql/data");
        expect(db.volumes).toEqual([
            expect.objectContaining({ containerPath: "/var/lib/postgresql/data" }),
        ]);
        const proxy = byName(c, "proxy-container").inputs;
        expect(proxy.command).toEqual([
            "haproxy",
            "-W",
            "-db",
            "-f",
            "/usr/local/etc/haproxy/haproxy.cfg",
        ]);
        expect(proxy.uploads).toEqual([
            expect.objectContaining({ file: "/usr/local/etc/haproxy/haproxy.cfg" }),
        ]);
    });
});

describe("builds and secret env", () => {
    test("a service built with the whole project as its context gets the build context '.'", async () => {
        const config = stackConfig("dev");
        config["msa:services"] = {
            api: {
                build: {
                    context: ".",
                    dockerfile: "docker/example-service/Dockerfile",
                    push: false,
                },
                tag: "1.0.0",
            },
        };
        const c = await captureStack({ stack: "dev", config });
        expect(byName(c, "api-image").inputs.build).toEqual({
            context: ".",
            dockerfile: "docker/example-service/Dockerfile",
            args: {},
        });
    });

    test("a secret env entry left empty in the stack file is set, empty, in the container", async () => {
        const c = await captureStack({
            stack: "dev",
            secrets: {
                "msa:secretEnv": { SERVICE_B: { API_TOKEN: "tok-123", OPTIONAL_KEY: null } },
            },
        });
        const envs = byName(c, "SERVICE_B-container").inputs.envs as unknown[];
        expect(envs.filter(isSecretValue).map((e) => e.value)).toEqual([
            "DB_PASSWORD=placeholder-msa-dbPassword",
            "API_TOKEN=tok-123",
            "OPTIONAL_KEY=",
        ]);
    });
});

describe("service names that Object.prototype also has", () => {
    test("each service gets its own links and secret env, and nothing from the prototype", async () => {
        const c = await captureStack({
            stack: "dev",
            config: {
                ...stackConfig("dev"),
                "msa:services": {
                    constructor: { image: "a", tag: "1", ports: [{ container: 8080 }] },
                    toString: { image: "b", tag: "1", links: ["constructor"] },
                    valueOf: { image: "c", tag: "1" },
                },
            },
            secrets: { "msa:secretEnv": { toString: { valueOf: "v-1" } } },
        });
        const envOf = (name: string): string[] =>
            (byName(c, name).inputs.envs as unknown[]).map((e) =>
                isSecretValue(e) ? `${String(e.value)} (secret)` : String(e),
            );
        expect(envOf("toString-container")).toEqual(
            expect.arrayContaining([
                "CONSTRUCTOR_HOST=constructor",
                "CONSTRUCTOR_PORT=8080",
                "valueOf=v-1 (secret)",
            ]),
        );
        for (const name of ["constructor-container", "valueOf-container"]) {
            expect(envOf(name).filter((e) => e.endsWith("(secret)"))).toEqual([
                "DB_PASSWORD=placeholder-msa-dbPassword (secret)",
            ]);
        }
    });
});
