/**
 * The bench's yardstick (`bench/baseline.ts`) must declare the same Docker resources as the
 * program, with the same container env, or the "x times the baseline" figures compare unlike
 * things. Both are captured for one generated config that has links, a second port and a secret
 * env var.
 */
import * as path from "path";
import { Capture, CapturedResource, captureStack, isSecretValue } from "../../capture";
import { BENCH_STACK, generateConfig } from "../../bench/generate";
import { CONTAINER, ROOT } from "../helpers";

const SERVICES = 6;

let program: Capture;
let baseline: Capture;
beforeAll(async () => {
    const config = generateConfig(SERVICES);
    program = await captureStack({ stack: BENCH_STACK, config });
    baseline = await captureStack({
        stack: BENCH_STACK,
        config,
        program: path.join(ROOT, "bench", "baseline.ts"),
    });
});

/** `{type: count}` of the Docker resources (and the provider), without our components. */
function dockerTypes(capture: Capture): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of capture.resources.filter((r) => r.custom)) {
        counts[r.type] = (counts[r.type] ?? 0) + 1;
    }
    return counts;
}

function containers(capture: Capture): Map<string, CapturedResource> {
    return new Map(capture.resources.filter((r) => r.type === CONTAINER).map((r) => [r.name, r]));
}

/** `NAME=value` entries as `[NAME, value]`; a secret one keeps its marker on the value. */
function env(r: CapturedResource): [string, unknown][] {
    const envs = (r.inputs.envs ?? []) as unknown[];
    return envs.map((e) => {
        const secret = isSecretValue(e);
        const text = String(secret ? e.value : e);
        const at = text.indexOf("=");
        return [text.slice(0, at), secret ? { secret: text.slice(at + 1) } : text.slice(at + 1)];
    });
}

test("declares the same Docker resource types, as many of each", () => {
    expect(dockerTypes(baseline)).toEqual(dockerTypes(program));
    expect(dockerTypes(program)).toEqual({
        "pulumi:providers:docker": 1,
        "docker:index/network:Network": 1,
        "docker:index/volume:Volume": 1,
        "docker:index/image:Image": 1,
        "docker:index/container:Container": SERVICES + 1,
        "docker:index/remoteImage:RemoteImage": SERVICES,
    });
    // The program's extra resources are its components only.
    expect(program.resources.filter((r) => !r.custom).map((r) => r.type.split(":")[0])).toEqual(
        Array(program.resources.length - baseline.resources.length).fill("msa"),
    );
});

test("gives every container the same env names, in the same order", () => {
    const ours = containers(program);
    const flat = containers(baseline);
    expect([...flat.keys()].sort()).toEqual([...ours.keys()].sort());
    for (const [name, r] of ours) {
        expect([name, env(flat.get(name) as CapturedResource).map(([k]) => k)]).toEqual([
            name,
            env(r).map(([k]) => k),
        ]);
    }
});

test("gives every container the same env values, secret where the program's are", () => {
    const flat = containers(baseline);
    for (const [name, r] of containers(program)) {
        expect([name, env(flat.get(name) as CapturedResource)]).toEqual([name, env(r)]);
    }
});

test("sets the same container properties, with the same ports, networks and limits", () => {
    const flat = containers(baseline);
    const shape = (r: CapturedResource) => {
        const { ports, networksAdvanced, memory, restart, healthcheck } = r.inputs;
        return {
            keys: Object.keys(r.inputs).sort(),
            ports,
            networksAdvanced,
            memory,
            restart,
            healthcheck,
        };
    };
    for (const [name, r] of containers(program)) {
        expect([name, shape(flat.get(name) as CapturedResource)]).toEqual([name, shape(r)]);
    }
});
