/**
 * Env assembly for what the stack itself sets besides the database (`TZ`, `NODENAME`, link
 * variables, a service's own env), replacing the legacy `env_file` and `environment:` blocks. The
 * database env is built by `Microservice` from the endpoint it is given (`lib/databaseEnv.ts`).
 */
import { RESERVED_ENV } from "../lib/databaseEnv";
import { ownValue } from "../lib/ownKey";
import type { ServiceConfig, StackConfig } from "./schema";

export { RESERVED_ENV };

/** `orders-api` → `ORDERS_API`: the prefix of the link variables that point at a service. */
export function envVarPrefix(serviceKey: string): string {
    return serviceKey.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
}

export function linkEnvNames(link: string): string[] {
    const prefix = envVarPrefix(link);
    return [`${prefix}_HOST`, `${prefix}_PORT`, `${prefix}_URL`];
}

/**
 * The env of a service container besides the database's and `TZ`, in a stable order: `NODENAME`,
 * link variables, then the service's own `env`.
 */
export function serviceEnv(cfg: StackConfig, key: string): Record<string, string> {
    const svc = requireService(cfg, key);
    const env: Record<string, string> = { NODENAME: svc.nodeName ?? key };
    for (const link of svc.links) {
        Object.assign(env, linkEnv(link, requireService(cfg, link)));
    }
    for (const [name, value] of Object.entries(svc.env)) {
        env[name] = String(value);
    }
    return env;
}

/**
 * `SERVICE_B_HOST`/`_PORT`/`_URL` for a link: the linked service's network alias (its key) and
 * first container port, so the connection lives in config, not in a host IP.
 */
export function linkEnv(link: string, target: ServiceConfig): Record<string, string> {
    const prefix = envVarPrefix(link);
    const containerPort = target.ports[0]?.container;
    if (containerPort === undefined) {
        throw new Error(`service ${link} has no port to link to`);
    }
    return {
        [`${prefix}_HOST`]: link,
        [`${prefix}_PORT`]: String(containerPort),
        [`${prefix}_URL`]: `http://${link}:${containerPort}`,
    };
}

function requireService(cfg: StackConfig, key: string): ServiceConfig {
    const svc = ownValue(cfg.services, key);
    if (svc === undefined) {
        throw new Error(`unknown service ${key}`);
    }
    return svc;
}

/**
 * Docker's form of a service's health check. `http` checks the first container port with curl,
 * wget or python3, whichever the image has (the first that exists decides).
 */
export function healthcheckTest(svc: ServiceConfig): string[] | undefined {
    const hc = svc.healthcheck;
    if (hc === undefined) {
        return undefined;
    }
    if (hc.command !== undefined) {
        return ["CMD", ...hc.command];
    }
    const url = `http://127.0.0.1:${svc.ports[0]?.container ?? 80}${hc.http ?? "/"}`;
    const probe = [
        `curl -fsS -o /dev/null '${url}'`,
        `wget -q -O /dev/null '${url}'`,
        `python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' '${url}'`,
    ];
    return [
        "CMD-SHELL",
        probe
            .map((cmd) => `if command -v ${cmd.split(" ")[0]} >/dev/null; then ${cmd}; exit $?; fi`)
            .join("; ") + "; exit 1",
    ];
}
