/**
 * What a change does to the data: compares the volumes of two plans (a base, e.g. the target
 * branch's, and this one) and names every volume that the change would replace or stop managing.
 * Plain data in, lines out: `npm run plan -- --base <plan.json>` prints them, a test feeds it
 * crafted plans.
 */

const VOLUME = "docker:index/volume:Volume";
/** Inputs of a `docker.Volume` that force a replacement (the provider cannot update them). */
const REPLACING_INPUTS = ["name", "driver", "driverOpts"] as const;

export interface PlannedResource {
    type: string;
    name: string;
    inputs: unknown;
    protect: boolean;
    retainOnDelete: boolean;
}

export function dataVolumeFindings(base: PlannedResource[], head: PlannedResource[]): string[] {
    const headVolumes = new Map(head.filter((r) => r.type === VOLUME).map((r) => [r.name, r]));
    const findings: string[] = [];
    for (const old of base.filter((r) => r.type === VOLUME)) {
        const now = headVolumes.get(old.name);
        const was = volumeName(old);
        if (now === undefined) {
            findings.push(
                old.retainOnDelete
                    ? `data volume ${was} (${old.name}) is no longer declared: it is kept (retainOnDelete) but no longer managed; its data stays there until you remove it`
                    : `data volume ${was} (${old.name}) is no longer declared and would be DELETED with its data`,
            );
            continue;
        }
        const changed = REPLACING_INPUTS.filter(
            (k) => JSON.stringify(field(old, k)) !== JSON.stringify(field(now, k)),
        );
        if (changed.length === 0) {
            continue;
        }
        const what = changed
            .map((k) => `${k} ${JSON.stringify(field(old, k))} → ${JSON.stringify(field(now, k))}`)
            .join(", ");
        findings.push(
            old.protect
                ? `data volume ${was} (${old.name}) would be replaced (${what}); it is protected, so pulumi up will refuse`
                : `data volume ${was} (${old.name}) would be replaced (${what}): the database starts empty on the new volume${old.retainOnDelete ? "; the old one is kept (retainOnDelete)" : " and the old one is DELETED"}`,
        );
    }
    return findings;
}

function field(r: PlannedResource, key: string): unknown {
    return (r.inputs as Record<string, unknown> | null)?.[key];
}

function volumeName(r: PlannedResource): string {
    const name = field(r, "name");
    return typeof name === "string" ? name : r.name;
}
