import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** `{k: v}` → the provider's `[{label: k, value: v}]`, sorted so plans are stable. */
export function toLabels(
    labels: pulumi.Input<Record<string, string>> | undefined,
): pulumi.Output<docker.types.input.ContainerLabel[]> {
    return pulumi.output(labels ?? {}).apply((l) =>
        Object.keys(l)
            .sort()
            .map((label) => ({ label, value: l[label] ?? "" })),
    );
}
