/**
 * The e2e driver: creates what the program declares, with exactly the captured inputs, on a real
 * Docker engine through its API (dockerode), the way the docker provider would. It stands in for
 * `pulumi up` / `pulumi destroy`, which cannot run here (no CLI, no provider plugin).
 *
 * Two answers of the mock provider come from the real world instead of hashes, through the
 * capture's hooks, so the declared references are the real pinned ones:
 * - `getRegistryImage` asks the registry's HTTP API (with the provider's `registryAuth`) for the
 *   digest the tag points at;
 * - a `docker.Image` is built from its context with its build args and pushed with the credentials
 *   in its `registry` input while the program is evaluated, and its `repoDigest` is the digest
 *   the registry answered. The DB container's `image` input is therefore the real pushed digest.
 * Everything else (provider, network, volume, remote images, containers) is created by `deploy`.
 * An input the driver does not know is an error, so nothing declared is silently ignored.
 */
import Docker from "dockerode";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import {
    captureStack,
    type Capture,
    type CapturedResource,
    type MockHooks,
    reveal,
} from "../../capture";
import type { MockCallArgs, MockResourceArgs } from "@pulumi/pulumi/runtime/mocks";
import { durationSeconds } from "../../components/postgresDatabase";
import { projectRoot } from "../../config/stackFiles";

/** The Pulumi wire format's secret marker, as hooks receive inputs before the capture decodes them. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

const T = {
    provider: "pulumi:providers:docker",
    network: "docker:index/network:Network",
    volume: "docker:index/volume:Volume",
    image: "docker:index/image:Image",
    remoteImage: "docker:index/remoteImage:RemoteImage",
    container: "docker:index/container:Container",
    getRegistryImage: "docker:index/getRegistryImage:getRegistryImage",
} as const;

/** Inputs the driver implements, per type; anything else in a capture is rejected. */
const SUPPORTED: Record<string, readonly string[]> = {
    [T.provider]: ["registryAuth", "host"],
    [T.network]: ["name", "driver", "labels"],
    [T.volume]: ["name", "driver", "labels"],
    [T.image]: ["imageName", "build", "skipPush", "registry", "buildOnPreview"],
    [T.remoteImage]: ["name", "pullTriggers", "keepLocally"],
    [T.container]: [
        "name",
        "image",
        "envs",
        "ports",
        "networksAdvanced",
        "restart",
        "healthcheck",
        "wait",
        "waitTimeout",
        "labels",
        "memory",
        "volumes",
        "command",
    ],
};

export interface RegistryAuth {
    address: string;
    username: string;
    password: string;
}

interface Label {
    label: string;
    value: string;
}

/** One resource the driver created, in creation order. */
export interface Created {
    resource: CapturedResource;
    /** Docker's id (container, network), or the name (volume, image). */
    id: string;
    /** When creation finished (for a container with `wait`, when it was seen healthy), in ms. */
    readyAt: number;
}

export interface Deployment {
    capture: Capture;
    created: Created[];
}

export interface DestroyOptions {
    /** Delete protected resources too, as after `pulumi state unprotect --all`. Default false. */
    unprotect?: boolean;
}

export class DriverError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "DriverError";
    }
}

export class DockerDriver {
    /** `docker.Image`s built and pushed while capturing, by logical name. */
    private readonly built = new Map<string, { imageName: string; repoDigest: string }>();

    constructor(
        public readonly docker: Docker,
        private readonly log: (line: string) => void = () => undefined,
    ) {}

    /** Evaluates the program for `stack` with `config`, answering from the real registry and engine. */
    public async capture(stack: string, config: Record<string, unknown>): Promise<Capture> {
        // A hook that throws (a refused push, a registry that rejects the credentials) rejects
        // the capture with that error.
        return captureStack({ stack, config, hooks: this.hooks() });
    }

    /** Creates every custom resource in dependency order. Stops at the first failure. */
    public async deploy(capture: Capture): Promise<Deployment> {
        const deployment: Deployment = { capture, created: [] };
        for (const resource of dependencyOrder(capture.resources)) {
            checkInputs(resource);
            const id = await this.create(resource, deployment);
            deployment.created.push({ resource, id, readyAt: Date.now() });
        }
        return deployment;
    }

    /**
     * Deletes in reverse creation order, as `pulumi destroy` would: refuses (before deleting
     * anything) while a protected resource is part of the stack, and only forgets a resource with
     * `retainOnDelete`, leaving it on the engine.
     */
    public async destroy(deployment: Deployment, opts: DestroyOptions = {}): Promise<void> {
        const protectedUrns = deployment.created
            .filter((c) => c.resource.protect)
            .map((c) => c.resource.urn);
        if (protectedUrns.length > 0 && opts.unprotect !== true) {
            throw new DriverError(
                `refusing to destroy: protected resources ${protectedUrns.join(", ")}; unprotect them first`,
            );
        }
        for (const c of [...deployment.created].reverse()) {
            await this.remove(c);
        }
        deployment.created = [];
    }

    /** Deletes one resource and creates it again from the same inputs (`pulumi up --replace`). */
    public async replace(
        deployment: Deployment,
        name: string,
        opts: DestroyOptions = {},
    ): Promise<void> {
        const index = deployment.created.findIndex((c) => c.resource.name === name);
        const entry = deployment.created[index];
        if (entry === undefined) {
            throw new DriverError(`no resource named ${name} in this deployment`);
        }
        if (entry.resource.protect && opts.unprotect !== true) {
            throw new DriverError(
                `refusing to replace protected resource ${entry.resource.urn}; unprotect it first`,
            );
        }
        await this.remove(entry);
        entry.id = await this.create(entry.resource, deployment);
        entry.readyAt = Date.now();
    }

    /** The digest `reference` (`<server>/<path>:<tag>`) points at in its registry. */
    public async registryDigest(
        reference: string,
        auth: RegistryAuth | undefined,
    ): Promise<string> {
        const ref = parseReference(reference);
        const url = `http://${ref.server}/v2/${ref.path}/manifests/${ref.tag}`;
        const headers: Record<string, string> = { Accept: MANIFEST_TYPES.join(", ") };
        if (auth !== undefined) {
            headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
        }
        const res = await fetch(url, { method: "HEAD", headers });
        if (res.status === 401) {
            throw new DriverError(
                `registry ${ref.server} rejected ${auth === undefined ? "anonymous access" : `the credentials of ${auth.username}`} (HTTP 401) while resolving ${reference}`,
            );
        }
        const digest = res.headers.get("docker-content-digest");
        if (!res.ok || digest === null) {
            throw new DriverError(
                `registry ${ref.server} has no image ${reference} (HTTP ${res.status})`,
            );
        }
        return digest;
    }

    private hooks(): MockHooks {
        const providers = new Map<string, RegistryAuth[]>();
        return {
            newResource: async (args: MockResourceArgs) => {
                const inputs = unwire(args.inputs) as Record<string, unknown>;
                if (args.type === T.provider) {
                    providers.set(args.name, parseRegistryAuth(inputs.registryAuth));
                    return undefined;
                }
                if (args.type !== T.image) {
                    return undefined;
                }
                const built = await this.buildAndPush(args.name, inputs);
                return {
                    id: `${args.name}-id`,
                    // The inputs as received (secrets still wrapped), like the default mock.
                    state: {
                        ...(args.inputs as Record<string, unknown>),
                        repoDigest: built.repoDigest,
                        baseImageName: built.imageName,
                        registryServer: built.imageName.split("/")[0],
                    },
                };
            },
            call: async (args: MockCallArgs) => {
                if (args.token !== T.getRegistryImage) {
                    return undefined;
                }
                const name = String((args.inputs as Record<string, unknown>).name);
                const providerName = (args.provider ?? "").split("::")[3] ?? "";
                const auth = authFor(
                    providers.get(providerName) ?? [],
                    parseReference(name).server,
                );
                const sha256Digest = await this.registryDigest(name, auth);
                return { id: name, name, sha256Digest };
            },
        };
    }

    private async buildAndPush(
        name: string,
        inputs: Record<string, unknown>,
    ): Promise<{ imageName: string; repoDigest: string }> {
        const unsupported = Object.keys(inputs).filter((k) => !SUPPORTED[T.image]?.includes(k));
        if (unsupported.length > 0) {
            throw new DriverError(`image ${name}: unsupported inputs ${unsupported.join(", ")}`);
        }
        const imageName = String(inputs.imageName);
        const build = inputs.build as { context: string; dockerfile?: string; args?: object };
        const context = path.resolve(projectRoot(), build.context);
        const dockerfile = path.relative(
            context,
            path.resolve(projectRoot(), build.dockerfile ?? path.join(build.context, "Dockerfile")),
        );
        this.log(`build ${imageName} from ${build.context}`);
        const stream = await this.docker.buildImage(
            { context, src: listFiles(context) },
            { t: imageName, dockerfile, buildargs: build.args as Record<string, string> },
        );
        await this.follow(stream, `build of ${imageName}`);
        let repoDigest = "";
        if (inputs.skipPush !== true) {
            const registry = inputs.registry as RegistryAuth & { server: string };
            const ref = parseReference(imageName);
            this.log(`push ${imageName} as ${registry.username}`);
            const image = this.docker.getImage(imageName);
            const push = await image.push({
                authconfig: {
                    username: registry.username,
                    password: registry.password,
                    serveraddress: registry.server,
                },
            });
            const events = await this.follow(push, `push of ${imageName} to ${registry.server}`);
            const digest = events
                .map((e) => (e.aux as { Digest?: string } | undefined)?.Digest)
                .find((d) => d !== undefined);
            if (digest === undefined) {
                throw new DriverError(`push of ${imageName} reported no digest`);
            }
            repoDigest = `${ref.server}/${ref.path}@${digest}`;
        }
        this.built.set(name, { imageName, repoDigest });
        return { imageName, repoDigest };
    }

    /** Reads a build/push/pull progress stream; its in-band error becomes a DriverError. */
    private async follow(
        stream: NodeJS.ReadableStream,
        what: string,
    ): Promise<Record<string, unknown>[]> {
        const events = await new Promise<Record<string, unknown>[]>((resolve, reject) => {
            this.docker.modem.followProgress(stream, (err: Error | null, res: unknown[]) =>
                err ? reject(err) : resolve(res as Record<string, unknown>[]),
            );
        }).catch((err: Error) => {
            throw new DriverError(`${what} failed: ${err.message}`);
        });
        const failed = events.find((e) => typeof e.error === "string");
        if (failed !== undefined) {
            throw new DriverError(`${what} failed: ${String(failed.error).trim()}`);
        }
        return events;
    }

    private async create(resource: CapturedResource, deployment: Deployment): Promise<string> {
        const inputs = reveal(resource.inputs) as Record<string, unknown>;
        switch (resource.type) {
            case T.provider:
                if (inputs.host !== undefined) {
                    throw new DriverError(
                        `${resource.name}: the driver talks to the local engine only, got host ${String(inputs.host)}`,
                    );
                }
                return resource.name;
            case T.network: {
                this.log(`create network ${String(inputs.name)}`);
                const network = await this.docker.createNetwork({
                    Name: String(inputs.name),
                    Driver: String(inputs.driver ?? "bridge"),
                    Labels: labels(inputs.labels),
                    CheckDuplicate: true,
                });
                return network.id;
            }
            case T.volume: {
                this.log(`create volume ${String(inputs.name)}`);
                const volume = (await this.docker.createVolume({
                    Name: String(inputs.name),
                    Driver: String(inputs.driver ?? "local"),
                    Labels: labels(inputs.labels),
                })) as unknown as { name?: string; Name?: string };
                return volume.Name ?? volume.name ?? String(inputs.name);
            }
            case T.image: {
                const built = this.built.get(resource.name);
                if (built === undefined) {
                    throw new DriverError(
                        `${resource.name} was not built: capture with DockerDriver.capture()`,
                    );
                }
                return built.imageName;
            }
            case T.remoteImage:
                await this.pull(String(inputs.name), this.providerAuth(resource, deployment));
                return String(inputs.name);
            case T.container:
                return this.createContainer(resource.name, inputs);
            default:
                throw new DriverError(`${resource.urn}: the driver cannot create ${resource.type}`);
        }
    }

    private async remove(c: Created): Promise<void> {
        const { resource } = c;
        if (resource.retainOnDelete) {
            this.log(`retain ${resource.type} ${c.id}`);
            return;
        }
        const inputs = reveal(resource.inputs) as Record<string, unknown>;
        switch (resource.type) {
            case T.container:
                this.log(`remove container ${String(inputs.name)}`);
                await this.docker.getContainer(c.id).remove({ force: true });
                return;
            case T.network:
                this.log(`remove network ${String(inputs.name)}`);
                await this.docker.getNetwork(c.id).remove();
                return;
            case T.volume:
                this.log(`remove volume ${c.id}`);
                await this.docker.getVolume(c.id).remove();
                return;
            case T.remoteImage:
                if (inputs.keepLocally !== true) {
                    await this.docker.getImage(c.id).remove();
                }
                return;
            default:
                // Provider: nothing on the engine. Image: the provider leaves built images in
                // place (and in the registry); so does the driver, which keeps warm runs fast.
                return;
        }
    }

    private providerAuth(resource: CapturedResource, deployment: Deployment): RegistryAuth[] {
        const provider = deployment.capture.resources.find(
            (r) => r.type === T.provider && r.name === resource.provider,
        );
        return provider === undefined
            ? []
            : parseRegistryAuth(reveal(provider.inputs.registryAuth));
    }

    private async pull(reference: string, auths: RegistryAuth[]): Promise<void> {
        const auth = authFor(auths, parseReference(reference).server);
        this.log(`pull ${reference}${auth ? ` as ${auth.username}` : ""}`);
        const stream = await this.docker.pull(reference, {
            authconfig:
                auth === undefined
                    ? undefined
                    : {
                          username: auth.username,
                          password: auth.password,
                          serveraddress: auth.address,
                      },
        });
        await this.follow(stream, `pull of ${reference}`);
    }

    private async createContainer(name: string, inputs: Record<string, unknown>): Promise<string> {
        const spec = containerSpec(inputs);
        this.log(`create container ${spec.name}`);
        const container = await this.docker.createContainer(spec);
        await container.start();
        if (inputs.wait === true) {
            await waitHealthy(container, Number(inputs.waitTimeout ?? 60), spec.name ?? name);
        }
        return container.id;
    }
}

const MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/** `127.0.0.1:5000/a/b:tag[@digest]` → server, path, tag. */
export function parseReference(reference: string): { server: string; path: string; tag: string } {
    const withoutDigest = reference.split("@")[0] ?? reference;
    const slash = withoutDigest.indexOf("/");
    const server = withoutDigest.slice(0, slash);
    const rest = withoutDigest.slice(slash + 1);
    const colon = rest.lastIndexOf(":");
    return colon < 0
        ? { server, path: rest, tag: "latest" }
        : { server, path: rest.slice(0, colon), tag: rest.slice(colon + 1) };
}

/** The Docker Engine API's container spec for the provider's `docker.Container` inputs. */
export function containerSpec(inputs: Record<string, unknown>): Docker.ContainerCreateOptions {
    const ports = (inputs.ports ?? []) as {
        internal: number;
        external?: number;
        ip?: string;
        protocol?: string;
    }[];
    const networks = (inputs.networksAdvanced ?? []) as { name: string; aliases?: string[] }[];
    const volumes = (inputs.volumes ?? []) as { volumeName: string; containerPath: string }[];
    const hc = inputs.healthcheck as
        | {
              tests: string[];
              interval?: string;
              timeout?: string;
              retries?: number;
              startPeriod?: string;
          }
        | undefined;
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of ports) {
        const key = `${p.internal}/${p.protocol ?? "tcp"}`;
        exposed[key] = {};
        bindings[key] = [
            ...(bindings[key] ?? []),
            {
                HostIp: p.ip ?? "0.0.0.0",
                HostPort: p.external === undefined ? "" : String(p.external),
            },
        ];
    }
    const memory = inputs.memory as number | undefined;
    return {
        name: String(inputs.name),
        Image: String(inputs.image),
        Env: (inputs.envs ?? []) as string[],
        Cmd: inputs.command as string[] | undefined,
        Labels: labels(inputs.labels),
        ExposedPorts: exposed,
        Healthcheck:
            hc === undefined
                ? undefined
                : {
                      Test: hc.tests,
                      Interval: nanoseconds(hc.interval),
                      Timeout: nanoseconds(hc.timeout),
                      Retries: hc.retries,
                      StartPeriod: nanoseconds(hc.startPeriod),
                  },
        HostConfig: {
            PortBindings: bindings,
            RestartPolicy: { Name: String(inputs.restart ?? "no") },
            Memory: memory === undefined ? undefined : memory * 1024 * 1024,
            Mounts: volumes.map((v) => ({
                Type: "volume" as const,
                Source: v.volumeName,
                Target: v.containerPath,
            })),
            NetworkMode: networks[0]?.name,
        },
        NetworkingConfig: {
            EndpointsConfig: Object.fromEntries(
                networks.map((n) => [n.name, { Aliases: n.aliases ?? [] }]),
            ),
        },
    };
}

/** Go-style duration (`1s`, `500ms`, `1m30s`) → nanoseconds, as the Engine API wants. */
function nanoseconds(duration: string | undefined): number | undefined {
    return duration === undefined ? undefined : Math.round(durationSeconds(duration) * 1e9);
}

function labels(value: unknown): Record<string, string> {
    return Object.fromEntries(((value ?? []) as Label[]).map((l) => [l.label, l.value]));
}

/** Waits until the container's healthcheck passes, as the provider's `wait: true` does. */
export async function waitHealthy(
    container: Docker.Container,
    timeoutSeconds: number,
    name: string,
): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
        const info = await container.inspect();
        const health = info.State.Health?.Status;
        if (health === "healthy") {
            return;
        }
        if (health === "unhealthy" || !info.State.Running) {
            const last = info.State.Health?.Log?.slice(-1)[0]?.Output?.trim() ?? "";
            throw new DriverError(
                `container ${name} is ${health ?? info.State.Status} (exit code ${info.State.ExitCode}): ${last}`,
            );
        }
        if (Date.now() > deadline) {
            throw new DriverError(`container ${name} not healthy within ${timeoutSeconds} s`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** Custom resources, each after everything it depends on; ties keep the capture's order. */
export function dependencyOrder(resources: CapturedResource[]): CapturedResource[] {
    const custom = resources.filter((r) => r.custom);
    const byUrn = new Map(custom.map((r) => [r.urn, r]));
    const done = new Set<string>();
    const order: CapturedResource[] = [];
    const visit = (r: CapturedResource, trail: string[]): void => {
        if (done.has(r.urn)) {
            return;
        }
        if (trail.includes(r.urn)) {
            throw new DriverError(`dependency cycle: ${[...trail, r.urn].join(" -> ")}`);
        }
        for (const dep of r.dependsOnUrns) {
            const d = byUrn.get(dep);
            if (d !== undefined) {
                visit(d, [...trail, r.urn]);
            }
        }
        // The explicit provider is created before anything that uses it.
        const provider = custom.find((p) => p.type === T.provider && p.name === r.provider);
        if (provider !== undefined) {
            visit(provider, [...trail, r.urn]);
        }
        done.add(r.urn);
        order.push(r);
    };
    custom.forEach((r) => visit(r, []));
    return order;
}

function checkInputs(resource: CapturedResource): void {
    const supported = SUPPORTED[resource.type];
    if (supported === undefined) {
        throw new DriverError(`${resource.urn}: the driver cannot create ${resource.type}`);
    }
    const unknown = Object.keys(resource.inputs).filter((k) => !supported.includes(k));
    if (unknown.length > 0) {
        throw new DriverError(`${resource.urn}: unsupported inputs ${unknown.join(", ")}`);
    }
}

function parseRegistryAuth(value: unknown): RegistryAuth[] {
    if (value === undefined) {
        return [];
    }
    const list = (typeof value === "string" ? JSON.parse(value) : value) as RegistryAuth[];
    return list;
}

function authFor(auths: RegistryAuth[], server: string): RegistryAuth | undefined {
    return auths.find((a) => a.address === server);
}

/** Undoes the wire format's secret wrapping that hooks see (the capture records it as SecretValue). */
function unwire(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(unwire);
    }
    if (typeof value === "object" && value !== null) {
        const obj = value as Record<string, unknown>;
        if (obj[SIG_KEY] === SECRET_SIG) {
            return unwire(obj.value);
        }
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwire(v)]));
    }
    return value;
}

/** Every file under `dir`, relative, for the build context. */
function listFiles(dir: string, prefix = ""): string[] {
    return fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
        const rel = path.join(prefix, e.name);
        return e.isDirectory() ? listFiles(dir, rel) : [rel];
    });
}

/** A TCP port nobody listens on right now, on loopback. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address() as net.AddressInfo;
            server.close(() => resolve(address.port));
        });
    });
}
