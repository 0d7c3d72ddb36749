/**
 * The one config schema of the stack (v2: nested, one shape per database mode). `index.ts`
 * validates the stack files against it, the import tool produces values of the same type, and the
 * README's key table is checked against it.
 *
 * Secrets (`dbPassword`, `registryPassword`, `secretEnv`) stay scalar keys, so that
 * `pulumi config set --secret msa:dbPassword` works as operators expect. They are not part of the
 * validated plain values: they stay Outputs from the secret getters, and only their presence (and,
 * for `secretEnv`, the names) is checked here, so a secret never ends up in a message.
 */
import { z } from "zod";
import { DURATION_PATTERN, durationSeconds } from "../lib/duration";

/** The Pulumi project name, and so the config namespace: keys are `msa:<key>`. */
export const PROJECT = "msa";

/** Limits an operator would expect, stated in the README. */
export const LIMITS = {
    /** A stack file larger than this is refused before it is parsed. */
    stackFileBytes: 1024 * 1024,
    /** One env value (or command argument). */
    valueBytes: 32 * 1024,
    /** Pulumi passes all config in one env variable, which Linux caps at 128 KiB (MAX_ARG_STRLEN). */
    configBytes: 128 * 1024,
    services: 1000,
    /** The longest duration a healthcheck setting may have. */
    durationSeconds: 3600,
} as const;

const PORT_RANGE = "must be 1-65535";
/** Service keys double as network aliases and env-var prefixes, so keep them DNS- and env-safe. */
export const SERVICE_KEY_PATTERN = /^[A-Za-z](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;
/** Docker's own reference grammar for a tag. */
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** One path component of an image name (lower case, separators `.`, `_`, `__`, `-`). */
const IMAGE_PATH_PATTERN =
    /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
/** One DNS label as Docker's DNS serves names: container names and aliases may hold `_`. */
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?";
/** A host name or IPv4 address, without a port: the port is its own key. */
const HOST_PATTERN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
/** A network alias: one label, no dots, no port. */
const ALIAS_PATTERN = new RegExp(`^${LABEL}$`);
const RESOURCE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IPV4_PATTERN =
    /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$/;

export const RESTART_POLICIES = ["no", "on-failure", "always", "unless-stopped"] as const;
export const DB_MODES = ["container", "external"] as const;

const port = () =>
    z
        .number({ error: "must be an integer" })
        .int("must be an integer")
        .min(1, PORT_RANGE)
        .max(65535, PORT_RANGE);
const bool = () => z.boolean({ error: "must be true or false" });
/**
 * Docker takes env, labels and commands as C strings and Postgres identifiers cannot hold one
 * either: a NUL byte can never reach a resource.
 */
const NO_NUL = "must not contain NUL bytes";
const hasNoNul = (s: string) => !s.includes("\u0000");
const utf8Bytes = (s: string) => Buffer.byteLength(s, "utf8");
const TOO_LONG = `must be at most ${LIMITS.valueBytes} bytes`;
/** A string that may be empty (env values, command arguments), but never holds a NUL byte. */
const text = () =>
    z
        .string({ error: "must be a string" })
        .refine((s) => utf8Bytes(s) <= LIMITS.valueBytes, { error: TOO_LONG, abort: true })
        .refine(hasNoNul, NO_NUL);
/** A non-empty string; further checks (patterns) run only when the length is right. */
const nonEmpty = (max = 255) =>
    z
        .string({ error: "must be a string" })
        .min(1, { error: "must not be empty", abort: true })
        .max(max, { error: `must be at most ${max} characters`, abort: true })
        .refine(hasNoNul, { error: NO_NUL, abort: true });
const host = () =>
    nonEmpty(253).regex(
        HOST_PATTERN,
        "must be a host name or IPv4 address without a port (the port is its own key)",
    );
const alias = () =>
    nonEmpty(63).regex(ALIAS_PATTERN, "must be one DNS label (letters, digits, _ and -)");
const resourceName = (what: string) =>
    nonEmpty(128).regex(RESOURCE_NAME_PATTERN, `must be a valid ${what} name`);
const imagePath = (what: string) =>
    nonEmpty(255).regex(
        IMAGE_PATH_PATTERN,
        `must be a lower-case ${what} path like orders or api/orders`,
    );
const tag = () => nonEmpty(128).regex(TAG_PATTERN, "must be a valid image tag");
const bindAddress = () =>
    z.string({ error: "must be a string" }).regex(IPV4_PATTERN, "must be an IPv4 address");
/** Postgres cuts identifiers at 63 bytes (NAMEDATALEN - 1), not characters. */
const pgIdentifier = () =>
    nonEmpty(63).refine((s) => utf8Bytes(s) <= 63, {
        error: "must be at most 63 bytes (Postgres's limit)",
        abort: true,
    });
/** Postgres reserves `pg_` for its own schemas and roles (`CREATE SCHEMA pg_x` is refused). */
const notReservedPrefix = (s: string) => !s.toLowerCase().startsWith("pg_");
const RESERVED_PREFIX =
    "must not start with pg_ (Postgres reserves it for system schemas and roles)";
/** A database, but not one of the templates Postgres copies new databases from. */
const pgDatabase = () =>
    pgIdentifier().refine((s) => !["template0", "template1"].includes(s), {
        error: "must not be template0 or template1 (Postgres's template databases)",
    });
/** An IANA time zone the runtime (ICU's tz database) knows: `Asia/Seol` is refused. */
const knownTimeZone = (tz: string): boolean => {
    try {
        new Intl.DateTimeFormat("en", { timeZone: tz });
        return true;
    } catch {
        return false;
    }
};
const memoryMb = () =>
    z
        .number({ error: "must be an integer" })
        .int("must be an integer")
        .min(6, "must be 6-1048576")
        .max(1048576, "must be 6-1048576");
const duration = () =>
    z
        .string({ error: "must be a string" })
        .regex(DURATION_PATTERN, {
            error: "must be a duration like 1s, 500ms or 1m30s",
            abort: true,
        })
        .refine(
            (d) => durationSeconds(d) <= LIMITS.durationSeconds,
            `must be at most ${LIMITS.durationSeconds / 60}m`,
        );
const envValue = z
    .union([z.string(), z.number(), z.boolean()], {
        error: "must be a string, number or boolean",
    })
    .refine((v) => typeof v !== "string" || utf8Bytes(v) <= LIMITS.valueBytes, TOO_LONG)
    .refine((v) => typeof v !== "string" || hasNoNul(v), NO_NUL);

export const portSchema = z
    .object({
        /** Port the process listens on inside the container (compose's right-hand side). */
        container: port(),
        /** Port published on the Docker host (compose's left-hand side, the legacy "IN"). */
        host: port().optional(),
        /** Host address the published port binds to. */
        bindAddress: bindAddress().default("0.0.0.0"),
        protocol: z.enum(["tcp", "udp"], { error: "must be one of tcp, udp" }).default("tcp"),
    })
    .strict();

/** An image built from a folder of this repository (compose's `build:`). */
export const buildSchema = z
    .object({
        /** Folder with the Dockerfile, relative to the project root. */
        context: nonEmpty(1024).refine((p) => !p.startsWith("/") && !p.split("/").includes(".."), {
            error: "must be a folder inside the project (relative, without ..)",
        }),
        /** Dockerfile, relative to the context. Default `Dockerfile`. */
        dockerfile: nonEmpty(1024).optional(),
        args: z
            .record(
                z.string().regex(ENV_NAME_PATTERN, "must be a valid build argument name"),
                text(),
                {
                    error: "must be a map of NAME: value",
                },
            )
            .default({}),
        target: nonEmpty(128).optional(),
        /** Push to the registry (and run by digest); false keeps it on the Docker host. */
        push: bool().default(true),
    })
    .strict();

/**
 * A service's health check: `http` (a path the service answers 2xx/3xx on, checked on its first
 * container port with curl, wget or python3, whichever the image has) or `command` (run in the
 * container; exit 0 is healthy). A release waits until the new container passes it.
 */
export const serviceHealthcheckSchema = z
    .object({
        http: nonEmpty(1024)
            .regex(/^\/[A-Za-z0-9._~!$&()*+,;=:@%/?-]*$/, "must be a path starting with /")
            .optional(),
        command: z
            .array(text(), { error: "must be a list" })
            .min(1, "must not be empty")
            .optional(),
        interval: duration().default("2s"),
        timeout: duration().default("2s"),
        retries: z
            .number({ error: "must be an integer" })
            .int("must be an integer")
            .min(1, "must be 1-100")
            .max(100, "must be 1-100")
            .default(3),
        startPeriod: duration().default("30s"),
    })
    .strict()
    .refine((h) => (h.http === undefined) !== (h.command === undefined), {
        error: "must have exactly one of http, command",
    });

export const RUNTIMES = ["container", "swarm"] as const;

/** How the stack runs on a Docker Swarm (with `msa:runtime: swarm`). */
export const swarmSchema = z
    .object({
        /**
         * `ingress`: services publish host ports through swarm's routing mesh (virtual IPs; needs
         * IPVS). `host`: the edge proxy runs on every node and publishes them in host mode, and
         * services resolve by DNS round robin (clusters without IPVS).
         */
        publish: z
            .enum(["ingress", "host"], { error: "must be ingress or host" })
            .default("ingress"),
        /** The database runs on the nodes labelled `<dbNodeLabel>=true` (its volume is node-local). */
        dbNodeLabel: nonEmpty(100)
            .regex(/^[a-z0-9][a-z0-9._-]*$/, "must be a node label key like msa.db")
            .default("msa.db"),
    })
    .strict();

/** The edge proxy that owns published host ports, so releases never move them. */
export const proxySchema = z
    .object({
        /** An image with `haproxy` on the PATH: the official `haproxy:<version>`. */
        image: nonEmpty(255).regex(
            /^[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
            "must be an image reference with a tag, like haproxy:3.0.6",
        ),
        memoryMb: memoryMb().optional(),
    })
    .strict();

export const serviceSchema = z
    .object({
        /**
         * Image name under `<server>/<namespace>/<project>/`: pulled, or (with `build`) the name
         * the built image gets. Default with `build`: the service key in lower case.
         */
        image: imagePath("image").optional(),
        /** Build the image from this repository instead of pulling it. */
        build: buildSchema.optional(),
        /** GitLab project holding the image; defaults to `msa:registry.project`. */
        project: imagePath("project").optional(),
        /** GitLab group/namespace holding the image; defaults to `msa:registry.namespace`. */
        namespace: imagePath("namespace").optional(),
        /** Required for a pulled image; with `build`, default: derived from the build context. */
        tag: tag().optional(),
        /** `NODENAME` in the container's env. */
        nodeName: nonEmpty(255).optional(),
        containerName: resourceName("container").optional(),
        ports: z
            .array(portSchema, { error: "must be a list" })
            .max(100, "must have at most 100 entries")
            .default([]),
        env: z
            .record(
                z.string().regex(ENV_NAME_PATTERN, "must be a valid environment variable name"),
                envValue,
                { error: "must be a map of NAME: value" },
            )
            .default({}),
        restart: z
            .enum(RESTART_POLICIES, { error: `must be one of ${RESTART_POLICIES.join(", ")}` })
            .default("always"),
        /** Other services (keys of `msa:services`) this one talks to. */
        links: z
            .array(z.string({ error: "must be a string" }), { error: "must be a list" })
            .default([]),
        memoryMb: memoryMb().optional(),
        /** Replaces the image's command. */
        command: z.array(text(), { error: "must be a list" }).optional(),
        healthcheck: serviceHealthcheckSchema.optional(),
        /** Tasks to run (swarm runtime only). Default 1. */
        replicas: z
            .number({ error: "must be an integer" })
            .int("must be an integer")
            .min(0, "must be 0-1000")
            .max(1000, "must be 0-1000")
            .optional(),
        /** How long a replaced container gets to finish in-flight requests before it is killed. */
        stopGraceSeconds: z
            .number({ error: "must be an integer" })
            .int("must be an integer")
            .min(0, "must be 0-3600")
            .max(3600, "must be 0-3600")
            .default(10),
    })
    .strict();

export const healthcheckSchema = z
    .object({
        interval: duration().default("1s"),
        timeout: duration().default("3s"),
        retries: z
            .number({ error: "must be an integer" })
            .int("must be an integer")
            .min(1, "must be 1-100")
            .max(100, "must be 1-100")
            .default(5),
        startPeriod: duration().default("60s"),
    })
    .strict();

export const registrySchema = z
    .object({
        /** A host, with a port when the registry has one (a self-managed GitLab's `:5050`). */
        server: nonEmpty(253)
            .regex(
                new RegExp(`^${LABEL}(?:\\.${LABEL})*(?::[0-9]{1,5})?$`),
                "must be a registry host like registry.gitlab.com or gitlab.example.com:5050",
            )
            .default("registry.gitlab.com"),
        /** GitLab group (namespace) of the projects. */
        namespace: imagePath("namespace"),
        /** GitLab project whose registry holds the images (a service may name its own). */
        project: imagePath("project"),
        /** Registry user or deploy-token username. */
        username: nonEmpty(255),
    })
    .strict();

/** What the legacy applications are told about the database (`DB_KIND`, `DB_DIALECT`, …). */
export const clientSchema = z
    .object({
        kind: nonEmpty(64).default("postgresql"),
        dialect: nonEmpty(255).default("org.hibernate.dialect.PostgreSQLDialect"),
        driverClassName: nonEmpty(255).default("org.postgresql.Driver"),
        type: nonEmpty(64).default("postgresql_table"),
    })
    .strict();

/** Keys both modes have: where the database is and who the applications are. */
const databaseCommon = {
    port: port().default(5432),
    /** Database (created on first start in container mode). */
    name: pgDatabase(),
    schema: pgIdentifier().refine(notReservedPrefix, RESERVED_PREFIX).default("public"),
    user: pgIdentifier().refine(notReservedPrefix, RESERVED_PREFIX).default("postgres"),
    client: clientSchema.default(clientSchema.parse({})),
};

export const dbImageSchema = z
    .object({
        /** Image name under `<server>/<namespace>/<project>/`. */
        name: imagePath("image").default("db"),
        /** Folder of the DB image's Dockerfile, relative to the project root. */
        context: nonEmpty(1024).default("docker/db"),
        /** Default: derived from the build context's content, so a commit always builds one tag. */
        tag: tag().optional(),
        /** Base image of `docker/db/Dockerfile`. */
        base: nonEmpty(255).default("postgres:14"),
        /** Push to the registry; false builds on the Docker host only. */
        push: bool().default(true),
    })
    .strict();

export const containerDatabaseSchema = z
    .object({
        mode: z.literal("container"),
        /** The DB's network alias: what `DB_HOST` says. */
        alias: alias().default("database"),
        ...databaseCommon,
        /** Host port the DB is published on. Default: `port`. */
        hostPort: port().optional(),
        bindAddress: bindAddress().default("127.0.0.1"),
        /** The documented override of the `db-port-private` policy. */
        publicBindOverride: bool().optional(),
        containerName: resourceName("container").optional(),
        volumeName: resourceName("volume").optional(),
        memoryMb: memoryMb().optional(),
        healthcheck: healthcheckSchema.default(healthcheckSchema.parse({})),
        image: dbImageSchema.default(dbImageSchema.parse({})),
    })
    .strict();

export const externalDatabaseSchema = z
    .object({
        mode: z.literal("external"),
        /** The existing server's host name or address. */
        host: host(),
        ...databaseCommon,
    })
    .strict();

/** `mode` defaults to `container`; each mode accepts only its own keys. */
export const databaseSchema = z.preprocess(
    (v) => (isPlainObject(v) && !("mode" in v) ? { ...v, mode: "container" } : v),
    z.discriminatedUnion("mode", [containerDatabaseSchema, externalDatabaseSchema], {
        error: `must have mode ${DB_MODES.join(" or ")}`,
    }),
);

/**
 * Plain (non-secret) stack config, keyed without the `msa:` namespace. Defaults of the scalar keys
 * are the ones declared in `Pulumi.yaml` (a test keeps the two in step).
 */
export const stackConfigSchema = z
    .object({
        environment: nonEmpty(63)
            .regex(/^[a-z][a-z0-9-]*$/, "must be lower-case letters, digits and -")
            .optional(),
        /**
         * Production rules (pinned images, protected data) apply unless this says `false`: a
         * stack opts out in one explicit key, never by how a label is spelled.
         */
        production: bool().default(true),
        namePrefix: nonEmpty(40)
            .regex(/^[a-z0-9][a-z0-9_.-]*$/, "must be lower-case letters, digits, _, . and -")
            .optional(),
        /** Protect the DB volume and container. Default: `production`. */
        protect: bool().optional(),
        timezone: nonEmpty(64)
            .regex(/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/, {
                error: "must be a tz database name like Asia/Seoul",
                abort: true,
            })
            .refine(knownTimeZone, "must be a time zone in the tz database, like Asia/Seoul")
            .default("UTC"),
        /** `container`: one Docker host. `swarm`: a Docker Swarm (`docker:host` is a manager). */
        runtime: z
            .enum(RUNTIMES, { error: `must be one of ${RUNTIMES.join(", ")}` })
            .default("container"),
        swarm: swarmSchema.optional(),
        /** Required when any image is pulled from or pushed to a registry. */
        registry: registrySchema.optional(),
        /** Set it to publish the services' TCP host ports through the edge proxy. */
        proxy: proxySchema.optional(),
        database: databaseSchema,
        services: z
            .record(
                z
                    .string()
                    .regex(
                        SERVICE_KEY_PATTERN,
                        "must start with a letter, end with a letter or digit and hold only letters, digits, _ and - (at most 63)",
                    ),
                serviceSchema,
                { error: "must be a map of service name to service settings" },
            )
            .refine((s) => Object.keys(s).length <= LIMITS.services, {
                error: `must have at most ${LIMITS.services} services`,
            })
            .default({}),
    })
    .strict();

export type ServiceHealthcheckConfig = z.output<typeof serviceHealthcheckSchema>;
export type SwarmConfig = z.output<typeof swarmSchema>;
export type ProxyConfig = z.output<typeof proxySchema>;
export type BuildConfig = z.output<typeof buildSchema>;
export type PortConfig = z.output<typeof portSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type HealthcheckConfig = z.output<typeof healthcheckSchema>;
export type RegistryConfig = z.output<typeof registrySchema>;
export type ContainerDatabaseConfig = z.output<typeof containerDatabaseSchema>;
export type ExternalDatabaseConfig = z.output<typeof externalDatabaseSchema>;
export type DatabaseConfig = ContainerDatabaseConfig | ExternalDatabaseConfig;
/** Validated plain config as the schema outputs it. */
export type PlainConfig = z.output<typeof stackConfigSchema>;
/** What a stack file may hold for the plain keys (defaults not applied). */
export type PlainConfigInput = z.input<typeof stackConfigSchema>;

/** The secret keys, read with the secret getters, never validated by value. */
export const SECRET_KEYS = {
    registryPassword: {
        /** Required when the stack uses a registry (`msa:registry`). */
        required: true,
        description:
            "Registry password or GitLab deploy token (read_registry; write_registry to push the DB image).",
    },
    dbPassword: { required: true, description: "Password of the database user." },
    secretEnv: {
        required: false,
        description: "Secret env per service: { <service>: { NAME: value } }.",
    },
} as const;
export type SecretKey = keyof typeof SECRET_KEYS;

/** The keys whose values are objects rather than scalars. */
export const STRUCTURED_KEYS = ["registry", "database", "services", "secretEnv"] as const;

/**
 * A validated stack config with every derived default resolved: what `index.ts` wires into
 * components. Nothing here is secret; which keys Pulumi holds as secrets is in `secretKeys`.
 */
export interface StackConfig extends Omit<PlainConfig, "protect" | "database"> {
    stack: string;
    environment: string;
    namePrefix: string;
    protect: boolean;
    database: ResolvedDatabase;
    /** Names (never values) of the secret env vars per service, from `msa:secretEnv`. */
    secretEnvNames: Record<string, string[]>;
    /**
     * The structured keys Pulumi holds as secrets (a value in them was set with
     * `--secret --path`): what can carry a secret in them is passed on as one.
     */
    secretKeys: ReadonlySet<"registry" | "database" | "services">;
}

export type ResolvedDatabase =
    | (ContainerDatabaseConfig & {
          containerName: string;
          volumeName: string;
          hostPort: number;
      })
    | ExternalDatabaseConfig;

/**
 * Flat v1 keys and where their values live now: a stack file that still uses one gets one error
 * naming the key to use instead.
 */
export const V1_KEYS: Record<string, string> = {
    registryServer: "msa:registry.server",
    registryNamespace: "msa:registry.namespace",
    registryProject: "msa:registry.project",
    registryUsername: "msa:registry.username",
    dbMode: "msa:database.mode",
    dbHost: "msa:database.alias (container mode) or msa:database.host (external mode)",
    dbPort: "msa:database.port",
    dbHostPort: "msa:database.hostPort",
    dbBindAddress: "msa:database.bindAddress",
    dbPublicBindOverride: "msa:database.publicBindOverride",
    dbName: "msa:database.name",
    dbSchema: "msa:database.schema",
    dbUser: "msa:database.user",
    dbKind: "msa:database.client.kind",
    dbDialect: "msa:database.client.dialect",
    dbDriverClassName: "msa:database.client.driverClassName",
    dbType: "msa:database.client.type",
    dbImageName: "msa:database.image.name",
    dbImageTag: "msa:database.image.tag",
    dbBaseImage: "msa:database.image.base",
    dbPushImage: "msa:database.image.push",
    dbContainerName: "msa:database.containerName",
    dbVolumeName: "msa:database.volumeName",
    dbMemoryMb: "msa:database.memoryMb",
    dbHealthcheck: "msa:database.healthcheck",
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
