/**
 * Env → stack config: each variable a service (or the database) gets becomes a stack-wide key
 * (`DB_NAME` → `msa:database.name`, …; the stack holds one value and reports a service that
 * disagrees), the DB password, a secret (`msa:secretEnv.<service>.<NAME>`), the service's
 * `nodeName`, or plain `env`. The stack sets the database settings on every service itself
 * (`RESERVED_ENV`), so what compose set by hand is checked against them and reported where it
 * differs. A value that carries credentials never becomes a plain key, whatever its name.
 */
import { envVarPrefix } from "../../config/env";
import { PROJECT } from "../../config/schema";
import { RESERVED_ENV } from "../../lib/databaseEnv";
import { carriesCredentials, looksSecret } from "../../lib/secretNames";
import type { Path } from "../compose";
import { pathText } from "../compose";
import type { EnvEntry } from "../envFiles";
import { MapContext, Obj } from "./context";
import { where } from "../report";

/** The env names the stack's DB container gets (components/postgresDatabase.ts). */
const DB_CONTAINER_ENV = new Set([
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "DB_NAME",
    "DB_SCHEMA_NAME",
    "PGPORT",
    "PGDATA",
    "TZ",
]);

/** Env names that become stack-wide keys, by v2 key path. */
const STACK_ENV: ReadonlyMap<string, string> = new Map([
    ["DB_NAME", "database.name"],
    ["DB_SCHEMA_NAME", "database.schema"],
    ["DB_USER", "database.user"],
    ["TZ", "timezone"],
    ["DB_KIND", "database.client.kind"],
    ["DB_DIALECT", "database.client.dialect"],
    ["DB_DRIVER_CLASS_NAME", "database.client.driverClassName"],
    ["DB_TYPE", "database.client.type"],
    ["POSTGRES_DB", "database.name"],
    ["POSTGRES_USER", "database.user"],
]);
const PASSWORD_ENV = new Set(["DB_PASSWORD", "POSTGRES_PASSWORD"]);
/** Names whose value the import writes to a plain key of its own (not to `env`/`secretEnv`). */
const PLAIN_KEYS = new Set(["NODENAME", "DB_HOST", "DB_PORT", ...STACK_ENV.keys()]);

/** The database service's env: stack-wide keys and the password; the rest is reported. */
export function mapDbEnv(ctx: MapContext, key: string): void {
    const base: Path = ["services", key];
    const env = ctx.envOf(key);
    const dropped: EnvEntry[] = [];
    for (const entry of env.values()) {
        if (PASSWORD_ENV.has(entry.name)) {
            setPassword(ctx, entry);
        } else if (
            STACK_ENV.has(entry.name) &&
            credentialsDropped(ctx, `${pathText(base)} env ${entry.name}`, entry, key)
        ) {
            continue;
        } else if (STACK_ENV.has(entry.name)) {
            ctx.setStack(STACK_ENV.get(entry.name) ?? "", entry.value, entry, entry.name);
        } else if (entry.name === "PGDATA") {
            // Where the data lives: the volume step reads it (volumes.ts) and reports it.
            continue;
        } else if (!RESERVED_ENV.includes(entry.name)) {
            ctx.finding(
                "unmapped",
                entry,
                `${pathText(base)} env ${entry.name}`,
                `${shown(entry)} is not set on the stack's DB container (it sets only ${[...DB_CONTAINER_ENV].join(", ")})`,
            );
            continue;
        }
        if (!DB_CONTAINER_ENV.has(entry.name)) {
            dropped.push(entry);
        }
    }
    if (dropped.length > 0) {
        const files = [...new Set(dropped.map((e) => e.file))].join(", ");
        ctx.finding(
            "changed",
            ctx.origin([...base, "env_file"], base),
            `${pathText(base)} env`,
            `the DB container no longer gets ${dropped.map((e) => e.name).join(", ")} (from ${files}; Postgres does not read them): they live on as ${PROJECT}:database.user, ${PROJECT}:dbPassword, ${PROJECT}:database.client.kind, … and reach the services`,
        );
    }
}

/** A service's env → `out.env`, `out.nodeName`, stack-wide keys and secrets. */
export function mapServiceEnv(ctx: MapContext, key: string, out: Obj): void {
    const base: Path = ["services", key];
    const env: Obj = {};
    const present = new Set<string>();
    for (const entry of ctx.envOf(key).values()) {
        present.add(entry.name);
        numberNote(ctx, key, entry);
        serviceEnvEntry(ctx, key, entry, out, env);
    }
    if (Object.keys(env).length > 0) {
        out.env = env;
    }
    const added = RESERVED_ENV.filter((n) => !present.has(n));
    if (added.length > 0) {
        ctx.finding(
            "changed",
            ctx.origin(base),
            pathText(base),
            `the stack also sets ${added.join(", ")} on this service (every service gets the database settings and NODENAME)`,
        );
    }
}

/** 0.0.0.0, loopback and localhost: fine for a server to bind, useless for a container to call. */
export function unreachableFromContainer(host: string): boolean {
    return /^(0\.0\.0\.0|127\.[0-9.]+|localhost|::1?)$/.test(host);
}

/** A value as a report may show it: secrets never. */
export function shown(e: EnvEntry): string {
    return e.secret ? `${e.name} (secret)` : `${e.name}=${e.value}`;
}

function serviceEnvEntry(ctx: MapContext, key: string, entry: EnvEntry, out: Obj, env: Obj): void {
    const at = `services.${key} env ${entry.name}`;
    if (entry.name === "DB_PASSWORD") {
        setPassword(ctx, entry);
    } else if (PLAIN_KEYS.has(entry.name) && credentialsDropped(ctx, at, entry, key)) {
        return;
    } else if (entry.name === "NODENAME") {
        out.nodeName = entry.value;
    } else if (entry.name === "DB_HOST") {
        dbHostOf(ctx, key, entry);
    } else if (entry.name === "DB_PORT") {
        const port = Number(entry.value);
        if (ctx.dbKey === undefined) {
            ctx.setStack(
                "database.port",
                Number.isInteger(port) ? port : entry.value,
                entry,
                "DB_PORT",
            );
        } else if (port !== (ctx.value("database.port") ?? 5432)) {
            ctx.finding(
                "changed",
                entry,
                at,
                `DB_PORT=${entry.value}, but the database listens on ${String(ctx.value("database.port") ?? 5432)} (${PROJECT}:database.port); the stack sets that`,
            );
        }
    } else if (STACK_ENV.has(entry.name) && RESERVED_ENV.includes(entry.name)) {
        ctx.setStack(STACK_ENV.get(entry.name) ?? "", entry.value, entry, entry.name);
    } else if (entry.secret) {
        ctx.secrets.push({
            key: `${PROJECT}:secretEnv.${key}.${entry.name}`,
            path: true,
            value: entry.value,
            source: secretSource(entry),
        });
    } else {
        env[entry.name] = entry.value;
        hostAddress(ctx, key, entry);
    }
}

/** `<SERVICE>_IP`, `_HOST`, `_ADDR`, `_ADDRESS` or `_URL`: which service a name points at. */
const ADDRESS_NAME = /^(.+)_(IP|HOST|ADDR|ADDRESS|URL)$/;

/**
 * `SERVICE_B_IP`: another service's address on the Docker host; a link would replace it. A value
 * that names the service already works on the stack's network, and one on localhost is what a
 * browser or the host uses (`http://localhost:5173`): a link would break it, so neither is noted.
 */
function hostAddress(ctx: MapContext, key: string, entry: EnvEntry): void {
    const m = ADDRESS_NAME.exec(entry.name);
    const other = m?.[1] === undefined ? undefined : ctx.servicePrefixes().get(m[1]);
    if (other === undefined || other === key || other === ctx.dbKey) {
        return;
    }
    const prefix = envVarPrefix(other);
    if (mentions(entry.value, other) || isLocalhost(hostOf(entry.value))) {
        return;
    }
    const loopback = unreachableFromContainer(entry.value)
        ? ` (${entry.value} does not reach another container anyway)`
        : "";
    ctx.finding(
        "note",
        entry,
        `services.${key} env ${entry.name}`,
        `kept as is: ${entry.name}=${entry.value} addresses ${other} through a port published on the Docker host${loopback}. A links entry would replace it: add ${other} to msa:services.${key}.links and the service gets ${prefix}_HOST=${other}, ${prefix}_PORT and ${prefix}_URL on the stack's network`,
    );
}

/** Whether `text` names `service` as a word of its own (`http://orders:8080`). */
function mentions(text: string, service: string): boolean {
    let from = 0;
    for (let i = text.indexOf(service); i >= 0; i = text.indexOf(service, from)) {
        const before = text[i - 1];
        const after = text[i + service.length];
        if (
            (before === undefined || !/[A-Za-z0-9_-]/.test(before)) &&
            (after === undefined || !/[A-Za-z0-9_-]/.test(after))
        ) {
            return true;
        }
        from = i + 1;
    }
    return false;
}

/** The host of a URL (`http://localhost:5173/x` → `localhost`) or of `host[:port]`. */
function hostOf(value: string): string {
    try {
        return new URL(value).hostname.replace(/^\[|\]$/g, "");
    } catch {
        return value.replace(/:[0-9]+$/, "");
    }
}

function isLocalhost(host: string): boolean {
    return /^(127\.[0-9.]+|localhost|::1)$/i.test(host);
}

/**
 * An unquoted number compose passes as something else than its text (YAML 1.1: `0022` is octal
 * 18, `1:30` is 90, `1.50` is 1.5): the stack sets what compose set, and says so.
 */
function numberNote(ctx: MapContext, key: string, entry: EnvEntry): void {
    if (entry.numberSource === undefined) {
        return;
    }
    const where = key === ctx.dbKey ? `services.${key}` : `${PROJECT}:services.${key}.env`;
    ctx.finding(
        "note",
        entry,
        `services.${key} env ${entry.name}`,
        entry.secret
            ? `compose reads the unquoted value as a YAML 1.1 number and passes that number, not the text (a secret: neither is shown); the stack passes the same; quote it if the text was meant`
            : `compose reads the unquoted ${entry.numberSource} as a YAML 1.1 number and passes ${entry.name}=${entry.value}; the stack passes the same ${entry.value}; if the service expects ${entry.numberSource}, set ${where}.${entry.name} to "${entry.numberSource}"`,
    );
}

/** DB_HOST: where the external database is, or checked against the database service. */
function dbHostOf(ctx: MapContext, key: string, entry: EnvEntry): void {
    if (ctx.dbKey === undefined) {
        ctx.setStack(ctx.dbHostKey, entry.value, entry, "DB_HOST");
        return;
    }
    const dbName = ctx.services[ctx.dbKey]?.container_name;
    if (entry.value === ctx.dbKey || entry.value === dbName) {
        const prev = ctx.stackValues.get(ctx.dbHostKey);
        if (prev === undefined || prev.what === "service name") {
            ctx.stackValues.set(ctx.dbHostKey, {
                value: entry.value,
                what: "DB_HOST",
                origin: entry,
            });
        } else {
            ctx.setStack(ctx.dbHostKey, entry.value, entry, "DB_HOST");
        }
    } else {
        ctx.finding(
            "changed",
            entry,
            `services.${key} env DB_HOST`,
            `DB_HOST=${entry.value} names neither the database service ${ctx.dbKey} nor its container; the stack sets DB_HOST to ${PROJECT}:database.alias, the database's network alias`,
        );
    }
}

/** The stack has one DB password: the first wins, a different one is for the operator. */
function setPassword(ctx: MapContext, entry: EnvEntry): void {
    const key = `${PROJECT}:dbPassword`;
    const prev = ctx.secrets.find((s) => s.key === key);
    if (prev !== undefined && prev.value === undefined) {
        // Only a name the shell would have set came first: a value from the files is better.
        prev.value = entry.value;
        prev.source = secretSource(entry);
        prev.origin = entry;
        prev.name = entry.name;
    } else if (prev === undefined) {
        ctx.secrets.push({
            key,
            path: false,
            value: entry.value,
            source: secretSource(entry),
            origin: entry,
            name: entry.name,
        });
    } else if (prev.value !== entry.value) {
        ctx.finding(
            "action",
            entry,
            entry.name,
            `differs from ${prev.name ?? "the DB password"} (${prev.origin === undefined ? "" : where(prev.origin)}); the stack has one password, ${PROJECT}:dbPassword: the import takes the first, check which one is right`,
        );
    }
}

/**
 * A value that carries credentials (`postgres://u:pw@h/db`) under a name the stack maps to a plain
 * key of its own: it cannot go to `msa:secretEnv` (the stack sets that name itself) and never goes
 * to the stack file, so it is dropped and reported, without the value.
 */
function credentialsDropped(ctx: MapContext, at: string, entry: EnvEntry, key: string): boolean {
    if (!carriesCredentials(entry.value)) {
        return false;
    }
    const target =
        entry.name === "NODENAME"
            ? `services.${key}.nodeName`
            : entry.name === "DB_HOST"
              ? ctx.dbHostKey
              : entry.name === "DB_PORT"
                ? "database.port"
                : (STACK_ENV.get(entry.name) ?? entry.name);
    ctx.finding(
        "action",
        entry,
        at,
        `the value carries credentials (a password in it); ${entry.name} maps to ${PROJECT}:${target}, plain config that never holds a credential, so the value is dropped: set ${PROJECT}:${target} without them (the password is ${PROJECT}:dbPassword)`,
    );
    return true;
}

/**
 * `NAME`s without a value that `.env` does not set: compose took them from the shell that ran it,
 * which the import never reads. A DB password or a secret among them is left for
 * `pulumi config set --secret` (the command is printed); a plain one is reported.
 */
export function shellOnlyEnv(ctx: MapContext): void {
    for (const { service, name, origin, at } of ctx.shellOnly) {
        const isDb = service === ctx.dbKey;
        if (!Object.hasOwn(ctx.services, service)) {
            continue;
        }
        if (PASSWORD_ENV.has(name) && (isDb || name === "DB_PASSWORD")) {
            const key = `${PROJECT}:dbPassword`;
            if (!ctx.secrets.some((s) => s.key === key)) {
                ctx.secrets.push({
                    key,
                    path: false,
                    source: `${name}, ${where(origin)}: compose took it from the shell that ran it`,
                    origin,
                    name,
                });
            }
            continue;
        }
        if (looksSecret(name) && !isDb && !RESERVED_ENV.includes(name)) {
            ctx.secrets.push({
                key: `${PROJECT}:secretEnv.${service}.${name}`,
                path: true,
                source: `${name}, ${where(origin)}: compose took it from the shell that ran it`,
            });
            continue;
        }
        ctx.finding(
            "unmapped",
            origin,
            at,
            isDb
                ? "takes its value from the shell that runs compose (.env does not set it); the stack's DB container does not get it"
                : `takes its value from the shell that runs compose (.env does not set it); set it in msa:services.${service}.env`,
        );
    }
}

function secretSource(e: EnvEntry): string {
    const from = e.expandsFrom.length > 0 ? ` = \${${e.expandsFrom.join("}, ${")}}` : "";
    return `${e.name}${from}, ${where(e)}`;
}
