/**
 * Validation of the whole stack config: the zod schema for shapes and ranges, then the checks that
 * span keys (links, port clashes, names). Every problem is reported at once, each naming the
 * config key and the bad value; nothing here touches Pulumi resources.
 */
import { z } from "zod";
import {
    PlainConfig,
    PROJECT,
    SECRET_KEYS,
    SecretKey,
    SERVICE_KEY_PATTERN,
    serviceSchema,
    stackConfigSchema,
} from "./schema";
import { envVarPrefix, RESERVED_ENV, looksSecret, linkEnvNames } from "./env";

/** A validated stack config with every derived default resolved. */
export interface StackConfig extends PlainConfig {
    stack: string;
    environment: string;
    namePrefix: string;
    /** Host the services use for the database: the DB network alias, or the external server. */
    dbHost: string;
    /** Names (never values) of the secret env vars per service, from `msa:secretEnv`. */
    secretEnvNames: Record<string, string[]>;
}

export interface SecretPresence {
    /** Which secret keys the stack sets at all. */
    present: Partial<Record<SecretKey, boolean>>;
    /** The shape of `msa:secretEnv`: service → env names. Values are never seen here. */
    secretEnvNames?: unknown;
}

export type ValidationResult = { ok: true; config: StackConfig } | { ok: false; errors: string[] };

export function validateStackConfig(
    stack: string,
    raw: Record<string, unknown>,
    secrets: SecretPresence,
): ValidationResult {
    const errors: string[] = [];
    const parsed = stackConfigSchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
        errors.push(...parsed.error.issues.flatMap(formatIssue));
    }
    for (const [key, meta] of Object.entries(SECRET_KEYS)) {
        if (meta.required && !secrets.present[key as SecretKey]) {
            errors.push(
                `${PROJECT}:${key} is required (set it with: pulumi config set --secret ${PROJECT}:${key})`,
            );
        }
    }
    const secretEnvNames = checkSecretEnvShape(secrets.secretEnvNames, errors);
    // Cross-key checks run on every part that is well-formed, so one bad port does not hide
    // a dangling link elsewhere.
    const plain = parsed.success ? parsed.data : wellFormedParts(raw);
    const config: StackConfig = {
        ...plain,
        stack,
        environment: plain.environment ?? defaultEnvironment(stack),
        namePrefix: plain.namePrefix ?? `${PROJECT}-${defaultEnvironment(stack)}`,
        dbHost: plain.dbHost ?? "database",
        secretEnvNames,
    };
    errors.push(...crossCheck(plain, config, raw));
    return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
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
    return parts as PlainConfig;
}

function defaultEnvironment(stack: string): string {
    const cleaned = stack
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/^[^a-z]+/, "");
    return cleaned.length > 0 ? cleaned.slice(0, 63) : "stack";
}

function crossCheck(
    plain: PlainConfig,
    config: StackConfig,
    raw: Record<string, unknown>,
): string[] {
    const errors: string[] = [];
    const services = Object.entries(plain.services);
    /** Every service the stack file names, well-formed or not: a link to any of them is known. */
    const named = isRecord(raw.services) ? Object.keys(raw.services) : [];
    if (plain.dbMode === "external" && raw.dbHost === undefined) {
        errors.push(`${PROJECT}:dbHost is required when ${PROJECT}:dbMode is external`);
    }
    const prefixes = new Map<string, string>();
    for (const [key, svc] of services) {
        const at = servicePath(key);
        const prefix = envVarPrefix(key);
        const clash = prefixes.get(prefix);
        if (clash !== undefined) {
            errors.push(
                `${at} and ${servicePath(clash)} both give link variables the prefix ${prefix}_; rename one`,
            );
        }
        prefixes.set(prefix, key);
        if (plain.dbMode === "container" && key === config.dbHost) {
            errors.push(
                `${at} uses the database's network alias "${key}" (${PROJECT}:dbHost); rename the service or set ${PROJECT}:dbHost`,
            );
        }
        svc.links.forEach((link, i) => {
            const target = plain.services[link];
            if (link === key) {
                errors.push(
                    `${at}.links[${i}] must name another service, got its own name ${JSON.stringify(link)}`,
                );
            } else if (!named.includes(link)) {
                errors.push(
                    `${at}.links[${i}] names unknown service ${showValue(link)}; known: ${named.map(shortText).join(", ")}`,
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
        for (const name of config.secretEnvNames[key] ?? []) {
            if (generated.has(name) || name in svc.env) {
                errors.push(
                    `${PROJECT}:secretEnv.${key}.${name} is also set by the stack or by ${at}.env; keep one`,
                );
            }
        }
    }
    for (const key of Object.keys(config.secretEnvNames)) {
        if (!(key in plain.services)) {
            errors.push(`${PROJECT}:secretEnv.${key} names unknown service ${JSON.stringify(key)}`);
        }
    }
    errors.push(...hostPortClashes(plain), ...containerNameClashes(plain));
    return errors;
}

interface Published {
    key: string;
    address: string;
    port: number;
    protocol: string;
}

function hostPortClashes(plain: PlainConfig): string[] {
    const published: Published[] = [];
    if (plain.dbMode === "container") {
        published.push({
            key: `${PROJECT}:dbHostPort`,
            address: plain.dbBindAddress,
            port: plain.dbHostPort ?? plain.dbPort,
            protocol: "tcp",
        });
    }
    for (const [key, svc] of Object.entries(plain.services)) {
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

function containerNameClashes(plain: PlainConfig): string[] {
    const seen = new Map<string, string>();
    const errors: string[] = [];
    const claim = (name: string, key: string) => {
        const other = seen.get(name);
        if (other !== undefined) {
            errors.push(
                `${key} must be unique, got ${JSON.stringify(name)}, which ${other} also uses`,
            );
        }
        seen.set(name, key);
    };
    if (plain.dbMode === "container" && plain.dbContainerName !== undefined) {
        claim(plain.dbContainerName, `${PROJECT}:dbContainerName`);
    }
    for (const [key, svc] of Object.entries(plain.services)) {
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
        if (!Array.isArray(vars) || vars.some((v) => typeof v !== "string")) {
            errors.push(`${at}.${svc} must be a map of NAME: value`);
            continue;
        }
        const valid = (vars as string[]).filter((name) => {
            const ok = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
            if (!ok) {
                errors.push(`${at}.${svc}.${name} must be a valid environment variable name`);
            }
            return ok;
        });
        names[svc] = valid;
    }
    return names;
}

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function servicePath(key: string): string {
    return `${PROJECT}:services${formatPath([key])}`;
}

/**
 * `msa:services.orders.ports[0].host`; keys that are not plain words are quoted, and a huge key is
 * cut short like a bad value, so a message stays one readable line.
 */
export function formatPath(path: readonly PropertyKey[]): string {
    return path
        .map((seg) =>
            typeof seg === "number"
                ? `[${seg}]`
                : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(seg)) && String(seg).length <= MAX_SHOWN
                  ? `.${String(seg)}`
                  : `[${showValue(String(seg))}]`,
        )
        .join("");
}

function keyPath(path: readonly PropertyKey[]): string {
    const [head, ...rest] = path;
    const name = String(head);
    const shown =
        /^[A-Za-z_][A-Za-z0-9_-]*$/.test(name) && name.length <= MAX_SHOWN ? name : showValue(name);
    return `${PROJECT}:${shown}${formatPath(rest)}`;
}

const MAX_SHOWN = 60;

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
    return text.length > MAX_SHOWN
        ? `${text.slice(0, MAX_SHOWN)}…(${text.length} characters)`
        : text;
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
    if (issue.code === "unrecognized_keys") {
        return issue.keys.map((k) => `${keyPath([...issue.path, k])} is not a known key`);
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
    return [`${at} ${issue.message}, got ${showValue(input)}`];
}
