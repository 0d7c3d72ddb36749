/**
 * From the flat `namespace:key → string` map that Pulumi hands a program (stack file values, with
 * `Pulumi.yaml` defaults applied by the CLI) to the input of `validateStackConfig`. Which keys are
 * secrets is Pulumi's word (its secret-key list), never a guess from the values or the YAML.
 */
import { PROJECT, SECRET_KEYS, SecretKey, stackConfigSchema } from "./schema";
import type { ConfigInput } from "./validate";

/** Scalar keys whose string form is a boolean; every other key is a string or JSON. */
const BOOLEAN_KEYS = new Set(["production", "protect"]);
const STRING_KEYS = new Set(["environment", "namePrefix", "timezone"]);

/**
 * Splits the program's config into plain values (a value that does not parse is kept as its
 * string, so validation names it) and the presence of the secret keys.
 */
export function readConfigMap(
    stack: string,
    all: Record<string, string>,
    isSecret: (fullKey: string) => boolean,
): ConfigInput {
    const raw: Record<string, unknown> = {};
    const present: Partial<Record<SecretKey, boolean>> = {};
    const secretKeys = new Set<string>();
    let secretEnvNames: unknown;
    const prefix = `${PROJECT}:`;
    for (const [fullKey, text] of Object.entries(all)) {
        if (!fullKey.startsWith(prefix)) {
            continue;
        }
        const key = fullKey.slice(prefix.length);
        if (isSecret(fullKey)) {
            secretKeys.add(key);
        }
        if (Object.hasOwn(SECRET_KEYS, key)) {
            present[key as SecretKey] = text !== "";
            if (key === "secretEnv") {
                secretEnvNames = namesOnly(text);
            }
            continue;
        }
        // Defined, not assigned: a key named `__proto__` must stay a key validation can name.
        Object.defineProperty(raw, key, {
            value: parseValue(key, text),
            enumerable: true,
            writable: true,
            configurable: true,
        });
    }
    return { stack, raw, secrets: { present, secretEnvNames }, secretKeys };
}

function parseValue(key: string, text: string): unknown {
    if (STRING_KEYS.has(key)) {
        return text;
    }
    if (BOOLEAN_KEYS.has(key)) {
        return text === "true" ? true : text === "false" ? false : text;
    }
    if (!Object.hasOwn(stackConfigSchema.shape, key)) {
        // Unknown and v1 keys: kept as given, so the message can name them.
        return text;
    }
    try {
        return JSON.parse(text) as unknown;
    } catch {
        return text;
    }
}

/** `{svc: {NAME: value}}` → `{svc: ["NAME"]}`: validation sees names, never the values. */
function namesOnly(text: string): unknown {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        return "(not a map)";
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return "(not a map)";
    }
    return Object.fromEntries(
        Object.entries(value).map(([svc, vars]) => [
            svc,
            typeof vars === "object" && vars !== null && !Array.isArray(vars)
                ? Object.keys(vars)
                : "(not a map)",
        ]),
    );
}
