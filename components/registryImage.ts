import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface RegistryImageArgs {
    /** `<server>/<namespace>/<project>/<image>` (GitLab's convention; see `lib/imageRef.ts`). */
    repository: pulumi.Input<string>;
    /** Tag to resolve; what runs is the digest the tag points at when the stack is deployed. */
    tag: pulumi.Input<string>;
}

/**
 * An image in a (GitLab) container registry, resolved to the digest its tag points at and pulled
 * by that digest, so a tag that moves never changes what runs unnoticed: the next preview shows a
 * new digest. Registry credentials come from the caller's Docker provider (`registryAuth`).
 *
 * One image; a stack's many service images go in one `RegistryImages`.
 */
export class RegistryImage extends pulumi.ComponentResource {
    /** `<repository>:<tag>@sha256:…`, the exact image. */
    public readonly ref: pulumi.Output<string>;

    constructor(name: string, args: RegistryImageArgs, opts?: pulumi.ComponentResourceOptions) {
        // The reference as given is the component's input: a policy can judge the tag even in a
        // preview, where the digest (and so the pulled name) is not known yet.
        super(
            "msa:registry:RegistryImage",
            name,
            { repository: args.repository, tag: args.tag },
            opts,
        );
        // Declared directly under the caller before this component existed: same resource.
        this.ref = pullByDigest(name, args, this, opts?.parent ? [{ parent: opts.parent }] : []);
        this.registerOutputs({ ref: this.ref });
    }
}

/** One image of a `RegistryImages`: where it is, and where it was declared before. */
export interface RegistryImagesEntry extends RegistryImageArgs {
    /**
     * The component that declared this image in its own `RegistryImage` before the stack gathered
     * its images here (the service, by URN): the pulled image keeps its identity, not replaced.
     */
    formerOwner?: pulumi.Input<string>;
}

export interface RegistryImagesArgs {
    /** Image by key (the service's); each is pulled as `<key>-image`. */
    images: Record<string, RegistryImagesEntry>;
}

/**
 * The stack's images from the (GitLab) registry in one component: each resolved to the digest its
 * tag points at and pulled by that digest, as `RegistryImage` does for one. One component for all
 * of them, not one per service: every component costs a preview two registrations and their
 * round trips to the engine (docs/bench.md), and a release's image changes show together.
 */
export class RegistryImages extends pulumi.ComponentResource {
    /** `<repository>:<tag>@sha256:…` by key. */
    public readonly refs: Record<string, pulumi.Output<string>>;

    constructor(name: string, args: RegistryImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        // Each reference as given is an input, for policies to judge before digests are known.
        super(
            "msa:registry:RegistryImages",
            name,
            {
                images: Object.fromEntries(
                    Object.entries(args.images).map(([key, i]) => [
                        key,
                        { repository: i.repository, tag: i.tag },
                    ]),
                ),
            },
            opts,
        );
        this.refs = Object.fromEntries(
            Object.entries(args.images).map(([key, image]) => [
                key,
                pullByDigest(key, image, this, formerParents(key, image.formerOwner)),
            ]),
        );
        this.registerOutputs({ refs: this.refs });
    }
}

/** Where `<key>-image` was declared before: in the owner's `RegistryImage`, or under the owner. */
function formerParents(key: string, owner: pulumi.Input<string> | undefined): pulumi.Alias[] {
    if (owner === undefined) {
        return [];
    }
    return [
        { parent: pulumi.createUrn(key, "msa:registry:RegistryImage", owner) },
        { parent: owner },
    ];
}

/** `<name>-image`: the tag resolved to its digest and the image pulled by that digest. */
function pullByDigest(
    name: string,
    args: RegistryImageArgs,
    parent: pulumi.Resource,
    aliases: pulumi.Input<pulumi.Alias>[],
): pulumi.Output<string> {
    const tagged = pulumi.interpolate`${args.repository}:${args.tag}`;
    const resolved = docker.getRegistryImageOutput({ name: tagged }, { parent });
    const image = new docker.RemoteImage(
        `${name}-image`,
        {
            name: pulumi.interpolate`${tagged}@${resolved.sha256Digest}`,
            pullTriggers: [resolved.sha256Digest],
            keepLocally: true,
        },
        { parent, aliases },
    );
    return image.name;
}
