/**
 * The database's healthcheck: compose's `interval`/`timeout`/`start_period`/`retries` →
 * `msa:database.healthcheck`. The stack always checks its DB container (services start once it
 * passes) with a test of its own, so compose's `test` and `disable` are reported, not copied.
 */
import type { Path } from "../compose";
import { pathText } from "../compose";
import { asObj, MapContext, Obj } from "./context";

/** Compose's healthcheck timings → `msa:database.healthcheck`; what else the stack does, reported. */
export function dbHealthcheck(ctx: MapContext, key: string, svc: Obj): void {
    const base: Path = ["services", key, "healthcheck"];
    if (svc.healthcheck === undefined) {
        ctx.finding(
            "changed",
            ctx.origin(["services", key]),
            `services.${key}`,
            "compose has no DB healthcheck; the stack's DB container has one (msa:database.healthcheck) and services start once it passes",
        );
        return;
    }
    const hc = asObj(svc.healthcheck);
    const out: Obj = healthcheckDurations(ctx, base, hc);
    if (typeof hc.retries === "number" && Number.isInteger(hc.retries)) {
        out.retries = hc.retries;
    } else if (hc.retries !== undefined) {
        ctx.finding(
            "unmapped",
            ctx.origin([...base, "retries"]),
            pathText([...base, "retries"]),
            `${JSON.stringify(hc.retries)} is not a whole number`,
        );
    }
    if (hc.disable === true) {
        ctx.finding(
            "changed",
            ctx.origin([...base, "disable"]),
            pathText([...base, "disable"]),
            "the stack's DB container always has a healthcheck",
        );
    }
    if (Object.keys(out).length > 0) {
        ctx.setStack("database.healthcheck", out, ctx.origin(base));
    }
}

/**
 * Compose's healthcheck durations (`interval`, `timeout`, `start_period`) in the stack's names, for
 * the database and the services alike; a value that is not a duration is reported (`note` says
 * what then applies) and left out.
 */
export function healthcheckDurations(ctx: MapContext, base: Path, hc: Obj, note = ""): Obj {
    const out: Obj = {};
    for (const [from, to] of [
        ["interval", "interval"],
        ["timeout", "timeout"],
        ["start_period", "startPeriod"],
    ] as const) {
        const v = hc[from];
        if (v === undefined) {
            continue;
        }
        if (typeof v === "string" && /^([0-9]+(ms|s|m|h))+$/.test(v)) {
            out[to] = v;
        } else {
            ctx.finding(
                "unmapped",
                ctx.origin([...base, from]),
                pathText([...base, from]),
                `${JSON.stringify(v)} is not a duration like 1s, 500ms or 1m30s${note}`,
            );
        }
    }
    return out;
}

/** Reported once the database's user and name are known: ours checks over TCP, on purpose. */
export function healthcheckTest(ctx: MapContext, key: string, database: Obj): void {
    const at: Path = ["services", key, "healthcheck", "test"];
    const test = asObj(ctx.services[key]?.healthcheck).test;
    if (test === undefined) {
        return;
    }
    const theirs = Array.isArray(test)
        ? test[0] === "CMD-SHELL"
            ? String(test[1] ?? "")
            : test
                  .slice(test[0] === "CMD" ? 1 : 0)
                  .map(String)
                  .join(" ")
        : String(test);
    const port = typeof database.port === "number" ? database.port : 5432;
    const user = typeof database.user === "string" ? database.user : "postgres";
    // components/postgresDatabase.ts: user and database come from PGUSER/PGDATABASE in its env.
    const ours = `pg_isready -h 127.0.0.1 -p ${port}`;
    ctx.finding(
        "changed",
        ctx.origin(at),
        pathText(at),
        `compose runs "${theirs}"; the stack runs "${ours}" as user ${user} on database ${String(database.name)} (PGUSER, PGDATABASE): over TCP, because during first-start init Postgres listens on its socket only, so the socket check passes before the database and schema exist`,
    );
}
