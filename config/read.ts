/**
 * From the flat `namespace:key → string` map that Pulumi hands a program (stack file values, with
 * `Pulumi.yaml` defaults applied by the CLI) to the raw values the schema validates.
 */
import { z } from "zod";
import { PROJECT, SECRET_KEYS, SecretKey, stackConfigSchema } from "./schema";
import type { SecretPresence } from "./validate";

type Kind = "string" | "number" | "boolean" | "json";

/** How each plain key's string form is turned back into a value, from the schema itself. */
const KEY_KINDS: Record<string, Kind> = Object.fromEntries(
    Object.entries(stackConfigSchema.shape).map(([key, schema]) => [
        key,
        kindOf(schema as z.ZodType),
    ]),
);

function kindOf(schema: z.ZodType): Kind {
    let def = schema._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    while (def.innerType !== undefined || def.in !== undefined) {
        def = ((def.innerType ?? def.in) as z.ZodType)._zod.def as typeof def;
    }
    switch (def.type) {
        case "string":
        case "enum":
            return "string";
        case "number":
            return "number";
        case "boolean":
            return "boolean";
        default:
            return "json";
    }
}

export interface RawConfig {
    /** Plain values keyed without the namespace, ready for `validateStackConfig`. */
    raw: Record<string, unknown>;
    secrets: SecretPresence;
}

/**
 * Splits the program's config into plain values (parsed by kind; a value that does not parse is
 * kept as its string so validation names it) and the presence of the secret keys.
 */
export function readConfigMap(all: Record<string, string>): RawConfig {
    const raw: Record<string, unknown> = {};
    const present: Partial<Record<SecretKey, boolean>> = {};
    let secretEnvNames: unknown;
    const prefix = `${PROJECT}:`;
    for (const [fullKey, text] of Object.entries(all)) {
        if (!fullKey.startsWith(prefix)) {
            continue;
        }
        const key = fullKey.slice(prefix.length);
        if (key in SECRET_KEYS) {
            present[key as SecretKey] = text !== "";
            if (key === "secretEnv") {
                secretEnvNames = secretEnvShape(text);
            }
            continue;
        }
        raw[key] = parseValue(text, KEY_KINDS[key] ?? "json");
    }
    return { raw, secrets: { present, secretEnvNames } };
}

function parseValue(text: string, kind: Kind): unknown {
    switch (kind) {
        case "string":
            return text;
        case "number":
            return /^-?[0-9]+(\.[0-9]+)?$/.test(text.trim()) ? Number(text) : text;
        case "boolean":
            return text === "true" ? true : text === "false" ? false : text;
        case "json":
            try {
                return JSON.parse(text) as unknown;
            } catch {
                return text;
            }
    }
}

/** `{svc: {NAME: value}}` → `{svc: ["NAME"]}`: validation sees names, never the values. */
function secretEnvShape(text: string): unknown {
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
