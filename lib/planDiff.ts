/**
 * What a change does, from two plans (a base, e.g. the target branch's, and this one): every data
 * volume it would replace or stop managing, and every container it replaces, with or without
 * downtime. Plain data in, lines out: `npm run plan -- --base <plan.json>` prints them, a test
 * feeds it crafted plans.
 */

const VOLUME = "docker:index/volume:Volume";
/** Inputs of a `docker.Volume` that force a replacement (the provider cannot update them). */
const REPLACING_INPUTS = ["name", "driver", "driverOpts"] as const;

export interface PlannedResource {
    type: string;
    name: string;
    /** Logical name of the parent component, if any. */
    parent?: string | null;
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

const CONTAINER = "docker:index/container:Container";
const RELEASE_LABEL = "msa.release";

/**
 * Every container whose inputs change between the plans: the provider replaces a container for
 * almost any change, so each is a release, and the line says whether callers notice.
 */
export function releaseFindings(base: PlannedResource[], head: PlannedResource[]): string[] {
    const before = new Map(base.filter((r) => r.type === CONTAINER).map((r) => [r.name, r]));
    return head
        .filter((r) => r.type === CONTAINER)
        .flatMap((now) => {
            const old = before.get(now.name);
            if (old === undefined || releaseKey(old, base) === releaseKey(now, head)) {
                return [];
            }
            const release = releaseLabel(now);
            return [
                release === "create-first" && field(now, "wait") === true
                    ? `${now.name} is replaced with zero downtime: the new container starts and passes its check before the old one stops`
                    : release === "create-first"
                      ? `${now.name} is replaced create-first, but without a health check the old container stops as soon as the new one runs`
                      : `${now.name} is replaced with downtime: ${release?.replace(/^delete-first: /, "") ?? "delete-first (the provider's default)"}`,
            ];
        });
}

/**
 * What decides a container: its inputs, and those of its siblings in the same component (the
 * registry image's repository and tag), since in a preview the pulled digest is not known yet.
 */
function releaseKey(r: PlannedResource, plan: PlannedResource[]): string {
    const siblings = plan
        .filter((s) => s !== r && r.parent != null && s.parent === r.parent)
        .map((s) => [s.type, s.name, s.inputs]);
    return JSON.stringify([r.inputs, siblings]);
}

function releaseLabel(r: PlannedResource): string | undefined {
    const labels = field(r, "labels");
    return Array.isArray(labels)
        ? (labels as { label?: string; value?: unknown }[])
              .filter((l) => l.label === RELEASE_LABEL)
              .map((l) => String(l.value))[0]
        : undefined;
}
