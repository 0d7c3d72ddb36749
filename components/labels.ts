import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** The label that tells the plan (and anyone running `docker inspect`) how a release replaces a container. */
export const RELEASE_LABEL = "msa.release";

/** `labels` plus how a release replaces the container: created first, or deleted first and why. */
export function withRelease(
    labels: pulumi.Input<Record<string, string>> | undefined,
    release: string,
): pulumi.Output<Record<string, string>> {
    return pulumi
        .output(labels ?? {})
        .apply((l): Record<string, string> => ({ ...l, [RELEASE_LABEL]: release }));
}

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
