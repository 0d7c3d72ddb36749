/**
 * The state one mapping shares between its steps (database, services, images, ports, env) and
 * the primitives they all use: a finding with its origin, and the stack-wide values that several
 * services may set but the stack holds once. It is a class of its own so each step can live in its
 * own module and take it as `ctx`, without the step modules importing one another in a circle.
 */
import { envVarPrefix } from "../../config/env";
import type { ComposeFile, Path } from "../compose";
import type { EnvEntry, EnvFile } from "../envFiles";
import type { RegistryImage } from "../../lib/imageRef";
import { Finding, FindingKind, ImportError, Origin, where } from "../report";
import { SecretValues } from "../secretValues";

export type Obj = Record<string, unknown>;

export interface MapInput {
    compose: ComposeFile;
    /** The `.env` compose substitutes from (undefined when there is none). */
    dotenv?: EnvFile;
    /** Reads an `env_file` given as written in the compose file (relative to its folder). */
    readEnv: (file: string) => EnvFile;
    dbService?: string;
    stack: string;
    /**
     * The folder of the stack file, which is the Pulumi project's folder: `build` contexts are
     * written relative to it, as the program reads them.
     */
    projectDir: string;
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

/** A stack-wide value and what set it first, for the message when a service disagrees. */
export interface StackValue {
    value: unknown;
    what: string;
    origin: Origin;
}

export class MapContext {
    readonly compose: ComposeFile;
    readonly findings: Finding[] = [];
    /**
     * Stack-wide values (`database.name`, `database.port`, `timezone`, …) by their v2 key path
     * without the `msa:` prefix, so a message names the key as the stack file holds it.
     */
    readonly stackValues = new Map<string, StackValue>();
    readonly secrets: (SecretValue & { origin?: Origin; name?: string })[] = [];
    readonly services: Record<string, Obj>;
    /** The registry part of every usable image reference, to choose `msa:registry` from. */
    readonly registries: { reg: RegistryImage; key: string }[] = [];
    /** Key paths (`registry.namespace`) written only where the stack file sets none: placeholders. */
    readonly weak: string[] = [];
    /** Servers of image references that are otherwise unusable (the legacy placeholders). */
    readonly looseServers: string[] = [];
    /** Each service's env, read once (reading reports shell-only values). */
    readonly envs = new Map<string, Map<string, EnvEntry>>();
    /** The database service, once `findDatabase` has run; undefined in external mode. */
    dbKey?: string;
    /** Every secret value seen: the same value anywhere else is a secret too. */
    readonly secretValues = new SecretValues();
    /** `NAME`s without a value that `.env` does not set either: compose took them from its shell. */
    readonly shellOnly: { service: string; name: string; origin: Origin; at: string }[] = [];
    /** The compose volume (top-level key) that holds the database's data, once known. */
    dataVolume?: string;
    /** Services compose starts only with `--profile`: not imported, each reported. */
    readonly profiled: string[] = [];

    constructor(readonly input: MapInput) {
        this.compose = input.compose;
        this.services = {};
        for (const [key, svc] of Object.entries(asObj(this.compose.data.services))) {
            if (!isObj(svc)) {
                throw new ImportError(
                    `${this.at(["services", key])}: service ${key} must be a map of settings`,
                );
            }
            if (Array.isArray(svc.profiles) && svc.profiles.length > 0 && key !== input.dbService) {
                this.profiled.push(key);
                continue;
            }
            this.services[key] = svc;
        }
    }

    private prefixes?: Map<string, string>;

    /** `SERVICE_B` → `SERVICE_B`, `api-gw` → `API_GW`: each service by its env-var prefix. */
    servicePrefixes(): Map<string, string> {
        this.prefixes ??= new Map(Object.keys(this.services).map((k) => [envVarPrefix(k), k]));
        return this.prefixes;
    }

    envOf(key: string): Map<string, EnvEntry> {
        return this.envs.get(key) ?? new Map();
    }

    /**
     * The first value wins (a database alias set from the database's service name is only a
     * default); a later, different one is reported.
     */
    setStack(key: string, value: unknown, origin: Origin, what = key): void {
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

    /** The stack-wide value at `key` (a v2 key path), if one was set. */
    value(key: string): unknown {
        return this.stackValues.get(key)?.value;
    }

    /**
     * Where `DB_HOST` goes: the database's network alias in container mode, the server's host in
     * external mode. Known once `findDatabase` has run.
     */
    get dbHostKey(): string {
        return this.dbKey === undefined ? "database.host" : "database.alias";
    }

    /** The file and line of `p` (in the file `extends` took it from), else of `fallback`. */
    origin(p: Path, fallback?: Path): Origin {
        const o = this.compose.originOf(p);
        if (o?.line !== undefined) {
            return o;
        }
        const f = fallback === undefined ? undefined : this.compose.originOf(fallback);
        return f ?? o ?? { file: this.compose.label };
    }

    at(p: Path): string {
        return where(this.origin(p));
    }

    finding(kind: FindingKind, origin: Origin, at: string, message: string): void {
        this.findings.push({ kind, file: origin.file, line: origin.line, at, message });
    }
}

export function isObj(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function asObj(v: unknown): Obj {
    return isObj(v) ? v : {};
}
