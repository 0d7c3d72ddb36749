import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { toLabels } from "./labels";

export interface ServiceNetworkArgs {
    /** Docker network name. */
    networkName: pulumi.Input<string>;
    /** Labels for the network. Default: none. */
    labels?: pulumi.Input<Record<string, string>>;
    /** An attachable overlay network spanning a swarm's nodes. Default: a bridge on one host. */
    overlay?: boolean;
}

/**
 * The user-defined bridge network every container of the stack joins; containers reach each
 * other by network alias (the service key), never by host IP. The Docker provider comes from the
 * caller's resource options.
 */
export class ServiceNetwork extends pulumi.ComponentResource {
    public readonly networkName: pulumi.Output<string>;

    constructor(name: string, args: ServiceNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa:network:ServiceNetwork", name, {}, opts);
        const network = new docker.Network(
            `${name}-network`,
            {
                name: args.networkName,
                driver: args.overlay ? "overlay" : "bridge",
                attachable: args.overlay ? true : undefined,
                labels: toLabels(args.labels),
            },
            { parent: this },
        );
        this.networkName = network.name;
        this.registerOutputs({ networkName: this.networkName });
    }
}
