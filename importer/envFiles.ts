/**
 * `.env` and `env_file` files, read as docker-compose 1.29 reads them (`dotenv.ts`: python-dotenv's
 * syntax and its `${VAR}` / `${VAR:-default}` substitution, resolved from the same file only, as
 * compose does without a shell environment). A `${VAR}` without a default naming a variable the
 * file does not set earlier is an error, not an empty string; a `$` in any other form is kept.
 */
import { carriesCredentials, looksSecret } from "../lib/secretNames";
import { dotenvReferences, parseDotenv, substituteDotenv } from "./dotenv";
import { readText } from "./files";
import { ImportError } from "./report";

export interface EnvEntry {
    name: string;
    value: string;
    /** File (relative to the compose file's folder) and line the value comes from. */
    file: string;
    line?: number;
    /**
     * A secret by name (`looksSecret`), by value (`carriesCredentials`: a password in a URL or
     * connection string), because it expands from a secret, or because it holds a secret value.
     */
    secret: boolean;
    /** The secret variables it expands from, e.g. `POSTGRES_PASSWORD=${DB_PASSWORD}`. */
    expandsFrom: string[];
    /** For a compose `environment:` value: the `.env` lines it was substituted from. */
    via?: string;
    /**
     * For an unquoted number in compose's `environment:` map: its source text, when compose
     * passes something else (`0022` → `18`).
     */
    numberSource?: string;
}

/** A `NAME` line without `=`: compose takes the value from its environment (`.env`, the shell). */
export interface BareName {
    name: string;
    file: string;
    line: number;
}

export interface EnvFile {
    label: string;
    entries: EnvEntry[];
    bare: BareName[];
}

/** Reads one env file; `label` is how messages name it. */
export function readEnvFile(
    file: string,
    label: string,
    what = "env file",
    namedIn?: string,
): EnvFile {
    const text = readText(
        file,
        namedIn === undefined ? label : `${label} (named in ${namedIn})`,
        what,
    );
    return envFileFromText(text, label);
}

/** The env file's entries, its later settings of a name replacing earlier ones (as compose). */
export function envFileFromText(text: string, label: string): EnvFile {
    const known = new Map<string, string | null>();
    const entries = new Map<string, EnvEntry>();
    const bare = new Map<string, BareName>();
    const secret = new Set<string>();
    for (const b of parseDotenv(text)) {
        if (b.value === null) {
            known.set(b.name, null);
            entries.delete(b.name);
            bare.set(b.name, { name: b.name, file: label, line: b.line });
            continue;
        }
        const refs = dotenvReferences(b.value);
        for (const ref of refs) {
            if (ref.fallback === undefined && !known.has(ref.name)) {
                throw new ImportError(
                    `${label}:${b.line}: ${b.name} uses ${ref.expression}, which is not set earlier in ${label} (compose would substitute an empty string)`,
                );
            }
        }
        const value = substituteDotenv(b.value, known);
        const fromSecrets = refs.map((r) => r.name).filter((n) => secret.has(n));
        const isSecret = looksSecret(b.name) || carriesCredentials(value) || fromSecrets.length > 0;
        if (isSecret) {
            secret.add(b.name);
        } else {
            secret.delete(b.name);
        }
        known.set(b.name, value);
        bare.delete(b.name);
        entries.delete(b.name);
        entries.set(b.name, {
            name: b.name,
            value,
            file: label,
            line: b.line,
            secret: isSecret,
            expandsFrom: fromSecrets,
        });
    }
    return { label, entries: [...entries.values()], bare: [...bare.values()] };
}

/** `name → value` of an env file, for compose's own variable substitution. */
export function envLookup(env: EnvFile | undefined): (name: string) => string | undefined {
    const map = new Map((env?.entries ?? []).map((e) => [e.name, e.value]));
    return (name) => map.get(name);
}
