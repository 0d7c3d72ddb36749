/**
 * Each service's env as compose 1.29 builds it (its `env_file`s in order, then `environment:`),
 * read once per service with its file and line, and which values are secret. Runs before any
 * mapping step, so each step knows which values must stay out of the stack file and the report.
 *
 * - `NAME` without a value (in `environment:` or an env file) takes its value from `.env`, as
 *   compose does (compose also reads the shell, which the import never does: a name `.env` does
 *   not set is reported, and a password among them is left for `pulumi config set --secret`);
 * - an `env_file` entry with `required: false` that does not exist is skipped, and noted;
 * - an unquoted number in an `environment:` map is what compose passes (`yaml11.ts`):
 *   `0022` → `18`, 20 digits stay 20 digits; where that differs from the text, it is noted;
 * - secrets: by name (`looksSecret`), by carrying credentials (`carriesCredentials`), by the
 *   `.env` variables they expand from, and by holding the value of any other secret, however it
 *   got there (`SecretValues`), including `PGPASSWORD=…` written into a command or healthcheck.
 */
import * as fs from "fs";
import * as path from "path";
import { carriesCredentials, looksSecret } from "../../lib/secretNames";
import type { Path } from "../compose";
import { pathText } from "../compose";
import type { EnvEntry, EnvFile } from "../envFiles";
import { references } from "../interpolate";
import { ImportError, where } from "../report";
import { yaml11NumberText } from "../yaml11";
import { asObj, isObj, MapContext, Obj } from "./context";

/** `NAME=value` in a command or healthcheck text: a secret when the name looks like one. */
const ASSIGNMENT = /(?:^|[\s;&|(])([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|[^\s;&|)]+)/g;

/** Kept while every service's env is read. */
interface Reading {
    /** `.env` variables a secret value expands from: values using them are secret. */
    secretVars: Set<string>;
    /** Each env_file, read once however many services name it (undefined: optional, absent). */
    files: Map<string, EnvFile | undefined>;
    dotenv: Map<string, EnvEntry>;
}

/**
 * Reads every service's env into `ctx.envs` and marks the secrets in it. A variable that a
 * secret-named value expands from (`POSTGRES_PASSWORD: ${PG_PASS}`) makes every value using it
 * secret, and so does a value equal to (or holding) any secret value.
 */
export function readServiceEnvs(ctx: MapContext): void {
    const dotenv = new Map((ctx.input.dotenv?.entries ?? []).map((e) => [e.name, e]));
    const reading: Reading = { secretVars: new Set(), files: new Map(), dotenv };
    for (const e of dotenv.values()) {
        if (e.secret) {
            reading.secretVars.add(e.name);
        }
    }
    for (const [key, svc] of Object.entries(ctx.services)) {
        for (const [name, p] of envItems(key, svc)) {
            if (looksSecret(name)) {
                references(ctx.compose.rawOf(p) ?? "").forEach((r) => reading.secretVars.add(r));
            }
        }
        for (const [text, p] of commandTexts(key, svc)) {
            for (const m of text.matchAll(ASSIGNMENT)) {
                if (looksSecret(m[1] ?? "")) {
                    const raw = ctx.compose.rawOf(p) ?? "";
                    references(raw).forEach((r) => reading.secretVars.add(r));
                    ctx.secretValues.add(unquote(m[2] ?? ""), `${m[1] ?? ""} in ${pathText(p)}`);
                }
            }
        }
    }
    for (const key of Object.keys(ctx.services)) {
        ctx.envs.set(key, serviceEnv(ctx, key, ctx.services[key] ?? {}, reading));
    }
    for (const e of dotenv.values()) {
        if (reading.secretVars.has(e.name)) {
            ctx.secretValues.add(e.value, `${e.name}, ${where(e)}`);
        }
    }
    for (const env of ctx.envs.values()) {
        for (const e of env.values()) {
            if (e.secret) {
                ctx.secretValues.add(e.value, `${e.name}, ${where(e)}`);
            }
        }
    }
    for (const env of ctx.envs.values()) {
        for (const e of env.values()) {
            if (!e.secret && ctx.secretValues.find(e.value) !== undefined) {
                e.secret = true;
            }
        }
    }
}

/** The `environment:` items of a service: name and path, list or map. */
function envItems(key: string, svc: Obj): [string, Path][] {
    const env = svc.environment;
    return Array.isArray(env)
        ? env.map((item, i) => [
              String(item).split("=")[0] ?? "",
              ["services", key, "environment", i],
          ])
        : Object.keys(asObj(env)).map((name) => [name, ["services", key, "environment", name]]);
}

/** Command, entrypoint and healthcheck texts of a service, with their paths. */
function commandTexts(key: string, svc: Obj): [string, Path][] {
    const out: [string, Path][] = [];
    const add = (v: unknown, p: Path) => {
        if (typeof v === "string") {
            out.push([v, p]);
        } else if (Array.isArray(v)) {
            v.forEach((item, i) => typeof item === "string" && out.push([item, [...p, i]]));
        }
    };
    add(svc.command, ["services", key, "command"]);
    add(svc.entrypoint, ["services", key, "entrypoint"]);
    add(asObj(svc.healthcheck).test, ["services", key, "healthcheck", "test"]);
    return out;
}

function unquote(text: string): string {
    return /^(["']).*\1$/s.test(text) ? text.slice(1, -1) : text;
}

/** The env a compose service gets: its env_files in order, then `environment:`. */
function serviceEnv(
    ctx: MapContext,
    key: string,
    svc: Obj,
    reading: Reading,
): Map<string, EnvEntry> {
    const env = new Map<string, EnvEntry>();
    const base: Path = ["services", key, "environment"];
    const dotenvSecret = (name: string) => reading.dotenv.get(name)?.secret === true;
    /** `NAME` without a value: `.env`'s value, else the shell's (reported). */
    const fromEnvironment = (name: string, origin: { file: string; line?: number }, at: string) => {
        const d = reading.dotenv.get(name);
        if (d === undefined) {
            ctx.shellOnly.push({ service: key, name, origin, at });
            env.delete(name);
            return;
        }
        env.set(name, {
            name,
            value: d.value,
            file: origin.file,
            line: origin.line,
            secret: looksSecret(name) || d.secret || reading.secretVars.has(name),
            expandsFrom: d.secret || reading.secretVars.has(name) ? [name] : [],
            via: `${name} from ${where(d)}`,
        });
    };
    envFileList(svc.env_file).forEach(({ file, required }, i) => {
        const p: Path = ["services", key, "env_file", ...(Array.isArray(svc.env_file) ? [i] : [])];
        let parsed = reading.files.get(file);
        if (!reading.files.has(file)) {
            parsed =
                required || fs.existsSync(path.resolve(ctx.compose.dir, file))
                    ? ctx.input.readEnv(file)
                    : undefined;
            reading.files.set(file, parsed);
        }
        if (parsed === undefined) {
            ctx.finding(
                "note",
                ctx.origin(p, ["services", key, "env_file"]),
                pathText(p),
                `${file} does not exist and is optional (required: false): compose skips it, and so does the import`,
            );
            return;
        }
        for (const e of parsed.entries) {
            env.set(e.name, e);
        }
        for (const b of parsed.bare) {
            fromEnvironment(b.name, b, `${pathText(p)} ${b.name}`);
        }
    });
    const add = (name: string, value: unknown, p: Path) => {
        if (value === null || value === undefined) {
            fromEnvironment(name, ctx.origin(p), `${pathText(base)}.${name}`);
            return;
        }
        const raw = ctx.compose.rawOf(p) ?? "";
        const refs = references(raw);
        const from = refs.filter(
            (r) => dotenvSecret(r) || reading.secretVars.has(r) || looksSecret(r),
        );
        const via = refs
            .flatMap((r) => {
                const e = reading.dotenv.get(r);
                return e === undefined ? [] : [`${r} from ${where(e)}`];
            })
            .join(", ");
        const plain = ctx.compose.plainOf(p);
        const number = plain === undefined ? undefined : yaml11NumberText(plain);
        const text = number ?? envText(value);
        const origin = ctx.origin(p);
        env.set(name, {
            name,
            value: text,
            file: origin.file,
            line: origin.line,
            secret: looksSecret(name) || carriesCredentials(text) || from.length > 0,
            expandsFrom: from,
            via: via === "" ? undefined : via,
            numberSource: number !== undefined && plain !== number ? plain : undefined,
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
    const proto = env.get("__proto__");
    if (proto !== undefined) {
        throw new ImportError(
            `${where(proto)}: services.${key} sets an env variable named __proto__, which the stack's config cannot hold; rename it`,
        );
    }
    return env;
}

/** `env_file:` as compose reads it: a path, a list of paths, or `{path, required}` entries. */
function envFileList(v: unknown): { file: string; required: boolean }[] {
    const list = v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
    return list.map((f) =>
        isObj(f)
            ? { file: String(f.path), required: f.required !== false }
            : { file: String(f), required: true },
    );
}

/** A YAML 1.2 scalar compose passes as text: booleans as `true`/`false`, numbers as written. */
function envText(value: unknown): string {
    return typeof value === "string" ? value : String(value);
}
