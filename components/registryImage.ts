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
        const tagged = pulumi.interpolate`${args.repository}:${args.tag}`;
        const resolved = docker.getRegistryImageOutput({ name: tagged }, { parent: this });
        const image = new docker.RemoteImage(
            `${name}-image`,
            {
                name: pulumi.interpolate`${tagged}@${resolved.sha256Digest}`,
                pullTriggers: [resolved.sha256Digest],
                keepLocally: true,
            },
            {
                parent: this,
                // Declared directly under the caller before this component existed: same resource.
                aliases: opts?.parent ? [{ parent: opts.parent }] : [],
            },
        );
        this.ref = image.name;
        this.registerOutputs({ ref: this.ref });
    }
}
