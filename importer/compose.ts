/**
 * The compose file, read with `yaml`'s Document API so every value keeps the line it came from,
 * and interpolated as compose does (`interpolate.ts`). Anchors, aliases and `<<` merge keys are
 * resolved; keys are not interpolated (compose does not either).
 */
import * as path from "path";
import {
    Document,
    isAlias,
    isMap,
    isScalar,
    isSeq,
    LineCounter,
    Node as YamlNode,
    parseDocument,
    YAMLMap,
} from "yaml";
import { interpolate, InterpolationError, Lookup } from "./interpolate";
import { ImportError } from "./report";
import { readText } from "./files";

export type Path = readonly (string | number)[];

export interface ComposeFile {
    /** The file as messages name it (relative to its own folder: its base name). */
    label: string;
    dir: string;
    /** The interpolated document as plain data. */
    data: Record<string, unknown>;
    /** Line of the node at `path`, e.g. `["services", "database", "ports", 0]`. */
    lineOf(path: Path): number | undefined;
    /** The text of a scalar before interpolation, e.g. `${DB_PORT_IN}:${DB_PORT_OUT}`. */
    rawOf(path: Path): string | undefined;
}

/** `services.database.ports[0]` */
export function pathText(p: Path): string {
    return p
        .map((seg, i) => (typeof seg === "number" ? `[${seg}]` : i === 0 ? seg : `.${seg}`))
        .join("");
}

/**
 * Reads and interpolates a compose file. `envLabel` names the file the variables come from, for
 * the message about an unset one.
 */
export function readComposeFile(file: string, lookup: Lookup, envLabel: string): ComposeFile {
    const label = path.basename(file);
    const text = readText(file, file, "compose file");
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter });
    const [first] = doc.errors;
    if (first !== undefined) {
        throw new ImportError(`${label} is not valid YAML: ${firstLine(first.message)}`);
    }
    const lines = new Map<string, number>();
    const raws = new Map<string, string>();
    const lineAt = (node: YamlNode) =>
        node.range ? lineCounter.linePos(node.range[0]).line : undefined;

    const walk = (node: unknown, p: Path): unknown => {
        if (isAlias(node)) {
            return walk(node.resolve(doc as Document), p);
        }
        const key = pathText(p);
        if (node !== null && typeof node === "object" && "range" in node) {
            const line = lineAt(node as YamlNode);
            if (line !== undefined && !lines.has(key)) {
                lines.set(key, line);
            }
        }
        if (isMap(node)) {
            return walkMap(node, p);
        }
        if (isSeq(node)) {
            return node.items.map((item, i) => walk(item, [...p, i]));
        }
        if (isScalar(node)) {
            if (typeof node.value !== "string") {
                return node.value;
            }
            raws.set(key, node.value);
            try {
                return interpolate(node.value, lookup);
            } catch (e) {
                if (!(e instanceof InterpolationError)) {
                    throw e;
                }
                const at = `${label}:${lines.get(key) ?? "?"}: ${key}`;
                throw new ImportError(
                    e.message.endsWith("is not set")
                        ? `${at} uses ${e.expression}, which is not set in ${envLabel} (compose would substitute an empty string); set ${e.variable} there or write \${${e.variable}:-default}`
                        : `${at}: ${e.message}`,
                );
            }
        }
        return node ?? null;
    };

    const walkMap = (map: YAMLMap, p: Path): Record<string, unknown> => {
        const out: Record<string, unknown> = {};
        const merges: unknown[] = [];
        for (const pair of map.items) {
            const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
            if (k === "<<") {
                merges.push(pair.value);
                continue;
            }
            const keyLine = isScalar(pair.key) ? lineAt(pair.key) : undefined;
            if (keyLine !== undefined) {
                lines.set(pathText([...p, k]), keyLine);
            }
            out[k] = walk(pair.value, [...p, k]);
        }
        // `<<: *base` fills in what the map does not set itself.
        for (const m of merges) {
            const sources = isSeq(m) ? m.items : [m];
            for (const s of sources) {
                const merged = walk(s, p);
                if (merged !== null && typeof merged === "object" && !Array.isArray(merged)) {
                    for (const [k, v] of Object.entries(merged)) {
                        if (!(k in out)) {
                            out[k] = v;
                        }
                    }
                }
            }
        }
        return out;
    };

    const data = walk(doc.contents, []);
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
        throw new ImportError(`${label} must be a YAML map with a services: key`);
    }
    const services = (data as Record<string, unknown>).services;
    if (services === null || typeof services !== "object" || Array.isArray(services)) {
        throw new ImportError(`${label} has no services: map`);
    }
    return {
        label,
        dir: path.dirname(file),
        data: data as Record<string, unknown>,
        lineOf: (p) => lines.get(pathText(p)),
        rawOf: (p) => raws.get(pathText(p)),
    };
}

/** yaml's message without its code frame: `… at line 4, column 4`. */
export function firstLine(message: string): string {
    return (message.split("\n")[0] ?? "").replace(/:$/, "");
}
