/**
 * Ports: compose's short (`[IP:][HOST:]CONTAINER[/proto]`, ranges) and long syntax → a service's
 * `ports` list, or for the database `msa:database.port`/`msa:database.hostPort`. The stack publishes one DB port
 * and only on 127.0.0.1, and publishes no service port without a host port; each such change is
 * reported. `parsePort` is pure, so the syntax is tested on its own.
 */
import type { Path } from "../compose";
import { pathText } from "../compose";
import { isObj, MapContext, Obj } from "./context";
import type { Origin } from "../report";

interface PortSpec {
    container: number;
    host?: number;
    bindAddress: string;
    protocol: "tcp" | "udp";
    raw: string;
    origin: Origin;
}

/** A service's ports as `msa:services.<name>.ports` lists them. */
export function servicePorts(ctx: MapContext, key: string, svc: Obj): Obj[] {
    return portSpecs(ctx, key, svc).map(({ container, host, bindAddress, protocol }) => ({
        container,
        ...(host === undefined ? {} : { host, bindAddress }),
        ...(protocol === "udp" ? { protocol } : {}),
    }));
}

/** The database's first port → `msa:database.port`/`.hostPort`, published on 127.0.0.1 only. */
export function dbPorts(ctx: MapContext, key: string, svc: Obj): void {
    const base: Path = ["services", key, "ports"];
    const ports = portSpecs(ctx, key, svc);
    const [first, ...rest] = ports;
    if (first === undefined) {
        ctx.finding(
            "changed",
            ctx.origin(["services", key]),
            `services.${key}.ports`,
            `compose does not publish the database; the stack publishes msa:database.port on 127.0.0.1 only`,
        );
        return;
    }
    ctx.setStack("database.port", first.container, first.origin);
    if (first.host !== undefined) {
        ctx.setStack("database.hostPort", first.host, first.origin);
    }
    const bind = first.bindAddress;
    if (bind !== "127.0.0.1") {
        ctx.finding(
            "changed",
            first.origin,
            `${pathText([...base, 0])} ${JSON.stringify(first.raw)}`,
            `the DB port ${first.host ?? first.container} is published on 127.0.0.1 (msa:database.bindAddress) instead of ${bind === "0.0.0.0" ? "every interface" : bind}; set msa:database.bindAddress if other hosts must reach it`,
        );
    }
    for (const p of rest) {
        ctx.finding(
            "unmapped",
            p.origin,
            `${pathText(base)} ${JSON.stringify(p.raw)}`,
            "the stack publishes one DB port",
        );
    }
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

/** The ports of one service, each with its raw text and line; unusable ones are reported. */
function portSpecs(ctx: MapContext, key: string, svc: Obj): PortSpec[] {
    const list = Array.isArray(svc.ports) ? svc.ports : [];
    return list.flatMap((p, i) => {
        const at: Path = ["services", key, "ports", i];
        const raw =
            ctx.compose.rawOf(at) ?? (typeof p === "object" ? JSON.stringify(p) : String(p));
        const parsed = parsePort(p);
        if (typeof parsed === "string") {
            ctx.finding(
                "unmapped",
                ctx.origin(at),
                `${pathText(at)} ${JSON.stringify(raw)}`,
                parsed,
            );
            return [];
        }
        const specs = parsed.map((s) => ({ ...s, raw, origin: ctx.origin(at) }));
        if (key !== ctx.dbKey) {
            for (const s of specs.filter((x) => x.host === undefined)) {
                ctx.finding(
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
