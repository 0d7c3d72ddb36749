/** Captures `test/fixtures/unknowns/index.ts`, a program whose images and volume the engine decides. */
import * as path from "path";
import { Capture, CaptureOptions, captureStack } from "../../capture";

const DIR = path.join(__dirname, "..", "fixtures", "unknowns");

/** The service image's tag, as the fixture resolves it with `getRegistryImage`. */
export const SERVICE_TAG = "registry.example.com/team/app/orders:1.4.2";

export const DIGEST = `sha256:${"ab".repeat(32)}`;
export const REPO_DIGEST = `registry.example.com/team/app/db@sha256:${"cd".repeat(32)}`;

export function captureFixture(opts: Partial<CaptureOptions> = {}): Promise<Capture> {
    return captureStack({
        stack: "fixture",
        config: {},
        root: DIR,
        program: path.join(DIR, "index.ts"),
        ...opts,
    });
}

/** What the e2e driver's hooks do: the digest from the registry, the pushed image's repoDigest. */
export const realAnswers: CaptureOptions["hooks"] = {
    call: (args) => ({ name: args.inputs.name, sha256Digest: DIGEST }),
    newResource: (args) =>
        args.type === "docker:index/image:Image"
            ? { id: `${args.name}-id`, state: { ...args.inputs, repoDigest: REPO_DIGEST } }
            : undefined,
};
