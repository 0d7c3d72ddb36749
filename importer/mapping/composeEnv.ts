/**
 * Each service's env as compose builds it (its `env_file`s in order, then `environment:`), read
 * once per service with its file and line, and which values are secret: by name (`looksSecret`),
 * by carrying credentials whatever the name (`carriesCredentials`, e.g. `postgres://u:pw@h/db`),
 * by the `.env` variables they expand from, and by embedding another secret value. The rule is
 * the one config validation and the policy pack use (`lib/secretNames.ts`). It runs before any
 * mapping step, so each step knows which values must stay out of the stack file and the report.
 */
import { carriesCredentials, looksSecret } from "../../lib/secretNames";
import type { Path } from "../compose";
import { pathText } from "../compose";
import type { EnvEntry, EnvFile } from "../envFiles";
import { references } from "../interpolate";
import { asObj, isObj, MapContext, Obj } from "./context";
import { where } from "../report";

/** Kept while every service's env is read. */
interface Reading {
    /** `.env` variables a secret-named env value expands from: values using them are secret. */
    secretVars: Set<string>;
    /** Each env_file, read once however many services name it. */
    files: Map<string, EnvFile>;
}

/**
 * Reads every service's env into `ctx.envs` and marks the secrets in it: by name, by what they
 * expand from, and by value. A variable that a secret-named value expands from
 * (`POSTGRES_PASSWORD: ${PG_PASS}`) makes every value using it secret.
 */
export function readServiceEnvs(ctx: MapContext): void {
    const reading: Reading = { secretVars: new Set(), files: new Map() };
    /** Secret values, to catch a plain value that embeds one (`DATABASE_URL=…:${PG_PASS}@…`). */
    const secretValues = new Set<string>();
    for (const e of ctx.input.dotenv?.entries ?? []) {
        if (e.secret) {
            reading.secretVars.add(e.name);
        }
    }
    for (const [key, svc] of Object.entries(ctx.services)) {
        const env = svc.environment;
        const items: [string, Path][] = Array.isArray(env)
            ? env.map((item, i) => [
                  String(item).split("=")[0] ?? "",
                  ["services", key, "environment", i],
              ])
            : Object.keys(asObj(env)).map((name) => [name, ["services", key, "environment", name]]);
        for (const [name, p] of items) {
            if (looksSecret(name)) {
                references(ctx.compose.rawOf(p) ?? "").forEach((r) => reading.secretVars.add(r));
            }
        }
    }
    for (const key of Object.keys(ctx.services)) {
        ctx.envs.set(key, serviceEnv(ctx, key, ctx.services[key] ?? {}, reading));
    }
    for (const env of ctx.envs.values()) {
        for (const e of env.values()) {
            if (e.secret && e.value.length >= 3) {
                secretValues.add(e.value);
            }
        }
    }
    for (const e of ctx.input.dotenv?.entries ?? []) {
        if (reading.secretVars.has(e.name) && e.value.length >= 3) {
            secretValues.add(e.value);
        }
    }
    for (const env of ctx.envs.values()) {
        for (const e of env.values()) {
            if (!e.secret && [...secretValues].some((v) => e.value.includes(v))) {
                e.secret = true;
            }
        }
    }
}

/** The env a compose service gets: its env_files in order, then `environment:`. */
function serviceEnv(
    ctx: MapContext,
    key: string,
    svc: Obj,
    reading: Reading,
): Map<string, EnvEntry> {
    const env = new Map<string, EnvEntry>();
    const files =
        svc.env_file === undefined
            ? []
            : Array.isArray(svc.env_file)
              ? svc.env_file
              : [svc.env_file];
    files.forEach((f) => {
        const file = isObj(f) ? String(f.path) : String(f);
        let parsed = reading.files.get(file);
        if (parsed === undefined) {
            parsed = ctx.input.readEnv(file);
            reading.files.set(file, parsed);
        }
        for (const e of parsed.entries) {
            env.set(e.name, e);
        }
    });
    const base: Path = ["services", key, "environment"];
    const dotenvSecret = new Set(
        (ctx.input.dotenv?.entries ?? []).filter((e) => e.secret).map((e) => e.name),
    );
    const add = (name: string, value: unknown, p: Path) => {
        if (value === null || value === undefined) {
            ctx.finding(
                "unmapped",
                ctx.origin(p),
                `${pathText(base)}.${name}`,
                "takes its value from the shell that runs compose; set it in msa:services." +
                    key +
                    ".env",
            );
            return;
        }
        const raw = ctx.compose.rawOf(p) ?? "";
        const refs = references(raw);
        const from = refs.filter(
            (r) => dotenvSecret.has(r) || reading.secretVars.has(r) || looksSecret(r),
        );
        const via = refs
            .flatMap((r) => {
                const e = ctx.input.dotenv?.entries.find((x) => x.name === r);
                return e === undefined ? [] : [`${r} from ${where(e)}`];
            })
            .join(", ");
        env.set(name, {
            name,
            value: String(value),
            file: ctx.compose.label,
            line: ctx.compose.lineOf(p),
            secret: looksSecret(name) || carriesCredentials(String(value)) || from.length > 0,
            expandsFrom: from,
            via: via === "" ? undefined : via,
        });
    };
    if (Array.isArray(svc.environment)) {
        svc.environment.forEach((item, i) => {
            const text = String(item);
            const eq = text.indexOf("=");
            add(eq < 0 ? text : text.slice(0, eq), eq < 0 ? null : text.slice(eq + 1), [
                ...base,
                i,
            ]);
        });
    } else {
        for (const [name, value] of Object.entries(asObj(svc.environment))) {
            add(name, value, [...base, name]);
        }
    }
    return env;
}
