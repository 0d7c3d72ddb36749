/**
 * Env assembly: what each service container receives, replacing the legacy `env_file` and
 * `environment:` blocks. Pure functions over the validated config; secrets are added by the
 * component as Outputs and only named here.
 */
import type { ServiceConfig } from "./schema";
import type { StackConfig } from "./validate";

/** Env the stack sets on every service; a service's own `env` may not override these. */
export const DB_ENV_NAMES = [
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_SCHEMA_NAME",
    "DB_USER",
    "DB_PASSWORD",
    "TZ",
    "DB_KIND",
    "DB_DIALECT",
    "DB_DRIVER_CLASS_NAME",
    "DB_TYPE",
] as const;
export const RESERVED_ENV: readonly string[] = [...DB_ENV_NAMES, "NODENAME"];
/** The one env var that carries the DB password: the component adds it as a secret. */
export const DB_PASSWORD_ENV = "DB_PASSWORD";

/** A name holding one of these words names a secret wherever the word stands. */
const SECRET_WORDS = new Set([
    "PASSWORD",
    "PASSWD",
    "PWD",
    "SECRET",
    "TOKEN",
    "CREDENTIALS",
    "APIKEY",
]);

/**
 * `KEY` is a secret at the end of a name (`STRIPE_KEY`, `API_KEY`) or right after one of these
 * (`PRIVATE_KEY_PEM`); elsewhere it is usually a plain setting (`CACHE_KEY_PREFIX`, `KEY_ID`).
 */
const KEY_QUALIFIERS = new Set(["API", "PRIVATE", "ACCESS", "SIGNING", "ENCRYPTION", "MASTER"]);

/** `orders-api` → `ORDERS_API`: the prefix of the link variables that point at a service. */
export function envVarPrefix(serviceKey: string): string {
    return serviceKey.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
}

/**
 * True for names like `DB_PASSWORD`, `API_TOKEN`, `SECRET_KEY`, `STRIPE_KEY`: such values must be
 * secrets. Names where `KEY` is part of a plain setting (`CACHE_KEY_PREFIX`) are not.
 */
export function looksSecret(name: string): boolean {
    const words = name
        .toUpperCase()
        .split(/[^A-Z0-9]+/)
        .filter((w) => w !== "");
    return words.some(
        (word, i) =>
            SECRET_WORDS.has(word) ||
            (word === "KEY" && (i === words.length - 1 || KEY_QUALIFIERS.has(words[i - 1] ?? ""))),
    );
}

export function linkEnvNames(link: string): string[] {
    const prefix = envVarPrefix(link);
    return [`${prefix}_HOST`, `${prefix}_PORT`, `${prefix}_URL`];
}

/** Where services find the database: inside the stack's network, or the external server. */
export function dbEndpoint(cfg: StackConfig): { host: string; port: number } {
    return { host: cfg.dbHost, port: cfg.dbPort };
}

/**
 * The plain env of a service container, in a stable order: database settings, `NODENAME`, link
 * variables, then the service's own `env`. `DB_PASSWORD` is not here: it is secret.
 */
export function plainServiceEnv(cfg: StackConfig, key: string): Record<string, string> {
    const svc = requireService(cfg, key);
    const db = dbEndpoint(cfg);
    const env: Record<string, string> = {
        DB_HOST: db.host,
        DB_PORT: String(db.port),
        DB_NAME: cfg.dbName,
        DB_SCHEMA_NAME: cfg.dbSchema,
        DB_USER: cfg.dbUser,
        TZ: cfg.timezone,
        DB_KIND: cfg.dbKind,
        DB_DIALECT: cfg.dbDialect,
        DB_DRIVER_CLASS_NAME: cfg.dbDriverClassName,
        DB_TYPE: cfg.dbType,
        NODENAME: svc.nodeName ?? key,
    };
    for (const link of svc.links) {
        Object.assign(env, linkEnv(link, requireService(cfg, link)));
    }
    for (const [name, value] of Object.entries(svc.env)) {
        env[name] = String(value);
    }
    return env;
}

/**
 * `SERVICE_B_HOST`/`_PORT`/`_URL` for a link: the linked service's network alias (its key) and
 * first container port, so the connection lives in config, not in a host IP.
 */
export function linkEnv(link: string, target: ServiceConfig): Record<string, string> {
    const prefix = envVarPrefix(link);
    const containerPort = target.ports[0]?.container;
    if (containerPort === undefined) {
        throw new Error(`service ${link} has no port to link to`);
    }
    return {
        [`${prefix}_HOST`]: link,
        [`${prefix}_PORT`]: String(containerPort),
        [`${prefix}_URL`]: `http://${link}:${containerPort}`,
    };
}

function requireService(cfg: StackConfig, key: string): ServiceConfig {
    const svc = cfg.services[key];
    if (svc === undefined) {
        throw new Error(`unknown service ${key}`);
    }
    return svc;
}
