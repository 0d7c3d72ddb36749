/**
 * The state one mapping shares between its steps (database, services, images, ports, env) and
 * the primitives they all use: a finding with its origin, and the stack-wide values that several
 * services may set but the stack holds once. It is a class of its own so each step can live in its
 * own module and take it as `ctx`, without the step modules importing one another in a circle.
 */
import type { ComposeFile, Path } from "../compose";
import type { EnvEntry, EnvFile } from "../envFiles";
import type { RegistryImage } from "../../lib/imageRef";
import { Finding, FindingKind, ImportError, Origin, where } from "../report";

export type Obj = Record<string, unknown>;

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

    constructor(readonly input: MapInput) {
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

    origin(p: Path, fallback?: Path): Origin {
        return {
            file: this.compose.label,
            line: this.compose.lineOf(p) ?? (fallback ? this.compose.lineOf(fallback) : undefined),
        };
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
