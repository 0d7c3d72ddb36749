/**
 * The env contract of the legacy applications: how a service is told where its database is.
 * `Microservice` builds it from the endpoint it is given; config validation keeps these names
 * out of a service's own env and out of link variables.
 */

/** Env every service gets from its database endpoint (and `TZ`, `NODENAME` from the stack). */
export const DATABASE_ENV_NAMES = [
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_SCHEMA_NAME",
    "DB_USER",
    "DB_PASSWORD",
    "DB_KIND",
    "DB_DIALECT",
    "DB_DRIVER_CLASS_NAME",
    "DB_TYPE",
] as const;

/** Env the stack itself sets on every service: a service's own env or a link may not set these. */
export const RESERVED_ENV: readonly string[] = [...DATABASE_ENV_NAMES, "TZ", "NODENAME"];
