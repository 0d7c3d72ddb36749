/**
 * The database: which compose service it is (`--db-service`, or the one service that mounts
 * PGDATA or runs a postgres image), that service → `msa:database` in container mode, and, when there
 * is none, where the external database is (`DB_HOST` → `msa:database.host`). The stack builds and runs its own DB
 * container, so most of a compose DB service is checked and reported rather than copied.
 */
import { PROJECT } from "../../config/schema";
import type { Path } from "../compose";
import { pathText } from "../compose";
import type { EnvEntry } from "../envFiles";
import { mapDbEnv, unreachableFromContainer } from "./env";
import { dbHealthcheck } from "./healthcheck";
import { dbImage, isPostgresFamilyText } from "./images";
import { MapContext, Obj, StackValue } from "./context";
import { dbPorts } from "./ports";
import { ImportError } from "../report";
import { memLimit, SERVICE_KEYS, unknownKeys } from "./services";
import { dbVolume, pgDataMount, PGDATA } from "./volumes";

/** The compose keys the import reads on the database service. */
const DB_KEYS = new Set(
    [...SERVICE_KEYS, "healthcheck", "volumes", "build"].filter((k) => k !== "stop_grace_period"),
);

/** Settings of the DB service that the stack's own DB container makes moot. */
const DROPPED = [
    ["depends_on", "unmapped", "the database starts first in the stack; its depends_on is dropped"],
    [
        "command",
        "action",
        "the stack runs the DB image's own command, so the server settings compose passed here (postgres -c …) are lost: put them in the DB image (a postgresql.conf in msa:database.image.context) before pulumi up",
    ],
] as const;

/** `--db-service`, or the one service that looks like Postgres; two such services are an error. */
export function findDatabase(ctx: MapContext): string | undefined {
    const wanted = ctx.input.dbService;
    if (wanted !== undefined) {
        if (!Object.hasOwn(ctx.services, wanted)) {
            throw new ImportError(
                `--db-service ${JSON.stringify(wanted)} is not a service in ${ctx.compose.label}; services: ${Object.keys(ctx.services).join(", ")}`,
            );
        }
        return wanted;
    }
    const candidates = Object.entries(ctx.services).flatMap(([key, svc]) => {
        const mount = pgDataMount(svc);
        const why =
            mount !== undefined
                ? `mounts ${mount}`
                : typeof svc.image === "string" && isPostgresFamilyText(svc.image)
                  ? `runs ${svc.image}`
                  : undefined;
        return why === undefined ? [] : [{ key, why }];
    });
    if (candidates.length > 1) {
        const list = candidates
            .map(
                (c) =>
                    `${JSON.stringify(c.key)} (line ${ctx.compose.lineOf(["services", c.key]) ?? "?"}, ${c.why})`,
            )
            .join(" and ");
        throw new ImportError(
            `${ctx.compose.label} has ${candidates.length} database candidates: ${list}; name the one to import with --db-service`,
        );
    }
    return candidates[0]?.key;
}

/**
 * The database service → the container-mode keys of `msa:database` it alone sets
 * (`containerName`, `volumeName`); the rest are stack-wide values. Where the stack's DB container
 * differs from compose's, a finding.
 */
export function mapDatabase(ctx: MapContext, key: string): Obj {
    const svc = ctx.services[key] ?? {};
    const base: Path = ["services", key];
    const out: Obj = {};
    unknownKeys(ctx, key, svc, DB_KEYS);
    if (typeof svc.container_name === "string") {
        out.containerName = svc.container_name;
    }
    const image = dbImage(ctx, key, svc);
    dbPorts(ctx, key, svc);
    const volume = dbVolume(ctx, key, svc, image.major, image.majorKnown);
    if (volume !== undefined) {
        out.volumeName = volume;
    }
    const restart = svc.restart ?? "no";
    if (restart !== "unless-stopped") {
        ctx.finding(
            "changed",
            ctx.origin([...base, "restart"], base),
            `${pathText(base)}.restart`,
            `compose restarts the database ${restart === "no" ? "never" : `"${String(restart)}"`}; the stack's DB container restarts unless-stopped`,
        );
    }
    dbHealthcheck(ctx, key, svc);
    mapDbEnv(ctx, key);
    for (const [setting, kind, why] of DROPPED) {
        if (svc[setting] !== undefined) {
            ctx.finding(kind, ctx.origin([...base, setting]), `${pathText(base)}.${setting}`, why);
        }
    }
    const mem = memLimit(ctx, key, svc);
    if (mem !== undefined) {
        ctx.setStack("database.memoryMb", mem, ctx.origin([...base, "mem_limit"]));
    }
    if (!ctx.stackValues.has("database.alias")) {
        // Services that do not name the database reach it by its service name, as in compose.
        ctx.stackValues.set("database.alias", {
            value: key,
            what: "service name",
            origin: ctx.origin(base),
        });
    }
    return out;
}

/** External mode: the stack cannot run without knowing where the database is. */
export function externalDb(ctx: MapContext): void {
    const host = ctx.stackValues.get("database.host") as
        (StackValue & { origin: Partial<EnvEntry> }) | undefined;
    if (host === undefined) {
        throw new ImportError(
            `${ctx.compose.label} has no database service (none mounts ${PGDATA} or runs a postgres image) and no service sets DB_HOST: cannot tell where the external database is; set DB_HOST on a service, or name the database service with --db-service`,
        );
    }
    const value = String(host.value);
    if (unreachableFromContainer(value)) {
        ctx.finding(
            "action",
            host.origin,
            `${PROJECT}:database.host`,
            `DB_HOST=${value}${host.origin.via === undefined ? "" : ` (${host.origin.via})`} is not an address a container can reach a database at (${value === "0.0.0.0" ? "0.0.0.0 means every interface to a server, no host to a client" : "inside a container it is the container itself"}); ${PROJECT}:database.host is ${value} so the stack validates, but set the database server's address before pulumi up: pulumi config set --stack ${ctx.input.stack} --path ${PROJECT}:database.host <db-host>`,
        );
    }
}
