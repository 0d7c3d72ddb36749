/**
 * Releases without downtime, on a real engine and a real registry: the stack with the edge proxy
 * (`msa:proxy`) and one service (`web`) with an HTTP healthcheck, taken through releases by the
 * driver's `update`, which follows the engine's rules for replacement (docs/e2e.md, "Updates").
 * Every release runs under constant HTTP load on the proxy's host port, and counts what failed.
 */
import type Docker from "dockerode";
import { reveal, type Capture, type CapturedResource } from "../../capture";
import { DockerDriver, freePort, type Created, type Deployment, type StepRecord } from "./driver";
import {
    containerEvents,
    containersOf,
    docker,
    e2eEnv,
    execIn,
    NAMESPACE,
    PROJECT_PATH,
    publishReleaseImages,
    releaseConfig,
    releaseSecrets,
    releaseStack,
    RELEASES,
    removeStackLeftovers,
    sleep,
    stackLeftovers,
    startLoad,
    until2xx,
    WEB,
    type LoadReport,
    type ReleaseOptions,
    type ReleaseStack,
} from "./fixtures";

const env = e2eEnv();
const driver = new DockerDriver(docker);
let ids: ReleaseStack;
let images: { digests: Record<string, string>; proxyImage: string };
let deployment: Deployment;

const url = (): string => `http://127.0.0.1:${ids.webPort}/health`;
const repo = (): string => `${env.registry}/${NAMESPACE}/${PROJECT_PATH}/${WEB.key}`;
const inspect = (id: string): Promise<Docker.ContainerInspectInfo> =>
    docker.getContainer(id).inspect();

function entry(d: Deployment, name: string): Created {
    const c = d.created.find((x) => x.resource.name === name);
    if (c === undefined) {
        throw new Error(`the deployment has no ${name}`);
    }
    return c;
}

function declared(capture: Capture, name: string): CapturedResource {
    const r = capture.resources.find((x) => x.name === name);
    if (r === undefined) {
        throw new Error(`the capture declares no ${name}`);
    }
    return r;
}

function step(d: Deployment, op: StepRecord["op"], name: string): StepRecord {
    const s = d.steps.find((x) => x.op === op && x.name === name);
    if (s === undefined) {
        throw new Error(
            `no ${op} step for ${name}; steps: ${d.steps.map((x) => `${x.op} ${x.name}`).join(", ")}`,
        );
    }
    return s;
}

/** Captures the stack with `web` at `tag` and applies it to the current deployment. */
async function release(tag: string, opts: ReleaseOptions = {}): Promise<Deployment> {
    const capture = await driver.capture(
        ids.stack,
        releaseConfig(env, ids, images.proxyImage, tag, opts),
        releaseSecrets(env, ids),
    );
    return driver.update(deployment, capture);
}

/**
 * Runs `work` under constant load on the proxy's host port (100 requests/s over 4 keep-alive
 * connections), from a second before until a second after it.
 */
async function underLoad<T>(
    what: string,
    work: () => Promise<T>,
): Promise<{ result: T | (Error & { deployment?: Deployment }); load: LoadReport; ms: number }> {
    const load = startLoad(url(), { workers: 4, rps: 100, maxMs: 180_000 });
    await sleep(1000);
    const started = Date.now();
    const result = await work().catch((e: Error & { deployment?: Deployment }) => e);
    const ms = Date.now() - started;
    await sleep(1000);
    const report = await load.stop();
    const steps =
        result instanceof Error ? (result.deployment?.steps ?? []) : (result as Deployment).steps;
    const at = (t: number | undefined) => (t === undefined ? "-" : String(t - report.startedAt));
    console.log(
        [
            `${what}: ${ms} ms; under load ${report.requests} requests, ${report.failed} failed, max latency ${report.maxLatencyMs} ms`,
            ...(report.failed > 0
                ? [`  first failures: ${JSON.stringify(report.firstFailures)}`]
                : []),
            ...(report.slow.length > 0
                ? [
                      `  requests over 1 s (sent at ms after the load started): ${JSON.stringify(report.slow)}`,
                      ...steps
                          .filter((s) => s.op !== "same")
                          .map(
                              (s) =>
                                  `  ${s.op} ${s.name}${s.containerName ? ` (${s.containerName})` : ""}: ${at(s.startedAt)} → ${at(s.doneAt)}`,
                          ),
                  ]
                : []),
        ].join("\n"),
    );
    return { result, load: report, ms };
}

function succeeded(result: Deployment | Error): Deployment {
    if (result instanceof Error) {
        throw result;
    }
    return result;
}

beforeAll(async () => {
    const t0 = Date.now();
    ids = await releaseStack("rel");
    images = await publishReleaseImages(env);
    const t1 = Date.now();
    const capture = await driver.capture(
        ids.stack,
        releaseConfig(env, ids, images.proxyImage, RELEASES.v1),
        releaseSecrets(env, ids),
    );
    const t2 = Date.now();
    deployment = await driver.deploy(capture);
    await until2xx(url());
    console.log(
        `set-up: images published in ${t1 - t0} ms, captured in ${t2 - t1} ms, deployed and answering in ${Date.now() - t2} ms`,
    );
});

afterAll(async () => {
    // Last resort if a test failed half-way; the destroy test asserts the real path.
    await removeStackLeftovers(ids.stack);
});

test("the service is declared create-first and health-gated; the DB and the proxy keep the provider's delete-first", async () => {
    const web = declared(deployment.capture, "web-container");
    expect(web.deleteBeforeReplace).toBe(false);
    const inputs = reveal(web.inputs) as Record<string, unknown>;
    // interval 1s, timeout 1s, retries 2, start period 2s: 2 + 2 × (1 + 1) + 10 s of margin.
    expect(inputs).toMatchObject({ wait: true, waitTimeout: 16, destroyGraceSeconds: 2 });
    expect(inputs.name).toBeUndefined();
    expect(inputs.ports).toEqual([]);
    expect(declared(deployment.capture, "database-container").deleteBeforeReplace).toBeUndefined();
    expect(declared(deployment.capture, "proxy-container").deleteBeforeReplace).toBeUndefined();
    // The proxy runs the configuration the program declared, uploaded before it started.
    const proxy = entry(deployment, "proxy-container");
    const uploads = reveal(declared(deployment.capture, "proxy-container").inputs.uploads) as {
        file: string;
        content: string;
    }[];
    expect(uploads.map((u) => u.file)).toEqual(["/usr/local/etc/haproxy/haproxy.cfg"]);
    expect(`${await execIn(proxy.id, ["cat", "/usr/local/etc/haproxy/haproxy.cfg"])}\n`).toBe(
        uploads[0]?.content,
    );
    expect((await inspect(proxy.id)).HostConfig.PortBindings).toEqual({
        [`${ids.webPort}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: String(ids.webPort) }],
    });
});

test("v1 → v2 under load: no request fails, the new container is healthy before the old one goes, and the old one is gone", async () => {
    const v1 = entry(deployment, "web-container");
    const { result, load } = await underLoad("release v1 → v2", () => release(RELEASES.v2));
    deployment = succeeded(result);
    expect(load.failed).toBe(0);
    // 100 requests/s from a second before to a second after a release of about 3 s, less the
    // time the loops spent waiting on stalled requests (up to 2 s each): well over 150.
    expect(load.requests).toBeGreaterThan(150);

    const v2 = entry(deployment, "web-container");
    expect(v2.id).not.toBe(v1.id);
    const created = step(deployment, "create-replacement", "web-container");
    const deleted = step(deployment, "delete-replaced", "web-container");
    expect(v2.healthyAt).toBeLessThanOrEqual(created.doneAt ?? 0);
    expect(deleted.startedAt).toBeGreaterThanOrEqual(created.doneAt ?? Infinity);
    expect(deleted.id).toBe(v1.id);
    // Deletes come last; the proxy, DB and network were kept as they were.
    const ops = deployment.steps.map((s) => s.op);
    expect(ops.slice(ops.indexOf("delete-replaced"))).not.toContain("create-replacement");
    for (const name of ["proxy-container", "database-container", "network-network"]) {
        expect(step(deployment, "same", name)).toBeDefined();
    }

    await expect(inspect(v1.id)).rejects.toMatchObject({ statusCode: 404 });
    expect((await containersOf(ids.stack, `service:${WEB.key}`)).map((c) => c.Id)).toEqual([v2.id]);
    expect((await inspect(v2.id)).Config.Image).toBe(
        `${repo()}:${RELEASES.v2}@${images.digests[RELEASES.v2]}`,
    );
});

test("v2 → a release that never becomes healthy: the update fails, v2 keeps serving and no request fails; the next good release succeeds", async () => {
    const v2 = entry(deployment, "web-container");
    const { result, load } = await underLoad("release v2 → broken", () => release(RELEASES.BROKEN));
    expect(result).toBeInstanceOf(Error);
    const failure = result as Error & { deployment: Deployment };
    expect(failure.message).toMatch(/^container web-container-[0-9a-f]{7} not healthy within 16 s/);
    expect(load.failed).toBe(0);

    // As the provider leaves it and the engine records it: the new container stays, with its
    // initialization error; the old one keeps running, marked for deletion by a later update.
    const failed = failure.deployment;
    const broken = entry(failed, "web-container");
    expect(broken.id).not.toBe(v2.id);
    expect(broken.initErrors).toEqual([expect.stringContaining("not healthy within 16 s")]);
    expect(failed.pendingDeletes.map((c) => c.id)).toContain(v2.id);
    expect(failed.steps.some((s) => s.op === "delete-replaced" || s.op === "delete")).toBe(false);
    expect((await inspect(v2.id)).State.Running).toBe(true);
    expect((await inspect(broken.id)).State.Health?.Status).toBe("unhealthy");
    deployment = failed;

    const next = await underLoad("release broken → v4", () => release(RELEASES.v4));
    deployment = succeeded(next.result);
    expect(next.load.failed).toBe(0);
    const v4 = entry(deployment, "web-container");
    expect(v4.initErrors).toBeUndefined();
    // Both the unhealthy container and the one it was to replace are deleted, after v4 is up.
    const created = step(deployment, "create-replacement", "web-container");
    const deletedIds = deployment.steps
        .filter((s) => s.op === "delete-replaced" && s.name === "web-container")
        .map((s) => {
            expect(s.startedAt).toBeGreaterThanOrEqual(created.doneAt ?? Infinity);
            return s.id;
        });
    expect(deletedIds.sort()).toEqual([broken.id, v2.id].sort());
    expect(deployment.pendingDeletes).toEqual([]);
    expect((await containersOf(ids.stack, `service:${WEB.key}`)).map((c) => c.Id)).toEqual([v4.id]);
});

test("rollback: deploying v1's config again fails no request and ends on v1's digest", async () => {
    const { result, load } = await underLoad("rollback v4 → v1", () => release(RELEASES.v1));
    deployment = succeeded(result);
    expect(load.failed).toBe(0);
    const running = await containersOf(ids.stack, `service:${WEB.key}`);
    expect(running).toHaveLength(1);
    const image = (await inspect(running[0]?.Id ?? "")).Config.Image;
    expect(image).toBe(`${repo()}:${RELEASES.v1}@${images.digests[RELEASES.v1]}`);
    // The digest the registry holds for v1 now is still the one published at the start.
    expect(
        await driver.registryDigest(`${repo()}:${RELEASES.v1}`, {
            address: env.registry,
            username: env.username,
            password: env.password,
        }),
    ).toBe(images.digests[RELEASES.v1]);
});

test("a change to the DB container replaces it delete-first: the old one is removed before the new one is created", async () => {
    const oldDb = entry(deployment, "database-container");
    const web = entry(deployment, "web-container");
    const dbHostPort = await freePort();
    const since = Date.now();
    deployment = await release(RELEASES.v1, { dbHostPort });
    const until = Date.now();
    const newDb = entry(deployment, "database-container");
    expect(newDb.id).not.toBe(oldDb.id);

    const deleted = step(deployment, "delete-replaced", "database-container");
    const created = step(deployment, "create-replacement", "database-container");
    expect(deleted.id).toBe(oldDb.id);
    expect(deleted.doneAt).toBeLessThanOrEqual(created.startedAt);
    // By the engine's own event log: the old container destroyed before the new one was created.
    await sleep(Math.max(0, until + 1500 - Date.now()));
    const events = await containerEvents(ids.stack, since - 1000, until);
    const destroyedAt = events.find((e) => e.action === "destroy" && e.id === oldDb.id)?.at;
    const createdAt = events.find((e) => e.action === "create" && e.id === newDb.id)?.at;
    expect(destroyedAt).toBeDefined();
    expect(createdAt).toBeDefined();
    expect(destroyedAt).toBeLessThan(createdAt ?? 0);

    // Only the DB was replaced: the service and the proxy were kept.
    expect(entry(deployment, "web-container").id).toBe(web.id);
    expect(step(deployment, "same", "web-container")).toBeDefined();
    const db = await inspect(newDb.id);
    expect(db.State.Health?.Status).toBe("healthy");
    expect(db.HostConfig.PortBindings?.["5432/tcp"]).toEqual([
        { HostIp: "127.0.0.1", HostPort: String(dbHostPort) },
    ]);
});

test("destroy leaves only the retained data volume", async () => {
    await driver.destroy(deployment);
    const volume = String(declared(deployment.capture, "database-volume").inputs.name);
    expect(await stackLeftovers(ids.stack)).toEqual({
        containers: [],
        networks: [],
        volumes: [volume],
    });
    await docker.getVolume(volume).remove();
});
