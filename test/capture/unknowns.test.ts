/**
 * The capture runs as a preview: what only the engine knows (digests, ids, names Docker picks) is
 * unknown, never made up, and so is everything built from it, as in `pulumi preview`.
 */
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import {
    Capture,
    CapturedResource,
    isUnknownValue,
    redact,
    reveal,
    UNKNOWN_VALUE,
} from "../../capture";
import { captureFixture, DIGEST, realAnswers, REPO_DIGEST, SERVICE_TAG } from "./fixture";

const named = (c: Capture, name: string): CapturedResource => {
    const found = c.resources.find((r) => r.name === name);
    if (found === undefined) {
        throw new Error(`no resource ${name}`);
    }
    return found;
};

describe("a capture is a preview by default", () => {
    let c: Capture;
    beforeAll(async () => {
        c = await captureFixture();
    });

    test("getRegistryImage is asked, but the digest it resolves is unknown", () => {
        expect(c.invokes).toEqual([
            {
                token: "docker:index/getRegistryImage:getRegistryImage",
                args: { name: SERVICE_TAG },
                provider: "registry",
            },
        ]);
    });

    test("a name interpolated from the tag and the unknown digest is unknown as a whole", () => {
        expect(named(c, "orders-image").inputs).toEqual({ name: UNKNOWN_VALUE });
        expect(named(c, "orders-container").inputs.image).toEqual(UNKNOWN_VALUE);
    });

    test("what the engine computes is unknown: repoDigest, imageId, the name Docker gives a volume", () => {
        expect(named(c, "db-image").outputs).toMatchObject({
            imageName: "registry.example.com/team/app/db:1",
            repoDigest: UNKNOWN_VALUE,
        });
        expect(named(c, "db-container").inputs.image).toEqual(UNKNOWN_VALUE);
        expect(named(c, "orders-image").outputs).toEqual({
            name: UNKNOWN_VALUE,
            imageId: UNKNOWN_VALUE,
            repoDigest: UNKNOWN_VALUE,
        });
        expect(named(c, "data").outputs).toEqual({
            name: UNKNOWN_VALUE,
            mountpoint: UNKNOWN_VALUE,
        });
        expect(named(c, "orders-container").inputs.volumes).toEqual([
            { volumeName: UNKNOWN_VALUE, containerPath: "/data" },
        ]);
    });

    test("known and secret values stay as they are next to unknown ones", () => {
        expect(named(c, "orders-container").inputs).toMatchObject({
            name: "orders",
            envs: ["MODE=plan", { __secret: true, value: "API_TOKEN=api-token" }],
        });
    });

    test("stack outputs: unknown where the engine decides, and so is what an apply derives from them", () => {
        expect(c.outputs).toEqual({
            images: { orders: UNKNOWN_VALUE, db: UNKNOWN_VALUE },
            volume: UNKNOWN_VALUE,
            digest: UNKNOWN_VALUE,
            tag: SERVICE_TAG,
            token: { __secret: true, value: "api-token" },
        });
    });

    test("no digest is made up: nothing captured holds sha256: or the wire sentinel", () => {
        const text = JSON.stringify(c);
        expect(text).not.toContain("sha256:");
        expect(text).not.toContain(unknownValue);
    });

    test("redact and reveal keep the unknown markers", () => {
        expect(redact(c.outputs)).toEqual({ ...c.outputs, token: "[secret]" });
        expect(reveal(c.outputs)).toEqual({ ...c.outputs, token: "api-token" });
        expect(isUnknownValue(redact(UNKNOWN_VALUE))).toBe(true);
    });
});

describe("captures with real answers", () => {
    test("hooks that answer the digest and repoDigest make them known, in a preview too", async () => {
        const c = await captureFixture({ hooks: realAnswers });
        expect(named(c, "orders-image").inputs.name).toBe(`${SERVICE_TAG}@${DIGEST}`);
        expect(named(c, "db-container").inputs.image).toBe(REPO_DIGEST);
        expect(c.outputs.digest).toEqual(DIGEST);
        // Docker still names the volume: unknown in a preview.
        expect(c.outputs.volume).toEqual(UNKNOWN_VALUE);
    });

    test("preview: false runs as an update: the same answers, applies run", async () => {
        const c = await captureFixture({ hooks: realAnswers, preview: false });
        expect(c.outputs.images).toEqual({ orders: `${SERVICE_TAG}@${DIGEST}`, db: REPO_DIGEST });
        expect(c.outputs.digest).toBe(DIGEST);
        // What nobody answered is not made up: the volume's name reads as undefined, not a guess.
        expect(c.outputs.volume).toBeUndefined();
    });
});
