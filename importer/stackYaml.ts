/**
 * Writes or merges `Pulumi.<stack>.yaml` with `yaml`'s Document API, so keys and comments the
 * import does not own survive. The import owns the keys it sets; inside `msa:services.<name>` it
 * owns the fields a compose service maps to (`OWNED_SERVICE_FIELDS`) and removes those compose
 * no longer sets; everything else (other keys, other services, `links`, secrets) is kept.
 */
import { Document, isMap, isScalar, parseDocument, Scalar, visit, YAMLMap } from "yaml";
import { PROJECT } from "../config/schema";
import { firstLine } from "./compose";
import { ImportError } from "./report";

export const OWNED_SERVICE_FIELDS = [
    "image",
    "namespace",
    "project",
    "tag",
    "nodeName",
    "containerName",
    "ports",
    "env",
    "restart",
    "command",
    "memoryMb",
] as const;

export interface MergeResult {
    text: string;
    /** The merged `config:` block as plain data (what the stack would hold). */
    config: Record<string, unknown>;
}

/**
 * `config` is keyed without the namespace; `weak` keys are only written when absent. `header` is
 * the comment on a new file.
 */
export function mergeStackYaml(
    existing: { text: string; label: string } | undefined,
    config: Record<string, unknown>,
    weak: readonly string[],
    header: string,
): MergeResult {
    let doc: Document;
    if (existing === undefined) {
        doc = new Document({ config: {} });
        doc.commentBefore = header;
    } else {
        doc = parseDocument(existing.text);
        const [first] = doc.errors;
        if (first !== undefined) {
            throw new ImportError(
                `${existing.label} is not valid YAML: ${firstLine(first.message)}`,
            );
        }
        if (doc.contents === null) {
            doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
        }
        if (!isMap(doc.contents)) {
            throw new ImportError(`${existing.label} must be a YAML map with a config: key`);
        }
    }
    let block = doc.get("config");
    if (block === undefined || block === null) {
        doc.set("config", doc.createNode({}));
        block = doc.get("config");
    }
    if (!isMap(block)) {
        throw new ImportError(`${existing?.label ?? "the stack file"}: config: must be a map`);
    }
    const cfg = block;
    for (const [key, value] of Object.entries(config)) {
        const full = `${PROJECT}:${key}`;
        if (weak.includes(key) && cfg.has(full)) {
            continue;
        }
        if (key === "services") {
            mergeServices(doc, cfg, full, value as Record<string, Record<string, unknown>>);
        } else if (key === "dbHealthcheck") {
            mergeFields(doc, cfg, full, value as Record<string, unknown>, []);
        } else {
            setValue(doc, cfg, full, value);
        }
    }
    return { text: doc.toString({ lineWidth: 0 }), config: doc.toJS() as Record<string, unknown> };
}

function mergeServices(
    doc: Document,
    cfg: YAMLMap,
    full: string,
    services: Record<string, Record<string, unknown>>,
): void {
    for (const [name, svc] of Object.entries(services)) {
        const existing = (cfg.get(full) as YAMLMap | undefined)?.get?.(name);
        if (!isMap(cfg.get(full))) {
            setValue(doc, cfg, full, {});
        }
        const map = cfg.get(full) as YAMLMap;
        if (!isMap(existing)) {
            setValue(doc, map, name, svc);
            continue;
        }
        mergeFields(doc, map, name, svc, OWNED_SERVICE_FIELDS);
    }
}

/** Sets each field of `value` under `map[key]`; `owned` fields `value` lacks are removed. */
function mergeFields(
    doc: Document,
    map: YAMLMap,
    key: string,
    value: Record<string, unknown>,
    owned: readonly string[],
): void {
    const node = map.get(key);
    if (!isMap(node)) {
        setValue(doc, map, key, value);
        return;
    }
    for (const [field, v] of Object.entries(value)) {
        setValue(doc, node, field, v);
    }
    for (const field of owned) {
        if (!(field in value) && node.has(field)) {
            node.delete(field);
        }
    }
}

/** A scalar replaces the value in place (comments stay); structures become new nodes. */
function setValue(doc: Document, map: YAMLMap, key: string, value: unknown): void {
    const prev = map.get(key, true);
    if (isScalar(prev) && (value === null || typeof value !== "object")) {
        prev.value = value;
        prev.type = quoteType(value);
        return;
    }
    const node = doc.createNode(value);
    visit(node, {
        Scalar(_, s) {
            s.type = quoteType(s.value);
        },
    });
    map.set(key, node);
}

/**
 * Strings a YAML 1.1 reader takes for booleans or null (`no`, `on`, `yes`, `off`, `~`) are quoted:
 * `restart: no` must stay the string "no" for every reader of the file.
 */
function quoteType(value: unknown): Scalar.Type | undefined {
    return typeof value === "string" && /^(y|n|yes|no|on|off|true|false|null|~)$/i.test(value)
        ? "QUOTE_DOUBLE"
        : undefined;
}
