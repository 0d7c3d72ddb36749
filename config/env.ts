/**
 * Env assembly for what the stack itself sets besides the database (`TZ`, `NODENAME`, link
 * variables, a service's own env), replacing the legacy `env_file` and `environment:` blocks. The
 * database env is built by `Microservice` from the endpoint it is given (`lib/databaseEnv.ts`).
 */
import { RESERVED_ENV } from "../lib/databaseEnv";
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
    const svc = cfg.services[key];
    if (svc === undefined) {
        throw new Error(`unknown service ${key}`);
    }
    return svc;
}
