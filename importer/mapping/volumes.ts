/**
 * The database's data volume: the named volume mounted at PGDATA becomes `msa:database.volumeName`.
 * The stack mounts nothing else, so every other mount (and every other top-level volume) is
 * reported; a host folder holding the data is reported too, as the stack keeps it in a volume.
 */
import type { Path } from "../compose";
import { pathText } from "../compose";
import { asObj, isObj, MapContext, Obj } from "./context";

/** Where Postgres keeps its data in the official image (and in the stack's DB container). */
export const PGDATA = "/var/lib/postgresql/data";

/** The named volume at PGDATA (its declared `name:` if any); every other mount is reported. */
export function dbVolume(ctx: MapContext, key: string, svc: Obj): string | undefined {
    const volumes = Array.isArray(svc.volumes) ? svc.volumes : [];
    let name: string | undefined;
    volumes.forEach((v, i) => {
        const at: Path = ["services", key, "volumes", i];
        const mount = parseMount(v);
        if (mount?.target === PGDATA && mount.source !== undefined && !isHostPath(mount.source)) {
            const decl = asObj(asObj(ctx.compose.data.volumes)[mount.source]);
            name = typeof decl.name === "string" ? decl.name : mount.source;
            const driver = decl.driver ?? "local";
            if (
                driver !== "local" ||
                decl.driver_opts !== undefined ||
                decl.external !== undefined
            ) {
                ctx.finding(
                    "unmapped",
                    ctx.origin(["volumes", mount.source]),
                    `volumes.${mount.source}`,
                    "the stack creates a local volume; driver, driver_opts and external are not carried over",
                );
            }
            if (typeof decl.name !== "string") {
                ctx.finding(
                    "note",
                    ctx.origin(at),
                    pathText(at),
                    `compose stores this volume as <project>_${mount.source} (the project defaults to the folder name); msa:database.volumeName is ${mount.source}: to keep existing data, set msa:database.volumeName to the volume \`docker volume ls\` shows`,
                );
            }
        } else {
            ctx.finding(
                "unmapped",
                ctx.origin(at),
                pathText(at),
                mount?.target === PGDATA
                    ? `the data lives in the host folder ${mount.source ?? "?"}; the stack keeps it in a named volume (msa:database.volumeName)`
                    : `${JSON.stringify(v)}: the stack mounts only the data volume`,
            );
        }
    });
    return name;
}

/** Top-level volumes other than the data volume: the stack creates none of them. */
export function otherVolumes(ctx: MapContext): void {
    const data = dbVolumeNames(ctx);
    for (const v of Object.keys(asObj(ctx.compose.data.volumes))) {
        if (!data.includes(v)) {
            ctx.finding(
                "unmapped",
                ctx.origin(["volumes", v]),
                `volumes.${v}`,
                "only the database's data volume is carried over",
            );
        }
    }
}

/** Whether a service mounts PGDATA: one of the two signs of the database service. */
export function mountsPgData(svc: Obj): boolean {
    return Array.isArray(svc.volumes) && svc.volumes.some((v) => parseMount(v)?.target === PGDATA);
}

function parseMount(v: unknown): { source?: string; target: string } | undefined {
    if (isObj(v)) {
        return typeof v.target === "string"
            ? { source: typeof v.source === "string" ? v.source : undefined, target: v.target }
            : undefined;
    }
    const parts = String(v).split(":");
    if (parts.length === 1) {
        return { target: parts[0] ?? "" };
    }
    return { source: parts[0], target: parts[1] ?? "" };
}

function isHostPath(source: string): boolean {
    return source.startsWith("/") || source.startsWith(".") || source.startsWith("~");
}

/** The named volumes mounted at PGDATA: `msa:database.volumeName`, not reported as unmapped. */
function dbVolumeNames(ctx: MapContext): string[] {
    const svc = ctx.dbKey === undefined ? undefined : ctx.services[ctx.dbKey];
    const volumes = Array.isArray(svc?.volumes) ? svc.volumes : [];
    return volumes.flatMap((v) => {
        const m = parseMount(v);
        return m?.target === PGDATA && m.source !== undefined ? [m.source] : [];
    });
}
