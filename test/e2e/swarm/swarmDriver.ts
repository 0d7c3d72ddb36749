/**
 * The swarm driver: creates what the program declares for `msa:runtime: swarm` (services, an
 * overlay network, swarm configs, volumes, images) with exactly the captured inputs, on a swarm
 * manager through the Engine API (dockerode), the way the docker provider would; it stands in for
 * `pulumi up` / `pulumi destroy`, which cannot run here. The single-host driver (`../driver.ts`)
 * does the same for containers; this one reuses its scheduling (each dependency level
 * concurrently) and its allow-list check, with the swarm resources' shapes (`engineSpec.ts`).
 *
 * - The engine is the provider's `docker:host`: a manager's socket (`unix://…`). The program is
 *   captured as `pulumi up` evaluates it (`preview: false`); the hooks answer what only the
 *   engine knows: a `docker.Image` is built on the manager and pushed with the credentials in its
 *   `registry` input (its `repoDigest` is the registry's answer), `getRegistryImage` asks the
 *   registry's HTTP API with the provider's `registryAuth`, a service or config the program
 *   leaves unnamed gets a name as Pulumi autonames it, and a `docker.ServiceConfig`'s id is a
 *   placeholder that the config's real id replaces when a service refers to it.
 * - A service is created with the registry credentials the provider would send (its `auth`
 *   input, else the provider's `registryAuth` for the image's registry), so the nodes pull with
 *   them; none of them has credentials of its own. Like the provider, `deploy` and `update` return
 *   once the engine accepted a service, unless it declares `convergeConfig`: then they wait, as the
 *   provider does, until its tasks run (an update: until it completed), and a rollback is an error.
 * - `update` applies a new capture of the same stack (a release): a service whose inputs changed
 *   is updated in place (swarm rolls it out by its update config), a new remote image is pulled,
 *   a changed config is replaced (configs cannot change), anything else that changed is refused.
 * - `destroy` deletes each resource once everything that depends on it is gone (independent ones
 *   at the same time), waiting for a removed service's tasks to go, and keeps what has
 *   `retainOnDelete`. Protected resources are refused unless told to unprotect them.
 */
import * as crypto from "crypto";
import Docker from "dockerode";
import * as fs from "fs";
import * as path from "path";
import type { MockCallArgs, MockResourceArgs } from "@pulumi/pulumi/runtime/mocks";
import {
    captureStack,
    reveal,
    type Capture,
    type CapturedResource,
    type MockHooks,
} from "../../../capture";
import { projectRoot } from "../../../config/stackFiles";
import {
    dependencies,
    DriverError,
    parseReference,
    runByDependencies,
    unsupportedFields,
    type RegistryAuth,
} from "../driver";
import { labels, nanoseconds, SWARM_SUPPORTED, serviceSpec, T } from "./engineSpec";

/** The Pulumi wire format's secret marker, as hooks receive inputs before the capture decodes them. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** What a `docker.ServiceConfig`'s id is until the driver has created it. */
const PENDING_ID = "msa-e2e-pending-id:";

type Inputs = Record<string, unknown>;

/** One resource the driver created. */
export interface SwarmCreated {
    resource: CapturedResource;
    /** The engine's id (service, network, config), or the name (volume, image). */
    id: string;
    /** A service's or config's name: declared, or the autoname the capture recorded. */
    name?: string;
}

export interface SwarmDeployment {
    capture: Capture;
    created: SwarmCreated[];
}

export interface SwarmDestroyOptions {
    /** Delete protected resources too, as after `pulumi state unprotect --all`. Default false. */
    unprotect?: boolean;
}

/** What `update` did to each resource of the new capture, by logical name. */
export type UpdateAction = "same" | "created" | "updated" | "replaced" | "deleted";

export class SwarmDriver {
    /** `docker.Image`s built and pushed while capturing, by logical name. */
    private readonly built = new Map<
        string,
        { imageName: string; repoDigest: string; key: string }
    >();
    private readonly engines = new Map<string, Docker>();

    constructor(private readonly log: (line: string) => void = () => undefined) {}

    /**
     * Evaluates the program for `stack` as `pulumi up` does, with `config` (plain stack config,
     * `docker:host` a manager's socket) and `secrets` (the secret keys, decrypted).
     */
    public capture(
        stack: string,
        config: Record<string, unknown>,
        secrets: Record<string, unknown> = {},
    ): Promise<Capture> {
        return captureStack({ stack, config, secrets, hooks: this.hooks(), preview: false });
    }

    /** Creates every custom resource, each dependency level concurrently; inputs checked first. */
    public async deploy(capture: Capture): Promise<SwarmDeployment> {
        const deployment: SwarmDeployment = { capture, created: [] };
        checkInputs(capture);
        await runByDependencies(capture.resources, async (resource) => {
            deployment.created.push(await this.create(resource, deployment));
        }).catch((err: unknown) => {
            throw Object.assign(err instanceof Error ? err : new DriverError(String(err)), {
                deployment,
            });
        });
        return deployment;
    }

    /**
     * Applies `next` (a new capture of the deployed stack) as `pulumi up` would: unchanged
     * resources stay, changed services are updated in place, new ones are created, and resources
     * `next` no longer declares are deleted last. Returns what happened to each resource.
     */
    public async update(
        deployment: SwarmDeployment,
        next: Capture,
    ): Promise<Record<string, UpdateAction>> {
        checkInputs(next);
        const actions: Record<string, UpdateAction> = {};
        const before = new Map(deployment.created.map((c) => [c.resource.urn, c]));
        const after: SwarmDeployment = { capture: next, created: [] };
        const replacedOld: SwarmCreated[] = [];
        await runByDependencies(next.resources, async (resource) => {
            const old = before.get(resource.urn);
            if (old === undefined) {
                after.created.push(await this.create(resource, after));
                actions[resource.name] = "created";
                return;
            }
            if (sameInputs(old.resource, resource)) {
                after.created.push({ ...old, resource });
                actions[resource.name] = "same";
                return;
            }
            switch (resource.type) {
                case T.service:
                    after.created.push(await this.updateService(old, resource, after));
                    actions[resource.name] = "updated";
                    return;
                case T.remoteImage:
                case T.image:
                    after.created.push(await this.create(resource, after));
                    actions[resource.name] = "updated";
                    return;
                case T.serviceConfig:
                    // A config cannot change: the new one is created first, the old one deleted
                    // once nothing refers to it (Pulumi's create-before-delete replacement).
                    after.created.push(await this.create(resource, after));
                    replacedOld.push(old);
                    actions[resource.name] = "replaced";
                    return;
                default:
                    throw new DriverError(
                        `${resource.urn}: the driver cannot update a ${resource.type} in place (changed: ${changedInputs(old.resource, resource).join(", ")})`,
                    );
            }
        });
        const kept = new Set(next.resources.map((r) => r.urn));
        const gone = deployment.created.filter((c) => !kept.has(c.resource.urn));
        for (const c of [...gone, ...replacedOld].reverse()) {
            await this.remove(c, deployment);
            if (!kept.has(c.resource.urn)) {
                actions[c.resource.name] = "deleted";
            }
        }
        deployment.capture = next;
        deployment.created = after.created;
        return actions;
    }

    /** Deletes in the reverse of the order of creation; refuses protected resources first. */
    public async destroy(
        deployment: SwarmDeployment,
        opts: SwarmDestroyOptions = {},
    ): Promise<void> {
        const protectedUrns = deployment.created
            .filter((c) => c.resource.protect)
            .map((c) => c.resource.urn);
        if (protectedUrns.length > 0 && opts.unprotect !== true) {
            throw new DriverError(
                `refusing to destroy: protected resources ${protectedUrns.join(", ")}; unprotect them first`,
            );
        }
        // As the engine deletes: each resource once everything that depends on it is gone, so
        // independent ones (the services) go at the same time.
        const needs = dependencies(deployment.capture.resources);
        const dependents = (c: SwarmCreated): SwarmCreated[] =>
            deployment.created.filter((d) =>
                needs.get(d.resource.urn)?.needs.includes(c.resource.urn),
            );
        const removing = new Map<string, Promise<void>>();
        const failures: unknown[] = [];
        const remove = (c: SwarmCreated): Promise<void> => {
            let done = removing.get(c.resource.urn);
            if (done === undefined) {
                done = (async () => {
                    await Promise.all(dependents(c).map(remove));
                    await this.remove(c, deployment).catch((err: unknown) => {
                        failures.push(err);
                        throw err;
                    });
                })();
                removing.set(c.resource.urn, done);
            }
            return done;
        };
        await Promise.allSettled(deployment.created.map(remove));
        if (failures.length > 0) {
            throw failures[0];
        }
        deployment.created = [];
    }

    /** The engine a resource's provider talks to (its `docker:host`). */
    public engineOf(resource: CapturedResource, capture: Capture): Docker {
        const provider =
            resource.type === T.provider
                ? resource
                : capture.resources.find(
                      (r) => r.type === T.provider && r.name === resource.provider,
                  );
        if (provider === undefined) {
            throw new DriverError(`${resource.urn} has no explicit docker provider`);
        }
        return this.engine(String(reveal(provider.inputs.host) ?? ""), provider.name);
    }

    private engine(host: string, providerName: string): Docker {
        let engine = this.engines.get(host);
        if (engine === undefined) {
            if (!host.startsWith("unix://")) {
                throw new DriverError(
                    `provider ${providerName}: the driver talks to a manager's socket (docker:host unix://…), got ${JSON.stringify(host)}`,
                );
            }
            engine = new Docker({ socketPath: host.slice("unix://".length) });
            this.engines.set(host, engine);
        }
        return engine;
    }

    private hooks(): MockHooks {
        const providers = new Map<string, { host: string; auths: RegistryAuth[] }>();
        return {
            newResource: async (args: MockResourceArgs) => {
                const inputs = unwire(args.inputs) as Inputs;
                const state = args.inputs as Inputs;
                switch (args.type) {
                    case T.provider:
                        providers.set(args.name, {
                            host: String(inputs.host ?? ""),
                            auths: parseRegistryAuth(inputs.registryAuth),
                        });
                        return undefined;
                    case T.service:
                    case T.serviceConfig:
                        return {
                            id: `${PENDING_ID}${args.name}`,
                            // Pulumi autonames what the program leaves unnamed.
                            state:
                                inputs.name === undefined
                                    ? { ...state, name: autoName(args.name) }
                                    : state,
                        };
                    case T.image: {
                        const providerName = (args.provider ?? "").split("::")[3] ?? "";
                        const provider = providers.get(providerName);
                        if (provider === undefined) {
                            throw new DriverError(`${args.name}: no explicit docker provider`);
                        }
                        const built = await this.buildAndPush(
                            args.name,
                            inputs,
                            this.engine(provider.host, providerName),
                        );
                        return {
                            id: `${args.name}-id`,
                            state: {
                                ...state,
                                repoDigest: built.repoDigest,
                                baseImageName: built.imageName,
                                registryServer: built.imageName.split("/")[0],
                            },
                        };
                    }
                    default:
                        return undefined;
                }
            },
            call: async (args: MockCallArgs) => {
                if (args.token !== T.getRegistryImage) {
                    return undefined;
                }
                const name = String((args.inputs as Inputs).name);
                const providerName = (args.provider ?? "").split("::")[3] ?? "";
                const auth = authFor(
                    providers.get(providerName)?.auths ?? [],
                    parseReference(name).server,
                );
                const sha256Digest = await registryDigest(name, auth);
                return { id: name, name, sha256Digest };
            },
        };
    }

    /** Builds on the provider's engine and pushes with the image's `registry` credentials. */
    private async buildAndPush(
        name: string,
        inputs: Inputs,
        engine: Docker,
    ): Promise<{ imageName: string; repoDigest: string }> {
        const unsupported = unsupportedFields(inputs, { fields: SWARM_SUPPORTED[T.image] ?? {} });
        if (unsupported.length > 0) {
            throw new DriverError(`image ${name}: unsupported inputs ${unsupported.join(", ")}`);
        }
        // Evaluating the program again (a release) declares the same image: build it once.
        const key = JSON.stringify(inputs);
        const known = this.built.get(name);
        if (known?.key === key) {
            return known;
        }
        const imageName = String(inputs.imageName);
        const build = inputs.build as {
            context: string;
            dockerfile?: string;
            args?: Record<string, string>;
            target?: string;
        };
        const context = path.resolve(projectRoot(), build.context);
        const dockerfile = path.relative(
            context,
            path.resolve(projectRoot(), build.dockerfile ?? path.join(build.context, "Dockerfile")),
        );
        this.log(`build ${imageName} from ${build.context}`);
        const stream = await engine.buildImage(
            { context, src: listFiles(context) },
            { t: imageName, dockerfile, buildargs: build.args, target: build.target },
        );
        await follow(engine, stream, `build of ${imageName}`);
        let repoDigest = "";
        if (inputs.skipPush !== true) {
            const registry = inputs.registry as RegistryAuth & { server: string };
            const ref = parseReference(imageName);
            this.log(`push ${imageName} as ${registry.username}`);
            const push = await engine.getImage(imageName).push({
                authconfig: {
                    username: registry.username,
                    password: registry.password,
                    serveraddress: registry.server,
                },
            });
            const events = await follow(engine, push, `push of ${imageName} to ${registry.server}`);
            const digest = events
                .map((e) => (e.aux as { Digest?: string } | undefined)?.Digest)
                .find((d) => d !== undefined);
            if (digest === undefined) {
                throw new DriverError(`push of ${imageName} reported no digest`);
            }
            repoDigest = `${ref.server}/${ref.path}@${digest}`;
        }
        const result = { imageName, repoDigest, key };
        this.built.set(name, result);
        return result;
    }

    private async create(
        resource: CapturedResource,
        deployment: SwarmDeployment,
    ): Promise<SwarmCreated> {
        const inputs = reveal(resource.inputs) as Inputs;
        if (resource.type === T.provider) {
            const engine = this.engineOf(resource, deployment.capture);
            const info = (await engine.info()) as { Swarm?: { ControlAvailable?: boolean } };
            if (info.Swarm?.ControlAvailable !== true) {
                throw new DriverError(
                    `${resource.name}: docker:host ${String(inputs.host)} is not a swarm manager`,
                );
            }
            return { resource, id: resource.name };
        }
        const engine = this.engineOf(resource, deployment.capture);
        switch (resource.type) {
            case T.network: {
                this.log(`create network ${String(inputs.name)}`);
                const network = await engine.createNetwork({
                    Name: String(inputs.name),
                    Driver: String(inputs.driver ?? "bridge"),
                    Attachable: inputs.attachable === true,
                    Labels: labels(inputs.labels),
                    CheckDuplicate: true,
                });
                return { resource, id: network.id };
            }
            case T.volume: {
                // On the manager, where the provider's docker:host points; a service's volume
                // mount creates its volume on whichever node runs the task.
                this.log(`create volume ${String(inputs.name)}`);
                const volume = (await engine.createVolume({
                    Name: String(inputs.name),
                    Driver: String(inputs.driver ?? "local"),
                    Labels: labels(inputs.labels),
                })) as unknown as { Name?: string; name?: string };
                return { resource, id: volume.Name ?? volume.name ?? String(inputs.name) };
            }
            case T.image: {
                const built = this.built.get(resource.name);
                if (built === undefined) {
                    throw new DriverError(
                        `${resource.name} was not built: capture with SwarmDriver.capture()`,
                    );
                }
                return { resource, id: built.imageName };
            }
            case T.remoteImage: {
                // The provider pulls onto its docker:host, the manager; the nodes pull each
                // service's image themselves, with the credentials the service carries.
                const reference = String(inputs.name);
                await pull(
                    engine,
                    reference,
                    this.providerAuths(resource, deployment.capture),
                    this.log,
                );
                return { resource, id: reference };
            }
            case T.serviceConfig: {
                const name = String(inputs.name ?? resource.outputs.name);
                const data =
                    inputs.data !== undefined
                        ? Buffer.from(String(inputs.data), "base64")
                        : Buffer.from(String(inputs.dataRaw ?? ""));
                this.log(`create config ${name}`);
                const config = (await engine.createConfig({
                    Name: name,
                    Labels: labels(inputs.labels),
                    Data: data.toString("base64"),
                })) as { id?: string; ID?: string };
                return { resource, id: String(config.id ?? config.ID), name };
            }
            case T.service:
                return this.createService(resource, inputs, engine, deployment);
            default:
                throw new DriverError(`${resource.urn}: the driver cannot create ${resource.type}`);
        }
    }

    private async createService(
        resource: CapturedResource,
        inputs: Inputs,
        engine: Docker,
        deployment: SwarmDeployment,
    ): Promise<SwarmCreated> {
        const name = String(inputs.name ?? resource.outputs.name);
        const spec = serviceSpec(inputs, name, (id) => configId(id, deployment));
        this.log(`create service ${name}`);
        const service = await engine.createService(
            this.serviceAuth(resource, inputs, deployment),
            spec,
        );
        const created = { resource, id: service.id, name };
        const converge = inputs.convergeConfig as Inputs | undefined;
        if (converge !== undefined) {
            await convergeService(engine, service.id, converge, false);
        }
        return created;
    }

    private async updateService(
        old: SwarmCreated,
        resource: CapturedResource,
        deployment: SwarmDeployment,
    ): Promise<SwarmCreated> {
        const inputs = reveal(resource.inputs) as Inputs;
        const engine = this.engineOf(resource, deployment.capture);
        // The name Pulumi gave it stays in the state; a new capture autonames afresh.
        const name = String(inputs.name ?? old.name ?? resource.outputs.name);
        if (inputs.name !== undefined && old.name !== undefined && inputs.name !== old.name) {
            throw new DriverError(
                `${resource.urn}: a new name replaces a service; not implemented`,
            );
        }
        const service = engine.getService(old.id);
        const current = (await service.inspect()) as Docker.Service;
        const spec = serviceSpec(inputs, name, (id) => configId(id, deployment));
        this.log(`update service ${name}: ${changedInputs(old.resource, resource).join(", ")}`);
        // dockerode's typings know update(opts) only; its code takes (auth, opts) as create does,
        // and the modem sends `_query` as the query string and `_body` as the body.
        await (service.update as (auth: Docker.AuthConfig, opts: object) => Promise<unknown>)(
            this.serviceAuth(resource, inputs, deployment),
            { _query: { version: current.Version?.Index }, _body: spec },
        );
        const converge = inputs.convergeConfig as Inputs | undefined;
        if (converge !== undefined) {
            await convergeService(engine, old.id, converge, true);
        }
        return { resource, id: old.id, name };
    }

    /** The provider sends the service's `auth`, else its own credentials for the image's registry. */
    private serviceAuth(
        resource: CapturedResource,
        inputs: Inputs,
        deployment: SwarmDeployment,
    ): Docker.AuthConfig {
        const auth = inputs.auth as
            { serverAddress: string; username?: string; password?: string } | undefined;
        if (auth !== undefined) {
            return {
                serveraddress: auth.serverAddress,
                username: auth.username ?? "",
                password: auth.password ?? "",
            };
        }
        const image = String(((inputs.taskSpec as Inputs).containerSpec as Inputs).image);
        const found = authFor(
            this.providerAuths(resource, deployment.capture),
            parseReference(image).server,
        );
        return found === undefined
            ? ({} as Docker.AuthConfig)
            : { serveraddress: found.address, username: found.username, password: found.password };
    }

    private providerAuths(resource: CapturedResource, capture: Capture): RegistryAuth[] {
        const provider = capture.resources.find(
            (r) => r.type === T.provider && r.name === resource.provider,
        );
        return provider === undefined
            ? []
            : parseRegistryAuth(reveal(provider.inputs.registryAuth));
    }

    private async remove(c: SwarmCreated, deployment: SwarmDeployment): Promise<void> {
        const { resource } = c;
        if (resource.retainOnDelete) {
            this.log(`retain ${resource.type} ${c.id}`);
            return;
        }
        const inputs = reveal(resource.inputs) as Inputs;
        if (resource.type === T.provider || resource.type === T.image) {
            // Nothing on the engine; built images stay in its cache (and in the registry).
            return;
        }
        const engine = this.engineOf(resource, deployment.capture);
        switch (resource.type) {
            case T.service:
                this.log(`remove service ${c.name ?? c.id}`);
                await engine.getService(c.id).remove();
                // Filtered here: a task filter naming a removed service is an error (404).
                await until(
                    `the tasks of service ${c.name ?? c.id} are gone`,
                    120_000,
                    async () => {
                        const tasks = (await engine.listTasks()) as { ServiceID?: string }[];
                        return !tasks.some((t) => t.ServiceID === c.id);
                    },
                );
                return;
            case T.serviceConfig:
                this.log(`remove config ${c.name ?? c.id}`);
                await retryWhileInUse(() => engine.getConfig(c.id).remove());
                return;
            case T.network:
                this.log(`remove network ${String(inputs.name)}`);
                // A node may still be detaching a removed task's endpoint.
                await retryWhileInUse(() => engine.getNetwork(c.id).remove());
                return;
            case T.volume:
                this.log(`remove volume ${c.id}`);
                await engine.getVolume(c.id).remove();
                return;
            case T.remoteImage:
                if (inputs.keepLocally !== true) {
                    await engine.getImage(c.id).remove();
                }
                return;
            default:
                return;
        }
    }
}

/** Every input of every custom resource against the allow-list, before anything is created. */
export function checkInputs(capture: Capture): void {
    const problems = capture.resources.filter((r) => r.custom).flatMap(swarmInputProblems);
    if (problems.length > 0) {
        throw new DriverError(problems.join("\n"));
    }
}

/** Why the driver cannot create `resource` exactly as declared: unknown types, fields, values. */
export function swarmInputProblems(resource: CapturedResource): string[] {
    const supported = SWARM_SUPPORTED[resource.type];
    if (supported === undefined) {
        return [`${resource.urn}: the driver cannot create ${resource.type}`];
    }
    let inputs = reveal(resource.inputs) as Inputs;
    if (resource.type === T.provider && typeof inputs.registryAuth === "string") {
        // A provider's structured inputs travel JSON-encoded.
        inputs = { ...inputs, registryAuth: JSON.parse(inputs.registryAuth) as unknown };
    }
    const problems = unsupportedFields(inputs, { fields: supported });
    if (resource.type === T.network && inputs.driver !== "overlay") {
        problems.push(
            `driver ${JSON.stringify(inputs.driver)} (a swarm service joins overlay networks only)`,
        );
    }
    if (resource.type === T.service) {
        try {
            serviceSpec(inputs, "check");
        } catch (err) {
            problems.push((err as Error).message);
        }
    }
    return problems.length > 0
        ? [`${resource.urn}: unsupported inputs ${problems.join(", ")}`]
        : [];
}

/** The id the engine gave the config a placeholder id names, once it exists. */
function configId(declared: string, deployment: SwarmDeployment): string {
    if (!declared.startsWith(PENDING_ID)) {
        return declared;
    }
    const logical = declared.slice(PENDING_ID.length);
    const config = deployment.created.find(
        (c) => c.resource.type === T.serviceConfig && c.resource.name === logical,
    );
    if (config === undefined) {
        throw new DriverError(`config ${logical} is referred to before it was created`);
    }
    return config.id;
}

/**
 * Waits as the provider does with `convergeConfig`: on create until every replica runs, on update
 * until the update completed; a rolled-back or paused update is an error.
 */
async function convergeService(
    engine: Docker,
    id: string,
    converge: Inputs,
    update: boolean,
): Promise<void> {
    // The provider's defaults: look every 7 s, give up after 3 minutes.
    const timeoutMs = (nanoseconds(converge.timeout) ?? 180e9) / 1e6;
    const delayMs = (nanoseconds(converge.delay) ?? 7e9) / 1e6;
    await new Promise((r) => setTimeout(r, delayMs));
    await until(`service ${id} to converge`, timeoutMs, async () => {
        const service = (await engine.getService(id).inspect()) as Docker.Service;
        const state = service.UpdateStatus?.State;
        if (update && state !== undefined) {
            if (
                state === "rollback_completed" ||
                state === "rollback_paused" ||
                state === "paused"
            ) {
                throw new DriverError(
                    `service ${service.Spec?.Name ?? id}: update ${state.replace("_", " ")}: ${service.UpdateStatus?.Message ?? ""}`,
                );
            }
            if (state !== "completed") {
                return false;
            }
        }
        return (await runningTasks(engine, id)) >= desiredTasks(service, await activeNodes(engine));
    });
}

export async function runningTasks(engine: Docker, serviceId: string): Promise<number> {
    const tasks = (await engine.listTasks({
        filters: JSON.stringify({ service: [serviceId], "desired-state": ["running"] }),
    })) as { Status?: { State?: string } }[];
    return tasks.filter((t) => t.Status?.State === "running").length;
}

function desiredTasks(service: Docker.Service, nodes: number): number {
    const mode = service.Spec?.Mode as { Replicated?: { Replicas?: number }; Global?: object };
    return mode.Global !== undefined ? nodes : (mode.Replicated?.Replicas ?? 1);
}

async function activeNodes(engine: Docker): Promise<number> {
    const nodes = (await engine.listNodes()) as {
        Status?: { State?: string };
        Spec?: { Availability?: string };
    }[];
    return nodes.filter((n) => n.Status?.State === "ready" && n.Spec?.Availability === "active")
        .length;
}

/** Polls `check` every 250 ms until it answers true; an error it throws ends the wait. */
export async function until(
    what: string,
    timeoutMs: number,
    check: () => Promise<boolean>,
): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await check()) {
            return;
        }
        if (Date.now() > deadline) {
            throw new DriverError(`timed out after ${timeoutMs / 1000} s waiting until ${what}`);
        }
        await new Promise((r) => setTimeout(r, 250));
    }
}

/** Removal of a network or config a task still uses answers 409/500 "in use": try again. */
async function retryWhileInUse(remove: () => Promise<unknown>): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
        try {
            await remove();
            return;
        } catch (err) {
            const message = String((err as Error).message);
            if (!/in use|active endpoints/i.test(message) || Date.now() > deadline) {
                throw err;
            }
            await new Promise((r) => setTimeout(r, 500));
        }
    }
}

async function pull(
    engine: Docker,
    reference: string,
    auths: RegistryAuth[],
    log: (line: string) => void,
): Promise<void> {
    const auth = authFor(auths, parseReference(reference).server);
    log(`pull ${reference}${auth ? ` as ${auth.username}` : ""}`);
    const stream = await engine.pull(reference, {
        authconfig:
            auth === undefined
                ? undefined
                : { username: auth.username, password: auth.password, serveraddress: auth.address },
    });
    await follow(engine, stream, `pull of ${reference}`);
}

/** Reads a build/push/pull progress stream; its in-band error becomes a DriverError. */
async function follow(
    engine: Docker,
    stream: NodeJS.ReadableStream,
    what: string,
): Promise<Record<string, unknown>[]> {
    const events = await new Promise<Record<string, unknown>[]>((resolve, reject) => {
        engine.modem.followProgress(stream, (err: Error | null, res: unknown[]) =>
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

const MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/** The digest `reference` points at, from the registry's HTTP API (what getRegistryImage does). */
export async function registryDigest(
    reference: string,
    auth: RegistryAuth | undefined,
): Promise<string> {
    const ref = parseReference(reference);
    const headers: Record<string, string> = { Accept: MANIFEST_TYPES.join(", ") };
    if (auth !== undefined) {
        headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
    }
    const res = await fetch(`http://${ref.server}/v2/${ref.path}/manifests/${ref.tag}`, {
        method: "HEAD",
        headers,
    });
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

function sameInputs(a: CapturedResource, b: CapturedResource): boolean {
    return JSON.stringify(reveal(a.inputs)) === JSON.stringify(reveal(b.inputs));
}

/** The top-level inputs (and `taskSpec.containerSpec` fields) that differ, for log lines and errors. */
function changedInputs(a: CapturedResource, b: CapturedResource): string[] {
    const flat = (r: CapturedResource): Record<string, string> => {
        const inputs = reveal(r.inputs) as Inputs;
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(inputs)) {
            if (k === "taskSpec" && typeof v === "object" && v !== null) {
                for (const [tk, tv] of Object.entries(v as Inputs)) {
                    if (tk === "containerSpec" && typeof tv === "object" && tv !== null) {
                        for (const [ck, cv] of Object.entries(tv as Inputs)) {
                            out[`taskSpec.containerSpec.${ck}`] = JSON.stringify(cv);
                        }
                    } else {
                        out[`taskSpec.${tk}`] = JSON.stringify(tv);
                    }
                }
            } else {
                out[k] = JSON.stringify(v);
            }
        }
        return out;
    };
    const fa = flat(a);
    const fb = flat(b);
    return [...new Set([...Object.keys(fa), ...Object.keys(fb)])].filter((k) => fa[k] !== fb[k]);
}

function parseRegistryAuth(value: unknown): RegistryAuth[] {
    if (value === undefined) {
        return [];
    }
    return (typeof value === "string" ? JSON.parse(value) : value) as RegistryAuth[];
}

function authFor(auths: RegistryAuth[], server: string): RegistryAuth | undefined {
    return auths.find((a) => a.address === server);
}

/** `proxy-service` → `proxy-service-1a2b3c4`, as Pulumi autonames a resource. */
function autoName(logicalName: string): string {
    return `${logicalName}-${crypto.randomBytes(4).toString("hex").slice(0, 7)}`;
}

/** Undoes the wire format's secret wrapping that hooks see. */
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
