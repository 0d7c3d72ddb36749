/**
 * `extends` as docker-compose 1.29 resolves it (`ServiceExtendsResolver`, `merge_service_dicts`):
 * the base service (in the same file, or in `file:` relative to the extending file's folder) is
 * resolved first, then the extending service is merged over it:
 *
 * - `environment`, `labels`, `depends_on`, `extra_hosts`, `ulimits`, `sysctls`: maps, merged by key;
 * - `volumes`, `devices`: merged by container path; `ports`: every port of both, the same
 *   mapping once; `expose`, `profiles`, `cap_add`, … : both lists, each item once;
 * - `env_file`, `dns`, `dns_search`, `tmpfs`: the base's list, then the extending one's;
 * - `healthcheck`, `logging`, `deploy`, `networks`, `build` (its `args` merged): maps, merged;
 * - every other key: the extending service's value, else the base's.
 *
 * Paths in a base from another file (`env_file`, `build.context`, bind mounts) are relative to that
 * file; they are rewritten relative to the main compose file's folder. Every value keeps the file
 * and line it came from, so the report points at the base for what the base sets.
 */
import * as path from "path";
import type { NodeInfo, ParsedCompose } from "./compose";
import { Infos } from "./compose";
import { ImportError } from "./report";

type Obj = Record<string, unknown>;
type InfoMap = Map<string, NodeInfo>;

interface Resolved {
    data: Obj;
    infos: InfoMap;
}

const MAP_KEYS = ["environment", "labels", "depends_on", "extra_hosts", "ulimits", "sysctls"];
const PATH_KEYS = ["volumes", "devices"];
const UNIQUE_KEYS = [
    "cap_add",
    "cap_drop",
    "expose",
    "external_links",
    "volumes_from",
    "device_cgroup_rules",
    "profiles",
];
const CONCAT_KEYS = ["env_file", "dns", "dns_search", "tmpfs"];
const DEEP_KEYS = ["healthcheck", "logging", "deploy", "networks"];

/** The main file with every service's `extends` resolved. */
export function resolveExtends(
    main: ParsedCompose,
    mainDir: string,
    read: (file: string) => ParsedCompose,
): { data: Obj; infos: Infos } {
    const infos = new Infos();
    for (const [k, v] of main.infos.top) {
        infos.top.set(k, v);
    }
    const services = main.data.services as Obj;
    const done = new Map<string, Resolved>();
    const out: Obj = {};
    for (const name of Object.keys(services)) {
        const r = resolve(main, name, mainDir, read, done, []);
        out[name] = r.data;
        infos.services.set(name, r.infos);
    }
    return { data: { ...main.data, services: out }, infos };
}

function resolve(
    file: ParsedCompose,
    name: string,
    mainDir: string,
    read: (file: string) => ParsedCompose,
    done: Map<string, Resolved>,
    seen: string[],
): Resolved {
    const id = `${file.file}#${name}`;
    const cached = done.get(id);
    if (cached !== undefined) {
        return cached;
    }
    const svcInfos = file.infos.services.get(name) ?? new Map<string, NodeInfo>();
    const raw = (file.data.services as Obj)[name];
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        // The mapping reports a service that is not a map; nothing to resolve.
        return { data: raw as Obj, infos: svcInfos };
    }
    const own = rebase(raw as Obj, path.dirname(file.file), mainDir);
    const ext = own.extends;
    if (ext === undefined) {
        const r = { data: own, infos: svcInfos };
        done.set(id, r);
        return r;
    }
    const at = `${file.label}:${svcInfos.get("extends")?.line ?? "?"}: services.${name}.extends`;
    if (seen.includes(id)) {
        throw new ImportError(`${at}: services extend one another in a circle`);
    }
    const spec = typeof ext === "string" ? { service: ext } : (ext as Obj);
    if (typeof spec.service !== "string") {
        throw new ImportError(`${at} must name a service (extends: {service: <name>})`);
    }
    const baseFile =
        typeof spec.file === "string"
            ? read(path.resolve(path.dirname(file.file), spec.file))
            : file;
    const baseServices = baseFile.data.services;
    if (!isObj(baseServices) || !Object.hasOwn(baseServices, spec.service)) {
        throw new ImportError(
            `${at}: service ${JSON.stringify(spec.service)} is not in ${baseFile.label}`,
        );
    }
    const base = resolve(baseFile, spec.service, mainDir, read, done, [...seen, id]);
    const mine = { ...own };
    delete mine.extends;
    const merged = merge(base, { data: mine, infos: svcInfos });
    done.set(id, merged);
    return merged;
}

/** Paths of a service in another file's folder, relative to the main file's folder. */
function rebase(svc: Obj, fileDir: string, mainDir: string): Obj {
    if (path.resolve(fileDir) === path.resolve(mainDir)) {
        return svc;
    }
    const rel = (p: string) =>
        path.isAbsolute(p) ? p : path.relative(mainDir, path.resolve(fileDir, p)) || ".";
    const out: Obj = { ...svc };
    if (out.env_file !== undefined) {
        const list = Array.isArray(out.env_file) ? out.env_file : [out.env_file];
        out.env_file = list.map((f) =>
            f !== null && typeof f === "object" && typeof (f as Obj).path === "string"
                ? { ...(f as Obj), path: rel(String((f as Obj).path)) }
                : rel(String(f)),
        );
    }
    if (typeof out.build === "string") {
        out.build = isUrl(out.build) ? out.build : rel(out.build);
    } else if (out.build !== null && typeof out.build === "object") {
        const b = out.build as Obj;
        if (typeof b.context === "string" && !isUrl(b.context)) {
            out.build = { ...b, context: rel(b.context) };
        }
    }
    if (Array.isArray(out.volumes)) {
        out.volumes = out.volumes.map((v) => {
            if (typeof v !== "string") {
                return v;
            }
            const [source = "", ...rest] = v.split(":");
            return rest.length > 0 && /^\.{1,2}(\/|$)/.test(source)
                ? [`./${rel(source)}`, ...rest].join(":")
                : v;
        });
    }
    return out;
}

function isUrl(text: string): boolean {
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) || text.startsWith("git@");
}

/** compose 1.29's `merge_service_dicts(base, override)`, keeping where each value came from. */
function merge(base: Resolved, own: Resolved): Resolved {
    const data: Obj = {};
    const infos: InfoMap = new Map();
    const copy = (from: Resolved, fromPrefix: string, toPrefix = fromPrefix) =>
        copyInfos(from.infos, fromPrefix, infos, toPrefix);
    const ownLine = own.infos.get("");
    if (ownLine !== undefined) {
        infos.set("", ownLine);
    }
    const keys = [...new Set([...Object.keys(base.data), ...Object.keys(own.data)])];
    for (const key of keys) {
        const b = base.data[key];
        const o = own.data[key];
        if (o === undefined || b === undefined) {
            const from = o === undefined ? base : own;
            data[key] = from.data[key];
            copy(from, key);
            continue;
        }
        if (MAP_KEYS.includes(key)) {
            data[key] = mergeMap(key, base, own, infos);
        } else if (PATH_KEYS.includes(key) || key === "ports") {
            data[key] = mergeList(key, base, own, infos, key === "ports" ? portKey : pathKey);
        } else if (UNIQUE_KEYS.includes(key)) {
            data[key] = mergeList(key, base, own, infos, (v) => String(v));
        } else if (CONCAT_KEYS.includes(key)) {
            const bl = toList(b);
            const ol = toList(o);
            data[key] = [...bl, ...ol];
            bl.forEach((_, i) => copy(base, `${key}[${i}]`));
            ol.forEach((_, i) => copy(own, `${key}[${i}]`, `${key}[${bl.length + i}]`));
            copy(own, key);
        } else if (key === "build") {
            data[key] = mergeBuild(b, o);
            copy(base, key);
            copy(own, key);
        } else if (DEEP_KEYS.includes(key) && isObj(b) && isObj(o)) {
            data[key] = key === "healthcheck" && o.disable === true ? o : { ...b, ...o };
            copy(base, key);
            copy(own, key);
        } else {
            data[key] = o;
            copy(own, key);
        }
    }
    return { data, infos };
}

/** A map key (env, labels, depends_on) from a list or a map, by name. */
function mergeMap(key: string, base: Resolved, own: Resolved, infos: InfoMap): Obj {
    const out: Obj = {};
    for (const from of [base, own]) {
        const value = from.data[key];
        if (Array.isArray(value)) {
            value.forEach((item, i) => {
                const text = String(item);
                const eq = text.indexOf("=");
                const name = key === "depends_on" ? text : eq < 0 ? text : text.slice(0, eq);
                out[name] =
                    key === "depends_on"
                        ? { condition: "service_started" }
                        : eq < 0
                          ? null
                          : text.slice(eq + 1);
                copyInfos(from.infos, `${key}[${i}]`, infos, `${key}.${name}`);
            });
        } else if (isObj(value)) {
            for (const [name, v] of Object.entries(value)) {
                out[name] = v;
                copyInfos(from.infos, `${key}.${name}`, infos, `${key}.${name}`);
            }
        }
    }
    const line = own.infos.get(key) ?? base.infos.get(key);
    if (line !== undefined) {
        infos.set(key, line);
    }
    return out;
}

/** Lists merged by a key: the base's items, then the extending service's; same key replaces. */
function mergeList(
    key: string,
    base: Resolved,
    own: Resolved,
    infos: InfoMap,
    keyOf: (v: unknown) => string,
): unknown[] {
    const items: { value: unknown; from: Resolved; index: number }[] = [];
    const at = new Map<string, number>();
    for (const from of [base, own]) {
        toList(from.data[key]).forEach((value, index) => {
            const k = keyOf(value);
            const existing = at.get(k);
            if (existing === undefined) {
                at.set(k, items.length);
                items.push({ value, from, index });
            } else {
                items[existing] = { value, from, index };
            }
        });
    }
    items.forEach(({ from, index }, i) =>
        copyInfos(from.infos, `${key}[${index}]`, infos, `${key}[${i}]`),
    );
    const line = own.infos.get(key) ?? base.infos.get(key);
    if (line !== undefined) {
        infos.set(key, line);
    }
    return items.map((i) => i.value);
}

function mergeBuild(b: unknown, o: unknown): Obj {
    const dict = (v: unknown): Obj => (typeof v === "string" ? { context: v } : isObj(v) ? v : {});
    const bb = dict(b);
    const ob = dict(o);
    const out: Obj = { ...bb, ...ob };
    if (bb.args !== undefined || ob.args !== undefined) {
        out.args = { ...argsMap(bb.args), ...argsMap(ob.args) };
    }
    return out;
}

function argsMap(v: unknown): Obj {
    if (Array.isArray(v)) {
        return Object.fromEntries(
            v.map((item) => {
                const text = String(item);
                const eq = text.indexOf("=");
                return eq < 0 ? [text, null] : [text.slice(0, eq), text.slice(eq + 1)];
            }),
        );
    }
    return isObj(v) ? v : {};
}

/** A volume's container path (`src:dst[:mode]` or `{target}`), compose's merge key. */
function pathKey(v: unknown): string {
    if (isObj(v)) {
        return String(v.target);
    }
    const parts = String(v).split(":");
    return parts.length === 1 ? (parts[0] ?? "") : (parts[1] ?? "");
}

function portKey(v: unknown): string {
    return isObj(v) ? JSON.stringify(v) : String(v);
}

/** Copies the infos at `fromPrefix` (and below it) to `toPrefix` (and below it). */
function copyInfos(from: InfoMap, fromPrefix: string, to: InfoMap, toPrefix: string): void {
    for (const [k, v] of from) {
        if (k === fromPrefix || k.startsWith(`${fromPrefix}.`) || k.startsWith(`${fromPrefix}[`)) {
            to.set(toPrefix + k.slice(fromPrefix.length), v);
        }
    }
}

function toList(v: unknown): unknown[] {
    return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

function isObj(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
