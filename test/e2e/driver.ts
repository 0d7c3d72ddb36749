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
 *
 * `update(previous, capture)` applies a new capture to a deployment by the engine's rules for an
 * update (docs/e2e.md, "Updates", cites each one): a resource whose inputs did not change is kept;
 * a change the provider applies in place is an update; any other change replaces it, deleting the
 * old one first where the provider asks for that (the docker provider marks `Container`
 * delete-before-replace) unless the resource's `deleteBeforeReplace` option says otherwise, and
 * otherwise creating the new one first and deleting the old one at the end. Resources no longer
 * declared are deleted at the end too, dependents before what they depend on. A container whose
 * `wait` fails stays on the engine, recorded with its initialization error, and the old one it was
 * to replace stays until a later update deletes it, as the provider and the engine leave them.
 */
import * as crypto from "crypto";
import Docker from "dockerode";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as util from "util";
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
        uploads: list(
            fields({ file: scalar, content: scalar, contentBase64: scalar, executable: scalar }),
        ),
    },
};

/**
 * The resource types the docker provider replaces delete-first unless the resource's
 * `deleteBeforeReplace` option says otherwise: pulumi-docker's provider/resources.go sets
 * `DeleteBeforeReplace: true` for `docker_container` and for no other resource.
 */
export const PROVIDER_DELETE_BEFORE_REPLACE: ReadonlySet<string> = new Set([T.container]);

/**
 * Inputs a change to which the provider applies in place, per type; a change to any other input
 * replaces the resource. For a container these are the Terraform schema's fields without
 * `ForceNew` (kreuzwerker/terraform-provider-docker, resource_docker_container.go): `restart` and
 * `memory` are applied with Docker's container update, the others (`destroyGraceSeconds`,
 * `healthcheck`, `wait`, `waitTimeout`) only change the state, since they act at create or delete
 * time. A provider's own configuration changes without replacing anything here (its `host` would,
 * and the driver refuses a host). A built `docker.Image` is built and pushed while capturing.
 */
export const IN_PLACE: Readonly<Record<string, readonly string[] | "all">> = {
    [T.provider]: ["registryAuth"],
    [T.container]: [
        "restart",
        "memory",
        "destroyGraceSeconds",
        "healthcheck",
        "wait",
        "waitTimeout",
    ],
    [T.remoteImage]: ["keepLocally"],
    [T.image]: "all",
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
    /**
     * Set when the provider created it but its creation then failed (a container that never
     * became healthy within `waitTimeout`): the engine keeps such a resource in its state with
     * these initialization errors, and the provider leaves it on the engine.
     */
    initErrors?: string[];
}

/** What one step of a deployment or update did, in the order steps started. */
export interface StepRecord {
    /**
     * Pulumi's step kinds: `same` (unchanged), `create`, `update` (in place), a replacement's
     * `create-replacement` and `delete-replaced`, and `delete` (no longer declared).
     */
    op: "same" | "create" | "update" | "create-replacement" | "delete-replaced" | "delete";
    urn: string;
    /** Logical name. */
    name: string;
    /** Docker's id of what the step created or deleted (container, network), or its name. */
    id?: string;
    /** A container's name on the engine. */
    containerName?: string;
    startedAt: number;
    /** When it finished (for a container with `wait`, once healthy); unset while running. */
    doneAt?: number;
    /** Why it failed. */
    error?: string;
}

export interface Deployment {
    capture: Capture;
    /** The stack's resources, one per URN, in the order their current copies were created. */
    created: Created[];
    /**
     * Old copies the engine has marked for deletion but not deleted: what a create-first
     * replacement replaced in an update that then failed. The next update deletes them at its end.
     */
    pendingDeletes: Created[];
    /** The steps of the deploy or update that produced this deployment. */
    steps: StepRecord[];
}

/** An empty stack, as before the first `pulumi up`. */
export function emptyDeployment(capture: Capture): Deployment {
    return { capture, created: [], pendingDeletes: [], steps: [] };
}

/**
 * The provider created the resource (it has an id) but its creation failed afterwards, as when
 * `wait` sees no healthy container within `waitTimeout`: the Terraform bridge reports this as a
 * partial failure (an initialization error with the resource's id), and the engine records it.
 */
export class PartialCreateError extends Error {
    constructor(
        message: string,
        public readonly id: string,
        public readonly containerName?: string,
    ) {
        super(message);
        this.name = "PartialCreateError";
    }
}

/** The engine-side work an update needs; `DockerDriver` does it with dockerode. */
export interface UpdateOps {
    create(
        resource: CapturedResource,
        deployment: Deployment,
    ): Promise<{ id: string; name?: string; healthyAt?: number }>;
    /** Applies an in-place change of `changed` inputs to the existing resource. */
    updateInPlace(entry: Created, resource: CapturedResource, changed: string[]): Promise<void>;
    remove(entry: Created): Promise<void>;
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
        return this.update(emptyDeployment(capture), capture);
    }

    /**
     * Applies `capture` to the stack `previous` describes, as `pulumi up` does with the engine's
     * rules (see `applyUpdate`). Every input is checked first. Throws the first failure, with the
     * stack as the engine would record it in the error's `deployment`.
     */
    public async update(previous: Deployment, capture: Capture): Promise<Deployment> {
        const problems = capture.resources.filter((r) => r.custom).flatMap(inputProblems);
        if (problems.length > 0) {
            throw new DriverError(problems.join("\n"));
        }
        return applyUpdate(previous, capture, {
            create: (resource, deployment) => this.create(resource, deployment),
            updateInPlace: (entry, resource, changed) =>
                this.updateInPlace(entry, resource, changed),
            remove: (entry) => this.remove(entry),
        });
    }

    /**
     * Deletes everything, dependents before what they depend on (independent resources at the
     * same time), as `pulumi destroy` would: refuses (before deleting anything) while a protected
     * resource is part of the stack, and only forgets a resource with `retainOnDelete`, leaving it
     * on the engine. Old copies still pending deletion are deleted too.
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
        const all = [...deployment.pendingDeletes, ...deployment.created];
        await runDeletes(all, [deployment.capture], (c) => this.remove(c));
        deployment.created = [];
        deployment.pendingDeletes = [];
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
        // As the provider does: upload the files into the created container, then start it.
        const uploads = (inputs.uploads ?? []) as Upload[];
        if (uploads.length > 0) {
            await container.putArchive(tarOf(uploads.map(uploadEntry)), { path: "/" });
        }
        await container.start();
        if (inputs.wait !== true) {
            return { id: container.id, name: String(spec.name) };
        }
        try {
            const healthyAt = await waitHealthy(
                container,
                Number(inputs.waitTimeout ?? 60),
                spec.name ?? name,
            );
            return { id: container.id, name: String(spec.name), healthyAt };
        } catch (err) {
            // The provider set the resource's id before it waited, so a failed wait is a partial
            // failure: the container stays, and the engine records it with the error.
            throw new PartialCreateError((err as Error).message, container.id, String(spec.name));
        }
    }

    /**
     * An in-place update, as the provider's Update does: Docker's container update for `restart`
     * and `memory`; every other in-place input only changes the state.
     */
    private async updateInPlace(
        entry: Created,
        resource: CapturedResource,
        changed: string[],
    ): Promise<void> {
        if (resource.type !== T.container) {
            return;
        }
        const inputs = reveal(resource.inputs) as Inputs;
        const update: Record<string, unknown> = {};
        if (changed.includes("restart")) {
            update.RestartPolicy = { Name: String(inputs.restart ?? "no") };
        }
        if (changed.includes("memory")) {
            update.Memory = Number(inputs.memory ?? 0) * 1024 * 1024;
        }
        if (Object.keys(update).length > 0) {
            this.log(`update container ${entry.name ?? entry.id}`);
            await this.docker.getContainer(entry.id).update(update);
        }
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
 * Waits until the container's healthcheck passes, as the provider's `wait: true` does: it inspects
 * the container once a second until Docker says `healthy`, and gives up only when `waitTimeout`
 * has passed (an `unhealthy` status does not end the wait: Docker keeps probing, and a container
 * may pass later). Returns when, by the engine's clock, the first passing check ended (from
 * Docker's health log, which the engine writes: no timestamp the driver takes itself).
 */
export async function waitHealthy(
    container: Docker.Container,
    timeoutSeconds: number,
    name: string,
    pollMs = 1000,
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
        const left = deadline - Date.now();
        if (left <= 0) {
            // The last line of the last probe's output (a Python probe prints a whole traceback).
            const output = info.State.Health?.Log?.slice(-1)[0]?.Output?.trim() ?? "";
            const last = output.split("\n").slice(-1)[0] ?? "";
            throw new DriverError(
                `container ${name} not healthy within ${timeoutSeconds} s (${health ?? "no healthcheck"}, ${info.State.Status}, exit code ${info.State.ExitCode}${last === "" ? "" : `; last probe: ${last}`})`,
            );
        }
        await new Promise((r) => setTimeout(r, Math.min(pollMs, left)));
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

/** What the engine does with one declared resource in an update, and why. */
export type PlannedStep =
    | { op: "create" }
    | { op: "same" }
    | { op: "update"; changed: string[] }
    | { op: "replace"; changed: string[]; replaceKeys: string[]; deleteBeforeReplace: boolean };

/**
 * The step Pulumi's step generator takes for `resource`, given its copy in the previous
 * deployment (same URN): none → create; no input changed → same (or, for a resource left with
 * initialization errors, an empty update that completes it); only inputs the provider changes in
 * place (`IN_PLACE`) → update; anything else → replace, delete-first when the provider says so
 * (`PROVIDER_DELETE_BEFORE_REPLACE`) unless the resource's `deleteBeforeReplace` option overrides
 * it either way.
 */
export function planStep(old: Created | undefined, resource: CapturedResource): PlannedStep {
    if (old === undefined) {
        return { op: "create" };
    }
    const changed = changedInputs(old.resource.inputs, resource.inputs);
    if (changed.length === 0) {
        return old.initErrors === undefined ? { op: "same" } : { op: "update", changed };
    }
    const inPlace = IN_PLACE[resource.type] ?? [];
    const replaceKeys = inPlace === "all" ? [] : changed.filter((k) => !inPlace.includes(k));
    if (replaceKeys.length === 0) {
        return { op: "update", changed };
    }
    return {
        op: "replace",
        changed,
        replaceKeys,
        deleteBeforeReplace:
            resource.deleteBeforeReplace ?? PROVIDER_DELETE_BEFORE_REPLACE.has(resource.type),
    };
}

/** The top-level inputs whose values differ, secrets compared by value (as the engine does). */
export function changedInputs(
    before: Record<string, unknown>,
    after: Record<string, unknown>,
): string[] {
    const a = reveal(before) as Inputs;
    const b = reveal(after) as Inputs;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].filter((k) => !util.isDeepStrictEqual(a[k], b[k])).sort();
}

/**
 * Applies `capture` to the stack `previous` describes, by the engine's rules for an update:
 *
 * - each declared resource starts once everything it depends on is done (as `deploy` schedules),
 *   and takes the step `planStep` says;
 * - a delete-first replacement deletes the old copy, then creates the new one; a create-first one
 *   creates the new one (with `wait`, healthy) and leaves the old one for the end;
 * - once every create and update is done, the old copies of create-first replacements, those left
 *   pending by an earlier failed update, and the resources no longer declared are deleted,
 *   dependents before what they depend on (`runDeletes`);
 * - after the first failure nothing new starts and nothing is deleted: what the update did not
 *   reach keeps its old state, a resource the provider created but could not finish (a failed
 *   `wait`) is kept with its initialization error, and the old copies of create-first
 *   replacements stay pending deletion. The failure is thrown with that stack as `deployment`.
 *
 * Not modelled: the engine's dependent replacements around a delete-first replacement (resources
 * whose inputs reference the replaced one's outputs); in this program nothing references the
 * outputs of a container, and the only one that depends on one (the services on the database
 * container) does so through `dependsOn` alone, which never makes the engine replace it.
 */
export async function applyUpdate(
    previous: Deployment,
    capture: Capture,
    ops: UpdateOps,
): Promise<Deployment> {
    const next: Deployment = { capture, created: [], pendingDeletes: [], steps: [] };
    const olds = new Map(previous.created.map((c) => [c.resource.urn, c]));
    /** URNs whose old copy is no longer current: kept, updated, replaced or deleted. */
    const settled = new Set<string>();
    /** Old copies of create-first replacements, deleted at the end. */
    const replaced: Created[] = [];
    const step = (
        op: StepRecord["op"],
        resource: CapturedResource,
        entry?: Created,
    ): StepRecord => {
        const s: StepRecord = {
            op,
            urn: resource.urn,
            name: resource.name,
            startedAt: Date.now(),
            ...(entry === undefined ? {} : { id: entry.id }),
            ...(entry?.name === undefined ? {} : { containerName: entry.name }),
        };
        next.steps.push(s);
        return s;
    };
    const tracked = async (s: StepRecord, work: () => Promise<void>): Promise<void> => {
        try {
            await work();
        } catch (err) {
            s.error = (err as Error).message ?? String(err);
            throw err;
        } finally {
            s.doneAt = Date.now();
        }
    };
    const create = async (
        resource: CapturedResource,
        level: number,
        op: "create" | "create-replacement",
        onCreated: () => void = () => undefined,
    ): Promise<void> => {
        const s = step(op, resource);
        await tracked(s, async () => {
            const entry: Created = { resource, id: "", level, startedAt: s.startedAt, readyAt: 0 };
            try {
                const { id, name, healthyAt } = await ops.create(resource, next);
                Object.assign(entry, {
                    id,
                    ...(name === undefined ? {} : { name }),
                    ...(healthyAt === undefined ? {} : { healthyAt }),
                });
            } catch (err) {
                if (!(err instanceof PartialCreateError)) {
                    throw err;
                }
                Object.assign(entry, {
                    id: err.id,
                    ...(err.containerName === undefined ? {} : { name: err.containerName }),
                    initErrors: [err.message],
                });
                throw err;
            } finally {
                if (entry.id !== "") {
                    entry.readyAt = Date.now();
                    Object.assign(s, {
                        id: entry.id,
                        ...(entry.name === undefined ? {} : { containerName: entry.name }),
                    });
                    next.created.push(entry);
                    onCreated();
                }
            }
        });
    };

    const failure = await runByDependencies(capture.resources, async (resource, level) => {
        const old = olds.get(resource.urn);
        const plan = planStep(old, resource);
        if (old === undefined || plan.op === "create") {
            await create(resource, level, "create");
            return;
        }
        switch (plan.op) {
            case "same": {
                settled.add(resource.urn);
                next.created.push({ ...old, resource });
                const s = step("same", resource, old);
                s.doneAt = s.startedAt;
                return;
            }
            case "update": {
                await tracked(step("update", resource, old), () =>
                    ops.updateInPlace(old, resource, plan.changed),
                );
                settled.add(resource.urn);
                const updated: Created = { ...old, resource };
                delete updated.initErrors;
                next.created.push(updated);
                return;
            }
            case "replace": {
                if (old.resource.protect || resource.protect) {
                    throw new DriverError(
                        `unable to replace ${resource.urn} (${plan.replaceKeys.join(", ")} changed): it is protected; unprotect it first`,
                    );
                }
                if (plan.deleteBeforeReplace) {
                    await tracked(step("delete-replaced", old.resource, old), () =>
                        ops.remove(old),
                    );
                    settled.add(resource.urn);
                    await create(resource, level, "create-replacement");
                } else {
                    // The engine marks the old copy for deletion once the new one exists, even
                    // when its creation then failed (a partial failure).
                    await create(resource, level, "create-replacement", () => {
                        settled.add(resource.urn);
                        replaced.push(old);
                    });
                }
                return;
            }
        }
    }).then(
        () => undefined,
        (err: unknown) => err ?? new DriverError("update failed"),
    );

    const unsettled = (): Created[] =>
        [...olds.values()].filter((o) => !settled.has(o.resource.urn));
    if (failure !== undefined) {
        next.created.push(...unsettled());
        next.pendingDeletes = [...previous.pendingDeletes, ...replaced];
        throw withDeployment(failure, next);
    }

    // Deletes come after every create and update.
    const declared = new Set(capture.resources.map((r) => r.urn));
    const gone = unsettled().filter((o) => !declared.has(o.resource.urn));
    const guarded = gone.filter((o) => o.resource.protect);
    if (guarded.length > 0) {
        next.created.push(...gone);
        next.pendingDeletes = [...previous.pendingDeletes, ...replaced];
        throw withDeployment(
            new DriverError(
                `unable to delete ${guarded.map((o) => o.resource.urn).join(", ")}: protected; unprotect first`,
            ),
            next,
        );
    }
    const condemned = [...previous.pendingDeletes, ...replaced];
    const deleted = new Set<Created>();
    await runDeletes([...condemned, ...gone], [previous.capture, capture], async (c) => {
        const op = gone.includes(c) ? "delete" : "delete-replaced";
        await tracked(step(op, c.resource, c), () => ops.remove(c));
        deleted.add(c);
    }).catch((err: unknown) => {
        next.created.push(...gone.filter((c) => !deleted.has(c)));
        next.pendingDeletes = condemned.filter((c) => !deleted.has(c));
        throw withDeployment(err, next);
    });
    return next;
}

/**
 * Deletes `entries` as the engine schedules deletes: an entry only once every entry that depends
 * on it (directly, through a component it is under, or as its provider) has been deleted;
 * independent ones at the same time. After the first failure nothing new starts.
 */
export async function runDeletes(
    entries: Created[],
    captures: Capture[],
    remove: (entry: Created) => Promise<void>,
): Promise<void> {
    const byUrn = new Map<string, CapturedResource>();
    for (const r of [...captures.flatMap((c) => c.resources), ...entries.map((e) => e.resource)]) {
        byUrn.set(r.urn, r);
    }
    const under = (r: CapturedResource, componentUrn: string): boolean => {
        for (let p = r.parentUrn; p !== null; p = byUrn.get(p)?.parentUrn ?? null) {
            if (p === componentUrn) {
                return true;
            }
        }
        return false;
    };
    const dependsOn = (a: Created, b: Created): boolean =>
        a !== b &&
        ((b.resource.type.startsWith("pulumi:providers:") &&
            a.resource.provider === b.resource.name) ||
            a.resource.dependsOnUrns.some(
                (u) =>
                    u === b.resource.urn ||
                    (byUrn.get(u)?.custom === false && under(b.resource, u)),
            ));
    const running = new Map<Created, Promise<void>>();
    const failures: unknown[] = [];
    const del = (c: Created): Promise<void> => {
        let done = running.get(c);
        if (done === undefined) {
            done = (async () => {
                await Promise.all(entries.filter((d) => dependsOn(d, c)).map(del));
                if (failures.length > 0) {
                    throw new SkippedAfterFailure();
                }
                await remove(c).catch((err: unknown) => {
                    failures.push(err);
                    throw err;
                });
            })();
            running.set(c, done);
        }
        return done;
    };
    await Promise.allSettled(entries.map(del));
    if (failures.length > 0) {
        throw failures[0];
    }
}

function withDeployment(err: unknown, deployment: Deployment): Error {
    return Object.assign(err instanceof Error ? err : new DriverError(String(err)), {
        deployment,
    });
}

interface Upload {
    file: string;
    content?: string;
    contentBase64?: string;
    executable?: boolean;
}

/** A container's `uploads` entry as the provider writes it: mode 0644, or 0744 if executable. */
function uploadEntry(u: Upload): TarEntry {
    return {
        name: u.file,
        mode: u.executable === true ? 0o744 : 0o644,
        data:
            u.content !== undefined
                ? Buffer.from(u.content)
                : Buffer.from(u.contentBase64 ?? "", "base64"),
    };
}

export interface TarEntry {
    /** Path in the archive; a leading `/` is dropped (the archive is extracted at `/`). */
    name: string;
    mode: number;
    data: Buffer;
}

/**
 * A POSIX ustar archive of regular files, what Docker's archive endpoint takes. Written here
 * because the project declares no tar library (dockerode's is its own dependency), and the
 * format is small: a 512-byte header per file, the data padded to 512 bytes, two empty blocks.
 */
export function tarOf(entries: TarEntry[]): Buffer {
    const blocks: Buffer[] = [];
    for (const e of entries) {
        const rel = e.name.replace(/^\/+/, "");
        let [prefix, name] = ["", rel];
        if (Buffer.byteLength(name) > 100) {
            const cut = rel.lastIndexOf("/", 155);
            [prefix, name] = [rel.slice(0, cut), rel.slice(cut + 1)];
        }
        if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) {
            throw new DriverError(`upload path too long for a tar header: ${e.name}`);
        }
        const header = Buffer.alloc(512);
        const octal = (value: number, width: number) =>
            `${value.toString(8).padStart(width - 1, "0")}\0`;
        header.write(name, 0, 100, "utf8");
        header.write(octal(e.mode, 8), 100, "ascii");
        header.write(octal(0, 8), 108, "ascii");
        header.write(octal(0, 8), 116, "ascii");
        header.write(octal(e.data.length, 12), 124, "ascii");
        header.write(octal(Math.floor(Date.now() / 1000), 12), 136, "ascii");
        header.write("        ", 148, "ascii");
        header.write("0", 156, "ascii");
        header.write("ustar\u000000", 257, "ascii");
        header.write(prefix, 345, 155, "utf8");
        const sum = header.reduce((acc, byte) => acc + byte, 0);
        header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
        blocks.push(header, e.data, Buffer.alloc((512 - (e.data.length % 512)) % 512));
    }
    blocks.push(Buffer.alloc(1024));
    return Buffer.concat(blocks);
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
