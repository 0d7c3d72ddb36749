/**
 * The guardrails of the stack, as CrossGuard validations. `policy/index.ts` hands them to
 * `new PolicyPack(...)` for `pulumi preview --policy-pack policy`; `policy/offline.ts` runs the very
 * same objects over a capture (`npm run plan -- --stack <name> --policy`) or a saved plan
 * (`npm run policy -- <plan.json>`). This module holds no resources and starts nothing, so tests and
 * tools may import it.
 *
 * Every message is one line that names the resource and the fix. The resource policies are typed
 * with `@pulumi/docker`'s classes (`validateResourceOfType`, see `./resources`); `prod-images-pinned`
 * is a stack validation, because whether a stack is under the production rules is written on its
 * labelled resources, and images carry no labels. Under the CLI the props are the resource's
 * inputs with secrets unwrapped (a stack validation's are its outputs); offline they are built the
 * same way, plus what only a capture knows (which inputs are secrets, `retainOnDelete`).
 */
import * as docker from "@pulumi/docker";
import type { Unwrap } from "@pulumi/pulumi";
import type {
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";
import { BlockList, isIP } from "net";
import { LABEL_KEYS } from "../config/naming";
import { carriesCredentials, looksSecret } from "../lib/secretNames";
import {
    CAPABILITY_ALLOW_LIST,
    extraCapabilities,
    healthcheckProbe,
    HOST_NAMESPACES,
    hostPathExposure,
    isHostMode,
    unconfinedBy,
    volumeBindDevice,
} from "./hostAccess";
import { describeTag, pinningOf } from "./pinning";
import {
    asTyped,
    Checked,
    DockerProvider,
    isProduction,
    Known,
    labelsOf,
    list,
    PolicyArgs,
    show,
    snapshot,
    stackIsProduction,
    stringMap,
    strings,
    validateTyped,
} from "./resources";

export { CAPABILITY_ALLOW_LIST, DOCKER_SOCKETS } from "./hostAccess";
export { DockerProvider, TYPES } from "./resources";
export type { OfflineFacts, PolicyArgs } from "./resources";

/**
 * The stack config keys the messages point at, in one place. They are the flat (v1) names the
 * messages have always used; the nested v2 config renames several (`msa:dbImageTag` is
 * `msa:database.image.tag`), and switching is this one table.
 */
export const CONFIG_KEYS = {
    dbImageTag: "msa:database.image.tag",
    dbBaseImage: "msa:database.image.base",
    dbBindAddress: "msa:database.bindAddress",
    dbPublicBindOverride: "msa:database.publicBindOverride",
    dbMemoryMb: "msa:database.memoryMb",
    proxyMemoryMb: "msa:proxy.memoryMb",
    protect: "msa:protect",
    production: "msa:production",
    secretEnv: "msa:secretEnv",
    service: (key: string, field: string) => `msa:services.${key}.${field}`,
} as const;

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

type Policy = ResourceValidationPolicy | StackValidationPolicy;
type ContainerProps = Known<Unwrap<docker.ContainerArgs>>;
type ServiceProps = Known<Unwrap<docker.ServiceArgs>>;
type ContainerSpecProps = NonNullable<NonNullable<ServiceProps["taskSpec"]>["containerSpec"]>;

// --- no host access ---------------------------------------------------------------------------

const noPrivileged: ResourceValidationPolicy = {
    name: "no-privileged-containers",
    description: "No container runs privileged: a privileged container is root on the host.",
    enforcementLevel: "mandatory",
    validateResource: validateTyped(docker.Container, ({ props, args, report }) => {
        if (props.privileged === true) {
            report(
                `${show(args)} runs privileged, which hands it the host; remove privileged: true`,
            );
        }
    }),
};

const noAddedCapabilities: ResourceValidationPolicy = {
    name: "no-added-capabilities",
    description: `Containers and services add no Linux capabilities beyond ${CAPABILITY_ALLOW_LIST.join(", ")}.`,
    enforcementLevel: "mandatory",
    validateResource: [
        validateTyped(docker.Container, ({ props, args, report }) =>
            reportCapabilities(
                args,
                report,
                strings(props.capabilities?.adds),
                "capabilities.adds",
            ),
        ),
        validateTyped(docker.Service, ({ props, args, report }) =>
            reportCapabilities(
                args,
                report,
                strings(containerSpec(props)?.capAdds),
                "taskSpec.containerSpec.capAdds",
            ),
        ),
    ],
};

function reportCapabilities(
    args: PolicyArgs,
    report: ReportViolation,
    adds: string[],
    field: string,
): void {
    const extra = extraCapabilities(adds);
    if (extra.length > 0) {
        report(
            `${show(args)} adds capabilities ${extra.join(", ")} beyond the allow-list (${CAPABILITY_ALLOW_LIST.join(", ")}); remove them from ${field}`,
        );
    }
}

const noDockerSocket: ResourceValidationPolicy = {
    name: "no-docker-socket-mount",
    description:
        "No container or service mounts the Docker socket, another container runtime's socket or the host's filesystem through /proc/<pid>/root, whether as a bind mount or as a volume with bind options: whoever talks to the engine owns the host.",
    enforcementLevel: "mandatory",
    validateResource: [
        validateTyped(docker.Container, ({ props, args, report }) => {
            for (const v of list(props.volumes)) {
                reportBind(args, report, v.hostPath);
            }
            reportMounts(args, report, list(props.mounts));
        }),
        validateTyped(docker.Service, ({ props, args, report }) =>
            reportMounts(args, report, list(containerSpec(props)?.mounts)),
        ),
        validateTyped(docker.Volume, ({ props, args, report }) => {
            const device = volumeBindDevice(stringMap(props.driverOpts));
            const exposure = device === undefined ? undefined : hostPathExposure(device);
            if (exposure !== undefined) {
                report(
                    `${show(args)} binds ${String(device)} from the host (driverOpts o=bind), which exposes ${exposure.what} and with it the host; remove the bind options (o, device) or the volume`,
                );
            }
        }),
    ],
};

/** A container's or a service's mount: the fields both have. */
interface MountLike {
    type?: string;
    source?: string;
    volumeOptions?: { driverOptions?: unknown };
}

function reportMounts(args: PolicyArgs, report: ReportViolation, mounts: MountLike[]): void {
    for (const m of mounts) {
        if (m.type === "bind") {
            reportBind(args, report, m.source);
        } else if (m.type === "volume") {
            const device = volumeBindDevice(stringMap(m.volumeOptions?.driverOptions));
            const exposure = device === undefined ? undefined : hostPathExposure(device);
            if (exposure !== undefined) {
                report(
                    `${show(args)} mounts a volume that binds ${String(device)} from the host (driver options o=bind), which exposes ${exposure.what} and with it the host; remove the mount`,
                );
            }
        }
    }
}

function reportBind(args: PolicyArgs, report: ReportViolation, hostPath: string | undefined): void {
    const exposure =
        typeof hostPath === "string" && hostPath !== "" ? hostPathExposure(hostPath) : undefined;
    if (exposure !== undefined) {
        report(
            `${show(args)} bind-mounts ${String(hostPath)} from the host, which exposes ${exposure.what} and with it the host; remove the mount`,
        );
    }
}

const noHostDevices: ResourceValidationPolicy = {
    name: "no-host-devices",
    description:
        "No container maps a host device (devices) or opens host devices through deviceCgroupRules.",
    enforcementLevel: "mandatory",
    validateResource: validateTyped(docker.Container, ({ props, args, report }) => {
        list(props.devices).forEach((d, i) => {
            report(
                `${show(args)} maps the host device ${String(d.hostPath)} (devices[${i}]), which gives it the host's hardware past the kernel's isolation; remove it`,
            );
        });
        for (const rule of strings(props.deviceCgroupRules)) {
            report(
                `${show(args)} opens host devices with deviceCgroupRules ${JSON.stringify(rule)}; remove the rule`,
            );
        }
    }),
};

const noHostNamespaces: ResourceValidationPolicy = {
    name: "no-host-namespaces",
    description:
        "No container shares the host's PID, IPC, network or user namespace (pidMode, ipcMode, networkMode, usernsMode: host), and no service joins the host network.",
    enforcementLevel: "mandatory",
    validateResource: [
        validateTyped(docker.Container, ({ props, args, report }) => {
            for (const [field, gives] of Object.entries(HOST_NAMESPACES)) {
                if (isHostMode(props[field as keyof typeof HOST_NAMESPACES])) {
                    report(`${show(args)} sets ${field}: host, ${gives}; remove ${field}`);
                }
            }
        }),
        validateTyped(docker.Service, ({ props, args, report }) => {
            if (joinsHostNetwork(props)) {
                report(
                    `${show(args)} joins the host network (taskSpec.networksAdvanceds), ${HOST_NAMESPACES.networkMode}; attach it to the stack's network instead`,
                );
            }
        }),
    ],
};

const noUnconfined: ResourceValidationPolicy = {
    name: "no-unconfined-security",
    description:
        "No container turns its confinement off (securityOpts seccomp=unconfined, apparmor=unconfined, label=disable, systempaths=unconfined, in either the = or the : spelling), and no service disables its SELinux context.",
    enforcementLevel: "mandatory",
    validateResource: [
        validateTyped(docker.Container, ({ props, args, report }) => {
            for (const opt of strings(props.securityOpts)) {
                const off = unconfinedBy(opt);
                if (off !== undefined) {
                    report(
                        `${show(args)} sets securityOpts ${JSON.stringify(opt)}, which turns off ${off}; remove it`,
                    );
                }
            }
        }),
        validateTyped(docker.Service, ({ props, args, report }) => {
            if (containerSpec(props)?.privileges?.seLinuxContext?.disable === true) {
                report(
                    `${show(args)} sets taskSpec.containerSpec.privileges.seLinuxContext.disable, which turns off SELinux confinement; remove it`,
                );
            }
        }),
    ],
};

// --- production -------------------------------------------------------------------------------

const prodImagesPinned: StackValidationPolicy = {
    name: "prod-images-pinned",
    description: `Unless the stack sets ${CONFIG_KEYS.production}: false, every image is pinned: a built image's tag and every tag a container runs is a full version (1.4.2) or a commit id, pulled images also carry a digest, and the DB base image is pinned by digest.`,
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const stackProduction = stackIsProduction(args.resources);
        for (const r of args.resources) {
            const found: string[] = [];
            checkPinned(r, stackProduction, (m) => found.push(m));
            for (const message of found) {
                report(message, r.urn);
            }
        }
    },
};

function checkPinned(r: PolicyResource, stackProduction: boolean, report: (m: string) => void) {
    const image = asTyped(r, docker.Image);
    const remote = asTyped(r, docker.RemoteImage);
    const container = asTyped(r, docker.Container);
    const service = asTyped(r, docker.Service);
    // Images carry no labels and go by the stack; a container or service by the stack or itself.
    const ownLabels = container?.labels ?? service?.labels;
    if (!stackProduction && (ownLabels === undefined || !isProduction(labelsOf(ownLabels)))) {
        return;
    }
    if (image !== undefined) {
        checkBuiltImage(r, image, report);
    } else if (remote !== undefined && typeof remote.name === "string") {
        const p = pinningOf(remote.name);
        if (p.invalid !== undefined) {
            report(invalidRef(r, "pulls", remote.name, p.invalid));
        } else if (!p.immutableTag) {
            report(
                `${show(r)} pulls ${remote.name}, ${describeTag(p.tag)} in prod, so the next deploy may run another image; set the service's tag (${CONFIG_KEYS.service("<key>", "tag")}) to a release tag`,
            );
        } else if (p.digest === undefined) {
            report(
                `${show(r)} pulls ${remote.name} without a digest in prod; pin it as <repo>:<tag>@sha256:<digest>`,
            );
        }
    } else if (container !== undefined && typeof container.image === "string") {
        const p = pinningOf(container.image);
        if (p.invalid !== undefined) {
            report(invalidRef(r, "runs", container.image, p.invalid));
        } else if (p.digest === undefined && !p.immutableTag) {
            report(
                `${show(r)} runs ${container.image}, ${describeTag(p.tag)} in prod; run an image pinned by digest or an immutable tag`,
            );
        }
    } else if (service !== undefined) {
        checkServiceImage(r, containerSpec(service)?.image, report);
    }
}

function checkBuiltImage(
    r: PolicyResource,
    image: Known<Unwrap<docker.ImageArgs>>,
    report: (m: string) => void,
): void {
    if (typeof image.imageName === "string") {
        const p = pinningOf(image.imageName);
        if (p.invalid !== undefined) {
            report(invalidRef(r, "builds", image.imageName, p.invalid));
        } else if (!p.immutableTag) {
            report(
                `${show(r)} builds ${image.imageName}, ${describeTag(p.tag)} in prod; set ${CONFIG_KEYS.dbImageTag} to a release or commit tag`,
            );
        }
    }
    // Under the CLI a stack validation sees outputs, which may not carry the build args; then
    // only the offline check (plan --policy, a saved plan) sees the base image.
    const base = stringMap(image.build?.args).BASE_IMAGE;
    if (base !== undefined) {
        const p = pinningOf(base);
        if (p.invalid !== undefined) {
            report(invalidRef(r, "builds on", base, p.invalid));
        } else if (p.digest === undefined) {
            report(
                `${show(r)} builds on ${base} (build arg BASE_IMAGE) without a digest in prod, so a rebuild may start from another base; set ${CONFIG_KEYS.dbBaseImage} to <image>:<tag>@sha256:<digest>`,
            );
        }
    }
}

function checkServiceImage(
    r: PolicyResource,
    image: string | undefined,
    report: (m: string) => void,
): void {
    if (typeof image !== "string") {
        return;
    }
    const p = pinningOf(image);
    if (p.invalid !== undefined) {
        report(invalidRef(r, "runs", image, p.invalid));
    } else if (p.tag !== undefined && !p.immutableTag) {
        report(
            `${show(r)} runs ${image}, ${describeTag(p.tag)} in prod; pin it as <repo>:<version>@sha256:<digest>`,
        );
    } else if (p.digest === undefined) {
        report(
            `${show(r)} runs ${image} without a digest in prod, so each node may pull another image; pin it as <repo>:<tag>@sha256:<digest>`,
        );
    }
}

function invalidRef(r: PolicyResource, verb: string, ref: string, reason: string): string {
    return `${show(r)} ${verb} ${ref}, which is not a valid image reference (${reason}), in prod; set it to <repo>:<version>@sha256:<digest>`;
}

const prodDataVolumeProtected: ResourceValidationPolicy = {
    name: "prod-data-volume-protected",
    description: `Unless the stack sets ${CONFIG_KEYS.production}: false, the database's data volume is protected and kept on delete (retainOnDelete).`,
    enforcementLevel: "mandatory",
    validateResource: validateTyped(docker.Volume, ({ props, args, report }) => {
        const labels = labelsOf(props.labels);
        if (!isProduction(labels) || labels[LABEL_KEYS.component] !== "database") {
            return;
        }
        const missing = [
            args.opts.protect ? "" : "protect",
            // Not passed by @pulumi/policy under the CLI (undefined there); the offline run checks it.
            args.retainOnDelete === false ? "retainOnDelete" : "",
        ].filter(Boolean);
        if (missing.length > 0) {
            report(
                `${show(args)} holds the prod database's data but lacks ${missing.join(" and ")}; set ${CONFIG_KEYS.protect}: true in the stack file`,
            );
        }
    }),
};

// --- the database -----------------------------------------------------------------------------

const dbPortPrivate: ResourceValidationPolicy = {
    name: "db-port-private",
    description: `The database port is published only on loopback or a private address (${PRIVATE_RANGES.join(", ")}), unless ${CONFIG_KEYS.dbPublicBindOverride} is true; the database never runs on the host network.`,
    enforcementLevel: "mandatory",
    validateResource: [
        validateTyped(docker.Container, ({ props, args, report }) => {
            const labels = labelsOf(props.labels);
            if (labels[LABEL_KEYS.component] !== "database") {
                return;
            }
            if (isHostMode(props.networkMode)) {
                report(hostNetworkDb(args, "networkMode: host"));
            }
            if (labels[LABEL_KEYS.dbPublicOverride] === "true") {
                return;
            }
            for (const p of list(props.ports)) {
                // Docker publishes on every interface when no address is given.
                const ip = typeof p.ip === "string" && p.ip !== "" ? p.ip : "0.0.0.0";
                if (!isPrivateAddress(ip)) {
                    report(
                        `${show(args)} publishes the database port ${String(p.external ?? p.internal)} on ${ip}, reachable from outside the host; set ${CONFIG_KEYS.dbBindAddress} to 127.0.0.1 or a private address (or set ${CONFIG_KEYS.dbPublicBindOverride}: true on purpose)`,
                    );
                }
            }
        }),
        validateTyped(docker.Service, ({ props, args, report }) => {
            const labels = serviceLabels(props);
            if (labels[LABEL_KEYS.component] !== "database") {
                return;
            }
            if (joinsHostNetwork(props)) {
                report(hostNetworkDb(args, "the host network in taskSpec.networksAdvanceds"));
            }
            if (labels[LABEL_KEYS.dbPublicOverride] === "true") {
                return;
            }
            for (const p of list(props.endpointSpec?.ports)) {
                if (p.publishedPort !== undefined) {
                    report(
                        `${show(args)} publishes the database port ${String(p.publishedPort)} through the swarm on every interface of every node; remove endpointSpec.ports (or set ${CONFIG_KEYS.dbPublicBindOverride}: true on purpose)`,
                    );
                }
            }
        }),
    ],
};

function hostNetworkDb(args: PolicyArgs, where: string): string {
    return `${show(args)} runs the database on the host network (${where}), so Postgres listens on the host's interfaces whatever ${CONFIG_KEYS.dbBindAddress} says; remove it`;
}

const dbHealthcheck: ResourceValidationPolicy = {
    name: "db-healthcheck",
    description:
        "The database has a healthcheck that probes Postgres (pg_isready or psql), so dependants start only once it accepts connections.",
    enforcementLevel: "mandatory",
    validateResource: [
        validateTyped(docker.Container, (c) => {
            if (labelsOf(c.props.labels)[LABEL_KEYS.component] === "database") {
                checkHealthcheck(c, c.props.healthcheck?.tests, "healthcheck");
            }
        }),
        validateTyped(docker.Service, (s) => {
            if (serviceLabels(s.props)[LABEL_KEYS.component] === "database") {
                const field = "taskSpec.containerSpec.healthcheck";
                checkHealthcheck(s, containerSpec(s.props)?.healthcheck?.tests, field);
            }
        }),
    ],
};

function checkHealthcheck(
    { args, report, unknown }: Checked<unknown>,
    tests: (string | undefined)[] | undefined,
    field: string,
): void {
    if (unknown(field)) {
        return;
    }
    const given = strings(tests);
    const probe = healthcheckProbe(given);
    if (probe === "none") {
        report(
            `${show(args)} is the database but has no healthcheck; give it one (pg_isready), as the PostgresDatabase component does`,
        );
    } else if (probe === "no-probe") {
        report(
            `${show(args)} is the database but its healthcheck ${JSON.stringify(given.join(" "))} does not probe Postgres; run pg_isready (or psql) in it, as the PostgresDatabase component does`,
        );
    }
}

// --- secrets ----------------------------------------------------------------------------------

const passwordsAreSecrets: ResourceValidationPolicy = {
    name: "passwords-are-secrets",
    description:
        "Passwords and secret env reach resources only as secrets: the DB password env, any env whose name looks secret (lib/secretNames.ts) or whose value carries a credential, the provider's registryAuth and TLS key, an image's registry.password, a service's auth.password.",
    enforcementLevel: "mandatory",
    validateResource: [
        validateTyped(docker.Container, (c) =>
            checkSecrets(c, envListFields(strings(c.props.envs), c.props.labels)),
        ),
        validateTyped(docker.Service, (s) =>
            checkSecrets(s, [
                ...envMapFields(containerSpec(s.props)?.env, serviceLabels(s.props)),
                ...passwordField(s.props.auth?.password, "auth.password", "the registry password"),
            ]),
        ),
        validateTyped(DockerProvider, (p) =>
            checkSecrets(p, [
                ...registryAuths(p.props.registryAuth).flatMap(([auth, i]) =>
                    passwordField(
                        auth.password,
                        `registryAuth[${i}].password`,
                        "the registry password",
                    ),
                ),
                ...passwordField(
                    p.props.keyMaterial,
                    "keyMaterial",
                    "the Docker host's TLS private key",
                ),
            ]),
        ),
        validateTyped(docker.Image, (i) =>
            checkSecrets(
                i,
                passwordField(
                    i.props.registry?.password,
                    "registry.password",
                    "the registry password",
                ),
            ),
        ),
    ],
};

interface SecretField {
    path: string;
    what: string;
    value: string;
    /** How to pass it as a secret. */
    fix: string;
    /**
     * A password proper: under the CLI, where secretness cannot be seen, its value must at least
     * not be copied into other fields. Env that only looks secret is checked offline only.
     */
    password: boolean;
}

const SECRET_FIX = "pulumi.secret / config set --secret";

function passwordField(value: unknown, path: string, what: string): SecretField[] {
    return typeof value === "string"
        ? [{ path, what, value, fix: SECRET_FIX, password: true }]
        : [];
}

/** The env entries (`NAME=value`) that must be secret. */
function envListFields(envs: string[], labels: ContainerProps["labels"]): SecretField[] {
    const component = labelsOf(labels)[LABEL_KEYS.component];
    return envs.flatMap((entry, i) => {
        const eq = entry.indexOf("=");
        return eq <= 0
            ? []
            : envField(entry.slice(0, eq), entry.slice(eq + 1), `envs[${i}]`, component);
    });
}

function envMapFields(env: unknown, labels: Record<string, string>): SecretField[] {
    const component = labels[LABEL_KEYS.component];
    return Object.entries(stringMap(env)).flatMap(([name, value]) =>
        envField(name, value, `taskSpec.containerSpec.env.${name}`, component),
    );
}

function envField(
    name: string,
    value: string,
    path: string,
    component: string | undefined,
): SecretField[] {
    if ((PASSWORD_ENV as readonly string[]).includes(name)) {
        return [
            { path, what: `the DB password (${name})`, value, fix: SECRET_FIX, password: true },
        ];
    }
    const what = looksSecret(name)
        ? `the secret-looking env ${name}`
        : carriesCredentials(value)
          ? `a credential in env ${name}`
          : undefined;
    if (what === undefined) {
        return [];
    }
    const key = serviceKey(component);
    const fix =
        key === undefined
            ? SECRET_FIX
            : `pulumi config set --secret --path '${CONFIG_KEYS.secretEnv}.${key}.${name}'`;
    return [{ path, what, value, fix, password: false }];
}

function checkSecrets({ args, report }: Checked<unknown>, fields: SecretField[]): void {
    if (fields.length === 0) {
        return;
    }
    if (args.secretPaths !== undefined) {
        const secretPaths = args.secretPaths;
        for (const f of fields) {
            if (!isSecretPath(secretPaths, f.path)) {
                report(
                    `${show(args)} gets ${f.what} (${f.path}) as plain text; pass it as a secret (${f.fix})`,
                );
            }
        }
        return;
    }
    // Under the CLI, props arrive with secrets unwrapped and unmarked, so secretness cannot be
    // seen here (the offline run checks it). What can be seen: a password copied elsewhere in plain
    // fields of the same resource (labels, command, other env entries), where no secret belongs.
    // A field's own path, or one above it (a provider's JSON-encoded `registryAuth`), is its home.
    const home = (p: string) =>
        fields.some(
            (f) => f.path === p || f.path.startsWith(`${p}.`) || f.path.startsWith(`${p}[`),
        );
    const plain = stringsOf(snapshot(args.props).value);
    for (const f of fields.filter((x) => x.password && x.value.length >= 4)) {
        const leak = plain.find(([p, text]) => !home(p) && text.includes(f.value));
        if (leak !== undefined) {
            report(
                `${show(args)} copies ${f.what} into ${leak[0]} in plain text; keep it only in ${f.path}, as a secret`,
            );
        }
    }
}

/**
 * A provider's `registryAuth` entries that are objects, each with its index in the list (so a
 * message names the entry as written). The nested config may arrive JSON-encoded (the engine's
 * provider inputs are strings).
 */
function registryAuths(v: unknown): [{ password?: unknown }, number][] {
    if (typeof v === "string") {
        try {
            v = JSON.parse(v) as unknown;
        } catch {
            return [];
        }
    }
    return Array.isArray(v)
        ? v.flatMap((x: unknown, i) =>
              typeof x === "object" && x !== null ? [[x as { password?: unknown }, i]] : [],
          )
        : [];
}

function isSecretPath(secretPaths: ReadonlySet<string>, p: string): boolean {
    for (const s of secretPaths) {
        if (s === "" || p === s || p.startsWith(`${s}.`) || p.startsWith(`${s}[`)) {
            return true;
        }
    }
    return false;
}

/** Every string in a value with its property path (`labels[0].value`). */
function stringsOf(v: unknown, at = ""): [string, string][] {
    if (typeof v === "string") {
        return [[at, v]];
    }
    if (Array.isArray(v)) {
        return v.flatMap((x, i) => stringsOf(x, `${at}[${i}]`));
    }
    if (typeof v === "object" && v !== null) {
        return Object.entries(v).flatMap(([k, x]) => stringsOf(x, at === "" ? k : `${at}.${k}`));
    }
    return [];
}

// --- operations -------------------------------------------------------------------------------

const restartPolicy: ResourceValidationPolicy = {
    name: "restart-policy",
    description:
        "Every container has a restart policy (not no), so it comes back after a crash or a host reboot.",
    enforcementLevel: "mandatory",
    validateResource: validateTyped(docker.Container, ({ props, args, report, unknown }) => {
        const restart = typeof props.restart === "string" ? props.restart : "";
        if (!unknown("restart") && (restart === "" || restart === "no")) {
            report(
                `${show(args)} has restart policy ${JSON.stringify(restart || "no")}; set ${CONFIG_KEYS.service("<key>", "restart")} to always, unless-stopped or on-failure`,
            );
        }
    }),
};

const STACK_LABELS = [LABEL_KEYS.project, LABEL_KEYS.stack, LABEL_KEYS.environment];

const stackLabelsPresent: ResourceValidationPolicy = {
    name: "stack-labels",
    description: `Containers, services, volumes and networks carry the stack's labels (${STACK_LABELS.join(", ")}).`,
    enforcementLevel: "advisory",
    validateResource: [
        validateTyped(docker.Container, (c) => checkStackLabels(c, labelsOf(c.props.labels))),
        validateTyped(docker.Service, (s) => checkStackLabels(s, labelsOf(s.props.labels))),
        validateTyped(docker.Volume, (v) => checkStackLabels(v, labelsOf(v.props.labels))),
        validateTyped(docker.Network, (n) => checkStackLabels(n, labelsOf(n.props.labels))),
    ],
};

function checkStackLabels(
    { args, report, unknown }: Checked<unknown>,
    labels: Record<string, string>,
) {
    const missing = STACK_LABELS.filter((k) => labels[k] === undefined || labels[k] === "");
    if (missing.length > 0 && !unknown("labels")) {
        report(
            `${show(args)} lacks the labels ${missing.join(", ")}; give it stackLabels(cfg, <component>) from config/naming.ts`,
        );
    }
}

const memoryLimits: ResourceValidationPolicy = {
    name: "memory-limits",
    description: "Containers have a memory limit, so one leaking service cannot starve the others.",
    enforcementLevel: "advisory",
    validateResource: validateTyped(docker.Container, ({ props, args, report, unknown }) => {
        if ((typeof props.memory === "number" && props.memory > 0) || unknown("memory")) {
            return;
        }
        const component = labelsOf(props.labels)[LABEL_KEYS.component];
        const key =
            component === "database"
                ? CONFIG_KEYS.dbMemoryMb
                : component === "proxy"
                  ? CONFIG_KEYS.proxyMemoryMb
                  : CONFIG_KEYS.service(serviceKey(component) ?? "<key>", "memoryMb");
        report(`${show(args)} has no memory limit; set ${key}`);
    }),
};

/** Every policy of the pack, in the order the README lists them. */
export const POLICIES: Policy[] = [
    noPrivileged,
    noAddedCapabilities,
    noDockerSocket,
    noHostDevices,
    noHostNamespaces,
    noUnconfined,
    prodImagesPinned,
    dbPortPrivate,
    passwordsAreSecrets,
    dbHealthcheck,
    restartPolicy,
    prodDataVolumeProtected,
    stackLabelsPresent,
    memoryLimits,
];

/** The resource validations of a policy, whatever form they take (one, a list, none). */
export function resourceValidations(p: Policy): ResourceValidation[] {
    return "validateResource" in p
        ? [p.validateResource].flat().filter((v) => v !== undefined)
        : [];
}

/** The level a policy runs at: advisory unless it says otherwise (as `@pulumi/policy` does). */
export const levelOf = (p: Policy): EnforcementLevel => p.enforcementLevel ?? "advisory";

// --- helpers ----------------------------------------------------------------------------------

/** Components that are not a service of `msa:services`: they take no `msa:secretEnv`. */
const NOT_SERVICES = ["database", "proxy", "network"];

/**
 * The `msa:services` key a component label names: `service:<key>` (the label `index.ts` gives a
 * service), or a bare key as older stacks labelled it; undefined for the stack's own components.
 */
function serviceKey(component: string | undefined): string | undefined {
    if (component === undefined || NOT_SERVICES.includes(component)) {
        return undefined;
    }
    return component.startsWith("service:") ? component.slice("service:".length) : component;
}

function containerSpec(props: ServiceProps): ContainerSpecProps | undefined {
    return props.taskSpec?.containerSpec;
}

/** A service's labels: its own and its container spec's. */
function serviceLabels(props: ServiceProps): Record<string, string> {
    return { ...labelsOf(containerSpec(props)?.labels), ...labelsOf(props.labels) };
}

function joinsHostNetwork(props: ServiceProps): boolean {
    return list(props.taskSpec?.networksAdvanceds).some((n) => isHostMode(n.name));
}

const privateRanges = (() => {
    const blocks = new BlockList();
    for (const range of PRIVATE_RANGES) {
        const [net, bits] = range.split("/") as [string, string];
        blocks.addSubnet(net, Number(bits), isIP(net) === 6 ? "ipv6" : "ipv4");
    }
    return blocks;
})();

export function isPrivateAddress(ip: string): boolean {
    const family = isIP(ip);
    if (family === 0) {
        return false;
    }
    return privateRanges.check(ip, family === 6 ? "ipv6" : "ipv4");
}
