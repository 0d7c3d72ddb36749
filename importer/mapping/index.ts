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
import { MapContext, MapInput, Obj, SecretValue } from "./context";
import { Finding, ImportError } from "../report";
import { readServiceEnvs } from "./composeEnv";
import { mapService } from "./services";
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
    image: ["name", "tag", "base"],
};

/** Runs the steps in order (the findings keep it) and assembles the stack config. */
export function mapCompose(input: MapInput): Mapped {
    const ctx = new MapContext(input);
    ctx.dbKey = findDatabase(ctx);
    checkServiceKeys(ctx);
    topLevel(ctx);
    readServiceEnvs(ctx);
    const db = ctx.dbKey === undefined ? undefined : mapDatabase(ctx, ctx.dbKey);
    const services: Obj = {};
    for (const key of Object.keys(ctx.services)) {
        if (key !== ctx.dbKey) {
            services[key] = mapService(ctx, key);
        }
    }
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
        values.name = "postgres";
        ctx.finding(
            "changed",
            { file: ctx.compose.label },
            `${PROJECT}:database.name`,
            "no DB_NAME or POSTGRES_DB in the compose files; set to postgres, the database Postgres creates by default",
        );
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
        if (key === "services" || key === "version" || key === "name" || key.startsWith("x-")) {
            continue;
        }
        if (key === "volumes") {
            otherVolumes(ctx);
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
