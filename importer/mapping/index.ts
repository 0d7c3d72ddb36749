/**
 * Compose (interpolated, with its env files) → stack config in the v2 shape (`PlainConfigInput`
 * keys, without the `msa:` prefix: `timezone`, `registry`, `database`, `services`), the secrets to
 * set with `pulumi config set --secret`, and the findings of the report. Pure: files are read by
 * the caller through `readEnv`.
 *
 * This module runs the steps in order and assembles the config; each step has a module of its own
 * (database, services, images, ports, composeEnv, env, volumes, healthcheck) and they
 * share one `MapContext`. The order matters: the findings keep it, and later steps read what
 * earlier ones settled (the database service, each service's env, the stack-wide values).
 */
import { PROJECT, SERVICE_KEY_PATTERN } from "../../config/schema";
import { externalDb, findDatabase, mapDatabase } from "./database";
import { healthcheckTest } from "./healthcheck";
import { chooseRegistry } from "./images";
import { asObj, isObj, MapContext, MapInput, Obj, SecretValue } from "./context";
import { Finding, ImportError } from "../report";
import type { SecretValues } from "../secretValues";
import { readServiceEnvs } from "./composeEnv";
import { shellOnlyEnv } from "./env";
import { mapService, networkCount } from "./services";
import { otherVolumes } from "./volumes";

export type { MapInput, SecretValue } from "./context";
export { parsePort } from "./ports";

export interface Mapped {
    /** Stack config keys without the `msa:` prefix, in the order a reader expects them. */
    config: Record<string, unknown>;
    /** Key paths (`registry.namespace`) written only where the stack file sets none. */
    weak: string[];
    secrets: SecretValue[];
    findings: Finding[];
    mode: "container" | "external";
    dbService?: string;
    services: string[];
    /** Every secret value seen, to keep out of every output. */
    secretValues: SecretValues;
}

/**
 * The fields of `msa:database` in the order the stack files list them, per mode (as
 * `config/schema.ts` declares them); `client`, `healthcheck` and `image` are maps of their own.
 */
const DATABASE_FIELDS = {
    container: [
        "alias",
        "containerName",
        "volumeName",
        "port",
        "hostPort",
        "bindAddress",
        "memoryMb",
        "name",
        "schema",
        "user",
        "client",
        "healthcheck",
        "image",
    ],
    external: ["host", "port", "name", "schema", "user", "client"],
} as const;

/** The maps inside `msa:database`, fields in the schema's order. */
const SUB_FIELDS: Record<string, string[]> = {
    client: ["kind", "dialect", "driverClassName", "type"],
    image: ["name", "context", "tag", "base"],
};

/** Runs the steps in order (the findings keep it) and assembles the stack config. */
export function mapCompose(input: MapInput): Mapped {
    const ctx = new MapContext(input);
    ctx.dbKey = findDatabase(ctx);
    checkServiceKeys(ctx);
    topLevel(ctx);
    profiled(ctx);
    readServiceEnvs(ctx);
    const db = ctx.dbKey === undefined ? undefined : mapDatabase(ctx, ctx.dbKey);
    otherVolumes(ctx, ctx.dataVolume === undefined ? [] : [ctx.dataVolume]);
    const services: Obj = {};
    for (const key of Object.keys(ctx.services)) {
        if (key !== ctx.dbKey) {
            services[key] = mapService(ctx, key);
        }
    }
    shellOnlyEnv(ctx);
    const registry = chooseRegistry(ctx, services);
    const mode = ctx.dbKey === undefined ? "external" : "container";
    if (mode === "external") {
        externalDb(ctx);
    }
    const database = databaseConfig(ctx, mode, db ?? {});
    if (ctx.dbKey !== undefined) {
        healthcheckTest(ctx, ctx.dbKey, database);
    }
    const timezone = ctx.value("timezone");
    const config: Obj = {
        ...(timezone === undefined ? {} : { timezone }),
        registry,
        database,
        services,
    };
    keepSecretsOut(ctx, config);
    ctx.secrets.push({
        key: `${PROJECT}:registryPassword`,
        path: false,
        source: "registry password or GitLab deploy token; not in the compose files",
    });
    return {
        config,
        weak: ctx.weak,
        secrets: ctx.secrets.map(({ key, path: p, value, source }) => ({
            key,
            path: p,
            value,
            source,
        })),
        findings: ctx.findings,
        mode,
        dbService: ctx.dbKey,
        services: Object.keys(services),
        secretValues: ctx.secretValues,
    };
}

/**
 * `msa:database` from the stack-wide values (`database.*` key paths) and what the database
 * service alone sets (`own`), fields in the stack files' order; only the mode's own keys.
 */
function databaseConfig(ctx: MapContext, mode: "container" | "external", own: Obj): Obj {
    const values: Obj = { ...own };
    for (const [key, v] of ctx.stackValues) {
        const [head, field, sub] = key.split(".");
        if (head !== "database" || field === undefined) {
            continue;
        }
        if (sub === undefined) {
            values[field] = v.value;
        } else {
            values[field] = { ...(values[field] as Obj | undefined), [sub]: v.value };
        }
    }
    if (mode === "container") {
        values.bindAddress = "127.0.0.1";
    }
    if (values.name === undefined) {
        // Postgres's image creates POSTGRES_DB, else a database named after POSTGRES_USER.
        const user =
            ctx.dbKey === undefined ? undefined : ctx.envOf(ctx.dbKey).get("POSTGRES_USER");
        if (user !== undefined && user.value !== "") {
            values.name = user.value;
            ctx.finding(
                "note",
                user,
                `${PROJECT}:database.name`,
                `no DB_NAME or POSTGRES_DB in the compose files: Postgres created the database named after POSTGRES_USER, ${user.value}, and msa:database.name is ${user.value}`,
            );
        } else {
            values.name = "postgres";
            ctx.finding(
                "note",
                { file: ctx.compose.label },
                `${PROJECT}:database.name`,
                mode === "container"
                    ? "no DB_NAME, POSTGRES_DB or POSTGRES_USER in the compose files; set to postgres, the database Postgres creates by default"
                    : "no DB_NAME in the compose files; set to postgres: check it names the database on the server",
            );
        }
    }
    for (const [field, order] of Object.entries(SUB_FIELDS)) {
        const sub = values[field] as Obj | undefined;
        if (sub !== undefined) {
            values[field] = Object.fromEntries(
                order.filter((k) => k in sub).map((k) => [k, sub[k]]),
            );
        }
    }
    const database: Obj = { mode };
    for (const field of DATABASE_FIELDS[mode]) {
        if (values[field] !== undefined) {
            database[field] = values[field];
        }
    }
    return database;
}

/** Every service but the database becomes a stack service key, which is also its network alias. */
function checkServiceKeys(ctx: MapContext): void {
    for (const key of Object.keys(ctx.services)) {
        if (key !== ctx.dbKey && !SERVICE_KEY_PATTERN.test(key)) {
            throw new ImportError(
                `${ctx.at(["services", key])}: service name ${JSON.stringify(key)} cannot be a stack service key (it is also the network alias): it must start with a letter and hold only letters, digits, _ and - (at most 63); rename it in ${ctx.compose.label}`,
            );
        }
    }
}

/** Top-level keys: only `services` and the database's data volume have stack keys. */
function topLevel(ctx: MapContext): void {
    for (const key of Object.keys(ctx.compose.data)) {
        if (
            key === "services" ||
            key === "version" ||
            key === "name" ||
            key === "volumes" ||
            key.startsWith("x-")
        ) {
            continue;
        }
        if (key === "networks" && networkCount(ctx) <= 1) {
            // One network for every service: what the stack does too.
            continue;
        }
        ctx.finding(
            "unmapped",
            ctx.origin([key]),
            key,
            key === "networks"
                ? "the stack puts every service on one network of its own"
                : "no stack key for it",
        );
    }
}

/** Services compose starts only with `--profile`: `docker compose up` does not run them. */
function profiled(ctx: MapContext): void {
    for (const key of ctx.profiled) {
        const svc = asObj(asObj(ctx.compose.data.services)[key]);
        const profiles = Array.isArray(svc.profiles) ? svc.profiles.map(String) : [];
        ctx.finding(
            "unmapped",
            ctx.origin(["services", key]),
            `services.${key}`,
            `compose starts it only with --profile ${profiles.join(" or --profile ")}, and the stack has no profiles: it is not imported, so it is not deployed (as with a plain docker compose up); add msa:services.${key} by hand to deploy it always`,
        );
    }
}

/** Keys whose values are choices from a list, never something a secret could be. */
const NOT_SECRET_CAPABLE = new Set(["restart", "protocol", "bindAddress", "mode"]);
/**
 * Keys that name things (images, registries, folders, the database and its user): a secret is
 * looked for in them only whole. Inside a name, a password is a word anyone can guess
 * (`postgres` in `postgres:16`), which is reported instead.
 */
const NAMES = new Set([
    "server",
    "namespace",
    "project",
    "username",
    "image",
    "tag",
    "base",
    "name",
    "context",
    "dockerfile",
    "target",
    "containerName",
    "alias",
    "volumeName",
    "schema",
    "user",
    "host",
]);

/**
 * The last guard before the stack file: no plain value the import writes may equal or hold a
 * secret value. Env values and commands were already handled where they are mapped; anything
 * else (a container name, a node name, a DB host) is not written and reported. A DB user or
 * database name equal to the DB password cannot be left out (the stack needs them): it is
 * written, the password is the one that must change, and the report says so; so is a password
 * found inside a name (an image reference), which makes it a word anyone can guess.
 */
function keepSecretsOut(ctx: MapContext, config: Obj): void {
    const guessable = new Set<string>();
    const visit = (value: unknown, p: string[], parent: Obj | unknown[], key: string | number) => {
        if (typeof value === "string") {
            const field = String(key);
            if (NOT_SECRET_CAPABLE.has(field)) {
                return;
            }
            const hit = ctx.secretValues.match(value);
            if (hit === undefined) {
                return;
            }
            const name = `${PROJECT}:${p.join(".")}`;
            const whole = hit.value === value;
            if (
                name === `${PROJECT}:database.user` ||
                name === `${PROJECT}:database.name` ||
                (NAMES.has(field) && !whole)
            ) {
                ctx.secretValues.allowPlain(hit.value);
                if (!guessable.has(hit.value)) {
                    guessable.add(hit.value);
                    ctx.finding(
                        "action",
                        { file: ctx.compose.label },
                        name,
                        `${whole ? "has the same value as" : "holds the value of"} ${hit.what}, a secret, and the stack file holds ${name} in plain text: the password is one anyone can guess; choose another before pulumi up (pulumi config set --secret --stack ${ctx.input.stack} ${PROJECT}:dbPassword, and change it in the database)`,
                    );
                }
                return;
            }
            ctx.finding(
                "action",
                { file: ctx.compose.label },
                name,
                `is not written: its value holds the value of ${hit.what}, a secret, which never goes to the stack file; set ${name} yourself without it`,
            );
            if (Array.isArray(parent)) {
                removeAt(config, p.slice(0, -1));
            } else {
                delete parent[field];
            }
            return;
        }
        if (Array.isArray(value)) {
            [...value].forEach((v, i) => visit(v, [...p, String(i)], value, i));
        } else if (isObj(value)) {
            for (const [k, v] of Object.entries(value)) {
                visit(v, [...p, k], value, k);
            }
        }
    };
    for (const [k, v] of Object.entries(config)) {
        visit(v, [k], config, k);
    }
}

function removeAt(root: Obj, p: string[]): void {
    let node: unknown = root;
    for (const seg of p.slice(0, -1)) {
        node = isObj(node) ? node[seg] : undefined;
    }
    const last = p[p.length - 1];
    if (isObj(node) && last !== undefined) {
        delete node[last];
    }
}
