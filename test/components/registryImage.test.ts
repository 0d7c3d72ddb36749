/**
 * `RegistryImage` and `RegistryImages` on their own, with plain `pulumi.runtime.setMocks`: the tag
 * resolved to a digest through the caller's Docker provider, the image pulled by that digest, and
 * the aliases that keep an image declared before the component existed.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { registeredOutputs, value } from "./harness";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    provider?: string;
}
const created: Registered[] = [];
const calls: { token: string; inputs: Record<string, unknown>; provider?: string }[] = [];
const options: Record<string, pulumi.ResourceOptions> = {};
void pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            created.push({
                type: args.type,
                name: args.name,
                inputs: args.inputs,
                provider: args.provider,
            });
            return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => {
            calls.push({ token: args.token, inputs: args.inputs, provider: args.provider });
            // A digest that depends on the name asked for, so a wrong name shows.
            return { ...args.inputs, sha256Digest: `sha256:${String(args.inputs.name).length}` };
        },
    },
    "msa",
    "test",
    false,
);
/** Records the options each resource is declared with (transformations reach a component's children). */
const recordOptions: pulumi.ComponentResourceOptions = {
    transformations: [
        (a) => {
            options[a.name] = a.opts;
            return undefined;
        },
    ],
};

import { RegistryImage, RegistryImages } from "../../components";

const REPO = "registry.example.com/g/p/orders";

beforeEach(() => {
    created.length = 0;
    calls.length = 0;
});

describe("RegistryImage", () => {
    test("resolves the tag and pulls the image by its digest, kept on the host", async () => {
        const image = new RegistryImage("orders", { repository: REPO, tag: "1.2.3" });
        // `<repo>:1.2.3` has 37 characters: the mock's digest for it.
        expect(await value(image.ref)).toBe(`${REPO}:1.2.3@sha256:37`);
        expect(await registeredOutputs(image)).toEqual({ ref: `${REPO}:1.2.3@sha256:37` });
        expect(calls).toEqual([
            {
                token: "docker:index/getRegistryImage:getRegistryImage",
                inputs: { name: `${REPO}:1.2.3` },
                provider: "",
            },
        ]);
        expect(created).toEqual([
            {
                type: "msa:registry:RegistryImage",
                name: "orders",
                inputs: { repository: REPO, tag: "1.2.3" },
                provider: "",
            },
            {
                type: "docker:index/remoteImage:RemoteImage",
                name: "orders-image",
                inputs: {
                    name: `${REPO}:1.2.3@sha256:37`,
                    pullTriggers: ["sha256:37"],
                    keepLocally: true,
                },
                provider: "",
            },
        ]);
    });

    test("resolves and pulls through the caller's Docker provider", async () => {
        const provider = new docker.Provider("host", { host: "ssh://deploy@host" });
        const image = new RegistryImage(
            "via",
            { repository: pulumi.output(REPO), tag: pulumi.output("2.0.0") },
            { providers: [provider] },
        );
        expect(await value(image.ref)).toBe(`${REPO}:2.0.0@sha256:37`);
        const ref = `${await value(provider.urn)}::${await value(provider.id)}`;
        expect(calls.map((c) => c.provider)).toEqual([ref]);
        expect(created.find((r) => r.name === "via-image")?.provider).toBe(ref);
    });

    test("the pulled image is its child, aliased to the caller's parent it was declared under", async () => {
        const parent = new pulumi.ComponentResource("msa:test:Parent", "svc", {}, recordOptions);
        const image = new RegistryImage("aliased", { repository: REPO, tag: "1" }, { parent });
        await value(image.ref);
        expect(options["aliased-image"]?.parent).toBe(image);
        expect(options["aliased-image"]?.aliases).toEqual([{ parent }]);
    });

    test("without a parent, no alias", async () => {
        const image = new RegistryImage("top", { repository: REPO, tag: "1" }, recordOptions);
        await value(image.ref);
        expect(options["top-image"]?.parent).toBe(image);
        expect(options["top-image"]?.aliases).toEqual([]);
    });
});

describe("RegistryImages", () => {
    const OTHER = "registry.example.com/g/p/billing";

    test("one component resolves each image and pulls it by its digest", async () => {
        const images = new RegistryImages("images", {
            images: {
                orders: { repository: REPO, tag: "1.2.3" },
                billing: { repository: OTHER, tag: "7" },
            },
        });
        // `<repo>:1.2.3` has 37 characters, `<other>:7` 34: the mock's digests.
        expect(await value(images.refs.orders as pulumi.Output<string>)).toBe(
            `${REPO}:1.2.3@sha256:37`,
        );
        expect(await value(images.refs.billing as pulumi.Output<string>)).toBe(
            `${OTHER}:7@sha256:34`,
        );
        expect(Object.keys(images.refs)).toEqual(["orders", "billing"]);
        expect(await registeredOutputs(images)).toEqual({
            refs: { orders: `${REPO}:1.2.3@sha256:37`, billing: `${OTHER}:7@sha256:34` },
        });
        expect(calls.map((c) => c.inputs.name)).toEqual([`${REPO}:1.2.3`, `${OTHER}:7`]);
        expect(created).toEqual([
            {
                type: "msa:registry:RegistryImages",
                name: "images",
                inputs: {
                    images: {
                        orders: { repository: REPO, tag: "1.2.3" },
                        billing: { repository: OTHER, tag: "7" },
                    },
                },
                provider: "",
            },
            {
                type: "docker:index/remoteImage:RemoteImage",
                name: "orders-image",
                inputs: {
                    name: `${REPO}:1.2.3@sha256:37`,
                    pullTriggers: ["sha256:37"],
                    keepLocally: true,
                },
                provider: "",
            },
            {
                type: "docker:index/remoteImage:RemoteImage",
                name: "billing-image",
                inputs: {
                    name: `${OTHER}:7@sha256:34`,
                    pullTriggers: ["sha256:34"],
                    keepLocally: true,
                },
                provider: "",
            },
        ]);
    });

    test("resolves and pulls through the caller's Docker provider", async () => {
        const provider = new docker.Provider("many", { host: "ssh://deploy@host" });
        const images = new RegistryImages(
            "via-many",
            { images: { a: { repository: REPO, tag: pulumi.output("2.0.0") } } },
            { providers: [provider] },
        );
        await value(images.refs.a as pulumi.Output<string>);
        const ref = `${await value(provider.urn)}::${await value(provider.id)}`;
        expect(calls.map((c) => c.provider)).toEqual([ref]);
        expect(created.find((r) => r.name === "a-image")?.provider).toBe(ref);
    });

    test("an image with a former owner keeps the URNs it had in the owner's RegistryImage, or under the owner", async () => {
        const owner = "urn:pulumi:test::msa::msa:service:Microservice::orders";
        const images = new RegistryImages(
            "owned",
            { images: { orders: { repository: REPO, tag: "1", formerOwner: owner } } },
            recordOptions,
        );
        await value(images.refs.orders as pulumi.Output<string>);
        expect(options["orders-image"]?.parent).toBe(images);
        const aliases = (options["orders-image"]?.aliases ?? []) as {
            parent: pulumi.Input<string>;
        }[];
        expect(await Promise.all(aliases.map((a) => value(pulumi.output(a.parent))))).toEqual([
            "urn:pulumi:test::msa::msa:service:Microservice$msa:registry:RegistryImage::orders",
            owner,
        ]);
    });

    test("without a former owner, no alias", async () => {
        const images = new RegistryImages(
            "unowned",
            { images: { fresh: { repository: REPO, tag: "1" } } },
            recordOptions,
        );
        await value(images.refs.fresh as pulumi.Output<string>);
        expect(options["fresh-image"]?.aliases).toEqual([]);
    });
});
