/**
 * Reads `Pulumi.yaml` and `Pulumi.<stack>.yaml` the way the Pulumi CLI hands them to the program:
 * a flat `namespace:key → string` map, project defaults first. Used where no CLI runs (the offline
 * plan, tests, the e2e driver, the bench). `secure:` values cannot be decrypted without the CLI, so
 * they become placeholders, as does a required secret the stack does not set (with a warning).
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { PROJECT, SECRET_KEYS } from "./schema";

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
    config?: Record<string, { default?: unknown } | undefined>;
}

/**
 * The folder holding `Pulumi.yaml`, found by walking up from this file, so the answer is the same
 * from the TypeScript sources and from JavaScript compiled into a subfolder (`bin/`) or elsewhere.
 */
export function projectRoot(start = __dirname): string {
    for (let dir = start; ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
            return dir;
        }
        if (path.dirname(dir) === dir) {
            // Compiled outside the checkout: Pulumi runs programs from the project folder.
            return fs.existsSync(path.join(process.cwd(), "Pulumi.yaml"))
                ? process.cwd()
                : path.resolve(__dirname, "..");
        }
    }
}

export function readProjectFile(root = projectRoot()): ProjectFile {
    return readYaml(path.join(root, "Pulumi.yaml")) as ProjectFile;
}

/** Project-level defaults from `Pulumi.yaml`'s `config:` block, as `msa:key → value`. */
export function projectDefaults(root = projectRoot()): Record<string, unknown> {
    const project = readProjectFile(root);
    const out: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries(project.config ?? {})) {
        if (decl !== undefined && decl !== null && "default" in decl) {
            out[key.includes(":") ? key : `${PROJECT}:${key}`] = decl.default;
        }
    }
    return out;
}

export function readStackFile(stack: string, root = projectRoot()): StackFileConfig {
    if (!/^[A-Za-z0-9_.-]+$/.test(stack)) {
        throw new StackFileError(
            `stack name must be letters, digits, _, . and -, got ${JSON.stringify(stack)}`,
        );
    }
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new StackFileError(
            `no stack file ${path.relative(process.cwd(), file) || file} for stack ${JSON.stringify(stack)}`,
        );
    }
    const doc = (readYaml(file) ?? {}) as { config?: Record<string, unknown> };
    return flattenStackConfig(stack, { ...projectDefaults(root), ...(doc.config ?? {}) });
}

/** Flattens decoded stack config (values may hold `{secure: …}`) into what the program sees. */
export function flattenStackConfig(
    stack: string,
    config: Record<string, unknown>,
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
    const missingSecrets: string[] = [];
    for (const [key, meta] of Object.entries(SECRET_KEYS)) {
        const full = `${PROJECT}:${key}`;
        if (!(full in values) && meta.required) {
            values[full] = placeholderSecret(full);
            missingSecrets.push(full);
        }
        if (full in values) {
            secretKeys.add(full);
        }
    }
    return { stack, values, secretKeys: [...secretKeys], missingSecrets };
}

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
    return (
        typeof v === "object" &&
        v !== null &&
        !Array.isArray(v) &&
        Object.keys(v).length === 1 &&
        "secure" in v
    );
}

function readYaml(file: string): unknown {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new StackFileError(`cannot read ${file}: ${(e as Error).message}`);
    }
    try {
        return parse(text) as unknown;
    } catch (e) {
        throw new StackFileError(`${file} is not valid YAML: ${(e as Error).message}`);
    }
}
