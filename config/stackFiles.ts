/**
 * Reads `Pulumi.yaml` and `Pulumi.<stack>.yaml` the way the Pulumi CLI hands them to the program:
 * a flat `namespace:key → string` map, project defaults first, and the list of keys that hold a
 * secret (a key is secret as a whole when any value in it is `secure:`, as the CLI does). Used
 * where no CLI runs (the offline plan, tests, the e2e driver, the bench). `secure:` values cannot
 * be decrypted without the CLI, so they become placeholders, as does a required secret the stack
 * does not set (with a warning).
 *
 * Every bad file is one `StackFileError` naming the file and what is wrong; a YAML error points at
 * line and column only, never quoting the file (the next line may hold a password).
 */
import * as fs from "fs";
import * as path from "path";
import { isMap, isScalar, isSeq, parseDocument } from "yaml";
import { projectRoot } from "./projectRoot";
import { LIMITS, PROJECT, SECRET_KEYS } from "./schema";

export { projectRoot };

export interface StackFileConfig {
    stack: string;
    /** What the program's `pulumi.Config` would see. */
    values: Record<string, string>;
    /** Keys whose values are (placeholder) secrets. */
    secretKeys: string[];
    /** Required secrets the stack file does not set: placeholders were used. */
    missingSecrets: string[];
}

export class StackFileError extends Error {}

/** The text a placeholder secret carries; it marks the value as not the real one. */
export const placeholderSecret = (key: string): string =>
    `placeholder-${key.replace(/[^A-Za-z0-9]+/g, "-")}`;

interface ProjectFile {
    name?: string;
    config: Record<string, Record<string, unknown>>;
}

export function readProjectFile(root = projectRoot()): ProjectFile {
    const file = path.join(root, "Pulumi.yaml");
    const doc = readYaml(file);
    if (!isRecord(doc)) {
        throw new StackFileError(`${shown(file)} must be a YAML map (name:, runtime:, config:)`);
    }
    const config = doc.config ?? {};
    if (!isRecord(config)) {
        throw new StackFileError(`${shown(file)}: config must be a map of key declarations`);
    }
    for (const [key, decl] of Object.entries(config)) {
        if (!isRecord(decl)) {
            throw new StackFileError(
                `${shown(file)}: config.${key} must be a declaration like {type: string, default: …}`,
            );
        }
    }
    return { name: typeof doc.name === "string" ? doc.name : undefined, config } as ProjectFile;
}

/** Project-level defaults from `Pulumi.yaml`'s `config:` block, as `msa:key → value`. */
export function projectDefaults(root = projectRoot()): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries(readProjectFile(root).config)) {
        if ("default" in decl) {
            out[key.includes(":") ? key : `${PROJECT}:${key}`] = decl.default;
        }
    }
    return out;
}

export function readStackFile(
    stack: string,
    root = projectRoot(),
    secrets: Record<string, unknown> = {},
): StackFileConfig {
    if (!/^[A-Za-z0-9_.-]+$/.test(stack)) {
        throw new StackFileError(
            `stack name must be letters, digits, _, . and -, got ${JSON.stringify(stack.slice(0, 60))}`,
        );
    }
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file) && !isLink(file)) {
        throw new StackFileError(`no stack file ${shown(file)} for stack ${JSON.stringify(stack)}`);
    }
    const doc = readYaml(file) ?? {};
    if (!isRecord(doc)) {
        throw new StackFileError(`${shown(file)} must be a YAML map with a config: map`);
    }
    const config = doc.config ?? {};
    if (!isRecord(config)) {
        throw new StackFileError(`${shown(file)}: config must be a map of key: value`);
    }
    const flat = flattenStackConfig(stack, { ...projectDefaults(root), ...config }, secrets);
    const size = Buffer.byteLength(JSON.stringify(flat.values));
    if (size >= LIMITS.configBytes) {
        throw new StackFileError(
            `the config of stack ${stack} is ${size} bytes as Pulumi passes it (PULUMI_CONFIG); Linux refuses one of ${LIMITS.configBytes} bytes or more, so pulumi could not start the program (pulumi/pulumi#8680): split the stack`,
        );
    }
    return flat;
}

/**
 * Flattens decoded stack config (values may hold `{secure: …}`) into what the program sees.
 * `secrets` are values the CLI would have decrypted: secret keys with their real values.
 */
export function flattenStackConfig(
    stack: string,
    config: Record<string, unknown>,
    secrets: Record<string, unknown> = {},
): StackFileConfig {
    const values: Record<string, string> = {};
    const secretKeys = new Set<string>();
    for (const [key, value] of Object.entries(config)) {
        const { text, secret } = toConfigString(key, value);
        values[key] = text;
        if (secret) {
            secretKeys.add(key);
        }
    }
    for (const [key, value] of Object.entries(secrets)) {
        values[key] = typeof value === "string" ? value : JSON.stringify(value);
        secretKeys.add(key);
    }
    const missingSecrets: string[] = [];
    for (const [key, meta] of Object.entries(SECRET_KEYS)) {
        const full = `${PROJECT}:${key}`;
        if (!(full in values) && meta.required) {
            values[full] = placeholderSecret(full);
            secretKeys.add(full);
            missingSecrets.push(full);
        }
    }
    return { stack, values, secretKeys: [...secretKeys], missingSecrets };
}

/** `secure:` anywhere inside makes the whole key secret, as the Pulumi CLI does. */
function toConfigString(key: string, value: unknown): { text: string; secret: boolean } {
    if (isSecure(value)) {
        return { text: placeholderSecret(key), secret: true };
    }
    if (typeof value === "string") {
        return { text: value, secret: false };
    }
    let secret = false;
    const replaced = JSON.stringify(value, (k: string, v: unknown) => {
        if (isSecure(v)) {
            secret = true;
            return placeholderSecret(`${key}.${k}`);
        }
        return v;
    });
    return { text: replaced ?? String(value), secret };
}

function isSecure(v: unknown): v is { secure: string } {
    return isRecord(v) && Object.keys(v).length === 1 && "secure" in v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isLink(file: string): boolean {
    try {
        return fs.lstatSync(file).isSymbolicLink();
    } catch {
        return false;
    }
}

const shown = (file: string): string => path.relative(process.cwd(), file) || file;

function readYaml(file: string): unknown {
    let text: string;
    try {
        const size = fs.statSync(file).size;
        if (size > LIMITS.stackFileBytes) {
            throw new StackFileError(
                `${shown(file)} is ${size} bytes; the limit is ${LIMITS.stackFileBytes} bytes (1 MiB)`,
            );
        }
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        if (e instanceof StackFileError) {
            throw e;
        }
        throw new StackFileError(`cannot read ${shown(file)}: ${reason(e)}`);
    }
    // `prettyErrors` adds line and column; the message itself (which quotes the file) is never shown.
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
    const error = doc.errors[0];
    if (error !== undefined) {
        const at = error.linePos?.[0];
        throw new StackFileError(
            `${shown(file)} is not valid YAML${at ? ` at line ${at.line}, column ${at.col}` : ""}: ${error.code.toLowerCase().replace(/_/g, " ")}`,
        );
    }
    const contents = doc.contents;
    if (contents !== null && !isMap(contents) && !isSeq(contents) && !isScalar(contents)) {
        throw new StackFileError(`${shown(file)} is not a YAML document`);
    }
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

/** The system's reason (`ENOENT`, `EACCES`, `EISDIR`), without the path repeated. */
function reason(e: unknown): string {
    const code = (e as { code?: string }).code;
    const text: Record<string, string> = {
        ENOENT: "it does not exist (a dangling link?)",
        EACCES: "permission denied",
        EISDIR: "it is a folder",
        ELOOP: "too many symbolic links",
    };
    return (code && text[code]) ?? code ?? "unreadable";
}
