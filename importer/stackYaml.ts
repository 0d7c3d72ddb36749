/**
 * Writes or merges `Pulumi.<stack>.yaml` in the v2 shape with `yaml`'s Document API, so keys and
 * comments the import does not own survive. The import owns the keys it sets: inside
 * `msa:registry` and `msa:database` (and their maps) the fields it maps, inside
 * `msa:services.<name>` the fields a compose service maps to (`OWNED_SERVICE_FIELDS`, removing
 * those compose no longer sets); everything else (other keys, other services, `links`, secrets,
 * `msa:database.image.push`, …) is kept.
 *
 * An existing file is brought to the v2 shape first: each v1 key (`msa:dbName`, …) moves with its
 * comments to its v2 place (`V1_KEYS` in `config/schema.ts`), and a database that changes mode
 * loses the keys of the old mode. Each such change is a finding naming the stack file's line.
 */
import {
    Document,
    isMap,
    isScalar,
    LineCounter,
    Node as YamlNode,
    Pair,
    parseDocument,
    Scalar,
    visit,
    YAMLMap,
} from "yaml";
import {
    containerDatabaseSchema,
    DB_MODES,
    externalDatabaseSchema,
    PROJECT,
    V1_KEYS,
} from "../config/schema";
import { firstLine } from "./compose";
import { Finding, ImportError } from "./report";

export const OWNED_SERVICE_FIELDS = [
    "image",
    "build",
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
    "healthcheck",
    "stopGraceSeconds",
] as const;

/** The keys each database mode accepts (the schema's own lists). */
const DATABASE_KEYS: Record<(typeof DB_MODES)[number], string[]> = {
    container: Object.keys(containerDatabaseSchema.shape),
    external: Object.keys(externalDatabaseSchema.shape),
};

export interface MergeInput {
    /** The stack file as it is, when there is one. */
    existing?: { text: string };
    /** How findings name the stack file: `Pulumi.<stack>.yaml`. */
    label: string;
    /** Keyed without the namespace, in the v2 shape (`database: {mode, …}`). */
    config: Record<string, unknown>;
    /** Key paths (`registry.namespace`) written only where the stack file sets none. */
    weak: readonly string[];
    /** The comment on a new file. */
    header: string;
    /**
     * Secrets the import sets with `pulumi config set --secret` (`msa:dbPassword`,
     * `msa:secretEnv.<svc>.<NAME>`): a plain value the file holds there is removed.
     */
    secrets: readonly string[];
}

export interface MergeResult {
    text: string;
    /** The merged `config:` block as plain data (what the stack would hold). */
    config: Record<string, unknown>;
    /** Weak key paths the stack file already set, so no placeholder was written. */
    keptWeak: string[];
    /** What the merge changed in the existing file besides the imported values. */
    findings: Finding[];
}

export function mergeStackYaml(input: MergeInput): MergeResult {
    const lines = new LineCounter();
    let doc: Document;
    if (input.existing === undefined) {
        doc = new Document({ config: {} });
        doc.commentBefore = input.header;
    } else {
        doc = parseDocument(input.existing.text, { lineCounter: lines });
        const [first] = doc.errors;
        if (first !== undefined) {
            throw new ImportError(`${input.label} is not valid YAML: ${firstLine(first.message)}`);
        }
        if (doc.contents === null) {
            doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
        }
        if (!isMap(doc.contents)) {
            throw new ImportError(`${input.label} must be a YAML map with a config: key`);
        }
    }
    let block = doc.get("config");
    if (block === undefined || block === null) {
        doc.set("config", doc.createNode({}));
        block = doc.get("config");
    }
    if (!isMap(block)) {
        throw new ImportError(`${input.label}: config: must be a map`);
    }
    const merge = new Merge(doc, block, input, lines);
    merge.migrateV1();
    merge.removePlainSecrets();
    const order = Object.keys(input.config).map((k) => `${PROJECT}:${k}`);
    for (const [key, value] of Object.entries(input.config)) {
        const full = `${PROJECT}:${key}`;
        if (!block.has(full)) {
            // The file's own keys stay where they are; the import's go next to their neighbours.
            insertInOrder(block, makePair(doc, full, isPlainObject(value) ? {} : value), order);
        }
        if (key === "services") {
            merge.services(full, value as Record<string, Record<string, unknown>>);
        } else if (isPlainObject(value)) {
            if (key === "database") {
                merge.switchMode(full, String(value.mode));
            }
            merge.map(block, full, value, key, true);
        } else if (!merge.keepsWeak(block, full, key)) {
            setValue(doc, block, full, value);
        }
    }
    return {
        text: doc.toString({ lineWidth: 0 }),
        config: (doc.toJS() as { config?: Record<string, unknown> }).config ?? {},
        keptWeak: merge.keptWeak,
        findings: merge.findings,
    };
}

/** One merge into one document: what it kept and what it reports. */
class Merge {
    readonly keptWeak: string[] = [];
    readonly findings: Finding[] = [];
    /** Maps the v1 migration created: their keys are put in the import's order once merged. */
    private readonly created = new Set<YAMLMap>();

    constructor(
        private readonly doc: Document,
        private readonly cfg: YAMLMap,
        private readonly input: MergeInput,
        private readonly lines: LineCounter,
    ) {}

    /** Each v1 key's value (and its comments) moves to its v2 place; each move is reported. */
    migrateV1(): void {
        const mode = this.existingMode();
        for (const pair of [...this.cfg.items]) {
            const name = keyText(pair.key);
            const short = name.slice(PROJECT.length + 1);
            if (!name.startsWith(`${PROJECT}:`) || !(short in V1_KEYS)) {
                continue;
            }
            const place = v2Place(short, mode);
            const target = `${PROJECT}:${place.join(".")}`;
            const line = this.lineOf(pair.key);
            const index = this.cfg.items.indexOf(pair);
            this.cfg.items.splice(index, 1);
            let parent = this.topMap(place[0] ?? "", index);
            for (const seg of place.slice(1, -1)) {
                parent = parent === undefined ? undefined : this.childMap(parent, seg);
            }
            const leaf = place[place.length - 1] ?? "";
            if (parent === undefined || parent.has(leaf)) {
                this.report(
                    line,
                    name,
                    `a v1 key, and ${target} is set too: ${target} stays, the v1 value is dropped`,
                );
                continue;
            }
            const key = new Scalar(leaf);
            if (isScalar(pair.key)) {
                key.commentBefore = pair.key.commentBefore;
                key.spaceBefore = pair.key.spaceBefore;
            }
            parent.items.push(new Pair(key, pair.value));
            this.report(
                line,
                name,
                `a v1 key: its value moved to ${target}${short === "dbHost" ? ` (${PROJECT}:database.mode is ${mode})` : ""}, the v2 shape the program reads`,
            );
        }
    }

    /** A plain value where the import sets a secret would stay in the file: it goes. */
    removePlainSecrets(): void {
        for (const secret of this.input.secrets) {
            const [top = "", ...rest] = secret.split(".");
            let map: YAMLMap | undefined = this.cfg;
            let key = top;
            for (const seg of rest) {
                const next: unknown = map.get(key, true);
                map = isMap(next) ? next : undefined;
                key = seg;
                if (map === undefined) {
                    break;
                }
            }
            const node: unknown = map?.get(key, true);
            if (map !== undefined && isScalar(node) && node.value !== null) {
                const pair = map.items.find((p) => keyText(p.key) === key);
                this.report(
                    this.lineOf(pair?.key),
                    secret,
                    `was in plain text in ${this.input.label}: removed; the import sets it with pulumi config set --secret`,
                );
                map.delete(key);
            }
        }
    }

    /** A database that changes mode loses the keys of the old one (the schema refuses them). */
    switchMode(full: string, mode: string): void {
        const node: unknown = this.cfg.get(full, true);
        if (!isMap(node) || !(mode in DATABASE_KEYS)) {
            return;
        }
        const modeNode: unknown = node.get("mode", true);
        const old = isScalar(modeNode) ? String(modeNode.value) : "container";
        if (old === mode || node.items.length === 0) {
            // An empty map is the one the import just created: there was no mode to change.
            return;
        }
        const allowed = DATABASE_KEYS[mode as keyof typeof DATABASE_KEYS];
        const removed = node.items.map((p) => keyText(p.key)).filter((k) => !allowed.includes(k));
        for (const k of removed) {
            node.delete(k);
        }
        this.report(
            this.lineOf(isScalar(modeNode) ? modeNode : node),
            `${full}.mode`,
            `was ${old}; the import makes it ${mode}${removed.length > 0 ? `, and removes ${removed.map((k) => `${full}.${k}`).join(", ")} (${old}-mode keys)` : ""}`,
        );
    }

    services(full: string, services: Record<string, Record<string, unknown>>): void {
        if (!isMap(this.cfg.get(full))) {
            setValue(this.doc, this.cfg, full, {});
        }
        const map = this.cfg.get(full) as YAMLMap;
        // By name once: looking each service up in the map would be quadratic in services.
        const pairs = new Map(map.items.map((p) => [keyText(p.key), p]));
        for (const [name, svc] of Object.entries(services)) {
            const pair = pairs.get(name);
            const existing: unknown = pair?.value;
            if (!isMap(existing)) {
                if (pair === undefined) {
                    const added = makePair(this.doc, name, svc);
                    map.items.push(added);
                    pairs.set(name, added);
                } else {
                    pair.value = makeNode(this.doc, svc);
                }
                continue;
            }
            this.map(map, name, svc, `services.${name}`, false);
            for (const field of OWNED_SERVICE_FIELDS) {
                if (!(field in svc) && existing.has(field)) {
                    existing.delete(field);
                }
            }
        }
    }

    /**
     * Sets each field of `value` under `parent[key]`; with `deep`, maps inside are merged field by
     * field too, otherwise a field's value is replaced whole (a service's `env`). A field new to
     * an existing map goes after the fields that precede it in `value`, so the file keeps the
     * order the import writes. `path` is the key path `weak` names.
     */
    map(
        parent: YAMLMap,
        key: string,
        value: Record<string, unknown>,
        path: string,
        deep: boolean,
    ): void {
        const node: unknown = parent.get(key, true);
        if (!isMap(node)) {
            setValue(this.doc, parent, key, value);
            return;
        }
        const order = Object.keys(value);
        for (const [field, v] of Object.entries(value)) {
            const at = `${path}.${field}`;
            if (this.keepsWeak(node, field, at)) {
                continue;
            }
            if (deep && isPlainObject(v) && isMap(node.get(field, true))) {
                this.map(node, field, v, at, deep);
            } else if (node.has(field)) {
                setValue(this.doc, node, field, v);
            } else {
                insertInOrder(node, makePair(this.doc, field, v), order);
            }
        }
        if (this.created.has(node)) {
            // Built from v1 keys in the file's order: the import's order reads as a new file does.
            const rank = (p: Pair) => {
                const i = order.indexOf(keyText(p.key));
                return i < 0 ? order.length : i;
            };
            node.items.sort((a, b) => rank(a) - rank(b));
        }
    }

    /** A placeholder (`weak`) where the file has a value: kept, and noted. */
    keepsWeak(map: YAMLMap, key: string, path: string): boolean {
        const node: unknown = map.get(key, true);
        const set = node !== undefined && !(isScalar(node) && node.value === null);
        if (this.input.weak.includes(path) && set) {
            this.keptWeak.push(path);
            return true;
        }
        return false;
    }

    /** `msa:<name>` as a map: created at `index` (where a v1 key stood) when the file has none. */
    private topMap(name: string, index: number): YAMLMap | undefined {
        const full = `${PROJECT}:${name}`;
        if (this.cfg.has(full)) {
            const node: unknown = this.cfg.get(full, true);
            return isMap(node) ? node : undefined;
        }
        const map = new YAMLMap();
        this.created.add(map);
        this.cfg.items.splice(index, 0, new Pair(new Scalar(full), map));
        return map;
    }

    private childMap(parent: YAMLMap, name: string): YAMLMap | undefined {
        if (parent.has(name)) {
            const node: unknown = parent.get(name, true);
            return isMap(node) ? node : undefined;
        }
        const map = new YAMLMap();
        this.created.add(map);
        parent.items.push(new Pair(new Scalar(name), map));
        return map;
    }

    /** The existing file's database mode, v2 or v1; the schema's default is container. */
    private existingMode(): string {
        const v1: unknown = this.cfg.get(`${PROJECT}:dbMode`, true);
        const db: unknown = this.cfg.get(`${PROJECT}:database`, true);
        const v2: unknown = isMap(db) ? db.get("mode", true) : undefined;
        for (const node of [v2, v1]) {
            if (isScalar(node) && typeof node.value === "string") {
                return node.value;
            }
        }
        return "container";
    }

    private report(line: number | undefined, at: string, message: string): void {
        this.findings.push({ kind: "changed", file: this.input.label, line, at, message });
    }

    private lineOf(node: unknown): number | undefined {
        const range = (node as YamlNode | undefined)?.range;
        return this.input.existing === undefined || range === undefined || range === null
            ? undefined
            : this.lines.linePos(range[0]).line;
    }
}

/** `dbName` → `["database", "name"]`; `dbHost` by the mode (alias or host). */
function v2Place(v1: string, mode: string): string[] {
    if (v1 === "dbHost") {
        return ["database", mode === "external" ? "host" : "alias"];
    }
    const m = /^msa:([A-Za-z.]+)$/.exec(V1_KEYS[v1] ?? "");
    if (m?.[1] === undefined) {
        throw new Error(`config/schema.ts V1_KEYS gives no single v2 key for ${v1}`);
    }
    return m[1].split(".");
}

/**
 * Adds `pair` to `map` before the first key that follows it in `order`, else after the last that
 * precedes it, else at the end: a key new to an existing map lands among its neighbours.
 */
function insertInOrder(map: YAMLMap, pair: Pair, order: readonly string[]): void {
    const key = keyText(pair.key);
    const i = order.indexOf(key);
    const indexOf = (k: string | undefined) =>
        k === undefined ? -1 : map.items.findIndex((p) => keyText(p.key) === k);
    const next = indexOf(order.slice(i + 1).find((k) => map.has(k)));
    const previous = indexOf(
        order
            .slice(0, Math.max(i, 0))
            .reverse()
            .find((k) => map.has(k)),
    );
    const at = next >= 0 ? next : previous >= 0 ? previous + 1 : map.items.length;
    map.items.splice(at, 0, pair);
}

/** A scalar replaces the value in place (comments stay); structures become new nodes. */
function setValue(doc: Document, map: YAMLMap, key: string, value: unknown): void {
    const prev: unknown = map.get(key, true);
    if (isScalar(prev) && (value === null || typeof value !== "object")) {
        prev.value = value;
        prev.type = quoteType(value);
        return;
    }
    map.set(key, makeNode(doc, value));
}

function makePair(doc: Document, key: string, value: unknown): Pair {
    return new Pair(new Scalar(key), makeNode(doc, value));
}

function makeNode(doc: Document, value: unknown): YamlNode {
    const node = doc.createNode(value);
    visit(node, {
        Scalar(_, s) {
            s.type = quoteType(s.value);
        },
    });
    return node;
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

function keyText(key: unknown): string {
    return isScalar(key) ? String(key.value) : String(key);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
