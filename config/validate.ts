/**
 * Validation of the whole stack config: the zod schema for shapes and ranges, then the checks that
 * span keys (links, names, port clashes) and the secret rules. Every problem is reported at once,
 * each naming the config key; a value is shown only when the key is not a secret.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { projectRoot } from "./projectRoot";
import {
    containerDatabaseSchema,
    externalDatabaseSchema,
    PlainConfig,
    PROJECT,
    ResolvedDatabase,
    SECRET_KEYS,
    SecretKey,
    SERVICE_KEY_PATTERN,
    serviceSchema,
    StackConfig,
    stackConfigSchema,
    ENV_NAME_PATTERN,
    V1_KEYS,
} from "./schema";
import { ownValue } from "../lib/ownKey";
import { envVarPrefix, RESERVED_ENV, linkEnvNames } from "./env";
import { looksSecret } from "../lib/secretNames";

export interface SecretPresence {
    /** Which secret keys the stack sets at all. */
    present: Partial<Record<SecretKey, boolean>>;
    /** The shape of `msa:secretEnv`: service → env names. Values are never seen here. */
    secretEnvNames?: unknown;
}

export interface ConfigInput {
    stack: string;
    /** Plain values keyed without the namespace. */
    raw: Record<string, unknown>;
    secrets: SecretPresence;
    /** Keys (without the namespace) that Pulumi holds as secrets. */
    secretKeys?: ReadonlySet<string>;
}

export type ValidationResult = { ok: true; config: StackConfig } | { ok: false; errors: string[] };

/** Keys that name or label things, or switch rules: a secret cannot go there. */
const NEVER_SECRET = ["environment", "production", "namePrefix", "protect", "timezone"];
const SECRET_CAPABLE = ["registry", "database", "services"] as const;

export function validateStackConfig(input: ConfigInput): ValidationResult {
    const { stack, raw, secrets } = input;
    const secretKeys = input.secretKeys ?? new Set<string>();
    const errors: string[] = [];
    const shown = (path: readonly PropertyKey[], value: unknown) =>
        secretKeys.has(String(path[0])) ? "[secret]" : showValue(value);

    const v1 = Object.keys(raw).filter((k) => Object.hasOwn(V1_KEYS, k));
    for (const key of v1) {
        errors.push(`${PROJECT}:${key} is a v1 key; use ${V1_KEYS[key]} instead`);
    }
    errors.push(...protoKeys(raw, []).map(protoKeyError));
    const current = Object.fromEntries(
        Object.entries(raw).filter(([k]) => !Object.hasOwn(V1_KEYS, k) && k !== "__proto__"),
    );
    const parsed = stackConfigSchema.safeParse(current, { reportInput: true });
    if (!parsed.success) {
        errors.push(...parsed.error.issues.flatMap((i) => formatIssue(i, raw, shown)));
    }
    for (const key of NEVER_SECRET.filter((k) => secretKeys.has(k))) {
        errors.push(
            `${PROJECT}:${key} is set as a secret, but it cannot be one (it names, labels or switches things); set it without --secret: pulumi config set ${PROJECT}:${key} <value>`,
        );
    }
    const plain = parsed.success ? parsed.data : wellFormedParts(current);
    const registryUse = registryUses(plain);
    if (registryUse.length > 0 && raw.registry === undefined) {
        errors.push(`${PROJECT}:registry is required: ${registryUse[0]}`);
    }
    for (const [key, meta] of Object.entries(SECRET_KEYS)) {
        const full = `${PROJECT}:${key}`;
        const required =
            key === "registryPassword"
                ? registryUse.length > 0 || raw.registry !== undefined
                : meta.required;
        if (required && !secrets.present[key as SecretKey]) {
            errors.push(`${full} is required (set it with: pulumi config set --secret ${full})`);
        } else if (secrets.present[key as SecretKey] && !secretKeys.has(key)) {
            errors.push(
                `${full} is in plain text in the stack file; remove it and set it with: pulumi config set --secret ${full}`,
            );
        }
    }
    const secretEnvNames = checkSecretEnvShape(secrets.secretEnvNames, errors);
    // Cross-key checks run on every part that is well-formed, so one bad port does not hide
    // a dangling link elsewhere.
    const environment = plain.environment ?? defaultEnvironment(stack);
    const namePrefix = plain.namePrefix ?? `${PROJECT}-${environment}`;
    const config: StackConfig = {
        ...plain,
        stack,
        environment,
        namePrefix,
        protect: plain.protect ?? plain.production,
        database: resolveDatabase(plain, stack, namePrefix),
        secretEnvNames,
        secretKeys: new Set(SECRET_CAPABLE.filter((k) => secretKeys.has(k))),
    };
    errors.push(...crossCheck(config, raw));
    return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}

/** Why the stack needs a registry: every image it pulls or pushes, as a reason. */
function registryUses(plain: PlainConfig): string[] {
    const uses = Object.entries(plain.services ?? {}).flatMap(([key, svc]) =>
        svc.build === undefined
            ? [`${servicePath(key)} pulls its image from it`]
            : svc.build.push
              ? [`${servicePath(key)}.build.push is true`]
              : [],
    );
    const db = plain.database;
    if (db?.mode === "container" && db.image.push) {
        uses.push(`${PROJECT}:database.image.push is true`);
    }
    return uses;
}

function resolveDatabase(plain: PlainConfig, stack: string, prefix: string): ResolvedDatabase {
    const db = plain.database;
    if (db === undefined || db.mode === "external") {
        return db;
    }
    return {
        ...db,
        containerName: db.containerName ?? `${prefix}-db`,
        // The stack name, not the prefix or environment: renaming those must not swap the data.
        volumeName: db.volumeName ?? `${PROJECT}-${stack.toLowerCase()}-db-data`,
        hostPort: db.hostPort ?? db.port,
    };
}

/**
 * The keys (and services) of a config that failed validation which are well-formed on their own,
 * with defaults applied. Only the cross-key checks read it; it is never deployed.
 */
function wellFormedParts(raw: Record<string, unknown>): PlainConfig {
    const parts: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(stackConfigSchema.shape)) {
        const r = (schema as z.ZodType).safeParse(raw[key]);
        if (r.success) {
            parts[key] = r.data;
        }
    }
    const services = isRecord(raw.services) ? raw.services : {};
    parts.services = Object.fromEntries(
        Object.entries(services).flatMap(([key, svc]) => {
            const r = serviceSchema.safeParse(svc);
            return r.success && SERVICE_KEY_PATTERN.test(key) ? [[key, r.data]] : [];
        }),
    );
    parts.production ??= true;
    return parts as PlainConfig;
}

function defaultEnvironment(stack: string): string {
    const cleaned = stack
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/^[^a-z]+/, "");
    return cleaned.length > 0 ? cleaned.slice(0, 63) : "stack";
}

function crossCheck(config: StackConfig, raw: Record<string, unknown>): string[] {
    const errors: string[] = [];
    const db = config.database;
    /** Every service the stack file names, well-formed or not: a link to any of them is known. */
    const named = isRecord(raw.services) ? Object.keys(raw.services) : [];
    const prefixes = new Map<string, string>();
    const aliases = new Map<string, string>();
    if (db?.mode === "container") {
        aliases.set(db.alias.toLowerCase(), `${PROJECT}:database.alias`);
    }
    for (const [key, svc] of Object.entries(config.services)) {
        const at = servicePath(key);
        if (svc.build === undefined && svc.image === undefined) {
            errors.push(`${at}.image is required (or give ${at}.build to build it here)`);
        }
        if (svc.build === undefined && svc.tag === undefined) {
            errors.push(`${at}.tag is required for a pulled image`);
        }
        if (svc.healthcheck?.http !== undefined && svc.ports.length === 0) {
            errors.push(
                `${at}.healthcheck.http needs a port to check: give ${at}.ports (the first container port is checked)`,
            );
        }
        const prefix = envVarPrefix(key);
        const clash = prefixes.get(prefix);
        if (clash !== undefined) {
            errors.push(
                `${at} and ${servicePath(clash)} both give link variables the prefix ${prefix}_; rename one`,
            );
        }
        prefixes.set(prefix, key);
        const other = aliases.get(key.toLowerCase());
        if (other !== undefined) {
            errors.push(
                `${at} has the network alias "${key}", which ${other} already uses (Docker's DNS ignores case); rename the service`,
            );
        }
        aliases.set(key.toLowerCase(), at);
        svc.links.forEach((link, i) => {
            const target = ownValue(config.services, link);
            const reserved = linkEnvNames(link).filter((n) => RESERVED_ENV.includes(n));
            if (link === key) {
                errors.push(
                    `${at}.links[${i}] must name another service, got its own name ${JSON.stringify(link)}`,
                );
            } else if (!named.includes(link)) {
                errors.push(
                    `${at}.links[${i}] names unknown service ${showValue(link)}; known: ${named.map(shortText).join(", ")}`,
                );
            } else if (reserved.length > 0) {
                errors.push(
                    `${at}.links[${i}] names service ${JSON.stringify(link)}, whose link variables would overwrite the stack's own ${reserved.join(", ")}; rename that service`,
                );
            } else if (target !== undefined && target.ports.length === 0) {
                errors.push(
                    `${at}.links[${i}] names service ${JSON.stringify(link)}, which has no ports to connect to`,
                );
            }
        });
        const generated = new Set([...RESERVED_ENV, ...svc.links.flatMap(linkEnvNames)]);
        for (const name of Object.keys(svc.env)) {
            if (generated.has(name)) {
                errors.push(
                    `${at}.env.${name} is set by the stack itself (database settings, NODENAME and link variables); remove it`,
                );
            } else if (looksSecret(name)) {
                errors.push(
                    `${at}.env.${name} looks like a secret and must not be plain text; set it with: pulumi config set --secret --path '${PROJECT}:secretEnv.${key}.${name}'`,
                );
            }
        }
        for (const name of ownValue(config.secretEnvNames, key) ?? []) {
            if (generated.has(name) || Object.hasOwn(svc.env, name)) {
                errors.push(
                    `${PROJECT}:secretEnv.${key}.${name} is also set by the stack or by ${at}.env; keep one`,
                );
            }
        }
    }
    for (const key of Object.keys(config.secretEnvNames)) {
        if (!named.includes(key)) {
            errors.push(`${PROJECT}:secretEnv.${key} names unknown service ${JSON.stringify(key)}`);
        }
    }
    errors.push(
        ...runtimeChecks(config, raw),
        ...buildContextChecks(config),
        ...hostPortClashes(config),
        ...containerNameClashes(config),
    );
    return errors;
}

/** Build contexts are folders of the project holding their Dockerfile: checked here, by key. */
function buildContextChecks(config: StackConfig): string[] {
    const root = projectRoot();
    const missing = (context: string, dockerfile = "Dockerfile") =>
        !fs.existsSync(path.join(root, context, dockerfile));
    const errors: string[] = [];
    const db = config.database;
    if (db?.mode === "container" && missing(db.image.context)) {
        errors.push(
            `${PROJECT}:database.image.context must be a folder of the project with a Dockerfile, got ${showValue(db.image.context)}`,
        );
    }
    for (const [key, svc] of Object.entries(config.services)) {
        if (svc.build !== undefined && missing(svc.build.context, svc.build.dockerfile)) {
            errors.push(
                `${servicePath(key)}.build must name a folder of the project holding ${svc.build.dockerfile ?? "Dockerfile"}, got context ${showValue(svc.build.context)}`,
            );
        }
    }
    return errors;
}

/** Keys that mean nothing in the chosen runtime, and what a swarm needs that one host does not. */
function runtimeChecks(config: StackConfig, raw: Record<string, unknown>): string[] {
    const errors: string[] = [];
    const at = `${PROJECT}:runtime`;
    if (config.runtime === "container") {
        if (config.swarm !== undefined) {
            errors.push(`${PROJECT}:swarm means nothing when ${at} is container; remove it`);
        }
        for (const [key, svc] of Object.entries(config.services)) {
            if (svc.replicas !== undefined) {
                errors.push(
                    `${servicePath(key)}.replicas means nothing when ${at} is container (one container per service); remove it or set ${at}: swarm`,
                );
            }
        }
        return errors;
    }
    const rawDb = isRecord(raw.database) ? raw.database : {};
    for (const key of ["hostPort", "bindAddress", "publicBindOverride"].filter((k) => k in rawDb)) {
        errors.push(
            `${PROJECT}:database.${key} means nothing when ${at} is swarm (the database is reached in the overlay network only); remove it`,
        );
    }
    // Every node pulls the images: nothing may stay on the one host that built it.
    const db = config.database;
    if (db?.mode === "container" && !db.image.push) {
        errors.push(
            `${PROJECT}:database.image.push must be true when ${at} is swarm: every node pulls the image`,
        );
    }
    for (const [key, svc] of Object.entries(config.services)) {
        if (svc.build !== undefined && !svc.build.push) {
            errors.push(
                `${servicePath(key)}.build.push must be true when ${at} is swarm: every node pulls the image`,
            );
        }
        if (svc.containerName !== undefined) {
            errors.push(
                `${servicePath(key)}.containerName means nothing when ${at} is swarm (the service is named by its key); remove it`,
            );
        }
        svc.ports.forEach((p, i) => {
            // Swarm publishes on every address of a node: a narrower bind would be widened silently.
            if (p.host !== undefined && p.bindAddress !== "0.0.0.0") {
                errors.push(
                    `${servicePath(key)}.ports[${i}].bindAddress means nothing when ${at} is swarm (a swarm publishes a port on every address of its nodes, so ${p.bindAddress} would not limit who connects); remove it`,
                );
            }
        });
        const hostPorts = svc.ports.some((p) => p.host !== undefined && p.protocol === "tcp");
        if (hostPorts && config.swarm?.publish === "host" && config.proxy === undefined) {
            errors.push(
                `${servicePath(key)}.ports publishes host ports, which need ${PROJECT}:proxy when ${PROJECT}:swarm.publish is host`,
            );
        }
    }
    return errors;
}

interface Published {
    key: string;
    address: string;
    port: number;
    protocol: string;
}

function hostPortClashes(config: StackConfig): string[] {
    const published: Published[] = [];
    if (config.database?.mode === "container") {
        published.push({
            key: `${PROJECT}:database.hostPort`,
            address: config.database.bindAddress,
            port: config.database.hostPort,
            protocol: "tcp",
        });
    }
    for (const [key, svc] of Object.entries(config.services)) {
        svc.ports.forEach((p, i) => {
            if (p.host !== undefined) {
                published.push({
                    key: `${servicePath(key)}.ports[${i}].host`,
                    address: p.bindAddress,
                    port: p.host,
                    protocol: p.protocol,
                });
            }
        });
    }
    const errors: string[] = [];
    published.forEach((a, i) => {
        const first = published
            .slice(0, i)
            .find(
                (b) =>
                    b.port === a.port &&
                    b.protocol === a.protocol &&
                    (b.address === a.address || b.address === "0.0.0.0" || a.address === "0.0.0.0"),
            );
        if (first !== undefined) {
            errors.push(
                `${a.key} must be a free host port, got ${a.port}, which ${first.key} already publishes`,
            );
        }
    });
    return errors;
}

/**
 * Container names compared as Docker's DNS compares them, ignoring case: the DB's (default
 * included) and the services' fixed ones (a service without one is named by the engine).
 */
function containerNameClashes(config: StackConfig): string[] {
    const seen = new Map<string, string>();
    const errors: string[] = [];
    const claim = (name: string, key: string) => {
        const other = seen.get(name.toLowerCase());
        if (other !== undefined) {
            errors.push(
                `${key} must be unique, got ${JSON.stringify(name)}, which ${other} also uses`,
            );
        }
        seen.set(name.toLowerCase(), key);
    };
    if (config.database?.mode === "container") {
        claim(config.database.containerName, `${PROJECT}:database.containerName`);
    }
    for (const [key, svc] of Object.entries(config.services)) {
        if (svc.containerName !== undefined) {
            claim(svc.containerName, `${servicePath(key)}.containerName`);
        }
    }
    return errors;
}

function checkSecretEnvShape(value: unknown, errors: string[]): Record<string, string[]> {
    if (value === undefined) {
        return {};
    }
    const at = `${PROJECT}:secretEnv`;
    if (!isRecord(value)) {
        errors.push(`${at} must be a map of service name to { NAME: value }`);
        return {};
    }
    const names: Record<string, string[]> = {};
    for (const [svc, vars] of Object.entries(value)) {
        if (svc === "__proto__") {
            errors.push(protoKeyError(["secretEnv", svc]));
            continue;
        }
        if (!Array.isArray(vars) || vars.some((v) => typeof v !== "string")) {
            errors.push(`${at}${formatPath([svc])} must be a map of NAME: value`);
            continue;
        }
        names[svc] = (vars as string[]).filter((name) => {
            if (name === "__proto__") {
                errors.push(protoKeyError(["secretEnv", svc, name]));
                return false;
            }
            const ok = ENV_NAME_PATTERN.test(name);
            if (!ok) {
                errors.push(
                    `${at}${formatPath([svc])} has a bad name ${showValue(name)}: must be a valid environment variable name`,
                );
            }
            return ok;
        });
    }
    return names;
}

/** JSON holds `__proto__` keys, but zod and plain objects drop them silently: each is refused. */
function protoKeyError(at: readonly PropertyKey[]): string {
    return `${keyPath(at)} is a key named __proto__, which a map cannot hold; rename it`;
}

/** Paths to own `__proto__` keys. */
function protoKeys(value: unknown, at: PropertyKey[]): PropertyKey[][] {
    if (Array.isArray(value)) {
        return value.flatMap((v, i) => protoKeys(v, [...at, i]));
    }
    if (!isRecord(value)) {
        return [];
    }
    return Object.keys(value).flatMap((k) =>
        k === "__proto__" ? [[...at, k]] : protoKeys(value[k], [...at, k]),
    );
}

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function servicePath(key: string): string {
    return `${PROJECT}:services${formatPath([key])}`;
}

const MAX_SHOWN = 60;
const WORD = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * `.services.orders.ports[0].host`; keys that are not plain words are quoted, and a huge key is
 * cut short like a bad value, so a message stays one readable line.
 */
export function formatPath(path: readonly PropertyKey[]): string {
    return path
        .map((seg) =>
            typeof seg === "number"
                ? `[${seg}]`
                : WORD.test(String(seg)) && String(seg).length <= MAX_SHOWN
                  ? `.${String(seg)}`
                  : `[${showValue(String(seg))}]`,
        )
        .join("");
}

/** `msa:services.orders.ports[0].host` */
export function keyPath(path: readonly PropertyKey[]): string {
    const [head, ...rest] = path;
    const name = String(head);
    const shown = WORD.test(name) && name.length <= MAX_SHOWN ? name : showValue(name);
    return `${PROJECT}:${shown}${formatPath(rest)}`;
}

/** A name as a message lists it: cut short when huge. */
function shortText(text: string): string {
    return text.length > MAX_SHOWN
        ? `${text.slice(0, MAX_SHOWN)}…(${text.length} characters)`
        : text;
}

/** A bad value as it appears in a message: JSON, cut short so a huge value cannot flood a log. */
export function showValue(value: unknown): string {
    let text: string;
    try {
        text = JSON.stringify(value) ?? String(value);
    } catch {
        text = String(value);
    }
    return shortText(text);
}

const DB_KEYS = {
    container: Object.keys(containerDatabaseSchema.shape),
    external: Object.keys(externalDatabaseSchema.shape),
};

function formatIssue(
    issue: z.core.$ZodIssue,
    raw: Record<string, unknown>,
    shown: (path: readonly PropertyKey[], value: unknown) => string,
): string[] {
    if (issue.code === "unrecognized_keys") {
        return issue.keys.map((k) => unknownKey([...issue.path, k], raw));
    }
    const at = keyPath(issue.path);
    const input = (issue as { input?: unknown }).input;
    if (issue.code === "invalid_type" && input === undefined) {
        return [`${at} is required`];
    }
    if (issue.code === "invalid_key") {
        const bad = issue.path[issue.path.length - 1];
        return [
            `${keyPath(issue.path.slice(0, -1))} has a bad key ${showValue(bad)}: ${issue.issues[0]?.message ?? issue.message}`,
        ];
    }
    if (issue.code === "invalid_union" && issue.path.join(".") === "database.mode") {
        return [`${at} must be container or external, got ${shown(issue.path, modeOf(raw))}`];
    }
    if (issue.code === "custom" && typeof input === "object" && input !== null) {
        // A rule over a whole object: the value would only repeat the key's contents.
        return [`${at} ${issue.message}`];
    }
    return [`${at} ${issue.message}, got ${shown(issue.path, input)}`];
}

function modeOf(raw: Record<string, unknown>): unknown {
    return isRecord(raw.database) ? raw.database.mode : raw.database;
}

/** A key the schema does not know; in `msa:database`, one that belongs to the other mode. */
function unknownKey(path: PropertyKey[], raw: Record<string, unknown>): string {
    const at = keyPath(path);
    const key = String(path[path.length - 1]);
    if (path.length === 2 && path[0] === "database") {
        const mode = String(modeOf(raw) ?? "container");
        const other = mode === "external" ? "container" : "external";
        if (DB_KEYS[other].includes(key)) {
            return `${at} means nothing when ${PROJECT}:database.mode is ${mode} (it is ${other === "external" ? "an" : "a"} ${other}-mode key); remove it`;
        }
    }
    return `${at} is not a known key`;
}
