/**
 * The driver's own rules, without an engine: how it schedules creation (dependency levels run
 * concurrently, nothing starts before its dependencies are done, nothing new after a failure) and
 * that its allow-list of inputs holds at every depth.
 */
import { execFileSync } from "child_process";
import type { Capture, CapturedResource } from "../../capture";
import {
    applyUpdate,
    dependencyLevels,
    dependencies,
    emptyDeployment,
    inputProblems,
    PartialCreateError,
    planStep,
    runByDependencies,
    tarOf,
    type Created,
    type Deployment,
    type UpdateOps,
} from "./driver";

const CONTAINER = "docker:index/container:Container";

function res(
    name: string,
    dependsOn: string[] = [],
    extra: Partial<CapturedResource> = {},
): CapturedResource {
    return {
        urn: `urn:${name}`,
        type: "docker:index/network:Network",
        name,
        parent: null,
        parentUrn: null,
        custom: true,
        provider: null,
        inputs: {},
        outputs: {},
        protect: false,
        retainOnDelete: false,
        dependsOn,
        dependsOnUrns: dependsOn.map((d) => `urn:${d}`),
        ...extra,
    };
}

/** Runs `resources` with creations that take `ms` each (`fail` fails at once); returns the order. */
async function schedule(resources: CapturedResource[], ms = 30, fail?: string) {
    const events: string[] = [];
    const levels: Record<string, number> = {};
    const outcome = await runByDependencies(resources, async (r, level) => {
        levels[r.name] = level;
        events.push(`start ${r.name}`);
        if (r.name === fail) {
            throw new Error(`${r.name} failed`);
        }
        await new Promise((resolve) => setTimeout(resolve, ms));
        events.push(`done ${r.name}`);
    }).then(
        () => "ok",
        (e: Error) => e.message,
    );
    return { events, levels, outcome };
}

describe("scheduling", () => {
    test("each dependency level starts at once; a resource starts when its dependencies are done", async () => {
        // provider ← network, volume, image; db ← network, volume; a, b ← db
        const provider = res("docker", [], { type: "pulumi:providers:docker" });
        const withProvider = { provider: "docker" };
        const resources = [
            provider,
            res("network", [], withProvider),
            res("volume", [], withProvider),
            res("db", ["network", "volume"], withProvider),
            res("a", ["db"], withProvider),
            res("b", ["db"], withProvider),
        ];
        const { events, levels, outcome } = await schedule(resources);
        expect(outcome).toBe("ok");
        expect(levels).toEqual({ docker: 0, network: 1, volume: 1, db: 2, a: 3, b: 3 });
        expect(events).toEqual([
            "start docker",
            "done docker",
            "start network",
            "start volume",
            "done network",
            "done volume",
            "start db",
            "done db",
            "start a",
            "start b",
            "done a",
            "done b",
        ]);
    });

    test("without a dependency, a service starts alongside the DB (so a missing dependsOn shows)", async () => {
        const { events } = await schedule([res("db"), res("a")]);
        expect(events.slice(0, 2)).toEqual(["start db", "start a"]);
    });

    test("a dependency on a component waits for every custom resource under it", () => {
        const component = res("database", [], { custom: false, type: "msa:database:X" });
        const volume = res("volume", [], { parentUrn: "urn:database" });
        const container = res("container", ["volume"], { parentUrn: "urn:database" });
        const service = res("service", ["database"]);
        const deps = dependencies([component, volume, container, service]);
        expect(deps.get("urn:service")?.needs.sort()).toEqual(["urn:container", "urn:volume"]);
        expect(deps.has("urn:database")).toBe(false);
        expect(Object.fromEntries(dependencyLevels(deps))).toEqual({
            "urn:volume": 0,
            "urn:container": 1,
            "urn:service": 2,
        });
    });

    test("after a failure nothing new starts, what runs finishes, and the failure is thrown", async () => {
        const { events, outcome } = await schedule(
            [res("slow"), res("bad"), res("afterBad", ["bad"]), res("afterSlow", ["slow"])],
            30,
            "bad",
        );
        expect(outcome).toBe("bad failed");
        expect(events).toEqual(["start slow", "start bad", "done slow"]);
    });

    test("a cycle is an error", () => {
        expect(() => dependencyLevels(dependencies([res("a", ["b"]), res("b", ["a"])]))).toThrow(
            "dependency cycle: urn:a -> urn:b -> urn:a",
        );
    });
});

describe("the allow-list of inputs", () => {
    const container = (inputs: Record<string, unknown>) =>
        inputProblems(res("c", [], { type: CONTAINER, inputs }));

    test("the inputs the program declares pass", () => {
        expect(
            container({
                name: "c",
                image: "i",
                envs: ["A=1", { __secret: true, value: "B=2" }],
                ports: [{ internal: 1, external: 2, ip: "127.0.0.1", protocol: "udp" }],
                networksAdvanced: [{ name: "n", aliases: ["a"] }],
                healthcheck: { tests: ["CMD"], interval: "1s", retries: 5 },
                volumes: [{ volumeName: "v", containerPath: "/d" }],
                labels: [{ label: "k", value: "v" }],
                command: ["x"],
            }),
        ).toEqual([]);
    });

    test("an unknown field at any depth is an error, never dropped", () => {
        expect(
            container({
                name: "c",
                privileged: true,
                healthcheck: { tests: ["CMD"], startInterval: "1s" },
                ports: [{ internal: 1 }, { internal: 2, hostIp: "0.0.0.0" }],
                volumes: [{ volumeName: "v", containerPath: "/d", readOnly: true }],
                networksAdvanced: [{ name: "n", ipv4Address: "10.0.0.9" }],
                labels: [{ label: "k", value: "v", extra: 1 }],
                command: [["nested"]],
            }),
        ).toEqual([
            "urn:c: unsupported inputs privileged, healthcheck.startInterval, ports[1].hostIp, volumes[0].readOnly, networksAdvanced[0].ipv4Address, labels[0].extra, command[0] (a structure where the driver takes a value)",
        ]);
        expect(
            inputProblems(
                res("image", [], {
                    type: "docker:index/image:Image",
                    inputs: {
                        imageName: "i",
                        build: { context: ".", args: { A: "1" }, target: "dev", platform: "x" },
                    },
                }),
            ),
        ).toEqual(["urn:image: unsupported inputs build.target, build.platform"]);
    });

    test("a value only the engine knows is an error, and so is an unknown type", () => {
        expect(container({ name: "c", image: { __unknown: true } })).toEqual([
            "urn:c: unsupported inputs image (unknown until deployed)",
        ]);
        expect(inputProblems(res("x", [], { type: "docker:index/service:Service" }))).toEqual([
            "urn:x: the driver cannot create docker:index/service:Service",
        ]);
    });

    test("the provider's registryAuth, JSON on the wire, is checked field by field", () => {
        const provider = (auth: unknown[]) =>
            inputProblems(
                res("docker", [], {
                    type: "pulumi:providers:docker",
                    inputs: { registryAuth: { __secret: true, value: JSON.stringify(auth) } },
                }),
            );
        expect(provider([{ address: "r", username: "u", password: "p" }])).toEqual([]);
        expect(provider([{ address: "r", configFile: "/x" }])).toEqual([
            "urn:docker: unsupported inputs registryAuth[0].configFile",
        ]);
    });
});

describe("updates follow the engine's rules for replacement", () => {
    const container = (name: string, inputs: Record<string, unknown>, extra = {}) =>
        res(name, ["network"], { type: CONTAINER, inputs, ...extra });
    const network = res("network", [], { inputs: { name: "n" } });
    const capture = (resources: CapturedResource[]): Capture => ({
        stack: "s",
        resources,
        invokes: [],
        outputs: {},
        warnings: [],
    });
    const old = (resource: CapturedResource, initErrors?: string[]): Created => ({
        resource,
        id: `${resource.name}#old`,
        level: 0,
        startedAt: 0,
        readyAt: 0,
        ...(initErrors === undefined ? {} : { initErrors }),
    });

    test("unchanged inputs keep the resource; a changed secret is a change", () => {
        const a = container("c", { image: "i:1", envs: [{ __secret: true, value: "P=1" }] });
        expect(planStep(old(a), a)).toEqual({ op: "same" });
        expect(planStep(undefined, a)).toEqual({ op: "create" });
        const b = container("c", { image: "i:1", envs: [{ __secret: true, value: "P=2" }] });
        expect(planStep(old(a), b)).toMatchObject({ op: "replace", replaceKeys: ["envs"] });
    });

    test("a container is replaced delete-first unless its deleteBeforeReplace option is false", () => {
        const v1 = container("c", { image: "i:1" });
        const v2 = container("c", { image: "i:2" });
        expect(planStep(old(v1), v2)).toEqual({
            op: "replace",
            changed: ["image"],
            replaceKeys: ["image"],
            deleteBeforeReplace: true,
        });
        const createFirst = { ...v2, deleteBeforeReplace: false };
        expect(planStep(old(v1), createFirst)).toMatchObject({ deleteBeforeReplace: false });
        // The option overrides the provider either way; other types are created first.
        const image = (name: string) =>
            res("img", [], { type: "docker:index/remoteImage:RemoteImage", inputs: { name } });
        expect(planStep(old(image("a")), image("b"))).toMatchObject({
            op: "replace",
            deleteBeforeReplace: false,
        });
        expect(
            planStep(old(image("a")), { ...image("b"), deleteBeforeReplace: true }),
        ).toMatchObject({ deleteBeforeReplace: true });
    });

    test("inputs the provider changes in place update the container; any other change replaces it", () => {
        const v1 = container("c", {
            image: "i:1",
            memory: 64,
            restart: "always",
            healthcheck: { tests: ["CMD", "true"] },
            destroyGraceSeconds: 10,
        });
        const tuned = container("c", {
            image: "i:1",
            memory: 128,
            restart: "no",
            healthcheck: { tests: ["CMD", "false"] },
            destroyGraceSeconds: 2,
        });
        expect(planStep(old(v1), tuned)).toEqual({
            op: "update",
            changed: ["destroyGraceSeconds", "healthcheck", "memory", "restart"],
        });
        expect(
            planStep(old(v1), { ...tuned, inputs: { ...tuned.inputs, image: "i:2" } }),
        ).toMatchObject({ op: "replace", replaceKeys: ["image"] });
    });

    test("a resource left with initialization errors and unchanged inputs gets an empty update", () => {
        const v3 = container("c", { image: "i:3" });
        expect(planStep(old(v3, ["not healthy"]), v3)).toEqual({ op: "update", changed: [] });
    });

    test("create-first: the new copy is created (and waited for) before the old one is deleted, and every delete comes last", async () => {
        const engine = fakeEngine();
        const v1 = await applyUpdate(
            emptyDeployment(capture([])),
            capture([network, container("c", { image: "i:1" }, { deleteBeforeReplace: false })]),
            engine.ops,
        );
        engine.events.length = 0;
        const v2 = await applyUpdate(
            v1,
            capture([
                network,
                container("c", { image: "i:2" }, { deleteBeforeReplace: false }),
                // A new resource that only starts after the replacement is done.
                res("late", ["c"], { inputs: { x: 1 } }),
            ]),
            engine.ops,
        );
        expect(engine.events).toEqual([
            "create c",
            "created c#2",
            "create late",
            "created late#3",
            "delete c#1",
            "deleted c#1",
        ]);
        expect(v2.steps.map((s) => `${s.op} ${s.name}`)).toEqual([
            "same network",
            "create-replacement c",
            "create late",
            "delete-replaced c",
        ]);
        expect(v2.created.map((c) => c.id).sort()).toEqual(["c#2", "late#3", "network#0"]);
        expect(v2.pendingDeletes).toEqual([]);
    });

    test("delete-first: the old copy is deleted before the new one is created", async () => {
        const engine = fakeEngine();
        const v1 = await applyUpdate(
            emptyDeployment(capture([])),
            capture([network, container("db", { image: "pg:1" })]),
            engine.ops,
        );
        engine.events.length = 0;
        await applyUpdate(v1, capture([network, container("db", { image: "pg:2" })]), engine.ops);
        expect(engine.events).toEqual(["delete db#1", "deleted db#1", "create db", "created db#2"]);
    });

    test("resources no longer declared are deleted at the end, dependents first, independent ones at once", async () => {
        const engine = fakeEngine();
        const volume = res("volume", [], { inputs: { name: "v" } });
        const v1 = await applyUpdate(
            emptyDeployment(capture([])),
            capture([network, volume, container("a", { image: "i" }), container("b", {})]),
            engine.ops,
        );
        engine.events.length = 0;
        const v2 = await applyUpdate(v1, capture([res("other")]), engine.ops);
        const at = (event: string) => engine.events.indexOf(event);
        expect(engine.events.slice(0, 2)).toEqual(["create other", "created other#4"]);
        expect(engine.events).toHaveLength(10);
        // Dependents first: the network goes once both containers are gone.
        expect(at("delete network#0")).toBeGreaterThan(
            Math.max(at("deleted a#2"), at("deleted b#3")),
        );
        // Independent ones at once: the volume and both containers before any is done.
        expect(Math.max(at("delete volume#1"), at("delete a#2"), at("delete b#3"))).toBeLessThan(
            Math.min(at("deleted volume#1"), at("deleted a#2"), at("deleted b#3")),
        );
        expect(v2.created.map((c) => c.id)).toEqual(["other#4"]);
    });

    /**
     * A create-first container `c` deployed at `i:2`, then updated to `i:3`, whose create
     * `outcome` the stand-in engine decides; the events of the failed update are kept.
     */
    async function failedUpdate(outcome: "partial" | "error") {
        const engine = fakeEngine((r) => (r.inputs.image === "i:3" ? outcome : undefined));
        const c = (image: string) => container("c", { image }, { deleteBeforeReplace: false });
        const v2 = await applyUpdate(
            emptyDeployment(capture([])),
            capture([network, c("i:2")]),
            engine.ops,
        );
        engine.events.length = 0;
        const failure = await applyUpdate(v2, capture([network, c("i:3")]), engine.ops).then(
            () => undefined,
            (e: Error & { deployment: Deployment }) => e,
        );
        if (failure === undefined) {
            throw new Error("the update to i:3 did not fail");
        }
        return { engine, c, failure, failed: failure.deployment };
    }

    test("a create-first replacement that never becomes healthy fails the update, keeps the old copy and records the new one; the next update deletes both at its end", async () => {
        const { engine, c, failure, failed } = await failedUpdate("partial");
        expect(failure.message).toBe("c#2 not healthy");
        expect(engine.events).toEqual(["create c"]);
        expect(failed.created.map((x) => [x.id, x.initErrors])).toEqual([
            ["network#0", undefined],
            ["c#2", ["c#2 not healthy"]],
        ]);
        expect(failed.pendingDeletes.map((x) => x.id)).toEqual(["c#1"]);

        engine.events.length = 0;
        const fixed = await applyUpdate(failed, capture([network, c("i:4")]), engine.ops);
        expect(engine.events).toEqual([
            "create c",
            "created c#3",
            "delete c#1",
            "delete c#2",
            "deleted c#1",
            "deleted c#2",
        ]);
        expect(fixed.created.map((x) => x.id)).toEqual(["network#0", "c#3"]);
        expect(fixed.pendingDeletes).toEqual([]);
    });

    test("running the failed update again unchanged completes the unhealthy copy and deletes the old one", async () => {
        const { engine, c, failed } = await failedUpdate("partial");
        engine.events.length = 0;
        const again = await applyUpdate(failed, capture([network, c("i:3")]), engine.ops);
        // No create, no wait: an empty update, then the healthy old copy goes.
        expect(engine.events).toEqual(["update c#2 ", "delete c#1", "deleted c#1"]);
        expect(again.created.map((x) => [x.id, x.initErrors])).toEqual([
            ["network#0", undefined],
            ["c#2", undefined],
        ]);
    });

    test("a create that fails outright leaves the old copy current and nothing pending", async () => {
        const { failed } = await failedUpdate("error");
        expect(failed.created.map((x) => x.id)).toEqual(["network#0", "c#1"]);
        expect(failed.pendingDeletes).toEqual([]);
    });

    test("a protected resource is never replaced", async () => {
        const engine = fakeEngine();
        const db = (image: string) => container("db", { image }, { protect: true });
        const v1 = await applyUpdate(
            emptyDeployment(capture([])),
            capture([network, db("pg:1")]),
            engine.ops,
        );
        await expect(applyUpdate(v1, capture([network, db("pg:2")]), engine.ops)).rejects.toThrow(
            "unable to replace urn:db (image changed): it is protected; unprotect it first",
        );
    });
});

/**
 * An engine stand-in that logs each create, update and delete (ids `<name>#<n>` in creation
 * order); `fail` makes a create fail outright ("error") or after creating ("partial", as a failed
 * `wait` does).
 */
function fakeEngine(
    fail: (r: CapturedResource) => "partial" | "error" | undefined = () => undefined,
) {
    const events: string[] = [];
    let n = 0;
    const ops: UpdateOps = {
        create: async (r) => {
            events.push(`create ${r.name}`);
            await new Promise((resolve) => setTimeout(resolve, 10));
            const id = `${r.name}#${n++}`;
            const failure = fail(r);
            if (failure === "partial") {
                throw new PartialCreateError(`${id} not healthy`, id);
            }
            if (failure === "error") {
                throw new Error(`${r.name} could not be created`);
            }
            events.push(`created ${id}`);
            return { id };
        },
        updateInPlace: async (entry, _r, changed) => {
            events.push(`update ${entry.id} ${changed.join(",")}`);
            await Promise.resolve();
        },
        remove: async (entry) => {
            events.push(`delete ${entry.id}`);
            await new Promise((resolve) => setTimeout(resolve, 10));
            events.push(`deleted ${entry.id}`);
        },
    };
    return { events, ops };
}

describe("uploads", () => {
    test("a container's uploads become a tar archive that tar reads back, with the provider's modes", () => {
        const long = `/usr/local/etc/${"d".repeat(90)}/haproxy.cfg`;
        const archive = tarOf([
            {
                name: "/usr/local/etc/haproxy/haproxy.cfg",
                mode: 0o644,
                data: Buffer.from("global\n"),
            },
            { name: "/opt/run.sh", mode: 0o744, data: Buffer.from("#!/bin/sh\n") },
            { name: long, mode: 0o644, data: Buffer.alloc(513, "x") },
        ]);
        expect(archive.length % 512).toBe(0);
        const listing = execFileSync("tar", ["-tvf", "-"], { input: archive }).toString();
        expect(listing).toMatch(/^-rw-r--r-- .* 7 .* usr\/local\/etc\/haproxy\/haproxy\.cfg$/m);
        expect(listing).toMatch(/^-rwxr--r-- .* 10 .* opt\/run\.sh$/m);
        expect(listing).toContain(long.slice(1));
        expect(
            execFileSync("tar", ["-xOf", "-", "usr/local/etc/haproxy/haproxy.cfg"], {
                input: archive,
            }).toString(),
        ).toBe("global\n");
    });
});
