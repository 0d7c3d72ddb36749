/**
 * The production rules: where they apply (every stack, unless it says `msa:production: false`,
 * whatever its environment is called) and what pinned means (a tag judged by what it is, digests
 * for pulled images and the DB base image).
 */
import type * as Pinning from "../../policy/pinning";
import { pinningOf } from "../../policy/pinning";
import { TYPES } from "../../policy/policies";
import { freshModules } from "../helpers";
import {
    container,
    DIGEST,
    labels,
    messages,
    nonProductionNetwork,
    resource,
    service,
    UNKNOWN,
} from "./resources";

/**
 * `policy/pinning.ts` loaded afresh inside the test: its patterns are module-level constants, which
 * mutation testing credits only to tests during which the module was evaluated.
 */
function isImmutableTag(tag: string): boolean {
    return freshModules<{ pinning: typeof Pinning }>({
        pinning: "policy/pinning",
    }).pinning.isImmutableTag(tag);
}

describe("tags judged by what they are", () => {
    test.each([
        "1.4.2",
        "v2.0.1",
        "1.4.2-rc.1",
        "1.2.3.4",
        "1.2.3.45",
        "2024.01.15",
        "14.10.2-alpine",
        "1.0.0_build5",
        "4f2a9c1",
        "0123456789abcdef0123456789abcdef01234567",
        "0123456789abcdef".repeat(4),
        "sha-4f2a9c1",
        "src-0b7e1c2d3f4a",
        "main-4f2a9c1",
        "20240115",
    ])("%s names one build", (tag) => {
        expect(isImmutableTag(tag)).toBe(true);
    });
    test.each([
        "latest",
        "stable",
        "production",
        "release",
        "main",
        "dev",
        "14",
        "14.10",
        "1.25",
        "v2",
        "v2.0",
        "1.4.2-SNAPSHOT",
        "4f2a9c",
        "abcdefg",
        "DEADBEEF12",
        "0123456789abcdef".repeat(4) + "0",
        "1.4.x",
        "1.4.2.x",
        "nightly-1.4.2",
    ])("%s moves", (tag) => {
        expect(isImmutableTag(tag)).toBe(false);
    });
});

describe("what a reference pins", () => {
    test("a reference that is not valid still has its tag and digest judged", () => {
        const pinning = pinningOf(`registry.example/g/p/Web:1.4.2@${DIGEST}`);
        expect(pinning).toEqual({
            tag: "1.4.2",
            digest: DIGEST,
            immutableTag: true,
            invalid: expect.stringContaining("Web") as unknown,
        });
        expect(pinningOf("registry.example/g/p/Web").immutableTag).toBe(false);
        expect(pinningOf("registry.example/g/p/Web:latest").immutableTag).toBe(false);
    });
});

describe("where the production rules apply", () => {
    const moving = (env: string, extra: Record<string, string> = {}) =>
        resource(TYPES.container, "web", {
            name: "web",
            image: "nginx:latest",
            labels: labels("web", { env, extra }),
        });
    const violation =
        'Container "web" runs nginx:latest, whose tag latest moves in prod; run an image pinned by digest or an immutable tag';

    test("a stack without msa.production is production, whatever its environment is called", async () => {
        expect(await messages("prod-images-pinned", moving("dev"))).toEqual([violation]);
        expect(await messages("prod-images-pinned", moving("staging"))).toEqual([violation]);
    });
    test("msa.production=false opts out, even for an environment spelled production", async () => {
        const c = moving("production", { "msa.production": "false" });
        expect(await messages("prod-images-pinned", c)).toEqual([]);
    });
    test("only the exact value false opts out", async () => {
        expect(
            await messages("prod-images-pinned", moving("dev", { "msa.production": "no" })),
        ).toEqual([violation]);
        expect(
            await messages("prod-images-pinned", moving("dev", { "msa.production": "False" })),
        ).toEqual([violation]);
    });
    test("only a label named by a string opts out: a hand-made plan's list-valued name does not", async () => {
        const c = resource(TYPES.container, "web", {
            name: "web",
            image: "nginx:latest",
            labels: [...labels("web"), { label: ["msa.production"], value: "false" }],
        });
        expect(await messages("prod-images-pinned", c)).toEqual([violation]);
    });
    test("images go by the stack: one labelled resource without the opt-out puts it back under the rules", async () => {
        const remote = resource(TYPES.remoteImage, "orders-image", {
            name: `registry.example/g/p/orders:latest@${DIGEST}`,
        });
        expect(await messages("prod-images-pinned", [nonProductionNetwork(), remote])).toEqual([]);
        const handWritten = container("extra", {}, "extra", { env: "dev" });
        expect(
            await messages("prod-images-pinned", [nonProductionNetwork(), handWritten, remote]),
        ).toEqual([
            `RemoteImage "orders-image" pulls registry.example/g/p/orders:latest@${DIGEST}, whose tag latest moves in prod, so the next deploy may run another image; set the service's tag (msa:services.<key>.tag) to a release tag`,
        ]);
    });
    test("in a non-production stack, a container whose own labels do not opt out is checked", async () => {
        // Labelled without msa.stack, so the stack's verdict does not count it; its own labels do.
        const own = resource(TYPES.container, "web", {
            name: "web",
            image: "nginx:latest",
            labels: [{ label: "msa.component", value: "web" }],
        });
        expect(await messages("prod-images-pinned", [nonProductionNetwork(), own])).toEqual([
            violation,
        ]);
    });
    test("the data volume of a stack without msa.production must be protected", async () => {
        const volume = resource(TYPES.volume, "database-volume", {
            name: "db-data",
            labels: labels("database", { env: "dev" }),
        });
        expect(await messages("prod-data-volume-protected", volume)).toEqual([
            `Volume "database-volume" holds the prod database's data but lacks protect and retainOnDelete; set msa:protect: true in the stack file`,
        ]);
    });
});

describe("prod-images-pinned: what pinned means", () => {
    test.each(["production", "release", "14"])(
        "a container running the tag %s violates",
        async (tag) => {
            expect(
                await messages("prod-images-pinned", container("web", { image: `nginx:${tag}` })),
            ).toEqual([
                `Container "web" runs nginx:${tag}, whose tag ${tag} moves in prod; run an image pinned by digest or an immutable tag`,
            ]);
        },
    );
    test.each(["nginx:1.27.3", "nginx:sha-4f2a9c1", `nginx:latest@${DIGEST}`])(
        "a container running %s passes",
        async (image) => {
            expect(await messages("prod-images-pinned", container("web", { image }))).toEqual([]);
        },
    );
    test("an invalid reference cannot be pinned", async () => {
        expect(
            await messages("prod-images-pinned", container("web", { image: "Nginx:1.27.3" })),
        ).toEqual([
            'Container "web" runs Nginx:1.27.3, which is not a valid image reference ("Nginx" is not a valid image path component (lower-case letters, digits and . _ -)), in prod; set it to <repo>:<version>@sha256:<digest>',
        ]);
    });
    test("a RemoteImage with a moving tag beside its digest violates; a version passes", async () => {
        const remote = (name: string) => resource(TYPES.remoteImage, "orders-image", { name });
        expect(
            await messages(
                "prod-images-pinned",
                remote(`registry.example/g/p/o:release@${DIGEST}`),
            ),
        ).toEqual([
            `RemoteImage "orders-image" pulls registry.example/g/p/o:release@${DIGEST}, whose tag release moves in prod, so the next deploy may run another image; set the service's tag (msa:services.<key>.tag) to a release tag`,
        ]);
        expect(
            await messages("prod-images-pinned", remote(`registry.example/g/p/o:v2.0.1@${DIGEST}`)),
        ).toEqual([]);
    });
    test("an invalid reference cannot be pinned: pulled, built or run by a service", async () => {
        const invalid = (ref: string) =>
            `which is not a valid image reference ("${ref}" is not a valid image path component (lower-case letters, digits and . _ -)), in prod; set it to <repo>:<version>@sha256:<digest>`;
        const remote = resource(TYPES.remoteImage, "orders-image", {
            name: `registry.example/g/p/Orders:1.0.0@${DIGEST}`,
        });
        expect(await messages("prod-images-pinned", remote)).toEqual([
            `RemoteImage "orders-image" pulls registry.example/g/p/Orders:1.0.0@${DIGEST}, ${invalid("Orders")}`,
        ]);
        const built = resource(TYPES.image, "database-image", {
            imageName: "registry.example/g/p/DB:src-0b7e1c2d3f4a",
        });
        expect(await messages("prod-images-pinned", built)).toEqual([
            `Image "database-image" builds registry.example/g/p/DB:src-0b7e1c2d3f4a, ${invalid("DB")}`,
        ]);
        const svc = service("web", { image: `registry.example/g/p/Web:1.4.2@${DIGEST}` });
        expect(await messages("prod-images-pinned", svc)).toEqual([
            `Service "web" runs registry.example/g/p/Web:1.4.2@${DIGEST}, ${invalid("Web")}`,
        ]);
    });
    test("a service whose image is unknown in a preview is skipped", async () => {
        expect(await messages("prod-images-pinned", service("web", { image: UNKNOWN }))).toEqual(
            [],
        );
    });
    test("a RemoteImage whose name is unknown in a preview is skipped", async () => {
        const remote = resource(TYPES.remoteImage, "orders-image", { name: UNKNOWN });
        expect(await messages("prod-images-pinned", remote)).toEqual([]);
    });
});

describe("prod-images-pinned: the DB base image", () => {
    const built = (base: unknown, more: Record<string, unknown> = {}) =>
        resource(TYPES.image, "database-image", {
            imageName: "registry.example/g/p/db:src-0b7e1c2d3f4a",
            build: { context: "docker/db", args: { BASE_IMAGE: base, TZ: "UTC" } },
            ...more,
        });
    test("a base image without a digest violates", async () => {
        expect(await messages("prod-images-pinned", built("postgres:14"))).toEqual([
            'Image "database-image" builds on postgres:14 (build arg BASE_IMAGE) without a digest in prod, so a rebuild may start from another base; set msa:database.image.base to <image>:<tag>@sha256:<digest>',
        ]);
        expect(await messages("prod-images-pinned", built("postgres:14.10.2"))).toEqual([
            'Image "database-image" builds on postgres:14.10.2 (build arg BASE_IMAGE) without a digest in prod, so a rebuild may start from another base; set msa:database.image.base to <image>:<tag>@sha256:<digest>',
        ]);
    });
    test("an invalid base image violates", async () => {
        expect(await messages("prod-images-pinned", built("Postgres:14"))).toEqual([
            'Image "database-image" builds on Postgres:14, which is not a valid image reference ("Postgres" is not a valid image path component (lower-case letters, digits and . _ -)), in prod; set it to <repo>:<version>@sha256:<digest>',
        ]);
    });
    test("a base image pinned by digest passes; unknown or outside production it is not checked", async () => {
        expect(await messages("prod-images-pinned", built(`postgres:14.10@${DIGEST}`))).toEqual([]);
        expect(await messages("prod-images-pinned", built(`postgres@${DIGEST}`))).toEqual([]);
        expect(await messages("prod-images-pinned", built(UNKNOWN))).toEqual([]);
        expect(
            await messages("prod-images-pinned", [nonProductionNetwork(), built("postgres:14")]),
        ).toEqual([]);
    });
});

describe("prod-images-pinned: swarm services", () => {
    const svc = (image: string) => service("web", { image });
    test("a moving tag, even beside a digest, violates", async () => {
        expect(
            await messages("prod-images-pinned", svc(`registry.example/g/p/web:latest@${DIGEST}`)),
        ).toEqual([
            `Service "web" runs registry.example/g/p/web:latest@${DIGEST}, whose tag latest moves in prod; pin it as <repo>:<version>@sha256:<digest>`,
        ]);
    });
    test("a version without a digest violates", async () => {
        expect(await messages("prod-images-pinned", svc("registry.example/g/p/web:1.4.2"))).toEqual(
            [
                'Service "web" runs registry.example/g/p/web:1.4.2 without a digest in prod, so each node may pull another image; pin it as <repo>:<tag>@sha256:<digest>',
            ],
        );
    });
    test("a digest, with or without a version, passes; so does anything outside production", async () => {
        expect(
            await messages("prod-images-pinned", svc(`registry.example/g/p/web:1.4.2@${DIGEST}`)),
        ).toEqual([]);
        expect(
            await messages("prod-images-pinned", svc(`registry.example/g/p/web@${DIGEST}`)),
        ).toEqual([]);
        const dev = svc("registry.example/g/p/web:latest");
        dev.inputs.labels = labels("web", { production: false });
        expect(await messages("prod-images-pinned", [nonProductionNetwork(), dev])).toEqual([]);
    });
});
