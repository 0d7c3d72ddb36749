/** Shared test helpers: the real stack files' config, and lookups into a capture. */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import type { Capture, CapturedResource, MockHooks } from "../capture";

export const ROOT = path.resolve(__dirname, "..");

/**
 * Project modules loaded afresh, from one new module registry, inside the calling test: mutation
 * testing credits a change to module-level code (patterns, messages, lists) only to the tests
 * during which its module was evaluated, and an import at the top of a test file evaluates it
 * outside every test. `paths` name each module from the project root: `{ pinning:
 * "policy/pinning" }`.
 */
export function freshModules<T extends Record<string, unknown>>(paths: {
    [K in keyof T]: string;
}): T {
    const loaded: Record<string, unknown> = {};
    jest.isolateModules(() => {
        for (const [key, file] of Object.entries(paths)) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load (above)
            loaded[key] = require(path.join(ROOT, file as string));
        }
    });
    return loaded as T;
}

/** The `config:` block of `Pulumi.<stack>.yaml`, decoded (the real file, not a copy). */
export function stackConfig(stack: string): Record<string, unknown> {
    const doc = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
        config: Record<string, unknown>;
    };
    return structuredClone(doc.config);
}

export function byName(capture: Capture, name: string): CapturedResource {
    const found = capture.resources.filter((r) => r.name === name);
    if (found.length !== 1) {
        throw new Error(`expected one resource named ${name}, found ${found.length}`);
    }
    return found[0] as CapturedResource;
}

/** `{type: count}` over the whole capture. */
export function countByType(capture: Capture): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of capture.resources) {
        counts[r.type] = (counts[r.type] ?? 0) + 1;
    }
    return counts;
}

export const CONTAINER = "docker:index/container:Container";
export const VOLUME = "docker:index/volume:Volume";
export const IMAGE = "docker:index/image:Image";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
export const NETWORK = "docker:index/network:Network";
export const PROVIDER = "pulumi:providers:docker";

/** Digests as a registry would answer them: the capture alone never makes one up. */
export const digestOf = (name: string) =>
    `sha256:${createHash("sha256").update(name).digest("hex")}`;

/**
 * The registry's answers (digest lookups, built images' repo digests), so a capture runs as an
 * update and images are pinned by digest.
 */
export const REGISTRY: MockHooks = {
    call: (args) =>
        args.token === "docker:index/getRegistryImage:getRegistryImage"
            ? { name: args.inputs.name, sha256Digest: digestOf(String(args.inputs.name)) }
            : undefined,
    newResource: (args) =>
        args.type === IMAGE
            ? {
                  id: `${args.name}-id`,
                  state: {
                      ...args.inputs,
                      repoDigest: `${String(args.inputs.imageName).replace(/:[^:/]+$/, "")}@${digestOf(String(args.inputs.imageName))}`,
                  },
              }
            : undefined,
};
