/**
 * The compose file, read with `yaml`'s Document API so every value keeps the file and line it came
 * from, interpolated as docker-compose 1.29 does (`interpolate.ts`), with `extends` resolved
 * (`extends.ts`). Anchors, aliases and `<<` merge keys are resolved; keys are not interpolated, and
 * neither is anything outside `services`, `volumes`, `networks`, `secrets` and `configs` (compose
 * does not read `x-` blocks, except through the anchors that bring them into a service).
 *
 * A message about a value never shows the value: it names the file, line and key, and shows the
 * `${…}` expression only when the value is not secret.
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
import { carriesCredentials, looksSecret } from "../lib/secretNames";
import { resolveExtends } from "./extends";
import { readText } from "./files";
import { interpolate, InterpolationError, Lookup } from "./interpolate";
import { ImportError, Origin } from "./report";

export type Path = readonly (string | number)[];

/** What the import knows about one node: where it is, and its text before interpolation. */
export interface NodeInfo {
    file: string;
    line?: number;
    /** A string scalar's text before interpolation, e.g. `${DB_PORT_IN}:${DB_PORT_OUT}`. */
    raw?: string;
    /** The source text of a plain (unquoted, untagged) scalar, e.g. `0022`. */
    plain?: string;
}

export interface ComposeFile {
    /** The file as messages name it (relative to its own folder: its base name). */
    label: string;
    dir: string;
    /** The interpolated document as plain data, `extends` resolved. */
    data: Record<string, unknown>;
    /** Every compose file read (this one first, then those `extends` names), as labels. */
    files: string[];
    /** Line of the node at `path`, e.g. `["services", "database", "ports", 0]`. */
    lineOf(path: Path): number | undefined;
    /** File and line of the node at `path` (an inherited value names the file it is in). */
    originOf(path: Path): Origin | undefined;
    /** The text of a scalar before interpolation, e.g. `${DB_PORT_IN}:${DB_PORT_OUT}`. */
    rawOf(path: Path): string | undefined;
    /** The source text of a plain scalar (`0022`), for what YAML 1.1 makes of it. */
    plainOf(path: Path): string | undefined;
}

/** `services.database.ports[0]` */
export function pathText(p: Path): string {
    return p
        .map((seg, i) => (typeof seg === "number" ? `[${seg}]` : i === 0 ? seg : `.${seg}`))
        .join("");
}

/** The sections compose 1.29 interpolates. */
const INTERPOLATED = new Set(["services", "volumes", "networks", "secrets", "configs"]);

/** Node infos of one file: per service (so `extends` can copy them), and for the rest. */
export class Infos {
    readonly top = new Map<string, NodeInfo>();
    readonly services = new Map<string, Map<string, NodeInfo>>();

    get(p: Path): NodeInfo | undefined {
        const [map, key] = this.slot(p);
        return map?.get(key);
    }

    /** The map a path's info lives in, and its key there. */
    private slot(p: Path): [Map<string, NodeInfo> | undefined, string] {
        const svc = serviceOf(p);
        return svc === undefined
            ? [this.top, pathText(p)]
            : [this.services.get(svc), pathText(p.slice(2))];
    }
}

function serviceOf(p: Path): string | undefined {
    return p[0] === "services" && typeof p[1] === "string" ? p[1] : undefined;
}

/** Where a node is: its path, and the info map and key it is noted under. */
interface Loc {
    p: Path;
    map: Map<string, NodeInfo>;
    key: string;
}

/** One compose file parsed and interpolated, before `extends`. */
export interface ParsedCompose {
    label: string;
    file: string;
    data: Record<string, unknown>;
    infos: Infos;
}

/**
 * Reads and interpolates a compose file and resolves `extends`. `envLabel` names the file the
 * variables come from, for the message about an unset one.
 */
export function readComposeFile(file: string, lookup: Lookup, envLabel: string): ComposeFile {
    const dir = path.dirname(file);
    const main = parseComposeFile(file, path.basename(file), lookup, envLabel);
    const parsed = new Map<string, ParsedCompose>([[path.resolve(file), main]]);
    const files = [main.label];
    const read = (other: string): ParsedCompose => {
        const abs = path.resolve(other);
        let p = parsed.get(abs);
        if (p === undefined) {
            p = parseComposeFile(abs, path.relative(dir, abs), lookup, envLabel, "extends file");
            parsed.set(abs, p);
            files.push(p.label);
        }
        return p;
    };
    const { data, infos } = resolveExtends(main, dir, read);
    return {
        label: main.label,
        dir,
        data,
        files,
        lineOf: (p) => infos.get(p)?.line,
        originOf: (p) => {
            const info = infos.get(p);
            return info === undefined ? undefined : { file: info.file, line: info.line };
        },
        rawOf: (p) => infos.get(p)?.raw,
        plainOf: (p) => infos.get(p)?.plain,
    };
}

/** One file: parsed, walked (aliases and merge keys resolved) and interpolated. */
export function parseComposeFile(
    file: string,
    label: string,
    lookup: Lookup,
    envLabel: string,
    what = "compose file",
): ParsedCompose {
    const text = readText(file, what === "compose file" ? file : label, what);
    const lineCounter = new LineCounter();
    // Duplicate keys are found by the walk below, by a lookup per key: yaml's own check compares
    // every key of a map with every other, which a 2,000-service map makes slow.
    const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
    const [first] = doc.errors;
    if (first !== undefined) {
        throw new ImportError(`${label} is not valid YAML: ${firstLine(first.message)}`);
    }
    const infos = new Infos();
    const lineAt = (node: YamlNode) =>
        node.range ? lineCounter.linePos(node.range[0]).line : undefined;
    /**
     * Keys a map sets itself, while its `<<` merges are walked: what a merge brings for them is
     * not what compose uses, so it must not be where their lines and raw texts come from.
     */
    const shadowed: Loc[] = [];
    const isShadowed = (loc: Loc) =>
        shadowed.some(
            (s) =>
                s.map === loc.map &&
                (loc.key === s.key ||
                    loc.key.startsWith(`${s.key}.`) ||
                    loc.key.startsWith(`${s.key}[`)),
        );
    const note = (loc: Loc, extra: Omit<NodeInfo, "file">, replace = false) => {
        if (shadowed.length > 0 && isShadowed(loc)) {
            return;
        }
        const prev = loc.map.get(loc.key);
        if (prev === undefined || replace) {
            loc.map.set(loc.key, { file: label, ...extra });
        } else {
            Object.assign(prev, extra, { line: prev.line ?? extra.line });
        }
    };
    /** Where a child's info goes: each service has a map of its own, keyed below the service. */
    const child = (loc: Loc, seg: string | number): Loc => {
        const p = [...loc.p, seg];
        if (loc.p.length === 1 && loc.p[0] === "services" && typeof seg === "string") {
            let map = infos.services.get(seg);
            if (map === undefined) {
                map = new Map();
                infos.services.set(seg, map);
            }
            return { p, map, key: "" };
        }
        const key =
            typeof seg === "number"
                ? `${loc.key}[${seg}]`
                : loc.key === ""
                  ? seg
                  : `${loc.key}.${seg}`;
        return { p, map: loc.map, key };
    };

    const walk = (node: unknown, loc: Loc): unknown => {
        if (isAlias(node)) {
            return walk(node.resolve(doc as Document), loc);
        }
        if (node !== null && typeof node === "object" && "range" in node) {
            const line = lineAt(node as YamlNode);
            if (line !== undefined) {
                note(loc, { line });
            }
        }
        if (isMap(node)) {
            return walkMap(node, loc);
        }
        if (isSeq(node)) {
            return node.items.map((item, i) => walk(item, child(loc, i)));
        }
        if (isScalar(node)) {
            if (node.type === "PLAIN" && node.tag === undefined && node.source !== undefined) {
                note(loc, { plain: node.source });
            }
            if (typeof node.value !== "string") {
                return node.value;
            }
            note(loc, { raw: node.value });
            if (!INTERPOLATED.has(String(loc.p[0]))) {
                return node.value;
            }
            try {
                return interpolate(node.value, lookup);
            } catch (e) {
                if (!(e instanceof InterpolationError)) {
                    throw e;
                }
                throw new ImportError(
                    interpolationMessage(
                        e,
                        `${label}:${loc.map.get(loc.key)?.line ?? "?"}`,
                        loc.p,
                        node.value,
                        envLabel,
                    ),
                );
            }
        }
        return node ?? null;
    };

    const walkMap = (map: YAMLMap, loc: Loc): Record<string, unknown> => {
        const out: Record<string, unknown> = {};
        const merges: unknown[] = [];
        const own: Loc[] = [];
        for (const pair of map.items) {
            const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
            if (k === "<<") {
                merges.push(pair.value);
                continue;
            }
            const keyLine = isScalar(pair.key) ? lineAt(pair.key) : undefined;
            const at = child(loc, k);
            if (k === "__proto__") {
                throw new ImportError(
                    `${label}:${keyLine ?? "?"}: ${pathText(at.p)} is a key named __proto__, which the stack's config cannot hold; rename it`,
                );
            }
            if (Object.hasOwn(out, k)) {
                throw new ImportError(
                    `${label}:${keyLine ?? "?"}: ${pathText(at.p)} is set twice in one map (compose refuses that)`,
                );
            }
            if (keyLine !== undefined) {
                note(at, { line: keyLine }, true);
            }
            out[k] = walk(pair.value, at);
            own.push(at);
        }
        // `<<: *base` fills in what the map does not set itself.
        shadowed.push(...own);
        for (const m of merges) {
            const sources = isSeq(m) ? m.items : [m];
            for (const s of sources) {
                const merged = walk(s, loc);
                if (merged !== null && typeof merged === "object" && !Array.isArray(merged)) {
                    for (const [k, v] of Object.entries(merged)) {
                        if (!Object.hasOwn(out, k)) {
                            out[k] = v;
                        }
                    }
                }
            }
        }
        shadowed.splice(shadowed.length - own.length, own.length);
        return out;
    };

    const data = walk(doc.contents, { p: [], map: infos.top, key: "" });
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
        throw new ImportError(`${label} must be a YAML map with a services: key`);
    }
    const services = (data as Record<string, unknown>).services;
    if (services === null || typeof services !== "object" || Array.isArray(services)) {
        throw new ImportError(`${label} has no services: map`);
    }
    return { label, file, data: data as Record<string, unknown>, infos };
}

/**
 * The message for a `$` compose cannot substitute. It names the file, line and key; the value is
 * never shown, and the `${…}` expression only when the value is not secret (a `$` in a password is
 * more likely a literal than a variable, and the expression is then part of the password).
 */
function interpolationMessage(
    e: InterpolationError,
    at: string,
    p: Path,
    text: string,
    envLabel: string,
): string {
    const key = pathText(p);
    const last = p[p.length - 1];
    const listName = typeof last === "number" ? text.split("=")[0] : undefined;
    const secret =
        looksSecret(String(typeof last === "number" ? (listName ?? "") : last)) ||
        carriesCredentials(text);
    if (secret) {
        const why =
            e.kind === "unset"
                ? `a variable that is not set in ${envLabel} (compose would substitute an empty string)`
                : e.kind === "required"
                  ? "a required variable that is not set"
                  : "a $ compose cannot read as a variable";
        return `${at}: ${key} (a secret: its value is not shown) uses ${why}; write $$ for a literal $, or set the variable`;
    }
    if (e.kind === "unset") {
        return `${at}: ${key} uses ${e.expression}, which is not set in ${envLabel} (compose would substitute an empty string); set ${e.variable} there or write \${${e.variable}:-default}`;
    }
    return `${at}: ${key}: ${e.message}`;
}

/** yaml's message without its code frame: `… at line 4, column 4`. */
export function firstLine(message: string): string {
    return (message.split("\n")[0] ?? "").replace(/:$/, "");
}
