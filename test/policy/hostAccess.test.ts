/**
 * The host-access doors, for containers and swarm services alike: devices, host namespaces,
 * unconfined security options, runtime sockets and the host's filesystem (also disguised as a
 * volume), added capabilities; and the database on the host network or with a healthcheck that
 * does not probe. Each case with its exact message, each door with a passing counterpart.
 */
import type * as HostAccess from "../../policy/hostAccess";
import { TYPES } from "../../policy/policies";
import { freshModules } from "../helpers";
import { container, dbContainer, labels, messages, resource, service, UNKNOWN } from "./resources";

describe("no-host-devices", () => {
    test("a host device or a device cgroup rule violates", async () => {
        const c = container("gpu", {
            devices: [{ hostPath: "/dev/sda", containerPath: "/dev/sda", permissions: "rwm" }],
            deviceCgroupRules: ["c 1:3 mr"],
        });
        expect(await messages("no-host-devices", c)).toEqual([
            "Container \"gpu\" maps the host device /dev/sda (devices[0]), which gives it the host's hardware past the kernel's isolation; remove it",
            'Container "gpu" opens host devices with deviceCgroupRules "c 1:3 mr"; remove the rule',
        ]);
    });
    test("no devices passes", async () => {
        expect(await messages("no-host-devices", container("ok", { devices: [] }))).toEqual([]);
    });
});

describe("no-host-namespaces", () => {
    test.each([
        ["pidMode", "which lets it see and signal every process on the host"],
        ["ipcMode", "which lets it read and write the host's shared memory"],
        ["networkMode", "which puts it on the host's network stack, past every port binding"],
        ["usernsMode", "which turns user-namespace remapping off, so its root is the host's root"],
    ])("%s: host violates", async (field, gives) => {
        expect(await messages("no-host-namespaces", container("c", { [field]: "host" }))).toEqual([
            `Container "c" sets ${field}: host, ${gives}; remove ${field}`,
        ]);
    });
    test("the spelling does not matter: ' Host ' is host", async () => {
        expect(await messages("no-host-namespaces", container("c", { pidMode: " Host " }))).toEqual(
            [
                'Container "c" sets pidMode: host, which lets it see and signal every process on the host; remove pidMode',
            ],
        );
    });
    test("private namespaces pass", async () => {
        const c = container("c", {
            pidMode: "container:sidecar",
            ipcMode: "private",
            networkMode: "bridge",
            usernsMode: "",
        });
        expect(await messages("no-host-namespaces", c)).toEqual([]);
    });
    test("a service on the host network violates; on the stack's network it passes", async () => {
        const onHost = service("web", {}, { name: "web" });
        (onHost.inputs.taskSpec as Record<string, unknown>).networksAdvanceds = [{ name: "host" }];
        expect(await messages("no-host-namespaces", onHost)).toEqual([
            `Service "web" joins the host network (taskSpec.networksAdvanceds), which puts it on the host's network stack, past every port binding; attach it to the stack's network instead`,
        ]);
        const onStack = service("web");
        (onStack.inputs.taskSpec as Record<string, unknown>).networksAdvanceds = [
            { name: "msa-prod-net" },
        ];
        expect(await messages("no-host-namespaces", onStack)).toEqual([]);
    });
});

describe("no-unconfined-security", () => {
    test.each([
        ["seccomp=unconfined", "the seccomp syscall filter"],
        ["seccomp:unconfined", "the seccomp syscall filter"],
        ["apparmor=unconfined", "the AppArmor profile"],
        ["apparmor:unconfined", "the AppArmor profile"],
        ["label=disable", "SELinux confinement"],
        ["label:disable", "SELinux confinement"],
        ["systempaths=unconfined", "the masking of /proc and /sys paths"],
        [" Seccomp = Unconfined ", "the seccomp syscall filter"],
    ])("%s violates", async (opt, off) => {
        expect(
            await messages("no-unconfined-security", container("c", { securityOpts: [opt] })),
        ).toEqual([
            `Container "c" sets securityOpts ${JSON.stringify(opt)}, which turns off ${off}; remove it`,
        ]);
    });
    test("options that keep confinement pass", async () => {
        const c = container("c", {
            securityOpts: [
                "no-new-privileges",
                "no-new-privileges:true",
                "seccomp=/etc/docker/seccomp.json",
                "apparmor=docker-default",
                "label=type:svirt_apache_t",
                // disable switches SELinux off only as a label option; here it names a profile.
                "apparmor=disable",
                // Only the four pairs turn confinement off; their neighbours are other options.
                "systempaths=masked",
                "label=unconfined",
                // The key is the whole name before = or :.
                "my_seccomp=unconfined",
            ],
        });
        expect(await messages("no-unconfined-security", c)).toEqual([]);
    });
    test("a service that disables its SELinux context violates; one that keeps it passes", async () => {
        const privileges = (disable: boolean) => ({ seLinuxContext: { disable } });
        expect(
            await messages(
                "no-unconfined-security",
                service("web", { privileges: privileges(true) }),
            ),
        ).toEqual([
            'Service "web" sets taskSpec.containerSpec.privileges.seLinuxContext.disable, which turns off SELinux confinement; remove it',
        ]);
        expect(
            await messages(
                "no-unconfined-security",
                service("web", { privileges: privileges(false) }),
            ),
        ).toEqual([]);
    });
});

describe("no-docker-socket-mount: runtime sockets and the host's filesystem", () => {
    const bind = (source: string) =>
        container("c", { mounts: [{ type: "bind", source, target: "/x" }] });
    const exposes = (source: string, what: string) =>
        `Container "c" bind-mounts ${source} from the host, which exposes ${what} and with it the host; remove the mount`;

    test.each([
        [
            "/run/containerd/containerd.sock",
            "the container runtime socket /run/containerd/containerd.sock",
        ],
        ["/var/run/containerd", "the container runtime socket /run/containerd/containerd.sock"],
        [
            "/run/containerd/io.containerd.runtime.v2.task",
            "containerd's state under /run/containerd",
        ],
        ["/run/user/1000/docker.sock", "the container runtime socket /run/user/1000/docker.sock"],
        ["/run/user/1000", "the container runtime socket /run/user/<uid>/docker.sock"],
        ["/var/run/crio", "the container runtime socket /run/crio/crio.sock"],
        ["/run/podman/podman.sock", "the container runtime socket /run/podman/podman.sock"],
        ["/tmp/buildkitd.sock", "the container runtime socket /tmp/buildkitd.sock"],
        ["/proc/1/root", "the host's filesystem through /proc/<pid>/root"],
        ["/proc/self/root/etc", "the host's filesystem through /proc/<pid>/root"],
        ["/proc", "the host's filesystem through /proc/<pid>/root"],
        ["/proc/4242/root", "the host's filesystem through /proc/<pid>/root"],
        ["/proc/1", "the host's filesystem through /proc/<pid>/root"],
        // Normalised before it is judged, named as written.
        ["/var//run/./docker.sock", "the Docker socket /var/run/docker.sock"],
        ["/srv/../var/run/docker.sock", "the Docker socket /var/run/docker.sock"],
        ["/run/docker.sock/", "the Docker socket /run/docker.sock"],
        ["/var", "the Docker socket /var/run/docker.sock"],
    ])("%s violates", async (source, what) => {
        expect(await messages("no-docker-socket-mount", bind(source))).toEqual([
            exposes(source, what),
        ]);
    });
    test.each([
        "/srv/app",
        "/runner/data",
        "/var/running",
        "/var/lib/app",
        "relative/docker.sock",
        // /proc itself, a process's directory and its root are the host; one file about a
        // process, or a folder that is only named proc, are not.
        "/proc/1/status",
        "/srv/proc/1",
    ])("%s passes", async (source) => {
        expect(await messages("no-docker-socket-mount", bind(source))).toEqual([]);
    });

    test("a volume mount with bind options is a bind mount by another name", async () => {
        const c = container("c", {
            mounts: [
                {
                    type: "volume",
                    target: "/x",
                    volumeOptions: {
                        driverOptions: { type: "none", o: "bind", device: "/var/run" },
                    },
                },
                {
                    type: "volume",
                    target: "/y",
                    volumeOptions: {
                        driverOptions: { type: "none", o: "rbind,ro", device: "/srv/data" },
                    },
                },
                {
                    type: "volume",
                    target: "/z",
                    volumeOptions: {
                        driverOptions: { type: "nfs", o: "addr=10.0.0.1,rw", device: ":/run" },
                    },
                },
            ],
        });
        expect(await messages("no-docker-socket-mount", c)).toEqual([
            'Container "c" mounts a volume that binds /var/run from the host (driver options o=bind), which exposes the Docker socket /var/run/docker.sock and with it the host; remove the mount',
        ]);
    });

    test("a Volume whose driverOpts bind the socket's directory violates; a data bind passes", async () => {
        const volume = (device: string) =>
            resource(TYPES.volume, "data", {
                name: "data",
                driver: "local",
                driverOpts: { type: "none", o: "bind", device },
                labels: labels("orders"),
            });
        expect(await messages("no-docker-socket-mount", volume("/var/run"))).toEqual([
            'Volume "data" binds /var/run from the host (driverOpts o=bind), which exposes the Docker socket /var/run/docker.sock and with it the host; remove the bind options (o, device) or the volume',
        ]);
        expect(await messages("no-docker-socket-mount", volume("/srv/data"))).toEqual([]);
    });

    test("a mount whose type is unknown in a preview is skipped", async () => {
        const c = container("c", {
            mounts: [
                {
                    type: UNKNOWN,
                    target: "/x",
                    volumeOptions: {
                        driverOptions: { type: "none", o: "bind", device: "/var/run" },
                    },
                },
            ],
        });
        expect(await messages("no-docker-socket-mount", c)).toEqual([]);
    });

    test("bind options are read as written by hand: rbind alone, spaces; no o=bind is no bind", async () => {
        const volume = (driverOpts: Record<string, string>) =>
            resource(TYPES.volume, "data", {
                name: "data",
                driver: "local",
                driverOpts,
                labels: labels("orders"),
            });
        const violation =
            'Volume "data" binds /var/run from the host (driverOpts o=bind), which exposes the Docker socket /var/run/docker.sock and with it the host; remove the bind options (o, device) or the volume';
        for (const o of ["rbind", "ro, bind"]) {
            expect(
                await messages(
                    "no-docker-socket-mount",
                    volume({ type: "none", o, device: "/var/run" }),
                ),
            ).toEqual([violation]);
        }
        // A tmpfs's device is only a name, and without o=bind nothing of the host is mounted.
        const unbound: Record<string, string>[] = [
            { type: "tmpfs", o: "size=64m", device: "/var/run" },
            { type: "none", device: "/var/run" },
        ];
        for (const driverOpts of unbound) {
            expect(await messages("no-docker-socket-mount", volume(driverOpts))).toEqual([]);
        }
    });

    test("a service mounting the socket, directly or through a volume, violates", async () => {
        const s = service("agent", {
            mounts: [
                { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" },
                {
                    type: "volume",
                    target: "/host",
                    volumeOptions: { driverOptions: { o: "bind", device: "/" } },
                },
                { type: "volume", source: "agent-data", target: "/data" },
            ],
        });
        expect(await messages("no-docker-socket-mount", s)).toEqual([
            'Service "agent" bind-mounts /var/run/docker.sock from the host, which exposes the Docker socket /var/run/docker.sock and with it the host; remove the mount',
            'Service "agent" mounts a volume that binds / from the host (driver options o=bind), which exposes the Docker socket /var/run/docker.sock and with it the host; remove the mount',
        ]);
        expect(
            await messages(
                "no-docker-socket-mount",
                service("agent", { mounts: [{ type: "volume", source: "data", target: "/data" }] }),
            ),
        ).toEqual([]);
    });
});

describe("no-added-capabilities: services", () => {
    test("capAdds beyond the allow-list violate; allow-listed ones pass", async () => {
        expect(
            await messages(
                "no-added-capabilities",
                service("s", { capAdds: ["CHOWN", "SYS_ADMIN"] }),
            ),
        ).toEqual([
            'Service "s" adds capabilities SYS_ADMIN beyond the allow-list (CHOWN, DAC_OVERRIDE, FOWNER, KILL, NET_BIND_SERVICE, SETGID, SETUID); remove them from taskSpec.containerSpec.capAdds',
        ]);
        expect(
            await messages(
                "no-added-capabilities",
                service("s", { capAdds: ["CAP_NET_BIND_SERVICE"] }),
            ),
        ).toEqual([]);
    });
});

describe("db-port-private: the host network", () => {
    const HOST_NET =
        "runs the database on the host network (networkMode: host), so Postgres listens on the host's interfaces whatever msa:database.bindAddress says; remove it";
    test("a DB container on the host network violates, even with the override label", async () => {
        expect(
            await messages("db-port-private", dbContainer({ networkMode: "host", ports: [] })),
        ).toEqual([`Container "database-container" ${HOST_NET}`]);
        const overridden = dbContainer({
            networkMode: "host",
            ports: [],
            labels: labels("database", { extra: { "msa.db-public-override": "true" } }),
        });
        expect(await messages("db-port-private", overridden)).toEqual([
            `Container "database-container" ${HOST_NET}`,
        ]);
    });
    test("a DB container on the bridge passes", async () => {
        expect(await messages("db-port-private", dbContainer({ networkMode: "bridge" }))).toEqual(
            [],
        );
    });
    test("a DB service on the host network or publishing its port violates; the override covers the port", async () => {
        const db = (more: Record<string, unknown>, extra: Record<string, string> = {}) => {
            const s = service("db", {}, more, "database");
            s.inputs.labels = labels("database", { extra });
            return s;
        };
        const onHost = db({});
        (onHost.inputs.taskSpec as Record<string, unknown>).networksAdvanceds = [{ name: "host" }];
        expect(await messages("db-port-private", onHost)).toEqual([
            'Service "db" runs the database on the host network (the host network in taskSpec.networksAdvanceds), so Postgres listens on the host\'s interfaces whatever msa:database.bindAddress says; remove it',
        ]);
        const published = { endpointSpec: { ports: [{ targetPort: 5432, publishedPort: 5432 }] } };
        expect(await messages("db-port-private", db(published))).toEqual([
            'Service "db" publishes the database port 5432 through the swarm on every interface of every node; remove endpointSpec.ports (or set msa:database.publicBindOverride: true on purpose)',
        ]);
        expect(
            await messages("db-port-private", db(published, { "msa.db-public-override": "true" })),
        ).toEqual([]);
        expect(await messages("db-port-private", db({}))).toEqual([]);
    });
    test("a service that is not the database publishes its port through the swarm freely", async () => {
        const web = service(
            "web",
            {},
            {
                endpointSpec: { ports: [{ targetPort: 8080, publishedPort: 80 }] },
            },
        );
        expect(await messages("db-port-private", web)).toEqual([]);
    });
});

describe("db-healthcheck: a healthcheck that does not probe", () => {
    const check = (tests: string[]) => dbContainer({ healthcheck: { tests, interval: "1s" } });
    test.each([
        [["CMD-SHELL", "exit 0"]],
        [["CMD-SHELL", "pg_isready -U postgres || exit 0"]],
        [["CMD-SHELL", "pg_isready; true"]],
        [["CMD", "true"]],
        [["CMD", "sh", "-c", "exit 0"]],
        [["CMD", "curl", "-f", "http://localhost:8080/health"]],
        [["pg_isready"]],
        // Named as an argument, not run.
        [["CMD", "echo", "pg_isready"]],
        // Docker runs CMD and CMD-SHELL tests only; it ignores any other kind.
        [["cmd", "pg_isready"]],
        // A script that gets pg_isready as an argument is not known to run it.
        [["CMD", "sh", "/healthcheck.sh", "pg_isready"]],
    ])("%j violates", async (tests) => {
        expect(await messages("db-healthcheck", check(tests))).toEqual([
            `Container "database-container" is the database but its healthcheck ${JSON.stringify(tests.join(" "))} does not probe Postgres; run pg_isready (or psql) in it, as the PostgresDatabase component does`,
        ]);
    });
    test.each([
        [["CMD", "pg_isready", "-h", "127.0.0.1", "-p", "5432"]],
        [["CMD", "/usr/bin/pg_isready"]],
        [["CMD", "psql", "-c", "select 1"]],
        [["CMD-SHELL", "pg_isready -U postgres -d app"]],
        [["CMD", "sh", "-c", "pg_isready && psql -c 'select 1'"]],
        [["CMD-SHELL", "pg_isready", "-q"]],
        [["CMD", "sh", "-c", "pg_isready", "-q"]],
        [["CMD-SHELL", "pg_isready"]],
        [["CMD-SHELL", "timeout 5 pg_isready -U postgres"]],
        [["CMD-SHELL", "/usr/lib/postgresql/14/bin/pg_isready -q"]],
    ])("%j passes", async (tests) => {
        expect(await messages("db-healthcheck", check(tests))).toEqual([]);
    });
    test("a healthcheck unknown in a preview is skipped", async () => {
        expect(await messages("db-healthcheck", dbContainer({ healthcheck: UNKNOWN }))).toEqual([]);
    });
    test("a DB service without a probing healthcheck violates; with pg_isready it passes", async () => {
        const db = (healthcheck?: Record<string, unknown>) => {
            const s = service(
                "db",
                healthcheck === undefined ? {} : { healthcheck },
                {},
                "database",
            );
            return s;
        };
        expect(await messages("db-healthcheck", db())).toEqual([
            'Service "db" is the database but has no healthcheck; give it one (pg_isready), as the PostgresDatabase component does',
        ]);
        expect(await messages("db-healthcheck", db({ tests: ["CMD", "pg_isready"] }))).toEqual([]);
    });
});

/**
 * `healthcheckProbe` with `policy/hostAccess.ts` loaded afresh inside each test: its shells,
 * probes and the always-passes pattern are module-level constants, which mutation testing credits
 * only to tests during which the module was evaluated (the policy tests above load it once).
 */
describe("db-healthcheck: which shells, probes and endings count", () => {
    const healthcheckProbe = (tests: string[]): ReturnType<typeof HostAccess.healthcheckProbe> =>
        freshModules<{ hostAccess: typeof HostAccess }>({
            hostAccess: "policy/hostAccess",
        }).hostAccess.healthcheckProbe(tests);
    test.each([
        [["CMD", "pg_isready"]],
        [["CMD", "psql", "-c", "select 1"]],
        [["CMD", "sh", "-c", "pg_isready"]],
        [["CMD", "bash", "-c", "pg_isready"]],
        [["CMD", "ash", "-c", "pg_isready"]],
        [["CMD", "dash", "-c", "pg_isready"]],
        // A command that always passes, but not the last one: the probe decides.
        [["CMD-SHELL", "cd /tmp; true; pg_isready -q"]],
    ])("%j probes", (tests) => {
        expect(healthcheckProbe(tests)).toBe("probes");
    });
    test.each([
        [["CMD", "zsh", "-c", "pg_isready"]],
        [["CMD-SHELL", "pg_isready ;true"]],
        [["CMD-SHELL", "pg_isready ;  true"]],
        [["CMD-SHELL", "pg_isready || exit 0"]],
        [["CMD-SHELL", "pg_isready || exit  0"]],
        [["CMD-SHELL", "pg_isready || exit 0 "]],
        [["CMD-SHELL", "pg_isready & :"]],
    ])("%j does not probe", (tests) => {
        expect(healthcheckProbe(tests)).toBe("no-probe");
    });
    test("no test, or NONE, is none", () => {
        expect(healthcheckProbe([])).toBe("none");
        expect(healthcheckProbe(["NONE"])).toBe("none");
    });
});
