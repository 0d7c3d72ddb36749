/**
 * `.env` and `env_file` files, read as compose 1.29 reads them: `dotenv` for the syntax (quotes,
 * inline `# comments`), `dotenv-expand` for `${VAR}` inside the file, resolved from the same file
 * only (compose does not look elsewhere). A reference to a variable the file does not set earlier
 * is an error, not an empty string.
 */
import { parse } from "dotenv";
import { expand } from "dotenv-expand";
import { carriesCredentials, looksSecret } from "../lib/secretNames";
import { references } from "./interpolate";
import { ImportError } from "./report";
import { readText } from "./files";

export interface EnvEntry {
    name: string;
    value: string;
    /** File (relative to the compose file's folder) and line the value comes from. */
    file: string;
    line?: number;
    /**
     * A secret by name (`looksSecret`), by value (`carriesCredentials`: a password in a URL or
     * connection string), or because it expands from a secret.
     */
    secret: boolean;
    /** The secret variables it expands from, e.g. `POSTGRES_PASSWORD=${DB_PASSWORD}`. */
    expandsFrom: string[];
    /** For a compose `environment:` value: the `.env` lines it was substituted from. */
    via?: string;
}

export interface EnvFile {
    label: string;
    entries: EnvEntry[];
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
    const raw = parse(text);
    const lines = text.split(/\r?\n/);
    const known = new Set<string>();
    for (const [name, value] of Object.entries(raw)) {
        for (const ref of unresolved(value)) {
            if (!known.has(ref.name)) {
                throw new ImportError(
                    `${label}:${lineOf(lines, name) ?? "?"}: ${name} uses ${ref.expression}, which is not set earlier in ${label} (compose would substitute an empty string)`,
                );
            }
        }
        known.add(name);
    }
    const processEnv: Record<string, string> = {};
    const expanded = expand({ parsed: { ...raw }, processEnv }).parsed ?? {};
    const secret = new Set<string>();
    const expandsFrom = new Map<string, string[]>();
    for (const [name, value] of Object.entries(raw)) {
        const fromSecrets = references(value).filter((ref) => secret.has(ref));
        if (
            looksSecret(name) ||
            carriesCredentials(expanded[name] ?? value) ||
            fromSecrets.length > 0
        ) {
            secret.add(name);
        }
        expandsFrom.set(name, fromSecrets);
    }
    return {
        label,
        entries: Object.keys(raw).map((name) => ({
            name,
            value: expanded[name] ?? "",
            file: label,
            line: lineOf(lines, name),
            secret: secret.has(name),
            expandsFrom: expandsFrom.get(name) ?? [],
        })),
    };
}

/** References without a default (`${X}`, `$X`): those must be set. */
function unresolved(value: string): { name: string; expression: string }[] {
    const found: { name: string; expression: string }[] = [];
    for (const m of value.matchAll(
        /(?<!\\)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|(?<![\\$])\$([A-Za-z_][A-Za-z0-9_]*)/g,
    )) {
        const name = m[1] ?? m[3] ?? "";
        const op = m[2] ?? "";
        if (op === "") {
            found.push({ name, expression: m[0] });
        }
    }
    return found;
}

/** The last line that sets `name` (dotenv keeps the last one). */
function lineOf(lines: string[], name: string): number | undefined {
    const re = new RegExp(`^\\s*(?:export\\s+)?${name}\\s*[=:]`);
    for (let i = lines.length - 1; i >= 0; i--) {
        if (re.test(lines[i] ?? "")) {
            return i + 1;
        }
    }
    return undefined;
}

/** `name → value` of an env file, for compose's own variable substitution. */
export function envLookup(env: EnvFile | undefined): (name: string) => string | undefined {
    const map = new Map((env?.entries ?? []).map((e) => [e.name, e.value]));
    return (name) => map.get(name);
}
