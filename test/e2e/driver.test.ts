/**
 * The driver's own rules, without an engine: how it schedules creation (dependency levels run
 * concurrently, nothing starts before its dependencies are done, nothing new after a failure) and
 * that its allow-list of inputs holds at every depth.
 */
import type { CapturedResource } from "../../capture";
import { dependencyLevels, dependencies, inputProblems, runByDependencies } from "./driver";

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
