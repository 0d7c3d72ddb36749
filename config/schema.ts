/**
 * The one config schema of the stack. `index.ts` validates the stack files against it, the
 * import tool produces values of the same type, and the README's key table is checked against it.
 *
 * Secrets (`dbPassword`, `registryPassword`, `secretEnv`) are not part of the validated plain
 * values: they stay Outputs from `requireSecret`, and only their presence is checked here, so a
 * secret can never end up in a validation message.
 */
import { z } from "zod";

/** The Pulumi project name, and so the config namespace: keys are `msa:<key>`. */
export const PROJECT = "msa";

const PORT_RANGE = "must be 1-65535";
/** Service keys double as network aliases and env-var prefixes, so keep them DNS- and env-safe. */
export const SERVICE_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
/** Docker's own reference grammar for a tag. */
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** One path component of an image name (lower case, separators `.`, `_`, `__`, `-`). */
const IMAGE_PATH_PATTERN =
    /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
/** Host names as Docker's DNS serves them: container names and aliases may hold `_`. */
const HOSTNAME_PATTERN =
    /^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*(:[0-9]{1,5})?$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Postgres identifiers: the init script quotes them, but NUL bytes and >63 bytes never work. */
const PG_IDENTIFIER_MAX = 63;
const DURATION_PATTERN = /^([0-9]+(ms|s|m|h))+$/;
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
/**
 * Docker takes env, labels and commands as C strings and Postgres identifiers cannot hold one
 * either: a NUL byte can never reach a resource.
 */
const NO_NUL = "must not contain NUL bytes";
const hasNoNul = (s: string) => !s.includes("\u0000");
/** A string that may be empty (env values, command arguments), but never holds a NUL byte. */
const text = () => z.string({ error: "must be a string" }).refine(hasNoNul, NO_NUL);
/** A non-empty string; further checks (patterns) run only when the length is right. */
const nonEmpty = (max = 255) =>
    z
        .string({ error: "must be a string" })
        .min(1, { error: "must not be empty", abort: true })
        .max(max, { error: `must be at most ${max} characters`, abort: true })
        .refine(hasNoNul, { error: NO_NUL, abort: true });
const hostname = () => nonEmpty(253).regex(HOSTNAME_PATTERN, "must be a hostname or IP address");
const bindAddress = () =>
    z.string({ error: "must be a string" }).regex(IPV4_PATTERN, "must be an IPv4 address");
const pgIdentifier = () => nonEmpty(PG_IDENTIFIER_MAX);
const duration = () =>
    z
        .string({ error: "must be a string" })
        .regex(DURATION_PATTERN, "must be a duration like 1s, 500ms or 1m30s");
const envValue = z
    .union([z.string(), z.number(), z.boolean()], {
        error: "must be a string, number or boolean",
    })
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

export const serviceSchema = z
    .object({
        /** Image name under `<server>/<namespace>/<project>/`. */
        image: nonEmpty(255).regex(
            IMAGE_PATH_PATTERN,
            "must be a lower-case image path like orders or api/orders",
        ),
        /** GitLab project holding the image; defaults to `msa:registryProject`. */
        project: nonEmpty(255)
            .regex(IMAGE_PATH_PATTERN, "must be a lower-case project path")
            .optional(),
        /** GitLab group/namespace holding the image; defaults to `msa:registryNamespace`. */
        namespace: nonEmpty(255)
            .regex(IMAGE_PATH_PATTERN, "must be a lower-case namespace path")
            .optional(),
        tag: nonEmpty(128).regex(TAG_PATTERN, "must be a valid image tag"),
        /** `NODENAME` in the container's env. */
        nodeName: nonEmpty(255).optional(),
        containerName: nonEmpty(128)
            .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be a valid container name")
            .optional(),
        ports: z
            .array(portSchema, { error: "must be a list" })
            .max(100, "must have at most 100 entries")
            .default([]),
        env: z
            .record(
                z.string().regex(ENV_NAME_PATTERN, "must be a valid environment variable name"),
                envValue,
                {
                    error: "must be a map of NAME: value",
                },
            )
            .default({}),
        restart: z
            .enum(RESTART_POLICIES, { error: `must be one of ${RESTART_POLICIES.join(", ")}` })
            .default("always"),
        /** Other services (keys of `msa:services`) this one talks to. */
        links: z
            .array(z.string({ error: "must be a string" }), { error: "must be a list" })
            .default([]),
        memoryMb: z
            .number({ error: "must be an integer" })
            .int("must be an integer")
            .min(6, "must be 6-1048576")
            .max(1048576, "must be 6-1048576")
            .optional(),
        /** Replaces the image's command. */
        command: z.array(text(), { error: "must be a list" }).optional(),
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

/**
 * Plain (non-secret) stack config, keyed without the `msa:` namespace. Defaults here are the
 * defaults declared in `Pulumi.yaml` (a test keeps the two in step).
 */
export const stackConfigSchema = z
    .object({
        environment: nonEmpty(63)
            .regex(/^[a-z][a-z0-9-]*$/, "must be lower-case letters, digits and -")
            .optional(),
        namePrefix: nonEmpty(40)
            .regex(/^[a-z0-9][a-z0-9_.-]*$/, "must be lower-case letters, digits, _, . and -")
            .optional(),
        protect: z.boolean({ error: "must be true or false" }).default(false),

        registryServer: hostname().default("registry.gitlab.com"),
        registryNamespace: nonEmpty(255).regex(
            IMAGE_PATH_PATTERN,
            "must be a lower-case namespace path",
        ),
        registryProject: nonEmpty(255).regex(
            IMAGE_PATH_PATTERN,
            "must be a lower-case project path",
        ),
        registryUsername: nonEmpty(255),

        dbMode: z
            .enum(DB_MODES, { error: `must be one of ${DB_MODES.join(", ")}` })
            .default("container"),
        dbHost: hostname().optional(),
        dbPort: port().default(5432),
        dbHostPort: port().optional(),
        dbBindAddress: bindAddress().default("127.0.0.1"),
        /**
         * The documented override of the policy that the DB port is published only on loopback or a
         * private address: `true` lets `dbBindAddress` be public. Unset means false.
         */
        dbPublicBindOverride: z.boolean({ error: "must be true or false" }).optional(),
        dbName: pgIdentifier(),
        dbSchema: pgIdentifier().default("public"),
        dbUser: pgIdentifier().default("postgres"),
        timezone: nonEmpty(64)
            .regex(
                /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/,
                "must be a tz database name like Asia/Seoul",
            )
            .default("UTC"),
        dbKind: nonEmpty(64).default("postgresql"),
        dbDialect: nonEmpty(255).default("org.hibernate.dialect.PostgreSQLDialect"),
        dbDriverClassName: nonEmpty(255).default("org.postgresql.Driver"),
        dbType: nonEmpty(64).default("postgresql_table"),
        dbImageName: nonEmpty(255)
            .regex(IMAGE_PATH_PATTERN, "must be a lower-case image path")
            .default("db"),
        dbImageTag: nonEmpty(128).regex(TAG_PATTERN, "must be a valid image tag").default("latest"),
        dbBaseImage: nonEmpty(255).default("postgres:14"),
        dbPushImage: z.boolean({ error: "must be true or false" }).default(true),
        dbContainerName: nonEmpty(128)
            .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be a valid container name")
            .optional(),
        dbVolumeName: nonEmpty(128)
            .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be a valid volume name")
            .optional(),
        dbMemoryMb: z
            .number({ error: "must be an integer" })
            .int("must be an integer")
            .min(6, "must be 6-1048576")
            .max(1048576, "must be 6-1048576")
            .optional(),
        dbHealthcheck: healthcheckSchema.default({
            interval: "1s",
            timeout: "3s",
            retries: 5,
            startPeriod: "60s",
        }),

        services: z
            .record(
                z
                    .string()
                    .regex(
                        SERVICE_KEY_PATTERN,
                        "must start with a letter and hold only letters, digits, _ and - (at most 63)",
                    ),
                serviceSchema,
                {
                    error: "must be a map of service name to service settings",
                },
            )
            .default({}),
    })
    .strict();

export type PortConfig = z.output<typeof portSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type HealthcheckConfig = z.output<typeof healthcheckSchema>;
/** Validated plain config as the schema outputs it. */
export type PlainConfig = z.output<typeof stackConfigSchema>;
/** What a stack file may hold for the plain keys (defaults not applied). */
export type PlainConfigInput = z.input<typeof stackConfigSchema>;

/** The secret keys, read with `requireSecret`/`getSecretObject`, never validated by value. */
export const SECRET_KEYS = {
    registryPassword: {
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

/** The keys whose stack-file values are objects or lists rather than scalars. */
export const STRUCTURED_KEYS = ["services", "dbHealthcheck"] as const;
