/**
 * The e2e driver: creates what the program declares, with exactly the captured inputs, on a real
 * Docker engine through its API (dockerode), the way the docker provider would. It stands in for
 * `pulumi up` / `pulumi destroy`, which cannot run here (no CLI, no provider plugin).
 *
 * The program is captured as `pulumi up` evaluates it (`preview: false`), with the two answers
 * only the engine knows coming from the real world through the capture's hooks, so the declared
 * references are the real pinned ones:
 * - `getRegistryImage` asks the registry's HTTP API (with the provider's `registryAuth`) for the
 *   digest the tag points at;
 * - a `docker.Image` is built from its context with its build args and pushed with the credentials
 *   in its `registry` input while the program is evaluated, and its `repoDigest` is the digest
 *   the registry answered. The DB container's `image` input is therefore the real pushed digest.
 * Everything else (provider, network, volume, remote images, containers) is created by `deploy`,
 * as the Pulumi engine schedules it: a resource starts as soon as everything it depends on is done,
 * so resources of one dependency level are created concurrently and only declared dependencies
 * order anything. Every input, at every depth, is checked against what the driver implements
 * before anything is created: an unknown field is an error, so nothing declared is silently
 * ignored.
 */
import * as crypto from "crypto";
import Docker from "dockerode";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import {
    captureStack,
    type Capture,
    type CapturedResource,
    isUnknownValue,
    type MockHooks,
    reveal,
} from "../../capture";
import type { MockCallArgs, MockResourceArgs } from "@pulumi/pulumi/runtime/mocks";
import { projectRoot } from "../../config/stackFiles";
import { durationSeconds } from "../../lib/duration";
import { normalizedName, parseImageRef } from "../../lib/imageRef";

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

/**
 * The shape of an input the driver implements: a scalar (string, number, boolean), a list of one
 * shape, a map of any names to one shape (build args), or an object with exactly these fields.
 */
export type Shape =
    "scalar" | { list: Shape } | { map: Shape } | { fields: Readonly<Record<string, Shape>> };

const scalar = "scalar" as const;
const list = (of: Shape): Shape => ({ list: of });
const fields = (f: Record<string, Shape>): Shape => ({ fields: f });
const LABELS = list(fields({ label: scalar, value: scalar }));

/**
 * Inputs the driver implements, per type, down to every nested field; anything else in a capture
 * (a top-level input, or a field inside `healthcheck`, `ports[]`, `volumes[]`,
 * `networksAdvanced[]`, `build`, …) is rejected.
 */
export const SUPPORTED: Readonly<Record<string, Readonly<Record<string, Shape>>>> = {
    [T.provider]: {
        registryAuth: list(fields({ address: scalar, username: scalar, password: scalar })),
        host: scalar,
    },
    [T.network]: { name: scalar, driver: scalar, labels: LABELS },
    [T.volume]: { name: scalar, driver: scalar, labels: LABELS },
    [T.image]: {
        imageName: scalar,
        build: fields({ context: scalar, dockerfile: scalar, args: { map: scalar } }),
        skipPush: scalar,
        registry: fields({ server: scalar, username: scalar, password: scalar }),
        buildOnPreview: scalar,
    },
    [T.remoteImage]: { name: scalar, pullTriggers: list(scalar), keepLocally: scalar },
    [T.container]: {
        name: scalar,
        image: scalar,
        envs: list(scalar),
        ports: list(fields({ internal: scalar, external: scalar, ip: scalar, protocol: scalar })),
        networksAdvanced: list(fields({ name: scalar, aliases: list(scalar) })),
        restart: scalar,
        destroyGraceSeconds: scalar,
        healthcheck: fields({
            tests: list(scalar),
            interval: scalar,
            timeout: scalar,
            retries: scalar,
            startPeriod: scalar,
        }),
        wait: scalar,
        waitTimeout: scalar,
        labels: LABELS,
        memory: scalar,
        volumes: list(fields({ volumeName: scalar, containerPath: scalar })),
        command: list(scalar),
    },
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

/** One resource the driver created, in the order creations finished. */
export interface Created {
    resource: CapturedResource;
    /** Docker's id (container, network), or the name (volume, image). */
    id: string;
    /** A container's name: the declared one, or the one the provider gave it (autonaming). */
    name?: string;
    /** Its dependency level: 0 depends on nothing, n on something of level n-1 at most. */
    level: number;
    /** When the driver started creating it (all its dependencies were done), in ms. */
    startedAt: number;
    /** When creation finished (for a container with `wait`, when it was seen healthy), in ms. */
    readyAt: number;
    /**
     * A container with `wait`: when its first passing healthcheck ended, by the engine's clock
     * (Docker's health log), in ms.
     */
    healthyAt?: number;
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

    /**
     * Evaluates the program for `stack` as `pulumi up` does, with `config` (plain stack config)
     * and `secrets` (the secret keys with their values, as the CLI hands them over decrypted),
     * answering from the real registry and engine.
     */
    public async capture(
        stack: string,
        config: Record<string, unknown>,
        secrets: Record<string, unknown> = {},
    ): Promise<Capture> {
        // A hook that throws (a refused push, a registry that rejects the credentials) rejects
        // the capture with that error. The hooks answer every engine-only value the program
        // reads (the pushed digest, the tags' digests), so no preview unknowns are needed.
        return captureStack({ stack, config, secrets, hooks: this.hooks(), preview: false });
    }

    /**
     * Creates every custom resource as the Pulumi engine schedules it: each starts as soon as all
     * its dependencies (`dependsOnUrns`, a component's custom descendants, its provider) are done,
     * so each dependency level is created concurrently. Every input is checked first. After the
     * first failure nothing new starts; what is already running finishes, then the failure is
     * thrown (the resources created so far are in the error's `deployment`).
     */
    public async deploy(capture: Capture): Promise<Deployment> {
        const deployment: Deployment = { capture, created: [] };
        const problems = capture.resources.filter((r) => r.custom).flatMap(inputProblems);
        if (problems.length > 0) {
            throw new DriverError(problems.join("\n"));
        }
        await runByDependencies(capture.resources, async (resource, level) => {
            const startedAt = Date.now();
            const { id, name, healthyAt } = await this.create(resource, deployment);
            deployment.created.push({
                resource,
                id,
                ...(name === undefined ? {} : { name }),
                level,
                startedAt,
                readyAt: Date.now(),
                ...(healthyAt === undefined ? {} : { healthyAt }),
            });
        }).catch((err: unknown) => {
            throw Object.assign(err instanceof Error ? err : new DriverError(String(err)), {
                deployment,
            });
        });
        return deployment;
    }

    /**
     * Deletes in the reverse of the order creations finished (a resource after everything that
     * depends on it), as `pulumi destroy` would: refuses (before deleting anything) while a
     * protected resource is part of the stack, and only forgets a resource with `retainOnDelete`,
     * leaving it on the engine.
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
        entry.startedAt = Date.now();
        const { id, healthyAt } = await this.create(entry.resource, deployment);
        entry.id = id;
        entry.readyAt = Date.now();
        entry.healthyAt = healthyAt;
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
                if (args.type === T.container && inputs.name === undefined) {
                    // The provider names a container the program leaves unnamed as Pulumi
                    // autonames: the logical name and 7 random hex digits.
                    return {
                        id: `${args.name}-id`,
                        state: {
                            ...(args.inputs as Record<string, unknown>),
                            name: autoName(args.name),
                        },
                    };
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
        const unsupported = unsupportedFields(inputs, { fields: SUPPORTED[T.image] ?? {} });
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

    private async create(
        resource: CapturedResource,
        deployment: Deployment,
    ): Promise<{ id: string; name?: string; healthyAt?: number }> {
        if (resource.type === T.container) {
            return this.createContainer(resource.name, containerInputs(resource));
        }
        return { id: await this.createOther(resource, deployment) };
    }

    private async createOther(resource: CapturedResource, deployment: Deployment): Promise<string> {
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
            case T.container: {
                this.log(`remove container ${c.name ?? c.id}`);
                const container = this.docker.getContainer(c.id);
                // As the provider does: stop with the declared grace period, then remove.
                const grace = inputs.destroyGraceSeconds;
                if (typeof grace === "number") {
                    await container.stop({ t: grace }).catch((err: { statusCode?: number }) => {
                        if (err.statusCode !== 304) {
                            throw err;
                        }
                    });
                }
                await container.remove({ force: true });
                return;
            }
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

    private async createContainer(
        name: string,
        inputs: Inputs,
    ): Promise<{ id: string; name: string; healthyAt?: number }> {
        const spec = containerSpec(inputs);
        this.log(`create container ${spec.name}`);
        const container = await this.docker.createContainer(spec);
        await container.start();
        if (inputs.wait !== true) {
            return { id: container.id, name: String(spec.name) };
        }
        const healthyAt = await waitHealthy(
            container,
            Number(inputs.waitTimeout ?? 60),
            spec.name ?? name,
        );
        return { id: container.id, name: String(spec.name), healthyAt };
    }
}

const MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/**
 * `127.0.0.1:5000/a/b:tag[@digest]` → server, path, tag (`lib/imageRef.ts`, Docker's grammar): what
 * the registry API and the auth lookup need. A reference without a server is Docker Hub's.
 */
export function parseReference(reference: string): { server: string; path: string; tag: string } {
    const parsed = parseImageRef(reference);
    if (!parsed.ok) {
        throw new DriverError(`${reference} is not an image reference: ${parsed.reason}`);
    }
    return { ...normalizedName(parsed.ref), tag: parsed.ref.tag };
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

/**
 * Waits until the container's healthcheck passes, as the provider's `wait: true` does. Returns
 * when, by the engine's clock, the first passing check ended (from Docker's health log, which the
 * engine writes: no timestamp the driver takes itself).
 */
export async function waitHealthy(
    container: Docker.Container,
    timeoutSeconds: number,
    name: string,
): Promise<number> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
        const info = await container.inspect();
        const health = info.State.Health?.Status;
        if (health === "healthy") {
            const passed = (info.State.Health?.Log ?? [])
                .filter((probe) => probe.ExitCode === 0)
                .map((probe) => Date.parse(probe.End));
            return Math.min(...passed);
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

type Inputs = Record<string, unknown>;

/** `orders-container` → `orders-container-1a2b3c4`, as Pulumi autonames a resource. */
function autoName(logicalName: string): string {
    return `${logicalName}-${crypto.randomBytes(4).toString("hex").slice(0, 7)}`;
}

/**
 * A container's inputs as the provider creates it: secrets revealed, and the name the provider
 * gave it when the program set none (the capture recorded the provider's answer).
 */
function containerInputs(resource: CapturedResource): Inputs {
    const inputs = reveal(resource.inputs) as Inputs;
    return inputs.name === undefined ? { ...inputs, name: resource.outputs.name } : inputs;
}

/**
 * Creates `resources` (the custom ones) as the Pulumi engine schedules them: each starts once all
 * its dependencies are done, so independent resources run concurrently. `create` gets the
 * resource's dependency level. After the first failure nothing new starts; once what is running
 * has settled, that first failure is thrown.
 */
export async function runByDependencies(
    resources: CapturedResource[],
    create: (resource: CapturedResource, level: number) => Promise<void>,
): Promise<void> {
    const deps = dependencies(resources);
    const levels = dependencyLevels(deps);
    const running = new Map<string, Promise<void>>();
    const failures: unknown[] = [];
    const start = (urn: string): Promise<void> => {
        let done = running.get(urn);
        if (done === undefined) {
            done = (async () => {
                await Promise.all((deps.get(urn)?.needs ?? []).map(start));
                if (failures.length > 0) {
                    throw new SkippedAfterFailure();
                }
                const entry = deps.get(urn) as DependencyEntry;
                await create(entry.resource, levels.get(urn) ?? 0).catch((err: unknown) => {
                    failures.push(err);
                    throw err;
                });
            })();
            running.set(urn, done);
        }
        return done;
    };
    await Promise.allSettled([...deps.keys()].map(start));
    if (failures.length > 0) {
        throw failures[0];
    }
}

class SkippedAfterFailure extends Error {}

interface DependencyEntry {
    resource: CapturedResource;
    /** URNs of the custom resources it waits for. */
    needs: string[];
}

/**
 * What each custom resource waits for, as the engine sees it: the URNs it depends on (explicit
 * `dependsOn` and through its inputs), where a component stands for every custom resource under
 * it, and its explicit provider.
 */
export function dependencies(resources: CapturedResource[]): Map<string, DependencyEntry> {
    const custom = resources.filter((r) => r.custom);
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const under = (componentUrn: string): CapturedResource[] =>
        custom.filter((r) => {
            for (let p = r.parentUrn; p !== null; p = byUrn.get(p)?.parentUrn ?? null) {
                if (p === componentUrn) {
                    return true;
                }
            }
            return false;
        });
    const out = new Map<string, DependencyEntry>();
    for (const r of custom) {
        const needs = new Set<string>();
        for (const urn of r.dependsOnUrns) {
            const dep = byUrn.get(urn);
            for (const d of dep === undefined ? [] : dep.custom ? [dep] : under(urn)) {
                needs.add(d.urn);
            }
        }
        const provider = custom.find(
            (p) => p.type.startsWith("pulumi:providers:") && p.name === r.provider,
        );
        if (provider !== undefined) {
            needs.add(provider.urn);
        }
        needs.delete(r.urn);
        out.set(r.urn, { resource: r, needs: [...needs] });
    }
    return out;
}

/** Each resource's dependency level (the longest chain below it); a cycle is an error. */
export function dependencyLevels(deps: Map<string, DependencyEntry>): Map<string, number> {
    const levels = new Map<string, number>();
    const visit = (urn: string, trail: string[]): number => {
        const known = levels.get(urn);
        if (known !== undefined) {
            return known;
        }
        if (trail.includes(urn)) {
            throw new DriverError(`dependency cycle: ${[...trail, urn].join(" -> ")}`);
        }
        const needs = deps.get(urn)?.needs ?? [];
        const level = Math.max(-1, ...needs.map((d) => visit(d, [...trail, urn]))) + 1;
        levels.set(urn, level);
        return level;
    };
    for (const urn of deps.keys()) {
        visit(urn, []);
    }
    return levels;
}

/** Why the driver cannot create `resource` exactly as declared: unknown types, fields, values. */
export function inputProblems(resource: CapturedResource): string[] {
    const supported = SUPPORTED[resource.type];
    if (supported === undefined) {
        return [`${resource.urn}: the driver cannot create ${resource.type}`];
    }
    let inputs = reveal(resource.inputs) as Inputs;
    if (resource.type === T.provider && typeof inputs.registryAuth === "string") {
        // A provider's structured inputs travel JSON-encoded.
        inputs = { ...inputs, registryAuth: JSON.parse(inputs.registryAuth) as unknown };
    }
    const unsupported = unsupportedFields(inputs, { fields: supported });
    return unsupported.length > 0
        ? [`${resource.urn}: unsupported inputs ${unsupported.join(", ")}`]
        : [];
}

/**
 * The paths in `value` that `shape` does not cover (`healthcheck.startInterval`, `ports[0].hostIp`),
 * at any depth, and the values only the engine would know (unknown: nothing to create them with).
 */
export function unsupportedFields(value: unknown, shape: Shape, at = ""): string[] {
    if (value === undefined || value === null) {
        return [];
    }
    if (isUnknownValue(value)) {
        return [`${at} (unknown until deployed)`];
    }
    const field = (k: string) => (at === "" ? k : `${at}.${k}`);
    if (shape === "scalar") {
        return typeof value === "object"
            ? [`${at} (a structure where the driver takes a value)`]
            : [];
    }
    if ("list" in shape) {
        return Array.isArray(value)
            ? value.flatMap((v, i) => unsupportedFields(v, shape.list, `${at}[${i}]`))
            : [`${at} (not a list)`];
    }
    if (typeof value !== "object" || Array.isArray(value)) {
        return [`${at} (not an object)`];
    }
    return Object.entries(value).flatMap(([k, v]) => {
        const inner = "map" in shape ? shape.map : shape.fields[k];
        return inner === undefined ? [field(k)] : unsupportedFields(v, inner, field(k));
    });
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
