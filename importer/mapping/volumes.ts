/**
 * The database's data volume: the named volume that holds PGDATA becomes
 * `msa:database.volumeName`, so the stack runs on the data compose wrote. Where Postgres keeps its
 * data is PGDATA: the service's own `PGDATA` env, else the image's default
 * (`/var/lib/postgresql/data`; `/var/lib/postgresql/<major>/docker` from Postgres 18, whose images
 * mount `/var/lib/postgresql`). The volume may be mounted at PGDATA or above it; the stack mounts
 * it at its own PGDATA, `/var/lib/postgresql/data`, with the data at the volume's top, so a volume
 * mounted above PGDATA holds the data in a folder the stack would not look in: that is reported
 * with the command that moves it.
 *
 * The stack mounts nothing else, so every other mount (and every other top-level volume) is
 * reported; a host folder holding the data is reported too, as the stack keeps it in a volume.
 */
import * as path from "path";
import type { Path } from "../compose";
import { pathText } from "../compose";
import { asObj, isObj, MapContext, Obj } from "./context";

/** Where Postgres keeps its data in the official image up to 17 (and in the stack's DB container). */
export const PGDATA = "/var/lib/postgresql/data";
/** Everything the official image keeps lives below this folder. */
const PG_ROOT = "/var/lib/postgresql";

interface Mount {
    source?: string;
    target: string;
}

/** PGDATA as the service's env sets it, else as its image's major version implies. */
export function pgDataOf(envPgData: string | undefined, major: number | undefined): string {
    if (envPgData !== undefined && envPgData !== "") {
        return path.posix.normalize(envPgData).replace(/\/$/, "");
    }
    return major !== undefined && major >= 18 ? `${PG_ROOT}/${major}/docker` : PGDATA;
}

/**
 * The named volume holding PGDATA (its declared `name:` if any), or undefined; every other mount
 * is reported.
 */
export function dbVolume(
    ctx: MapContext,
    key: string,
    svc: Obj,
    major: number | undefined,
    majorKnown: boolean,
): string | undefined {
    const envPgData = ctx.envOf(key).get("PGDATA");
    const pgData = pgDataOf(envPgData?.value, major);
    const volumes = Array.isArray(svc.volumes) ? svc.volumes : [];
    const mounts = volumes.map(parseMount);
    // The deepest mount at or above PGDATA is where the data is written.
    let best: number | undefined;
    mounts.forEach((m, i) => {
        if (m !== undefined && holds(m.target, pgData)) {
            const prev = best === undefined ? undefined : mounts[best];
            if (prev === undefined || m.target.length > prev.target.length) {
                best = i;
            }
        }
    });
    let name: string | undefined;
    volumes.forEach((v, i) => {
        const at: Path = ["services", key, "volumes", i];
        const mount = mounts[i];
        if (i !== best || mount === undefined) {
            ctx.finding(
                "unmapped",
                ctx.origin(at),
                pathText(at),
                mount !== undefined && holds(pgData, mount.target)
                    ? `${JSON.stringify(v)} is mounted inside PGDATA (${pgData}): the stack mounts only the data volume`
                    : `${JSON.stringify(v)}: the stack mounts only the data volume`,
            );
            return;
        }
        if (mount.source === undefined || isHostPath(mount.source)) {
            ctx.finding(
                "action",
                ctx.origin(at),
                pathText(at),
                `the data lives in the ${mount.source === undefined ? "anonymous volume" : `host folder ${mount.source}`} at ${mount.target}; the stack keeps it in a named volume (msa:database.volumeName), which starts empty: copy the data into it before pulumi up`,
            );
            return;
        }
        const decl = asObj(asObj(ctx.compose.data.volumes)[mount.source]);
        name = typeof decl.name === "string" ? decl.name : mount.source;
        ctx.dataVolume = mount.source;
        volumeDeclaration(ctx, mount.source, decl);
        const sub = path.posix.relative(mount.target, pgData);
        if (sub !== "") {
            const folder =
                majorKnown || envPgData !== undefined
                    ? `its ${sub}/ folder`
                    : `a folder inside it (data/ up to Postgres 17, <major>/docker/ from 18: the image's tag does not say which)`;
            ctx.finding(
                "action",
                ctx.origin(at),
                pathText(at),
                `compose mounts ${mount.source} at ${mount.target}, above PGDATA (${pgData}), so the data is in ${folder}; the stack mounts msa:database.volumeName at ${PGDATA} and keeps the data at the volume's top, where Postgres would find no database: with the database stopped, move the data up before pulumi up, e.g. docker run --rm -v <volume>:/v alpine sh -c 'mv /v/${sub}/* /v/ && rmdir -p /v/${sub} 2>/dev/null; ls /v'`,
            );
        } else if (envPgData !== undefined && pgData !== PGDATA) {
            ctx.finding(
                "note",
                envPgData,
                `services.${key} env PGDATA`,
                `PGDATA=${pgData} with ${mount.source} mounted there: the stack mounts the volume at its own PGDATA, ${PGDATA}, so the data stays at the volume's top and carries over`,
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
    });
    return name;
}

function volumeDeclaration(ctx: MapContext, source: string, decl: Obj): void {
    const driver = decl.driver ?? "local";
    if (driver !== "local" || decl.driver_opts !== undefined || decl.external !== undefined) {
        ctx.finding(
            "unmapped",
            ctx.origin(["volumes", source]),
            `volumes.${source}`,
            decl.external !== undefined && decl.external !== false
                ? "an external volume: the stack declares the volume itself (it is kept on delete); check that msa:database.volumeName names the existing one"
                : "the stack creates a local volume; driver and driver_opts are not carried over: data on another driver is not in the new volume",
        );
    }
}

/** Top-level volumes other than the data volume: the stack creates none of them. */
export function otherVolumes(ctx: MapContext, dataVolumes: readonly string[]): void {
    for (const v of Object.keys(asObj(ctx.compose.data.volumes))) {
        if (!dataVolumes.includes(v)) {
            ctx.finding(
                "unmapped",
                ctx.origin(["volumes", v]),
                `volumes.${v}`,
                "only the database's data volume is carried over",
            );
        }
    }
}

/**
 * Where a service mounts something Postgres keeps its data in (at or below
 * `/var/lib/postgresql`, or at its own `PGDATA`): one of the two signs of the database service.
 */
export function pgDataMount(svc: Obj): string | undefined {
    const volumes = Array.isArray(svc.volumes) ? svc.volumes : [];
    const env = svc.environment;
    const envPgData = Array.isArray(env)
        ? env
              .map(String)
              .find((e) => e.startsWith("PGDATA="))
              ?.slice("PGDATA=".length)
        : isObj(env) && typeof env.PGDATA === "string"
          ? env.PGDATA
          : undefined;
    for (const v of volumes) {
        const m = parseMount(v);
        if (
            m !== undefined &&
            (holds(PG_ROOT, m.target) || (envPgData !== undefined && holds(m.target, envPgData)))
        ) {
            return m.target;
        }
    }
    return undefined;
}

/** Whether `outer` is `inner` or a folder above it. */
function holds(outer: string, inner: string): boolean {
    const o = outer.replace(/\/+$/, "");
    return inner === o || inner.startsWith(`${o}/`);
}

function parseMount(v: unknown): Mount | undefined {
    if (isObj(v)) {
        return typeof v.target === "string"
            ? {
                  source: typeof v.source === "string" ? v.source : undefined,
                  target: path.posix.normalize(v.target),
              }
            : undefined;
    }
    const parts = String(v).split(":");
    if (parts.length === 1) {
        return { target: path.posix.normalize(parts[0] ?? "") };
    }
    return { source: parts[0], target: path.posix.normalize(parts[1] ?? "") };
}

function isHostPath(source: string): boolean {
    return source.startsWith("/") || source.startsWith(".") || source.startsWith("~");
}
