/**
 * Compose (interpolated, with its env files) → stack config (`PlainConfigInput` keys, without the
 * `msa:` prefix), the secrets to set with `pulumi config set --secret`, and the findings of the
 * report. Pure: files are read by the caller through `readEnv`.
 */
import * as path from "path";
import { envVarPrefix, looksSecret, RESERVED_ENV } from "../config/env";
import { PROJECT, RESTART_POLICIES, SERVICE_KEY_PATTERN } from "../config/schema";
import type { ComposeFile, Path } from "./compose";
import { pathText } from "./compose";
import type { EnvEntry, EnvFile } from "./envFiles";
import { references } from "./interpolate";
import {
    ImageRef,
    isPostgresImage,
    parseImageRef,
    RegistryImage,
    splitRegistryImage,
} from "./imageRef";
import { Finding, FindingKind, ImportError, Origin, where } from "./report";

/** Where Postgres keeps its data in the official image (and in the stack's DB container). */
export const PGDATA = "/var/lib/postgresql/data";
/** What the import writes where the compose files do not say (namespace, project, user). */
export const PLACEHOLDER = "change-me";

export interface MapInput {
    compose: ComposeFile;
    /** The `.env` compose substitutes from (undefined when there is none). */
    dotenv?: EnvFile;
    /** Reads an `env_file` given as written in the compose file (relative to its folder). */
    readEnv: (file: string) => EnvFile;
    dbService?: string;
    stack: string;
}

export interface SecretValue {
    /** `msa:dbPassword` or `msa:secretEnv.<svc>.<NAME>` (set with `--path`). */
    key: string;
    path: boolean;
    /** Undefined when the compose files do not hold it (the registry password). */
    value?: string;
    /** Where it comes from, for the operator: `DB_PASSWORD, .env.db.postgres:5`. */
    source: string;
}

export interface Mapped {
    /** Stack config keys without the `msa:` prefix, in the order a reader expects them. */
    config: Record<string, unknown>;
    /** Keys written only when the stack file does not set them (placeholders). */
    weak: string[];
    secrets: SecretValue[];
    findings: Finding[];
    mode: "container" | "external";
    dbService?: string;
    services: string[];
}

/** The env names the stack's DB container gets (components/postgresDatabase.ts). */
const DB_CONTAINER_ENV = new Set([
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "DB_NAME",
    "DB_SCHEMA_NAME",
    "PGPORT",
    "PGDATA",
    "TZ",
]);

/** Env names that become stack-wide keys. */
const STACK_ENV: Record<string, string> = {
    DB_NAME: "dbName",
    DB_SCHEMA_NAME: "dbSchema",
    DB_USER: "dbUser",
    TZ: "timezone",
    DB_KIND: "dbKind",
    DB_DIALECT: "dbDialect",
    DB_DRIVER_CLASS_NAME: "dbDriverClassName",
    DB_TYPE: "dbType",
    POSTGRES_DB: "dbName",
    POSTGRES_USER: "dbUser",
};
const PASSWORD_ENV = new Set(["DB_PASSWORD", "POSTGRES_PASSWORD"]);

const SERVICE_KEYS = new Set([
    "image",
    "container_name",
    "restart",
    "ports",
    "environment",
    "env_file",
    "depends_on",
    "command",
    "mem_limit",
]);
const DB_KEYS = new Set([...SERVICE_KEYS, "healthcheck", "volumes"]);

type Obj = Record<string, unknown>;

/** Fields of an imported service in the order the stack files use. */
const SERVICE_FIELD_ORDER = [
    "image",
    "__registry",
    "tag",
    "nodeName",
    "containerName",
    "memoryMb",
    "ports",
    "env",
    "restart",
    "command",
];

interface StackValue {
    value: unknown;
    what: string;
    origin: Origin;
}

export function mapCompose(input: MapInput): Mapped {
    return new Mapper(input).run();
}

class Mapper {
    private readonly compose: ComposeFile;
    private readonly findings: Finding[] = [];
    private readonly stackValues = new Map<string, StackValue>();
    private readonly secrets: (SecretValue & { origin?: Origin; name?: string })[] = [];
    private readonly services: Record<string, Obj>;
    private readonly envCache = new Map<string, EnvFile>();
    private readonly registries: { reg: RegistryImage; key: string }[] = [];
    private readonly weak: string[] = [];
    /** Servers of image references that are otherwise unusable (the legacy placeholders). */
    private readonly looseServers: string[] = [];
    /** Each service's env, read once (reading reports shell-only values). */
    private readonly envs = new Map<string, Map<string, EnvEntry>>();
    /** `.env` variables a secret-named env value expands from: values using them are secret. */
    private readonly secretVars = new Set<string>();
    /** Secret values, to catch a plain value that embeds one (`DATABASE_URL=…:${PG_PASS}@…`). */
    private readonly secretValues = new Set<string>();
    private dbKey?: string;

    constructor(private readonly input: MapInput) {
        this.compose = input.compose;
        this.services = {};
        for (const [key, svc] of Object.entries(asObj(this.compose.data.services))) {
            if (!isObj(svc)) {
                throw new ImportError(
                    `${this.at(["services", key])}: service ${key} must be a map of settings`,
                );
            }
            this.services[key] = svc;
        }
    }

    run(): Mapped {
        this.dbKey = this.findDatabase();
        for (const key of Object.keys(this.services)) {
            if (key !== this.dbKey && !SERVICE_KEY_PATTERN.test(key)) {
                throw new ImportError(
                    `${this.at(["services", key])}: service name ${JSON.stringify(key)} cannot be a stack service key (it is also the network alias): it must start with a letter and hold only letters, digits, _ and - (at most 63); rename it in ${this.compose.label}`,
                );
            }
        }
        this.topLevel();
        this.collectSecrets();
        const db = this.dbKey === undefined ? undefined : this.mapDatabase(this.dbKey);
        const services: Obj = {};
        for (const key of Object.keys(this.services)) {
            if (key !== this.dbKey) {
                services[key] = this.mapService(key);
            }
        }
        const registry = this.chooseRegistry(services);
        const mode = this.dbKey === undefined ? "external" : "container";
        if (mode === "external") {
            this.externalDb();
        }
        const config: Obj = {
            ...registry,
            dbMode: mode,
            ...this.pick("dbHost"),
            ...(db ?? {}),
            ...this.pick("dbPort"),
            ...this.pick("dbHostPort"),
            ...(mode === "container" ? { dbBindAddress: "127.0.0.1" } : {}),
            ...this.pick(
                "dbName",
                "dbSchema",
                "dbUser",
                "timezone",
                "dbKind",
                "dbDialect",
                "dbDriverClassName",
                "dbType",
                "dbImageName",
                "dbImageTag",
                "dbBaseImage",
                "dbMemoryMb",
                "dbHealthcheck",
            ),
            services,
        };
        if (config.dbName === undefined) {
            config.dbName = "postgres";
            this.finding(
                "changed",
                { file: this.compose.label },
                "msa:dbName",
                "no DB_NAME or POSTGRES_DB in the compose files; set to postgres, the database Postgres creates by default",
            );
        }
        if (this.dbKey !== undefined) {
            this.healthcheckTest(this.dbKey, config);
        }
        this.secrets.push({
            key: `${PROJECT}:registryPassword`,
            path: false,
            source: "registry password or GitLab deploy token; not in the compose files",
        });
        return {
            config,
            weak: this.weak,
            secrets: this.secrets.map(({ key, path: p, value, source }) => ({
                key,
                path: p,
                value,
                source,
            })),
            findings: this.findings,
            mode,
            dbService: this.dbKey,
            services: Object.keys(services),
        };
    }

    // ---- database ---------------------------------------------------------------------------

    private findDatabase(): string | undefined {
        const wanted = this.input.dbService;
        if (wanted !== undefined) {
            if (!(wanted in this.services)) {
                throw new ImportError(
                    `--db-service ${JSON.stringify(wanted)} is not a service in ${this.compose.label}; services: ${Object.keys(this.services).join(", ")}`,
                );
            }
            return wanted;
        }
        const candidates = Object.entries(this.services).flatMap(([key, svc]) => {
            const why = mountsPgData(svc)
                ? `mounts ${PGDATA}`
                : typeof svc.image === "string" && isPostgresImage(svc.image)
                  ? `runs ${svc.image}`
                  : undefined;
            return why === undefined ? [] : [{ key, why }];
        });
        if (candidates.length > 1) {
            const list = candidates
                .map(
                    (c) =>
                        `${JSON.stringify(c.key)} (line ${this.compose.lineOf(["services", c.key]) ?? "?"}, ${c.why})`,
                )
                .join(" and ");
            throw new ImportError(
                `${this.compose.label} has ${candidates.length} database candidates: ${list}; name the one to import with --db-service`,
            );
        }
        return candidates[0]?.key;
    }

    private mapDatabase(key: string): Obj {
        const svc = this.services[key] ?? {};
        const base: Path = ["services", key];
        const out: Obj = {};
        this.unknownKeys(key, svc, DB_KEYS);
        if (typeof svc.container_name === "string") {
            out.dbContainerName = svc.container_name;
        }
        this.dbImage(key, svc);
        this.dbPorts(key, svc);
        const volume = this.dbVolume(key, svc);
        if (volume !== undefined) {
            out.dbVolumeName = volume;
        }
        const restart = svc.restart ?? "no";
        if (restart !== "unless-stopped") {
            this.finding(
                "changed",
                this.origin([...base, "restart"], base),
                `${pathText(base)}.restart`,
                `compose restarts the database ${restart === "no" ? "never" : `"${String(restart)}"`}; the stack's DB container restarts unless-stopped`,
            );
        }
        this.dbHealthcheck(key, svc);
        const env = this.envOf(key);
        const dropped: EnvEntry[] = [];
        for (const entry of env.values()) {
            if (PASSWORD_ENV.has(entry.name)) {
                this.setPassword(entry);
            } else if (entry.name in STACK_ENV) {
                this.setStack(STACK_ENV[entry.name] ?? "", entry.value, entry, entry.name);
            } else if (entry.name === "PGDATA" && entry.value === PGDATA) {
                continue;
            } else if (!RESERVED_ENV.includes(entry.name)) {
                this.finding(
                    "unmapped",
                    entry,
                    `${pathText(base)} env ${entry.name}`,
                    `${shown(entry)} is not set on the stack's DB container (it sets only ${[...DB_CONTAINER_ENV].join(", ")})`,
                );
                continue;
            }
            if (!DB_CONTAINER_ENV.has(entry.name)) {
                dropped.push(entry);
            }
        }
        if (dropped.length > 0) {
            const files = [...new Set(dropped.map((e) => e.file))].join(", ");
            this.finding(
                "changed",
                this.origin([...base, "env_file"], base),
                `${pathText(base)} env`,
                `the DB container no longer gets ${dropped.map((e) => e.name).join(", ")} (from ${files}; Postgres does not read them): they live on as msa:dbUser, msa:dbPassword, msa:dbKind, … and reach the services`,
            );
        }
        if (svc.depends_on !== undefined) {
            this.finding(
                "unmapped",
                this.origin([...base, "depends_on"]),
                `${pathText(base)}.depends_on`,
                "the database starts first in the stack; its depends_on is dropped",
            );
        }
        if (svc.command !== undefined) {
            this.finding(
                "unmapped",
                this.origin([...base, "command"]),
                `${pathText(base)}.command`,
                "the stack runs the DB image's own command",
            );
        }
        const mem = svc.mem_limit === undefined ? undefined : memoryMb(svc.mem_limit);
        if (mem !== undefined) {
            this.setStack("dbMemoryMb", mem, this.origin([...base, "mem_limit"]));
        } else if (svc.mem_limit !== undefined) {
            this.finding(
                "unmapped",
                this.origin([...base, "mem_limit"]),
                `${pathText(base)}.mem_limit`,
                `${JSON.stringify(svc.mem_limit)} is not a memory size like 512m or 1g`,
            );
        }
        if (!this.stackValues.has("dbHost")) {
            // Services that do not name the database reach it by its service name, as in compose.
            this.stackValues.set("dbHost", {
                value: key,
                what: "service name",
                origin: this.origin(base),
            });
        }
        return out;
    }

    private dbImage(key: string, svc: Obj): void {
        const at: Path = ["services", key, "image"];
        if (typeof svc.image !== "string") {
            this.finding(
                "note",
                this.origin(at, ["services", key]),
                `services.${key}`,
                "no image: the stack builds its DB image from docker/db",
            );
            return;
        }
        const parsed = parseImageRef(svc.image);
        const origin = this.origin(at);
        if (parsed.ok && isPostgresImage(svc.image) && parsed.ref.server === undefined) {
            this.setStack("dbBaseImage", svc.image, origin);
            this.finding(
                "changed",
                origin,
                pathText(at),
                `the stack builds its DB image from docker/db on top of ${svc.image} (msa:dbBaseImage) and pushes it to msa:registryServer as msa:dbImageName:msa:dbImageTag`,
            );
            return;
        }
        const tag = parsed.ok ? parsed.ref.tag : parsed.loose.tag;
        if (tag !== undefined) {
            this.setStack("dbImageTag", tag, origin);
            if (tag === "latest") {
                this.finding(
                    "latest",
                    origin,
                    pathText(at),
                    `${svc.image} → msa:dbImageTag latest; the pipeline sets the commit id, pin one for prod`,
                );
            }
        }
        const reg = parsed.ok ? splitRegistryImage(parsed.ref) : undefined;
        if (reg !== undefined) {
            this.setStack("dbImageName", reg.image, origin);
            this.registries.push({ reg, key });
            this.finding(
                "note",
                origin,
                pathText(at),
                `the stack builds this image from docker/db (the legacy db/Dockerfile) and pushes it as <server>/<namespace>/<project>/${reg.image}:${tag ?? "latest"}`,
            );
        } else {
            this.finding(
                "action",
                origin,
                pathText(at),
                `${JSON.stringify(svc.image)} is not an image reference of the form <registry>/<namespace>/<project>/<image>${parsed.ok ? "" : ` (${parsed.reason})`}; the stack builds the DB image from docker/db and pushes it as <msa:registryServer>/<msa:registryNamespace>/<msa:registryProject>/db (msa:dbImageName)`,
            );
        }
    }

    private dbPorts(key: string, svc: Obj): void {
        const base: Path = ["services", key, "ports"];
        const ports = this.ports(key, svc);
        const [first, ...rest] = ports;
        if (first === undefined) {
            this.finding(
                "changed",
                this.origin(["services", key]),
                `services.${key}.ports`,
                `compose does not publish the database; the stack publishes msa:dbPort on 127.0.0.1 only`,
            );
            return;
        }
        this.setStack("dbPort", first.container, first.origin);
        if (first.host !== undefined) {
            this.setStack("dbHostPort", first.host, first.origin);
        }
        const bind = first.bindAddress;
        if (bind !== "127.0.0.1") {
            this.finding(
                "changed",
                first.origin,
                `${pathText([...base, 0])} ${JSON.stringify(first.raw)}`,
                `the DB port ${first.host ?? first.container} is published on 127.0.0.1 (msa:dbBindAddress) instead of ${bind === "0.0.0.0" ? "every interface" : bind}; set msa:dbBindAddress if other hosts must reach it`,
            );
        }
        for (const p of rest) {
            this.finding(
                "unmapped",
                p.origin,
                `${pathText(base)} ${JSON.stringify(p.raw)}`,
                "the stack publishes one DB port",
            );
        }
    }

    private dbVolume(key: string, svc: Obj): string | undefined {
        const volumes = Array.isArray(svc.volumes) ? svc.volumes : [];
        let name: string | undefined;
        volumes.forEach((v, i) => {
            const at: Path = ["services", key, "volumes", i];
            const mount = parseMount(v);
            if (
                mount?.target === PGDATA &&
                mount.source !== undefined &&
                !isHostPath(mount.source)
            ) {
                const decl = asObj(asObj(this.compose.data.volumes)[mount.source]);
                name = typeof decl.name === "string" ? decl.name : mount.source;
                const driver = decl.driver ?? "local";
                if (
                    driver !== "local" ||
                    decl.driver_opts !== undefined ||
                    decl.external !== undefined
                ) {
                    this.finding(
                        "unmapped",
                        this.origin(["volumes", mount.source]),
                        `volumes.${mount.source}`,
                        "the stack creates a local volume; driver, driver_opts and external are not carried over",
                    );
                }
                if (typeof decl.name !== "string") {
                    this.finding(
                        "note",
                        this.origin(at),
                        pathText(at),
                        `compose stores this volume as <project>_${mount.source} (the project defaults to the folder name); msa:dbVolumeName is ${mount.source}: to keep existing data, set msa:dbVolumeName to the volume \`docker volume ls\` shows`,
                    );
                }
            } else {
                this.finding(
                    "unmapped",
                    this.origin(at),
                    pathText(at),
                    mount?.target === PGDATA
                        ? `the data lives in the host folder ${mount.source ?? "?"}; the stack keeps it in a named volume (msa:dbVolumeName)`
                        : `${JSON.stringify(v)}: the stack mounts only the data volume`,
                );
            }
        });
        return name;
    }

    private dbHealthcheck(key: string, svc: Obj): void {
        const base: Path = ["services", key, "healthcheck"];
        if (svc.healthcheck === undefined) {
            this.finding(
                "changed",
                this.origin(["services", key]),
                `services.${key}`,
                "compose has no DB healthcheck; the stack's DB container has one (msa:dbHealthcheck) and services start once it passes",
            );
            return;
        }
        const hc = asObj(svc.healthcheck);
        const out: Obj = {};
        for (const [from, to] of [
            ["interval", "interval"],
            ["timeout", "timeout"],
            ["start_period", "startPeriod"],
        ] as const) {
            const v = hc[from];
            if (v === undefined) {
                continue;
            }
            if (typeof v === "string" && /^([0-9]+(ms|s|m|h))+$/.test(v)) {
                out[to] = v;
            } else {
                this.finding(
                    "unmapped",
                    this.origin([...base, from]),
                    pathText([...base, from]),
                    `${JSON.stringify(v)} is not a duration like 1s, 500ms or 1m30s`,
                );
            }
        }
        if (typeof hc.retries === "number" && Number.isInteger(hc.retries)) {
            out.retries = hc.retries;
        } else if (hc.retries !== undefined) {
            this.finding(
                "unmapped",
                this.origin([...base, "retries"]),
                pathText([...base, "retries"]),
                `${JSON.stringify(hc.retries)} is not a whole number`,
            );
        }
        if (hc.disable === true) {
            this.finding(
                "changed",
                this.origin([...base, "disable"]),
                pathText([...base, "disable"]),
                "the stack's DB container always has a healthcheck",
            );
        }
        if (Object.keys(out).length > 0) {
            this.setStack("dbHealthcheck", out, this.origin(base));
        }
    }

    /** Reported once dbUser/dbName are known: ours checks over TCP, on purpose. */
    private healthcheckTest(key: string, config: Obj): void {
        const at: Path = ["services", key, "healthcheck", "test"];
        const test = asObj(this.services[key]?.healthcheck).test;
        if (test === undefined) {
            return;
        }
        const theirs = Array.isArray(test)
            ? test[0] === "CMD-SHELL"
                ? String(test[1] ?? "")
                : test
                      .slice(test[0] === "CMD" ? 1 : 0)
                      .map(String)
                      .join(" ")
            : String(test);
        const port = typeof config.dbPort === "number" ? config.dbPort : 5432;
        const user = typeof config.dbUser === "string" ? config.dbUser : "postgres";
        const ours = `pg_isready -h 127.0.0.1 -p ${port} -U ${user} -d ${String(config.dbName)}`;
        this.finding(
            "changed",
            this.origin(at),
            pathText(at),
            `compose runs "${theirs}"; the stack runs "${ours}": over TCP, because during first-start init Postgres listens on its socket only, so the socket check passes before the database and schema exist`,
        );
    }

    private externalDb(): void {
        const host = this.stackValues.get("dbHost") as
            (StackValue & { origin: Partial<EnvEntry> }) | undefined;
        if (host === undefined) {
            throw new ImportError(
                `${this.compose.label} has no database service (none mounts ${PGDATA} or runs a postgres image) and no service sets DB_HOST: cannot tell where the external database is; set DB_HOST on a service, or name the database service with --db-service`,
            );
        }
        const value = String(host.value);
        if (unreachableFromContainer(value)) {
            this.finding(
                "action",
                host.origin,
                "msa:dbHost",
                `DB_HOST=${value}${host.origin.via === undefined ? "" : ` (${host.origin.via})`} is not an address a container can reach a database at (${value === "0.0.0.0" ? "0.0.0.0 means every interface to a server, no host to a client" : "inside a container it is the container itself"}); msa:dbHost is ${value} so the stack validates, but set the database server's address before pulumi up: pulumi config set --stack ${this.input.stack} ${PROJECT}:dbHost <db-host>`,
            );
        }
    }

    // ---- services ---------------------------------------------------------------------------

    private mapService(key: string): Obj {
        const svc = this.services[key] ?? {};
        const base: Path = ["services", key];
        this.unknownKeys(key, svc, SERVICE_KEYS);
        const image = this.serviceImage(key, svc);
        const out: Obj = { ...image };
        if (typeof svc.container_name === "string") {
            out.containerName = svc.container_name;
        }
        const ports = this.ports(key, svc).map(({ container, host, bindAddress, protocol }) => ({
            container,
            ...(host === undefined ? {} : { host, bindAddress }),
            ...(protocol === "udp" ? { protocol } : {}),
        }));
        if (ports.length > 0) {
            out.ports = ports;
        }
        const env: Obj = {};
        const present = new Set<string>();
        for (const entry of this.envOf(key).values()) {
            present.add(entry.name);
            this.serviceEnvEntry(key, entry, out, env);
        }
        if (Object.keys(env).length > 0) {
            out.env = env;
        }
        const added = RESERVED_ENV.filter((n) => !present.has(n));
        if (added.length > 0) {
            this.finding(
                "changed",
                this.origin(base),
                pathText(base),
                `the stack also sets ${added.join(", ")} on this service (every service gets the database settings and NODENAME)`,
            );
        }
        out.restart = this.restart(key, svc);
        this.dependsOn(key, svc);
        const command = this.command(key, svc);
        if (command !== undefined) {
            out.command = command;
        }
        if (svc.mem_limit !== undefined) {
            const mem = memoryMb(svc.mem_limit);
            if (mem !== undefined) {
                out.memoryMb = mem;
            } else {
                this.finding(
                    "unmapped",
                    this.origin([...base, "mem_limit"]),
                    `${pathText(base)}.mem_limit`,
                    `${JSON.stringify(svc.mem_limit)} is not a memory size like 512m or 1g`,
                );
            }
        }
        return Object.fromEntries(
            SERVICE_FIELD_ORDER.filter((k) => k in out).map((k) => [k, out[k]]),
        );
    }

    private serviceImage(key: string, svc: Obj): Obj {
        const at: Path = ["services", key, "image"];
        const origin = this.origin(at, ["services", key]);
        const slug = imageSlug(key);
        if (typeof svc.image !== "string") {
            this.finding(
                "action",
                origin,
                `services.${key}`,
                `has no image (compose builds it); the stack pulls images: push it to the registry and set msa:services.${key}.image (placeholder ${slug})`,
            );
            return { image: slug, tag: "latest" };
        }
        const parsed = parseImageRef(svc.image);
        const tag = (parsed.ok ? parsed.ref.tag : parsed.loose.tag) ?? "latest";
        if (tag === "latest") {
            this.finding(
                "latest",
                origin,
                pathText(at),
                `${svc.image}${parsed.ok && parsed.ref.defaultTag ? " (no tag: latest)" : ""} → msa:services.${key}.tag latest; pin a version`,
            );
        }
        if (parsed.ok && parsed.ref.digest !== undefined) {
            this.finding(
                "changed",
                origin,
                pathText(at),
                `the digest is dropped: the stack resolves ${tag} and pins the digest itself`,
            );
        }
        const reg = parsed.ok ? splitRegistryImage(parsed.ref) : undefined;
        if (reg !== undefined) {
            this.registries.push({ reg, key });
            return { image: reg.image, tag, __registry: reg };
        }
        const placeholder = parsed.ok ? (hubImage(parsed.ref) ?? slug) : slug;
        this.finding(
            "action",
            origin,
            pathText(at),
            parsed.ok
                ? `${JSON.stringify(svc.image)} is not in a <registry>/<namespace>/<project>/<image> registry; the stack pulls every service from msa:registryServer: mirror it there and check msa:services.${key}.image (now ${placeholder})`
                : `${JSON.stringify(svc.image)} is not a valid image reference (${parsed.reason}); wrote the placeholder image ${placeholder}:${tag}: set msa:services.${key}.image (and msa:registryNamespace/msa:registryProject) to the real one`,
        );
        if (!parsed.ok && parsed.loose.server !== undefined) {
            this.looseServers.push(parsed.loose.server);
        }
        return { image: placeholder, tag };
    }

    private serviceEnvEntry(key: string, entry: EnvEntry, out: Obj, env: Obj): void {
        const at = `services.${key} env ${entry.name}`;
        if (entry.name === "NODENAME") {
            out.nodeName = entry.value;
        } else if (entry.name === "DB_PASSWORD") {
            this.setPassword(entry);
        } else if (entry.name === "DB_HOST") {
            this.dbHostOf(key, entry);
        } else if (entry.name === "DB_PORT") {
            const port = Number(entry.value);
            if (this.dbKey === undefined) {
                this.setStack(
                    "dbPort",
                    Number.isInteger(port) ? port : entry.value,
                    entry,
                    "DB_PORT",
                );
            } else if (port !== this.stackValues.get("dbPort")?.value) {
                this.finding(
                    "changed",
                    entry,
                    at,
                    `DB_PORT=${entry.value}, but the database listens on ${String(this.stackValues.get("dbPort")?.value ?? 5432)} (msa:dbPort); the stack sets that`,
                );
            }
        } else if (entry.name in STACK_ENV && RESERVED_ENV.includes(entry.name)) {
            this.setStack(STACK_ENV[entry.name] ?? "", entry.value, entry, entry.name);
        } else if (entry.secret) {
            this.secrets.push({
                key: `${PROJECT}:secretEnv.${key}.${entry.name}`,
                path: true,
                value: entry.value,
                source: secretSource(entry),
            });
        } else {
            env[entry.name] = entry.value;
            this.hostAddress(key, entry);
        }
    }

    /** `SERVICE_B_IP`: another service's address on the host; a link would replace it. */
    private hostAddress(key: string, entry: EnvEntry): void {
        for (const other of Object.keys(this.services)) {
            if (other === key || other === this.dbKey) {
                continue;
            }
            const prefix = envVarPrefix(other);
            const byName = new RegExp(`(^|[^A-Za-z0-9_-])${other}([^A-Za-z0-9_-]|$)`).test(
                entry.value,
            );
            if (new RegExp(`^${prefix}_(IP|HOST|ADDR|ADDRESS|URL)$`).test(entry.name) && !byName) {
                const loopback = unreachableFromContainer(entry.value)
                    ? ` (${entry.value} does not reach another container anyway)`
                    : "";
                this.finding(
                    "note",
                    entry,
                    `services.${key} env ${entry.name}`,
                    `kept as is: ${entry.name}=${entry.value} addresses ${other} through a port published on the Docker host${loopback}. A links entry would replace it: add ${other} to msa:services.${key}.links and the service gets ${prefix}_HOST=${other}, ${prefix}_PORT and ${prefix}_URL on the stack's network`,
                );
                return;
            }
        }
    }

    private dbHostOf(key: string, entry: EnvEntry): void {
        if (this.dbKey === undefined) {
            this.setStack("dbHost", entry.value, entry, "DB_HOST");
            return;
        }
        const dbName = this.services[this.dbKey]?.container_name;
        if (entry.value === this.dbKey || entry.value === dbName) {
            const prev = this.stackValues.get("dbHost");
            if (prev === undefined || prev.what === "service name") {
                this.stackValues.set("dbHost", {
                    value: entry.value,
                    what: "DB_HOST",
                    origin: entry,
                });
            } else {
                this.setStack("dbHost", entry.value, entry, "DB_HOST");
            }
        } else {
            this.finding(
                "changed",
                entry,
                `services.${key} env DB_HOST`,
                `DB_HOST=${entry.value} names neither the database service ${this.dbKey} nor its container; the stack sets DB_HOST to msa:dbHost, the database's network alias`,
            );
        }
    }

    private restart(key: string, svc: Obj): string {
        const at: Path = ["services", key, "restart"];
        const value = svc.restart;
        if (value === undefined) {
            return "no";
        }
        const text = String(value);
        const [policy = "", retries] = text.split(":");
        if (!(RESTART_POLICIES as readonly string[]).includes(policy)) {
            this.finding(
                "unmapped",
                this.origin(at),
                pathText(at),
                `${JSON.stringify(text)} is not one of ${RESTART_POLICIES.join(", ")}; the stack uses no`,
            );
            return "no";
        }
        if (retries !== undefined) {
            this.finding(
                "unmapped",
                this.origin(at),
                pathText(at),
                `the retry count ${retries} is dropped: the stack restarts on-failure without a limit`,
            );
        }
        return policy;
    }

    private dependsOn(key: string, svc: Obj): void {
        const at: Path = ["services", key, "depends_on"];
        const deps: Record<string, string> = Array.isArray(svc.depends_on)
            ? Object.fromEntries(svc.depends_on.map((d) => [String(d), "service_started"]))
            : Object.fromEntries(
                  Object.entries(asObj(svc.depends_on)).map(([d, v]) => [
                      d,
                      String(asObj(v).condition ?? "service_started"),
                  ]),
              );
        if (this.dbKey !== undefined) {
            const cond = deps[this.dbKey];
            if (cond !== "service_healthy") {
                this.finding(
                    "changed",
                    this.origin(cond === undefined ? ["services", key] : at),
                    cond === undefined ? `services.${key}` : pathText(at),
                    `the stack starts every service once the database is healthy${cond === undefined ? " (compose did not wait for it)" : ` (compose waited for ${cond})`}`,
                );
            }
        }
        for (const dep of Object.keys(deps)) {
            if (dep !== this.dbKey) {
                this.finding(
                    "unmapped",
                    this.origin([...at, dep], at),
                    `${pathText(at)}.${dep}`,
                    `the stack does not order services among themselves; ${key} may start before ${dep}`,
                );
            }
        }
    }

    private command(key: string, svc: Obj): string[] | undefined {
        const at: Path = ["services", key, "command"];
        if (svc.command === undefined) {
            return undefined;
        }
        if (Array.isArray(svc.command)) {
            return svc.command.map(String);
        }
        const text = String(svc.command);
        if (/["'\\$`]/.test(text)) {
            this.finding(
                "unmapped",
                this.origin(at),
                pathText(at),
                "a command string with quotes or escapes; write it as a list in msa:services." +
                    key +
                    ".command",
            );
            return undefined;
        }
        return text.split(/\s+/).filter((s) => s !== "");
    }

    // ---- shared -----------------------------------------------------------------------------

    /**
     * Secrets by name, by what they expand from, and by value: a variable that a secret-named
     * value expands from (`POSTGRES_PASSWORD: ${PG_PASS}`) makes every value using it secret.
     */
    private collectSecrets(): void {
        for (const e of this.input.dotenv?.entries ?? []) {
            if (e.secret) {
                this.secretVars.add(e.name);
            }
        }
        for (const [key, svc] of Object.entries(this.services)) {
            const env = svc.environment;
            const items: [string, Path][] = Array.isArray(env)
                ? env.map((item, i) => [
                      String(item).split("=")[0] ?? "",
                      ["services", key, "environment", i],
                  ])
                : Object.keys(asObj(env)).map((name) => [
                      name,
                      ["services", key, "environment", name],
                  ]);
            for (const [name, p] of items) {
                if (looksSecret(name)) {
                    references(this.compose.rawOf(p) ?? "").forEach((r) => this.secretVars.add(r));
                }
            }
        }
        for (const key of Object.keys(this.services)) {
            this.envs.set(key, this.serviceEnv(key, this.services[key] ?? {}));
        }
        for (const env of this.envs.values()) {
            for (const e of env.values()) {
                if (e.secret && e.value.length >= 3) {
                    this.secretValues.add(e.value);
                }
            }
        }
        for (const e of this.input.dotenv?.entries ?? []) {
            if (this.secretVars.has(e.name) && e.value.length >= 3) {
                this.secretValues.add(e.value);
            }
        }
        for (const env of this.envs.values()) {
            for (const e of env.values()) {
                if (!e.secret && [...this.secretValues].some((v) => e.value.includes(v))) {
                    e.secret = true;
                }
            }
        }
    }

    private envOf(key: string): Map<string, EnvEntry> {
        return this.envs.get(key) ?? new Map();
    }

    /** The env a compose service gets: its env_files in order, then `environment:`. */
    private serviceEnv(key: string, svc: Obj): Map<string, EnvEntry> {
        const env = new Map<string, EnvEntry>();
        const files =
            svc.env_file === undefined
                ? []
                : Array.isArray(svc.env_file)
                  ? svc.env_file
                  : [svc.env_file];
        files.forEach((f) => {
            const file = isObj(f) ? String(f.path) : String(f);
            let parsed = this.envCache.get(file);
            if (parsed === undefined) {
                parsed = this.input.readEnv(file);
                this.envCache.set(file, parsed);
            }
            for (const e of parsed.entries) {
                env.set(e.name, e);
            }
        });
        const base: Path = ["services", key, "environment"];
        const dotenvSecret = new Set(
            (this.input.dotenv?.entries ?? []).filter((e) => e.secret).map((e) => e.name),
        );
        const add = (name: string, value: unknown, p: Path) => {
            if (value === null || value === undefined) {
                this.finding(
                    "unmapped",
                    this.origin(p),
                    `${pathText(base)}.${name}`,
                    "takes its value from the shell that runs compose; set it in msa:services." +
                        key +
                        ".env",
                );
                return;
            }
            const raw = this.compose.rawOf(p) ?? "";
            const refs = references(raw);
            const from = refs.filter(
                (r) => dotenvSecret.has(r) || this.secretVars.has(r) || looksSecret(r),
            );
            const via = refs
                .flatMap((r) => {
                    const e = this.input.dotenv?.entries.find((x) => x.name === r);
                    return e === undefined ? [] : [`${r} from ${where(e)}`];
                })
                .join(", ");
            env.set(name, {
                name,
                value: String(value),
                file: this.compose.label,
                line: this.compose.lineOf(p),
                secret: looksSecret(name) || from.length > 0,
                expandsFrom: from,
                via: via === "" ? undefined : via,
            });
        };
        if (Array.isArray(svc.environment)) {
            svc.environment.forEach((item, i) => {
                const text = String(item);
                const eq = text.indexOf("=");
                add(eq < 0 ? text : text.slice(0, eq), eq < 0 ? null : text.slice(eq + 1), [
                    ...base,
                    i,
                ]);
            });
        } else {
            for (const [name, value] of Object.entries(asObj(svc.environment))) {
                add(name, value, [...base, name]);
            }
        }
        return env;
    }

    private ports(key: string, svc: Obj): PortSpec[] {
        const list = Array.isArray(svc.ports) ? svc.ports : [];
        return list.flatMap((p, i) => {
            const at: Path = ["services", key, "ports", i];
            const raw =
                this.compose.rawOf(at) ?? (typeof p === "object" ? JSON.stringify(p) : String(p));
            const parsed = parsePort(p);
            if (typeof parsed === "string") {
                this.finding(
                    "unmapped",
                    this.origin(at),
                    `${pathText(at)} ${JSON.stringify(raw)}`,
                    parsed,
                );
                return [];
            }
            const specs = parsed.map((s) => ({ ...s, raw, origin: this.origin(at) }));
            if (key !== this.dbKey) {
                for (const s of specs.filter((x) => x.host === undefined)) {
                    this.finding(
                        "changed",
                        s.origin,
                        `${pathText(at)} ${JSON.stringify(raw)}`,
                        `compose publishes container port ${s.container} on a random host port; the stack does not publish it (reachable on the stack's network only): set a host port if needed`,
                    );
                }
            }
            return specs;
        });
    }

    private setPassword(entry: EnvEntry): void {
        const key = `${PROJECT}:dbPassword`;
        const prev = this.secrets.find((s) => s.key === key);
        if (prev === undefined) {
            this.secrets.push({
                key,
                path: false,
                value: entry.value,
                source: secretSource(entry),
                origin: entry,
                name: entry.name,
            });
        } else if (prev.value !== entry.value) {
            this.finding(
                "action",
                entry,
                entry.name,
                `differs from ${prev.name ?? "the DB password"} (${prev.origin === undefined ? "" : where(prev.origin)}); the stack has one password, msa:dbPassword: the import takes the first, check which one is right`,
            );
        }
    }

    private setStack(key: string, value: unknown, origin: Origin, what = key): void {
        const prev = this.stackValues.get(key);
        if (prev === undefined || prev.what === "service name") {
            this.stackValues.set(key, { value, what, origin });
        } else if (JSON.stringify(prev.value) !== JSON.stringify(value)) {
            this.finding(
                "changed",
                origin,
                what,
                `${what}=${JSON.stringify(value)} differs from ${prev.what}=${JSON.stringify(prev.value)} (${where(prev.origin)}); the stack has one msa:${key} for all services: ${JSON.stringify(prev.value)}`,
            );
        }
    }

    private pick(...keys: string[]): Obj {
        const out: Obj = {};
        for (const k of keys) {
            const v = this.stackValues.get(k);
            if (v !== undefined) {
                out[k] = v.value;
            }
        }
        return out;
    }

    /** registryServer/Namespace/Project: the most common among the images; overrides per service. */
    private chooseRegistry(services: Obj): Obj {
        const counts = new Map<string, { reg: RegistryImage; n: number }>();
        for (const { reg } of this.registries) {
            const id = `${reg.server}/${reg.namespace}/${reg.project}`;
            const c = counts.get(id) ?? { reg, n: 0 };
            c.n++;
            counts.set(id, c);
        }
        const best = [...counts.values()].sort((a, b) => b.n - a.n)[0]?.reg;
        for (const [key, svc] of Object.entries(services)) {
            const s = svc as Obj;
            const reg = s.__registry as RegistryImage | undefined;
            delete s.__registry;
            if (reg === undefined || best === undefined) {
                continue;
            }
            const at: Path = ["services", key, "image"];
            if (reg.server !== best.server) {
                this.finding(
                    "action",
                    this.origin(at),
                    pathText(at),
                    `is on ${reg.server}, but the stack pulls every image from one registry, msa:registryServer ${best.server}: mirror it there`,
                );
            }
            const ordered: Obj = { image: s.image };
            if (reg.namespace !== best.namespace) {
                ordered.namespace = reg.namespace;
            }
            if (reg.project !== best.project) {
                ordered.project = reg.project;
            }
            for (const [k, v] of Object.entries(s)) {
                if (!(k in ordered)) {
                    ordered[k] = v;
                }
            }
            services[key] = ordered;
        }
        const db = this.registries.find((r) => r.key === this.dbKey)?.reg;
        if (
            db !== undefined &&
            best !== undefined &&
            (db.namespace !== best.namespace || db.project !== best.project)
        ) {
            this.finding(
                "changed",
                this.origin(["services", this.dbKey ?? "", "image"]),
                `services.${this.dbKey ?? ""}.image`,
                `the DB image moves to ${best.namespace}/${best.project} (the stack pushes it under msa:registryNamespace/msa:registryProject)`,
            );
        }
        if (best !== undefined) {
            return {
                registryServer: best.server,
                registryNamespace: best.namespace,
                registryProject: best.project,
                registryUsername: this.weakKey("registryUsername"),
            };
        }
        const server = this.looseServers[0];
        this.finding(
            "action",
            { file: this.compose.label },
            "msa:registryNamespace, msa:registryProject",
            `no image reference names a namespace and project; the import writes ${PLACEHOLDER} for them unless the stack file already sets them: pulumi config set --stack ${this.input.stack} ${PROJECT}:registryNamespace <group>; pulumi config set --stack ${this.input.stack} ${PROJECT}:registryProject <project>`,
        );
        return {
            ...(server === undefined ? {} : { registryServer: server }),
            registryNamespace: this.weakKey("registryNamespace"),
            registryProject: this.weakKey("registryProject"),
            registryUsername: this.weakKey("registryUsername"),
        };
    }

    private weakKey(key: string): string {
        this.weak.push(key);
        if (key === "registryUsername") {
            this.finding(
                "action",
                { file: this.compose.label },
                "msa:registryUsername",
                `the compose files hold no registry login; the import writes ${PLACEHOLDER} unless the stack file already sets it: pulumi config set --stack ${this.input.stack} ${PROJECT}:registryUsername <deploy-token user>`,
            );
        }
        return PLACEHOLDER;
    }

    private topLevel(): void {
        for (const key of Object.keys(this.compose.data)) {
            if (key === "services" || key === "version" || key === "name" || key.startsWith("x-")) {
                continue;
            }
            if (key === "volumes") {
                for (const v of Object.keys(asObj(this.compose.data.volumes))) {
                    if (!this.dbVolumeNames().includes(v)) {
                        this.finding(
                            "unmapped",
                            this.origin(["volumes", v]),
                            `volumes.${v}`,
                            "only the database's data volume is carried over",
                        );
                    }
                }
                continue;
            }
            this.finding(
                "unmapped",
                this.origin([key]),
                key,
                key === "networks"
                    ? "the stack puts every service on one network of its own"
                    : "no stack key for it",
            );
        }
    }

    private dbVolumeNames(): string[] {
        const svc = this.dbKey === undefined ? undefined : this.services[this.dbKey];
        const volumes = Array.isArray(svc?.volumes) ? svc.volumes : [];
        return volumes.flatMap((v) => {
            const m = parseMount(v);
            return m?.target === PGDATA && m.source !== undefined ? [m.source] : [];
        });
    }

    private unknownKeys(key: string, svc: Obj, known: Set<string>): void {
        for (const k of Object.keys(svc)) {
            if (!known.has(k)) {
                const at: Path = ["services", key, k];
                const hint =
                    k === "healthcheck"
                        ? "the stack declares no healthcheck for services"
                        : k === "volumes"
                          ? "the stack mounts no volumes on services"
                          : k === "build"
                            ? "the stack pulls images; build and push them in CI"
                            : "no stack key for it";
                this.finding("unmapped", this.origin(at), pathText(at), hint);
            }
        }
    }

    private origin(p: Path, fallback?: Path): Origin {
        return {
            file: this.compose.label,
            line: this.compose.lineOf(p) ?? (fallback ? this.compose.lineOf(fallback) : undefined),
        };
    }

    private at(p: Path): string {
        return where(this.origin(p));
    }

    private finding(kind: FindingKind, origin: Origin, at: string, message: string): void {
        this.findings.push({ kind, file: origin.file, line: origin.line, at, message });
    }
}

interface PortSpec {
    container: number;
    host?: number;
    bindAddress: string;
    protocol: "tcp" | "udp";
    raw: string;
    origin: Origin;
}

/** Compose's short (`[IP:][HOST:]CONTAINER[/proto]`, ranges) and long port syntax. */
export function parsePort(p: unknown): Omit<PortSpec, "raw" | "origin">[] | string {
    if (isObj(p)) {
        const container = Number(p.target);
        const host = p.published === undefined ? undefined : Number(p.published);
        if (!Number.isInteger(container) || (host !== undefined && !Number.isInteger(host))) {
            return "target and published must be port numbers";
        }
        const protocol = p.protocol === "udp" ? "udp" : "tcp";
        return [
            {
                container,
                host,
                bindAddress: typeof p.host_ip === "string" ? p.host_ip : "0.0.0.0",
                protocol,
            },
        ];
    }
    const text = String(p);
    const m =
        /^(?:(?:([0-9.]+):)?([0-9]+(?:-[0-9]+)?)?:)?([0-9]+(?:-[0-9]+)?)(?:\/(tcp|udp))?$/.exec(
            text,
        );
    if (m === null) {
        return "not a port mapping the stack can express (IPv4 [IP:][HOST:]CONTAINER[/tcp|udp])";
    }
    const [, ip, hostText, containerText = "", proto] = m;
    const range = (t: string) => {
        const [a = "", b] = t.split("-");
        const from = Number(a);
        const to = b === undefined ? from : Number(b);
        return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
    };
    const containers = range(containerText);
    const hosts = hostText === undefined || hostText === "" ? undefined : range(hostText);
    if (hosts !== undefined && hosts.length !== containers.length) {
        return "host and container ranges differ in length";
    }
    return containers.map((container, i) => ({
        container,
        host: hosts?.[i],
        bindAddress: ip ?? "0.0.0.0",
        protocol: proto === "udp" ? "udp" : "tcp",
    }));
}

function parseMount(v: unknown): { source?: string; target: string } | undefined {
    if (isObj(v)) {
        return typeof v.target === "string"
            ? { source: typeof v.source === "string" ? v.source : undefined, target: v.target }
            : undefined;
    }
    const parts = String(v).split(":");
    if (parts.length === 1) {
        return { target: parts[0] ?? "" };
    }
    return { source: parts[0], target: parts[1] ?? "" };
}

function mountsPgData(svc: Obj): boolean {
    return Array.isArray(svc.volumes) && svc.volumes.some((v) => parseMount(v)?.target === PGDATA);
}

function isHostPath(source: string): boolean {
    return source.startsWith("/") || source.startsWith(".") || source.startsWith("~");
}

/** `SERVICE_B` → `service-b`: a valid image path to stand in for an unusable reference. */
function imageSlug(key: string): string {
    return (
        key
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, "-")
            .replace(/^-+|-+$/g, "") || "service"
    );
}

function hubImage(ref: ImageRef): string | undefined {
    const path = ref.components.filter((c) => c !== "library").join("/");
    return path === "" ? undefined : path;
}

/** 0.0.0.0, loopback and localhost: fine for a server to bind, useless for a container to call. */
function unreachableFromContainer(host: string): boolean {
    return /^(0\.0\.0\.0|127\.[0-9.]+|localhost|::1?)$/.test(host);
}

/** `512m`, `1g`, `1073741824` → MiB. */
function memoryMb(v: unknown): number | undefined {
    const m = /^([0-9]+)\s*([bkmg]?)b?$/i.exec(String(v).trim());
    if (m === null) {
        return undefined;
    }
    const n = Number(m[1]);
    const unit = (m[2] ?? "").toLowerCase();
    const bytes = n * ({ "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit] ?? 1);
    return Math.floor(bytes / 1024 ** 2);
}

function secretSource(e: EnvEntry): string {
    const from = e.expandsFrom.length > 0 ? ` = \${${e.expandsFrom.join("}, ${")}}` : "";
    return `${e.name}${from}, ${where(e)}`;
}

/** A value as a report may show it: secrets never. */
export function shown(e: EnvEntry): string {
    return e.secret ? `${e.name} (secret)` : `${e.name}=${e.value}`;
}

function isObj(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function asObj(v: unknown): Obj {
    return isObj(v) ? v : {};
}

/** The env file name as written in compose, resolved against the compose file's folder. */
export function envFilePath(composeDir: string, file: string): string {
    return path.resolve(composeDir, file);
}
