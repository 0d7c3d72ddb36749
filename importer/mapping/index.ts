/**
 * Compose (interpolated, with its env files) → stack config (`PlainConfigInput` keys, without the
 * `msa:` prefix), the secrets to set with `pulumi config set --secret`, and the findings of the
 * report. Pure: files are read by the caller through `readEnv`.
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
    /** Keys written only when the stack file does not set them (placeholders). */
    weak: string[];
    secrets: SecretValue[];
    findings: Finding[];
    mode: "container" | "external";
    dbService?: string;
    services: string[];
}

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
    const config: Obj = {
        ...registry,
        dbMode: mode,
        ...ctx.pick("dbHost"),
        ...(db ?? {}),
        ...ctx.pick("dbPort"),
        ...ctx.pick("dbHostPort"),
        ...(mode === "container" ? { dbBindAddress: "127.0.0.1" } : {}),
        ...ctx.pick(
            "dbName",
            "dbSchema",
            "dbUser",
            "timezone",
            "dbKind",
            "dbDialect",
            "dbDriverClassName",
            "dbType",
            "dbImageName",
            "dbImageTag",
            "dbBaseImage",
            "dbMemoryMb",
            "dbHealthcheck",
        ),
        services,
    };
    if (config.dbName === undefined) {
        config.dbName = "postgres";
        ctx.finding(
            "changed",
            { file: ctx.compose.label },
            "msa:dbName",
            "no DB_NAME or POSTGRES_DB in the compose files; set to postgres, the database Postgres creates by default",
        );
    }
    if (ctx.dbKey !== undefined) {
        healthcheckTest(ctx, ctx.dbKey, config);
    }
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
