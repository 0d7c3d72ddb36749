/**
 * The guardrails of the stack, as CrossGuard resource validations. `policy/index.ts` hands them to
 * `new PolicyPack(...)` for `pulumi preview --policy-pack policy`; `policy/offline.ts` runs the very
 * same objects over a capture for `npm run plan -- --stack <name> --policy`. This module holds no
 * resources and starts nothing, so tests and tools may import it.
 *
 * Every message names the resource and the fix. Under the CLI the props are the resource's inputs
 * with secrets unwrapped; offline they are built the same way, plus what only a capture knows (which
 * inputs are secrets, `retainOnDelete`), see `OfflineFacts`.
 */
import type {
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
} from "@pulumi/policy";
import { BlockList, isIP } from "net";
import * as path from "path";
import { LABEL_KEYS } from "../config/naming";

export const TYPES = {
    container: "docker:index/container:Container",
    volume: "docker:index/volume:Volume",
    network: "docker:index/network:Network",
    image: "docker:index/image:Image",
    remoteImage: "docker:index/remoteImage:RemoteImage",
    provider: "pulumi:providers:docker",
} as const;

/**
 * What the offline runner knows beyond what `@pulumi/policy` passes under the CLI. Under the CLI
 * these are absent and the checks that need them do what the CLI's data allows (see each policy).
 */
export interface OfflineFacts {
    /** Property paths (`envs[1]`, `registryAuth`, `registry.password`) the program declared secret. */
    secretPaths?: ReadonlySet<string>;
    /** `@pulumi/policy` 1.x does not pass `retainOnDelete`; the capture does. */
    retainOnDelete?: boolean;
}
export type PolicyArgs = ResourceValidationArgs & OfflineFacts;

/**
 * Capabilities a container may add: each is in Docker's default set already, so adding one back
 * after a `drops: [ALL]` grants nothing new.
 */
export const CAPABILITY_ALLOW_LIST = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "KILL",
    "NET_BIND_SERVICE",
    "SETGID",
    "SETUID",
] as const;

/** Where the Docker engine's socket lives on the host. */
export const DOCKER_SOCKETS = ["/var/run/docker.sock", "/run/docker.sock"] as const;

/**
 * Tags that name a moving target, not a build. A digest next to one (`latest@sha256:…`) pins only
 * this deploy: the program resolves the tag again on every `pulumi up`.
 */
export const MOVING_TAGS = [
    "latest",
    "stable",
    "edge",
    "nightly",
    "main",
    "master",
    "dev",
    "develop",
    "head",
] as const;

/** Where a DB port may be published without the override: loopback and private ranges. */
export const PRIVATE_RANGES = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "::1/128",
] as const;

/** Env entries that carry the DB password (the DB container's and the services'). */
export const PASSWORD_ENV = ["POSTGRES_PASSWORD", "DB_PASSWORD"] as const;

const PROD = "prod";

// --- the policies -----------------------------------------------------------------------------

const noPrivileged = containerPolicy(
    "no-privileged-containers",
    "mandatory",
    "No container runs privileged: a privileged container is root on the host.",
    (c, args, report) => {
        if (c.privileged === true) {
            report(
                `${show(args)} runs privileged, which hands it the host; remove privileged: true`,
            );
        }
    },
);

const noAddedCapabilities = containerPolicy(
    "no-added-capabilities",
    "mandatory",
    `Containers add no Linux capabilities beyond ${CAPABILITY_ALLOW_LIST.join(", ")}.`,
    (c, args, report) => {
        const adds = stringList(record(c.capabilities)?.adds);
        const allowed: readonly string[] = CAPABILITY_ALLOW_LIST;
        const extra = adds.filter((cap) => !allowed.includes(normalCapability(cap)));
        if (extra.length > 0) {
            report(
                `${show(args)} adds capabilities ${extra.join(", ")} beyond the allow-list (${CAPABILITY_ALLOW_LIST.join(", ")}); remove them from capabilities.adds`,
            );
        }
    },
);

const noDockerSocket = containerPolicy(
    "no-docker-socket-mount",
    "mandatory",
    "No container bind-mounts the Docker socket: Docker-in-Docker and Docker-outside-of-Docker both hand out the host.",
    (c, args, report) => {
        const hostPaths = [
            ...records(c.volumes).map((v) => v.hostPath),
            ...records(c.mounts)
                .filter((m) => m.type === "bind")
                .map((m) => m.source),
        ].filter((p): p is string => typeof p === "string" && p !== "");
        for (const hostPath of hostPaths) {
            const exposed = exposedSocket(hostPath);
            if (exposed !== undefined) {
                report(
                    `${show(args)} bind-mounts ${hostPath} from the host, which exposes the Docker socket ${exposed} and with it the host; remove the mount`,
                );
            }
        }
    },
);

const prodImagesPinned: ResourceValidationPolicy = {
    name: "prod-images-pinned",
    description:
        "In prod, images are pinned by digest or an immutable tag, never latest or no tag.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (environmentOf(args) !== PROD) {
            return;
        }
        // Read through `known`: an image ref computed by another resource is unknown in a preview.
        const props = {
            imageName: known(args.props, "imageName"),
            name: known(args.props, "name"),
            image: known(args.props, "image"),
        };
        if (args.type === TYPES.image && typeof props.imageName === "string") {
            const ref = parseImageRef(props.imageName);
            if (isMoving(ref.tag)) {
                report(
                    `${show(args)} builds ${props.imageName}, ${describeTag(ref.tag)} in prod; set msa:dbImageTag to a release or commit tag`,
                );
            }
        } else if (args.type === TYPES.remoteImage && typeof props.name === "string") {
            const ref = parseImageRef(props.name);
            if (isMoving(ref.tag)) {
                report(
                    `${show(args)} pulls ${props.name}, ${describeTag(ref.tag)} in prod, so the next deploy may run another image; set the service's tag (msa:services.<key>.tag) to a release tag`,
                );
            } else if (ref.digest === undefined) {
                report(
                    `${show(args)} pulls ${props.name} without a digest in prod; pin it as <repo>:<tag>@sha256:<digest>`,
                );
            }
        } else if (args.type === TYPES.container && typeof props.image === "string") {
            const ref = parseImageRef(props.image);
            if (ref.digest === undefined && isMoving(ref.tag)) {
                report(
                    `${show(args)} runs ${props.image}, ${describeTag(ref.tag)} in prod; run an image pinned by digest or an immutable tag`,
                );
            }
        }
    },
};

const dbPortPrivate = containerPolicy(
    "db-port-private",
    "mandatory",
    `The database port is published only on loopback or a private address (${PRIVATE_RANGES.join(", ")}), unless msa:dbPublicBindOverride is true.`,
    (c, args, report) => {
        const labels = labelsOf(c);
        if (labels[LABEL_KEYS.component] !== "database") {
            return;
        }
        if (labels[LABEL_KEYS.dbPublicOverride] === "true") {
            return;
        }
        for (const p of records(c.ports)) {
            // Docker publishes on every interface when no address is given.
            const ip = typeof p.ip === "string" && p.ip !== "" ? p.ip : "0.0.0.0";
            if (!isPrivateAddress(ip)) {
                report(
                    `${show(args)} publishes the database port ${String(p.external ?? p.internal)} on ${ip}, reachable from outside the host; set msa:dbBindAddress to 127.0.0.1 or a private address (or set msa:dbPublicBindOverride: true on purpose)`,
                );
            }
        }
    },
);

const passwordsAreSecrets: ResourceValidationPolicy = {
    name: "passwords-are-secrets",
    description:
        "The DB and registry passwords reach resources only as secrets (env POSTGRES_PASSWORD/DB_PASSWORD, the provider's registryAuth, an image's registry.password).",
    enforcementLevel: "mandatory",
    validateResource: (rawArgs, report) => {
        const args = rawArgs as PolicyArgs;
        const fields = passwordFields(args);
        if (fields.length === 0) {
            return;
        }
        if (args.secretPaths !== undefined) {
            const secretPaths = args.secretPaths;
            for (const f of fields) {
                if (!isSecretPath(secretPaths, f.path)) {
                    report(
                        `${show(args)} gets ${f.what} (${f.path}) as plain text; pass it as a secret (pulumi.secret / config set --secret)`,
                    );
                }
            }
            return;
        }
        // Under the CLI, props arrive with secrets unwrapped and unmarked, so secretness cannot be
        // seen here (the offline run checks it). What can be seen: the value copied elsewhere in plain
        // fields of the same resource (labels, command, other env entries), where no secret belongs.
        // A field's own path, or one above it (a provider's JSON-encoded `registryAuth`), is its home.
        const home = (p: string) =>
            fields.some(
                (f) => f.path === p || f.path.startsWith(`${p}.`) || f.path.startsWith(`${p}[`),
            );
        for (const f of fields) {
            if (f.value.length < 4) {
                continue;
            }
            const leak = stringsOf(args.props).find(
                ([p, text]) => !home(p) && text.includes(f.value),
            );
            if (leak !== undefined) {
                report(
                    `${show(args)} copies ${f.what} into ${leak[0]} in plain text; keep it only in ${f.path}, as a secret`,
                );
            }
        }
    },
};

const dbHealthcheck = containerPolicy(
    "db-healthcheck",
    "mandatory",
    "The database container has a healthcheck, so dependants start only once Postgres accepts connections.",
    (c, args, report) => {
        if (labelsOf(c)[LABEL_KEYS.component] !== "database") {
            return;
        }
        const tests = stringList(record(c.healthcheck)?.tests);
        if (tests.length === 0 || tests[0] === "NONE") {
            report(
                `${show(args)} is the database but has no healthcheck; give it one (pg_isready), as the PostgresDatabase component does`,
            );
        }
    },
);

const restartPolicy = containerPolicy(
    "restart-policy",
    "mandatory",
    "Every container has a restart policy (not no), so it comes back after a crash or a host reboot.",
    (c, args, report) => {
        const restart = typeof c.restart === "string" ? c.restart : "";
        if (restart === "" || restart === "no") {
            report(
                `${show(args)} has restart policy ${JSON.stringify(restart || "no")}; set msa:services.<key>.restart to always, unless-stopped or on-failure`,
            );
        }
    },
);

const prodDataVolumeProtected: ResourceValidationPolicy = {
    name: "prod-data-volume-protected",
    description:
        "In prod, the database's data volume is protected and kept on delete (retainOnDelete).",
    enforcementLevel: "mandatory",
    validateResource: (rawArgs, report) => {
        const args = rawArgs as PolicyArgs;
        if (args.type !== TYPES.volume || environmentOf(args) !== PROD) {
            return;
        }
        if (labelsOf(args.props)[LABEL_KEYS.component] !== "database") {
            return;
        }
        const missing = [
            args.opts.protect ? "" : "protect",
            // Not passed by @pulumi/policy under the CLI (undefined there); the offline run checks it.
            args.retainOnDelete === false ? "retainOnDelete" : "",
        ].filter(Boolean);
        if (missing.length > 0) {
            report(
                `${show(args)} holds the prod database's data but lacks ${missing.join(" and ")}; set msa:protect: true in the stack file`,
            );
        }
    },
};

const stackLabelsPresent: ResourceValidationPolicy = {
    name: "stack-labels",
    description: `Containers, volumes and networks carry the stack's labels (${[LABEL_KEYS.project, LABEL_KEYS.stack, LABEL_KEYS.environment].join(", ")}).`,
    enforcementLevel: "advisory",
    validateResource: (args, report) => {
        const labelled: string[] = [TYPES.container, TYPES.volume, TYPES.network];
        if (!labelled.includes(args.type)) {
            return;
        }
        const labels = labelsOf(args.props);
        const missing = [LABEL_KEYS.project, LABEL_KEYS.stack, LABEL_KEYS.environment].filter(
            (k) => labels[k] === undefined || labels[k] === "",
        );
        if (missing.length > 0) {
            report(
                `${show(args)} lacks the labels ${missing.join(", ")}; give it stackLabels(cfg, <component>) from config/naming.ts`,
            );
        }
    },
};

const memoryLimits = containerPolicy(
    "memory-limits",
    "advisory",
    "Containers have a memory limit, so one leaking service cannot starve the others.",
    (c, args, report) => {
        if (typeof c.memory === "number" && c.memory > 0) {
            return;
        }
        const component = labelsOf(c)[LABEL_KEYS.component];
        const key =
            component === "database"
                ? "msa:dbMemoryMb"
                : `msa:services.${component ?? "<key>"}.memoryMb`;
        report(`${show(args)} has no memory limit; set ${key}`);
    },
);

/** Every policy of the pack, in the order the README lists them. */
export const POLICIES: ResourceValidationPolicy[] = [
    noPrivileged,
    noAddedCapabilities,
    noDockerSocket,
    prodImagesPinned,
    dbPortPrivate,
    passwordsAreSecrets,
    dbHealthcheck,
    restartPolicy,
    prodDataVolumeProtected,
    stackLabelsPresent,
    memoryLimits,
];

// --- helpers ----------------------------------------------------------------------------------

type Props = Record<string, unknown>;

function containerPolicy(
    name: string,
    enforcementLevel: EnforcementLevel,
    description: string,
    check: (container: Props, args: ResourceValidationArgs, report: ReportViolation) => void,
): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel,
        validateResource: (args, report) => {
            if (args.type === TYPES.container) {
                check(args.props as Props, args, report);
            }
        },
    };
}

/** `Container "SERVICE_B-container"`: the resource as messages name it. */
function show(args: { type: string; name: string }): string {
    const kind = args.type.startsWith("pulumi:providers:")
        ? "Provider"
        : (args.type.split(":").pop() ?? args.type);
    return `${kind} ${JSON.stringify(args.name)}`;
}

function record(v: unknown): Props | undefined {
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Props) : undefined;
}

function records(v: unknown): Props[] {
    return Array.isArray(v)
        ? v.flatMap((x) => {
              const r = record(x);
              return r === undefined ? [] : [r];
          })
        : [];
}

function stringList(v: unknown): string[] {
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** Docker's labels as the provider takes them (`[{label, value}]`) or as a plain map. */
export function labelsOf(props: Props): Record<string, string> {
    const labels = props.labels;
    if (Array.isArray(labels)) {
        return Object.fromEntries(
            records(labels)
                .filter((l) => typeof l.label === "string")
                .map((l) => [l.label as string, typeof l.value === "string" ? l.value : ""]),
        );
    }
    const map = record(labels) ?? {};
    return Object.fromEntries(
        Object.entries(map).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
}

/**
 * The environment a resource belongs to: its `msa.environment` label, or, for resources that carry
 * no labels (images, providers), the stack name in its URN; the environment defaults to it.
 */
export function environmentOf(args: { props: Props; urn: string }): string | undefined {
    const label = labelsOf(args.props)[LABEL_KEYS.environment];
    if (label !== undefined) {
        return label;
    }
    return /^urn:pulumi:([^:]+)::/.exec(args.urn)?.[1];
}

function normalCapability(cap: string): string {
    return cap.toUpperCase().replace(/^CAP_/, "");
}

/** The socket a host path hands over: the socket itself or any directory above it. */
function exposedSocket(hostPath: string): string | undefined {
    const p = path.posix.normalize(hostPath).replace(/\/+$/, "") || "/";
    return DOCKER_SOCKETS.find((s) => s === p || p === "/" || s.startsWith(`${p}/`));
}

export interface ImageRef {
    repository: string;
    tag?: string;
    digest?: string;
}

/** `host:5000/a/b:1.0@sha256:…` → repository, tag, digest (Docker's reference grammar). */
export function parseImageRef(ref: string): ImageRef {
    const at = ref.indexOf("@");
    const named = at >= 0 ? ref.slice(0, at) : ref;
    const digest = at >= 0 ? ref.slice(at + 1) : undefined;
    const colon = named.lastIndexOf(":");
    const hasTag = colon > named.lastIndexOf("/");
    return {
        repository: hasTag ? named.slice(0, colon) : named,
        tag: hasTag ? named.slice(colon + 1) : undefined,
        digest: digest !== undefined && digest !== "" ? digest : undefined,
    };
}

function isMoving(tag: string | undefined): boolean {
    const moving: readonly string[] = MOVING_TAGS;
    return tag === undefined || tag === "" || moving.includes(tag.toLowerCase());
}

function describeTag(tag: string | undefined): string {
    return tag === undefined || tag === ""
        ? "which has no tag (so latest)"
        : `whose tag ${tag} moves`;
}

const privateRanges = (() => {
    const list = new BlockList();
    for (const range of PRIVATE_RANGES) {
        const [net, bits] = range.split("/") as [string, string];
        list.addSubnet(net, Number(bits), isIP(net) === 6 ? "ipv6" : "ipv4");
    }
    return list;
})();

export function isPrivateAddress(ip: string): boolean {
    const family = isIP(ip);
    if (family === 0) {
        return false;
    }
    return privateRanges.check(ip, family === 6 ? "ipv6" : "ipv4");
}

interface PasswordField {
    path: string;
    what: string;
    value: string;
}

/** Where a password sits in a resource's props, with its (unwrapped) value. */
function passwordFields(args: ResourceValidationArgs): PasswordField[] {
    const props = args.props as Props;
    const fields: PasswordField[] = [];
    if (args.type === TYPES.container) {
        stringList(props.envs).forEach((entry, i) => {
            const name = entry.slice(0, Math.max(entry.indexOf("="), 0));
            if ((PASSWORD_ENV as readonly string[]).includes(name)) {
                fields.push({
                    path: `envs[${i}]`,
                    what: `the DB password (${name})`,
                    value: entry.slice(name.length + 1),
                });
            }
        });
    } else if (args.type === TYPES.provider) {
        registryAuths(props.registryAuth).forEach((auth, i) => {
            if (typeof auth.password === "string") {
                fields.push({
                    path: `registryAuth[${i}].password`,
                    what: "the registry password",
                    value: auth.password,
                });
            }
        });
    } else if (args.type === TYPES.image) {
        const password = record(props.registry)?.password;
        if (typeof password === "string") {
            fields.push({
                path: "registry.password",
                what: "the registry password",
                value: password,
            });
        }
    }
    return fields;
}

/** A provider's nested config may arrive JSON-encoded (the engine's provider inputs are strings). */
function registryAuths(v: unknown): Props[] {
    if (typeof v === "string") {
        try {
            return records(JSON.parse(v) as unknown);
        } catch {
            return [];
        }
    }
    return records(v);
}

function isSecretPath(secretPaths: ReadonlySet<string>, p: string): boolean {
    for (const s of secretPaths) {
        if (s === "" || p === s || p.startsWith(`${s}.`) || p.startsWith(`${s}[`)) {
            return true;
        }
    }
    return false;
}

/**
 * A property, or undefined when it is not known yet: under the CLI, reading a value that is
 * unknown during a preview throws (`@pulumi/policy`'s unknown-checking proxy).
 */
function known(obj: unknown, key: string | number): unknown {
    try {
        return (obj as Record<string | number, unknown>)[key];
    } catch {
        return undefined;
    }
}

/** Every known string in a value with its property path (`labels[0].value`). */
function stringsOf(v: unknown, at = ""): [string, string][] {
    if (typeof v === "string") {
        return [[at, v]];
    }
    if (Array.isArray(v)) {
        const indexes = Array.from({ length: v.length }, (_, i) => i);
        return indexes.flatMap((i) => stringsOf(known(v, i), `${at}[${i}]`));
    }
    const r = record(v);
    return r === undefined
        ? []
        : Object.keys(r).flatMap((k) => stringsOf(known(r, k), at === "" ? k : `${at}.${k}`));
}
