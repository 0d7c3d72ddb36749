/**
 * The doors from a container to its host that the pack keeps shut, as plain functions over the
 * values of a resource: host paths that hand over a container runtime or the host's filesystem,
 * host namespaces, security options that turn confinement off, healthchecks that do not probe.
 */
import * as path from "path";

/** Where the Docker engine's socket lives on the host. */
export const DOCKER_SOCKETS = ["/var/run/docker.sock", "/run/docker.sock"] as const;

/**
 * Sockets of the other runtimes a host may run (containerd, CRI-O, Podman, BuildKit, rootless
 * Docker and Podman under `/run/user/<uid>`): whoever talks to one starts containers on the host.
 * Any other `*.sock` counts as well; these are listed so that mounting a directory above one is
 * caught too.
 */
export const RUNTIME_SOCKETS = [
    "/run/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/run/podman/podman.sock",
    "/run/buildkit/buildkitd.sock",
    "/run/user/*/docker.sock",
    "/run/user/*/podman/podman.sock",
] as const;

/** What a host path exposes, worded for a message: `the Docker socket /var/run/docker.sock`. */
export interface Exposure {
    what: string;
}

/**
 * What bind-mounting `hostPath` exposes, or undefined for an ordinary path. The path is normalised
 * (`//`, `.`, `..`, a trailing `/`), and `/var/run` is `/run` (a symlink on every current distribution),
 * except that the Docker socket is named as written, as before.
 */
export function hostPathExposure(hostPath: string): Exposure | undefined {
    if (!hostPath.startsWith("/")) {
        return undefined;
    }
    const p = normalise(hostPath);
    const docker = DOCKER_SOCKETS.find((s) => s === p || p === "/" || s.startsWith(`${p}/`));
    if (docker !== undefined) {
        return { what: `the Docker socket ${docker}` };
    }
    // `/var/run` itself holds the Docker socket: it was named above.
    const run = p.startsWith("/var/run/") ? p.slice("/var".length) : p;
    if (run.endsWith(".sock")) {
        return { what: `the container runtime socket ${p}` };
    }
    const socket = RUNTIME_SOCKETS.find((s) => covers(run, s));
    if (socket !== undefined) {
        return { what: `the container runtime socket ${socket.replace("*", "<uid>")}` };
    }
    if (run.startsWith("/run/containerd/")) {
        return { what: "containerd's state under /run/containerd" };
    }
    if (p === "/proc" || /^\/proc\/(?:[0-9]+|self|thread-self)(?:\/root(?:\/.*)?)?$/.test(p)) {
        return { what: "the host's filesystem through /proc/<pid>/root" };
    }
    return undefined;
}

function normalise(p: string): string {
    // normalize() leaves at most one trailing slash.
    const n = path.posix.normalize(p).replace(/\/$/, "");
    return n === "" ? "/" : n;
}

/** `p` is `pattern` (one `*` matches one path component) or a directory above it. */
function covers(p: string, pattern: string): boolean {
    const want = pattern.split("/");
    const have = p.split("/");
    if (have.length > want.length) {
        return false;
    }
    return have.every((c, i) => want[i] === "*" || want[i] === c);
}

/**
 * The host path a volume binds, for the local driver's bind options (`type: none, o: bind,
 * device: /var/run`): a bind mount by another name.
 */
export function volumeBindDevice(driverOptions: Record<string, string>): string | undefined {
    const o = (driverOptions.o ?? "").split(",").map((x) => x.trim().toLowerCase());
    const device = driverOptions.device;
    return (o.includes("bind") || o.includes("rbind")) &&
        typeof device === "string" &&
        device !== ""
        ? device
        : undefined;
}

/** Namespace modes that share the host's namespace when set to `host`, and what that gives. */
export const HOST_NAMESPACES = {
    pidMode: "which lets it see and signal every process on the host",
    ipcMode: "which lets it read and write the host's shared memory",
    networkMode: "which puts it on the host's network stack, past every port binding",
    usernsMode: "which turns user-namespace remapping off, so its root is the host's root",
} as const;

export const isHostMode = (mode: string | undefined): boolean =>
    typeof mode === "string" && mode.trim().toLowerCase() === "host";

/**
 * What a security option turns off, or undefined for a harmless one. Docker accepts
 * `seccomp=unconfined` and the older `seccomp:unconfined`; so does this.
 */
export function unconfinedBy(securityOpt: string): string | undefined {
    const m = /^\s*([A-Za-z-]+)\s*[=:]\s*(.*?)\s*$/.exec(securityOpt);
    if (m === null) {
        return undefined;
    }
    const key = (m[1] ?? "").toLowerCase();
    const value = (m[2] ?? "").toLowerCase();
    if (key === "seccomp" && value === "unconfined") {
        return "the seccomp syscall filter";
    }
    if (key === "apparmor" && value === "unconfined") {
        return "the AppArmor profile";
    }
    if (key === "label" && value === "disable") {
        return "SELinux confinement";
    }
    if (key === "systempaths" && value === "unconfined") {
        return "the masking of /proc and /sys paths";
    }
    return undefined;
}

/** Capabilities a container may add: each is in Docker's default set already. */
export const CAPABILITY_ALLOW_LIST = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "KILL",
    "NET_BIND_SERVICE",
    "SETGID",
    "SETUID",
] as const;

/** The added capabilities outside the allow-list, as written (`cap_net_admin`, `SYS_ADMIN`). */
export function extraCapabilities(adds: string[]): string[] {
    const allowed: readonly string[] = CAPABILITY_ALLOW_LIST;
    return adds.filter((cap) => !allowed.includes(cap.toUpperCase().replace(/^CAP_/, "")));
}

const PROBES = new Set(["pg_isready", "psql"]);
const SHELLS = new Set(["sh", "bash", "ash", "dash"]);
/** `… || exit 0`, `…; true`: a shell test that passes whatever the probe said. */
const ALWAYS_PASSES = /(?:\|\||;|&)\s*(?:exit\s+0|true|:)\s*$/;

/**
 * Whether a DB healthcheck probes Postgres: `none` (no test, or `NONE`), `no-probe` (a test that
 * does not run `pg_isready` or `psql`, or ends in `|| exit 0`), or `probes`.
 */
export function healthcheckProbe(tests: string[]): "none" | "no-probe" | "probes" {
    const [kind, ...rest] = tests;
    if (kind === undefined || kind === "NONE") {
        return "none";
    }
    let shell: string | undefined;
    if (kind === "CMD-SHELL") {
        shell = rest.join(" ");
    } else if (kind === "CMD") {
        const program = path.posix.basename(rest[0] ?? "");
        if (SHELLS.has(program) && rest[1] === "-c") {
            shell = rest.slice(2).join(" ");
        } else {
            return PROBES.has(program) ? "probes" : "no-probe";
        }
    } else {
        return "no-probe";
    }
    const runsProbe = /(?:^|[\s;&|(])(?:\S*\/)?(?:pg_isready|psql)(?:\s|$)/.test(shell);
    return runsProbe && !ALWAYS_PASSES.test(shell) ? "probes" : "no-probe";
}
