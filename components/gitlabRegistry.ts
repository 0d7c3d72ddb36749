import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { imageRepository } from "../config/naming";

export interface GitlabRegistryArgs {
    /** Registry host, e.g. `registry.gitlab.com` (the default in stack config). */
    server: pulumi.Input<string>;
    /** GitLab group (namespace) that holds the projects. */
    namespace: pulumi.Input<string>;
    /** GitLab project whose registry holds the images, unless an image names its own. */
    project: pulumi.Input<string>;
    /** Registry user: a GitLab user, or a deploy token's username. */
    username: pulumi.Input<string>;
    /** Password or deploy token; must be a secret Output. */
    password: pulumi.Input<string>;
    /** Docker host the stack deploys to (`docker:host`), e.g. `ssh://deploy@host`. Default: the local engine. */
    dockerHost?: pulumi.Input<string>;
}

/**
 * A GitLab container registry: its naming convention
 * (`<server>/<namespace>/<project>/<image>:<tag>`) and the one `docker.Provider`, with
 * `registryAuth`, that every image and container of the stack is created through.
 */
export class GitlabRegistry extends pulumi.ComponentResource {
    /** Provider carrying the registry credentials; pass it to every Docker resource. */
    public readonly provider: docker.Provider;
    public readonly server: pulumi.Output<string>;
    /** Credentials in the shape `docker.Image` takes for a push. */
    public readonly credentials: {
        server: pulumi.Input<string>;
        username: pulumi.Input<string>;
        password: pulumi.Output<string>;
    };
    private readonly namespace: pulumi.Input<string>;
    private readonly project: pulumi.Input<string>;

    constructor(name: string, args: GitlabRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa:registry:GitlabRegistry", name, {}, opts);
        this.server = pulumi.output(args.server);
        this.namespace = args.namespace;
        this.project = args.project;
        const password = pulumi.secret(args.password);
        this.provider = new docker.Provider(
            `${name}-provider`,
            {
                host: args.dockerHost,
                registryAuth: [{ address: args.server, username: args.username, password }],
            },
            { parent: this },
        );
        // Only the password is secret, so previews still show which registry and user are used.
        this.credentials = { server: args.server, username: args.username, password };
        this.registerOutputs({ provider: this.provider, server: this.server });
    }

    /** `<server>/<namespace>/<project>/<image>`, with the stack's namespace and project unless given. */
    public repository(
        image: pulumi.Input<string>,
        project?: pulumi.Input<string>,
        namespace?: pulumi.Input<string>,
    ): pulumi.Output<string> {
        return pulumi
            .all([this.server, namespace ?? this.namespace, project ?? this.project, image])
            .apply(([server, ns, proj, img]) => imageRepository(server, ns, proj, img));
    }
}
