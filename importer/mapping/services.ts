/**
 * Every compose service but the database → `msa:services.<name>`, keyed by its compose name (it
 * stays the network alias): image (images.ts), ports (ports.ts), env (env.ts), and the
 * settings the stack has a key for (`container_name`, `restart`, `command`, `mem_limit`). Every
 * other setting, and `depends_on` beyond the database, is reported with its line.
 */
import { RESTART_POLICIES } from "../../config/schema";
import { carriesCredentials } from "../../lib/secretNames";
import type { Path } from "../compose";
import { pathText } from "../compose";
import { mapServiceEnv } from "./env";
import { healthcheckDurations } from "./healthcheck";
import { serviceImage } from "./images";
import type { FindingKind } from "../report";
import { asObj, MapContext, Obj } from "./context";
import { servicePorts } from "./ports";

/** The compose keys the import reads on a service. */
export const SERVICE_KEYS = new Set([
    "image",
    "build",
    "expose",
    "networks",
    "container_name",
    "restart",
    "ports",
    "environment",
    "env_file",
    "depends_on",
    "command",
    "mem_limit",
    "healthcheck",
    "stop_grace_period",
]);

/** Fields of an imported service in the order the stack files use. */
const SERVICE_FIELD_ORDER = [
    "image",
    "build",
    "__registry",
    "tag",
    "nodeName",
    "containerName",
    "memoryMb",
    "ports",
    "env",
    "restart",
    "command",
    "healthcheck",
    "stopGraceSeconds",
];

/** One service → its `msa:services.<name>` entry, fields in the order the stack files use. */
export function mapService(ctx: MapContext, key: string): Obj {
    const svc = ctx.services[key] ?? {};
    unknownKeys(ctx, key, svc, SERVICE_KEYS);
    const image = serviceImage(ctx, key, svc);
    const out: Obj = { ...image };
    if (typeof svc.container_name === "string") {
        out.containerName = svc.container_name;
    }
    const ports = servicePorts(ctx, key, svc);
    if (ports.length > 0) {
        out.ports = ports;
    }
    mapServiceEnv(ctx, key, out);
    serviceNetworks(ctx, key, svc);
    out.restart = restartPolicy(ctx, key, svc);
    dependsOn(ctx, key, svc);
    const command = commandArgs(ctx, key, svc);
    if (command !== undefined) {
        out.command = command;
    }
    const mem = memLimit(ctx, key, svc);
    if (mem !== undefined) {
        out.memoryMb = mem;
    }
    const hc = serviceHealthcheck(ctx, key, svc);
    if (hc !== undefined) {
        out.healthcheck = hc;
    }
    const grace = stopGrace(ctx, key, svc);
    if (grace !== undefined) {
        out.stopGraceSeconds = grace;
    }
    return Object.fromEntries(SERVICE_FIELD_ORDER.filter((k) => k in out).map((k) => [k, out[k]]));
}

/** Settings the stack has no key for, reported one by one with what that changes. */
export function unknownKeys(ctx: MapContext, key: string, svc: Obj, known: Set<string>): void {
    for (const k of Object.keys(svc)) {
        if (!known.has(k)) {
            const at: Path = ["services", key, k];
            const [kind, hint] = unknownHint(key, k, svc[k]);
            ctx.finding(kind, ctx.origin(at), pathText(at), hint);
        }
    }
}

function unknownHint(key: string, k: string, value: unknown): [FindingKind, string] {
    switch (k) {
        case "volumes":
            return [
                "unmapped",
                "the stack mounts no volumes on services: what the container keeps there is lost when it is re-created, and files mounted from the host are missing",
            ];
        case "entrypoint":
            return [
                "action",
                `compose replaces the image's entrypoint; the stack has no key for it, so the container runs the image's own entrypoint (with msa:services.${key}.command as its arguments): build the entrypoint into the image, or move it into msa:services.${key}.command if the image's entrypoint runs its arguments`,
            ];
        case "network_mode":
            return ["action", networkModeHint(key, String(value))];
        case "profiles":
            return [
                "action",
                `compose starts ${key} only with --profile ${profileList(value)}; the stack has no profiles, so it is always deployed`,
            ];
        case "links":
            return [
                "unmapped",
                `compose's links are aliases on its default network; the stack reaches every service by its name, so links of the form <service> change nothing, and an alias <service>:<alias> no longer resolves`,
            ];
        case "logging":
            return ["unmapped", "the container logs with the Docker daemon's default driver"];
        case "labels":
            return ["unmapped", "the stack labels containers itself; these labels are not set"];
        default:
            return ["unmapped", "no stack key for it: the container runs without it"];
    }
}

function profileList(value: unknown): string {
    return Array.isArray(value) ? value.map(String).join(" or --profile ") : String(value);
}

function networkModeHint(key: string, mode: string): string {
    if (mode === "host") {
        return `compose runs ${key} in the host's network (network_mode: host); the stack puts it on its own network: it no longer listens on the host's interfaces (publish its ports in msa:services.${key}.ports), and localhost no longer reaches the host's services`;
    }
    const m = /^(service|container):(.+)$/.exec(mode);
    if (m !== null) {
        return `compose runs ${key} in the network namespace of ${m[1] ?? ""} ${m[2] ?? ""} (they share localhost and ports); in the stack ${key} has an address of its own: what it reached on localhost must be addressed by that service's name, and ports published for it there are not ${key}'s`;
    }
    if (mode === "none") {
        return `compose runs ${key} without a network (network_mode: none); the stack connects it to the stack's network, so it can reach every service`;
    }
    return `compose runs ${key} with network_mode: ${mode}; the stack puts every service on one network of its own`;
}

/**
 * `networks:` of a service: when compose has only one network, it is the stack's one network and
 * nothing changes; with several, every service can now reach every other one. Aliases and fixed
 * addresses are not carried over.
 */
function serviceNetworks(ctx: MapContext, key: string, svc: Obj): void {
    if (svc.networks === undefined) {
        return;
    }
    const at: Path = ["services", key, "networks"];
    const names = Array.isArray(svc.networks)
        ? svc.networks.map(String)
        : Object.keys(asObj(svc.networks));
    if (networkCount(ctx) > 1) {
        ctx.finding(
            "unmapped",
            ctx.origin(at),
            pathText(at),
            `compose puts ${key} on ${names.join(", ")}; the stack puts every service on one network, so ${key} reaches (and is reached by) every service`,
        );
    }
    for (const [net, opts] of Object.entries(
        Array.isArray(svc.networks) ? {} : asObj(svc.networks),
    )) {
        const o = asObj(opts);
        for (const k of ["aliases", "ipv4_address", "ipv6_address"]) {
            if (o[k] !== undefined) {
                ctx.finding(
                    "unmapped",
                    ctx.origin([...at, net, k], at),
                    pathText([...at, net, k]),
                    k === "aliases"
                        ? `the stack gives ${key} one network alias, its name: other names for it no longer resolve`
                        : `the stack does not fix addresses: ${key} gets one from Docker`,
                );
            }
        }
    }
}

/** The networks compose's services use (`default` for those that name none). */
export function networkCount(ctx: MapContext): number {
    const used = new Set<string>();
    for (const svc of Object.values(ctx.services)) {
        const n = svc.networks;
        const names =
            n === undefined
                ? [svc.network_mode === undefined ? "default" : `mode:${String(svc.network_mode)}`]
                : Array.isArray(n)
                  ? n.map(String)
                  : Object.keys(asObj(n));
        names.forEach((x) => used.add(x));
    }
    return used.size;
}

/** `mem_limit` in MiB; a value that is not a memory size is reported and gives undefined. */
export function memLimit(ctx: MapContext, key: string, svc: Obj): number | undefined {
    if (svc.mem_limit === undefined) {
        return undefined;
    }
    const mem = memoryMb(svc.mem_limit);
    if (mem === undefined) {
        const at: Path = ["services", key, "mem_limit"];
        ctx.finding(
            "unmapped",
            ctx.origin(at),
            pathText(at),
            `${JSON.stringify(svc.mem_limit)} is not a memory size like 512m or 1g`,
        );
    }
    return mem;
}

function restartPolicy(ctx: MapContext, key: string, svc: Obj): string {
    const at: Path = ["services", key, "restart"];
    const value = svc.restart;
    if (value === undefined) {
        return "no";
    }
    const text = String(value);
    const [policy = "", retries] = text.split(":");
    if (!(RESTART_POLICIES as readonly string[]).includes(policy)) {
        ctx.finding(
            "unmapped",
            ctx.origin(at),
            pathText(at),
            `${JSON.stringify(text)} is not one of ${RESTART_POLICIES.join(", ")}; the stack uses no`,
        );
        return "no";
    }
    if (retries !== undefined) {
        ctx.finding(
            "unmapped",
            ctx.origin(at),
            pathText(at),
            `the retry count ${retries} is dropped: the stack restarts on-failure without a limit`,
        );
    }
    return policy;
}

function dependsOn(ctx: MapContext, key: string, svc: Obj): void {
    const at: Path = ["services", key, "depends_on"];
    const deps: Record<string, string> = Array.isArray(svc.depends_on)
        ? Object.fromEntries(svc.depends_on.map((d) => [String(d), "service_started"]))
        : Object.fromEntries(
              Object.entries(asObj(svc.depends_on)).map(([d, v]) => [
                  d,
                  String(asObj(v).condition ?? "service_started"),
              ]),
          );
    if (ctx.dbKey !== undefined) {
        const cond = deps[ctx.dbKey];
        if (cond !== "service_healthy") {
            ctx.finding(
                "changed",
                ctx.origin(cond === undefined ? ["services", key] : at),
                cond === undefined ? `services.${key}` : pathText(at),
                `the stack starts every service once the database is healthy${cond === undefined ? " (compose did not wait for it)" : ` (compose waited for ${cond})`}`,
            );
        }
    }
    for (const dep of Object.keys(deps)) {
        if (dep !== ctx.dbKey) {
            ctx.finding(
                "unmapped",
                ctx.origin([...at, dep], at),
                `${pathText(at)}.${dep}`,
                `the stack does not order services among themselves; ${key} may start before ${dep}`,
            );
        }
    }
}

function commandArgs(ctx: MapContext, key: string, svc: Obj): string[] | undefined {
    const at: Path = ["services", key, "command"];
    if (svc.command === undefined) {
        return undefined;
    }
    const args = Array.isArray(svc.command) ? svc.command.map(String) : [String(svc.command)];
    if (args.some((a) => carriesCredentials(a) || ctx.secretValues.find(a) !== undefined)) {
        // The stack file never holds a credential, and a command cannot read msa:secretEnv.
        ctx.finding(
            "action",
            ctx.origin(at),
            pathText(at),
            `the command carries credentials (a password, or the value of a secret, in it), which never go to the stack file: the command is not imported; pass the credential in env (msa:secretEnv.${key}.<NAME>, set with pulumi config set --secret --path) and set msa:services.${key}.command without it`,
        );
        return undefined;
    }
    if (Array.isArray(svc.command)) {
        return args;
    }
    const text = String(svc.command);
    if (/["'\\$`]/.test(text)) {
        ctx.finding(
            "unmapped",
            ctx.origin(at),
            pathText(at),
            "a command string with quotes or escapes; write it as a list in msa:services." +
                key +
                ".command",
        );
        return undefined;
    }
    return text.split(/\s+/).filter((s) => s !== "");
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

/**
 * compose's `healthcheck` → `msa:services.<name>.healthcheck` as a `command` (`CMD` runs as given,
 * `CMD-SHELL` and a string through `sh -c`, as Docker does), with its timings. A test holding a
 * credential is not imported (the stack file never holds one); `disable` and `NONE` mean none.
 */
function serviceHealthcheck(ctx: MapContext, key: string, svc: Obj): Obj | undefined {
    if (svc.healthcheck === undefined) {
        return undefined;
    }
    const base: Path = ["services", key, "healthcheck"];
    const hc = asObj(svc.healthcheck);
    const test = hc.test;
    const list = Array.isArray(test) ? test.map(String) : test === undefined ? [] : [String(test)];
    if (hc.disable === true || list[0] === "NONE") {
        return undefined;
    }
    const command =
        list[0] === "CMD"
            ? list.slice(1)
            : list[0] === "CMD-SHELL"
              ? ["sh", "-c", list.slice(1).join(" ")]
              : Array.isArray(test)
                ? list
                : ["sh", "-c", list[0] ?? ""];
    if (command.length === 0 || command.every((a) => a === "")) {
        ctx.finding(
            "unmapped",
            ctx.origin(base),
            pathText(base),
            "has no test (it takes the image's HEALTHCHECK); the stack declares none for the service: releases do not wait for it to be healthy",
        );
        return undefined;
    }
    if (command.some((a) => carriesCredentials(a) || ctx.secretValues.find(a) !== undefined)) {
        ctx.finding(
            "action",
            ctx.origin([...base, "test"], base),
            pathText([...base, "test"]),
            `the test carries credentials (a password, or the value of a secret, in it), which never go to the stack file: the healthcheck is not imported, and releases of ${key} do not wait for it to be healthy; set msa:services.${key}.healthcheck without them (an http path, or a command reading the secret from the env)`,
        );
        return undefined;
    }
    const out: Obj = {
        command,
        ...healthcheckDurations(ctx, base, hc, "; the stack's default applies"),
    };
    if (typeof hc.retries === "number" && Number.isInteger(hc.retries)) {
        out.retries = hc.retries;
    } else if (hc.retries !== undefined) {
        ctx.finding(
            "unmapped",
            ctx.origin([...base, "retries"]),
            pathText([...base, "retries"]),
            `${JSON.stringify(hc.retries)} is not a whole number; the stack's default applies`,
        );
    }
    return out;
}

/** `stop_grace_period` → `stopGraceSeconds` (compose's default, 10s, is the stack's too). */
function stopGrace(ctx: MapContext, key: string, svc: Obj): number | undefined {
    if (svc.stop_grace_period === undefined) {
        return undefined;
    }
    const at: Path = ["services", key, "stop_grace_period"];
    const m = /^(?:([0-9]+)h)?(?:([0-9]+)m(?!s))?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/.exec(
        String(svc.stop_grace_period),
    );
    const seconds =
        m === null || String(svc.stop_grace_period) === ""
            ? undefined
            : Number(m[1] ?? 0) * 3600 +
              Number(m[2] ?? 0) * 60 +
              Number(m[3] ?? 0) +
              Math.ceil(Number(m[4] ?? 0) / 1000);
    if (seconds === undefined || seconds > 3600) {
        ctx.finding(
            "unmapped",
            ctx.origin(at),
            pathText(at),
            `${JSON.stringify(svc.stop_grace_period)} is not a duration of at most 1h; the stack gives the container 10s to stop`,
        );
        return undefined;
    }
    return seconds;
}
