/**
 * The policy pack, one policy at a time: a violating resource and a passing one, with the exact
 * message. Resources are built in the capture's shape (`./resources`), so the offline runner hands
 * the policies the same arguments `plan --policy` does. The host-access doors, the production
 * switch and secret env have their own files.
 */
import * as docker from "@pulumi/docker";
import type { StackValidationPolicy } from "@pulumi/policy";
import type { CapturedResource } from "../../capture/types";
import {
    checkCapture,
    checkResource,
    checkResources,
    formatViolation,
    isMandatory,
    secretPaths,
    stackResources,
    validationArgs,
    type Violation,
} from "../../policy/offline";
import {
    DockerProvider,
    isPrivateAddress,
    POLICIES,
    resourceValidations,
    TYPES,
} from "../../policy/policies";
import {
    container,
    dbContainer,
    DIGEST,
    labels,
    messages,
    nonProductionNetwork,
    resource,
    secret,
    service,
    UNKNOWN,
} from "./resources";

test("the pack: names and enforcement levels", () => {
    expect(POLICIES.map((p) => `${p.name}:${p.enforcementLevel ?? ""}`)).toEqual([
        "no-privileged-containers:mandatory",
        "no-added-capabilities:mandatory",
        "no-docker-socket-mount:mandatory",
        "no-host-devices:mandatory",
        "no-host-namespaces:mandatory",
        "no-unconfined-security:mandatory",
        "prod-images-pinned:mandatory",
        "db-port-private:mandatory",
        "passwords-are-secrets:mandatory",
        "db-healthcheck:mandatory",
        "restart-policy:mandatory",
        "prod-data-volume-protected:mandatory",
        "stack-labels:advisory",
        "memory-limits:advisory",
    ]);
});

test("a well-formed container and DB container pass every policy", async () => {
    expect(await checkResource(container("orders-container"))).toEqual([]);
    expect(await checkResource(dbContainer({}, { env: "prod" }))).toEqual([]);
});

describe("no-privileged-containers", () => {
    test("privileged: true violates", async () => {
        expect(
            await messages("no-privileged-containers", container("evil", { privileged: true })),
        ).toEqual([
            'Container "evil" runs privileged, which hands it the host; remove privileged: true',
        ]);
    });
    test("privileged: false passes", async () => {
        expect(
            await messages("no-privileged-containers", container("ok", { privileged: false })),
        ).toEqual([]);
    });
});

describe("no-added-capabilities", () => {
    test("capabilities beyond the allow-list violate, each named as written", async () => {
        const c = container("caps", {
            capabilities: {
                adds: ["NET_BIND_SERVICE", "SYS_ADMIN", "cap_net_admin"],
                drops: ["ALL"],
            },
        });
        expect(await messages("no-added-capabilities", c)).toEqual([
            'Container "caps" adds capabilities SYS_ADMIN, cap_net_admin beyond the allow-list (CHOWN, DAC_OVERRIDE, FOWNER, KILL, NET_BIND_SERVICE, SETGID, SETUID); remove them from capabilities.adds',
        ]);
    });
    test("allow-listed capabilities (with or without CAP_) pass", async () => {
        const c = container("caps", { capabilities: { adds: ["CAP_CHOWN", "net_bind_service"] } });
        expect(await messages("no-added-capabilities", c)).toEqual([]);
    });
    test("an entry that is not a string (a hand-made plan) is skipped, the rest still judged", async () => {
        const c = container("caps", { capabilities: { adds: [7, "SYS_ADMIN"] } });
        expect(await messages("no-added-capabilities", c)).toEqual([
            'Container "caps" adds capabilities SYS_ADMIN beyond the allow-list (CHOWN, DAC_OVERRIDE, FOWNER, KILL, NET_BIND_SERVICE, SETGID, SETUID); remove them from capabilities.adds',
        ]);
    });
});

describe("no-docker-socket-mount", () => {
    test("the socket via volumes.hostPath, mounts of type bind, or a directory above it", async () => {
        const c = container("dood", {
            volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }],
            mounts: [
                { type: "bind", source: "/run/docker.sock", target: "/sock" },
                { type: "bind", source: "/var/run/", target: "/hostrun" },
            ],
        });
        expect(await messages("no-docker-socket-mount", c)).toEqual([
            'Container "dood" bind-mounts /var/run/docker.sock from the host, which exposes the Docker socket /var/run/docker.sock and with it the host; remove the mount',
            'Container "dood" bind-mounts /run/docker.sock from the host, which exposes the Docker socket /run/docker.sock and with it the host; remove the mount',
            'Container "dood" bind-mounts /var/run/ from the host, which exposes the Docker socket /var/run/docker.sock and with it the host; remove the mount',
        ]);
    });
    test("named volumes and other host paths pass", async () => {
        const c = container("ok", {
            volumes: [{ volumeName: "data", containerPath: "/var/run/docker.sock" }],
            mounts: [
                { type: "volume", source: "docker.sock", target: "/x" },
                { type: "bind", source: "/srv/app", target: "/app" },
            ],
        });
        expect(await messages("no-docker-socket-mount", c)).toEqual([]);
    });
});

describe("prod-images-pinned", () => {
    const remote = (name: string) => resource(TYPES.remoteImage, "orders-image", { name });
    const built = (imageName: string) => resource(TYPES.image, "database-image", { imageName });
    const repo = "registry.example:5000/team/msa/orders";

    test("a RemoteImage with latest, even next to a digest, violates in production", async () => {
        expect(await messages("prod-images-pinned", remote(`${repo}:latest@${DIGEST}`))).toEqual([
            `RemoteImage "orders-image" pulls ${repo}:latest@${DIGEST}, whose tag latest moves in prod, so the next deploy may run another image; set the service's tag (msa:services.<key>.tag) to a release tag`,
        ]);
    });
    test("a RemoteImage without a tag or without a digest violates in production", async () => {
        expect(await messages("prod-images-pinned", remote(`${repo}@${DIGEST}`))).toEqual([
            `RemoteImage "orders-image" pulls ${repo}@${DIGEST}, which has no tag (so latest) in prod, so the next deploy may run another image; set the service's tag (msa:services.<key>.tag) to a release tag`,
        ]);
        expect(await messages("prod-images-pinned", remote(`${repo}:1.4.2`))).toEqual([
            `RemoteImage "orders-image" pulls ${repo}:1.4.2 without a digest in prod; pin it as <repo>:<tag>@sha256:<digest>`,
        ]);
    });
    test("a release tag with a digest passes; latest passes in a non-production stack", async () => {
        expect(await messages("prod-images-pinned", remote(`${repo}:1.4.2@${DIGEST}`))).toEqual([]);
        expect(
            await messages("prod-images-pinned", [
                nonProductionNetwork(),
                remote(`${repo}:latest@${DIGEST}`),
            ]),
        ).toEqual([]);
    });
    test("a built Image tagged latest or untagged violates in production; a commit tag passes", async () => {
        expect(await messages("prod-images-pinned", built(`${repo}:latest`))).toEqual([
            `Image "database-image" builds ${repo}:latest, whose tag latest moves in prod; set msa:database.image.tag to a release or commit tag`,
        ]);
        expect(await messages("prod-images-pinned", built(repo))).toEqual([
            `Image "database-image" builds ${repo}, which has no tag (so latest) in prod; set msa:database.image.tag to a release or commit tag`,
        ]);
        expect(await messages("prod-images-pinned", built(`${repo}:4f2a9c1`))).toEqual([]);
    });
    test("a container running a moving tag without a digest violates in production", async () => {
        const c = container("web", { image: "nginx:latest" }, "web", { env: "prod" });
        expect(await messages("prod-images-pinned", c)).toEqual([
            'Container "web" runs nginx:latest, whose tag latest moves in prod; run an image pinned by digest or an immutable tag',
        ]);
        expect(
            await messages("prod-images-pinned", container("web", { image: `nginx@${DIGEST}` })),
        ).toEqual([]);
        const dev = container("web", { image: "nginx" }, "web", { production: false });
        expect(await messages("prod-images-pinned", dev)).toEqual([]);
    });
});

describe("db-port-private", () => {
    const published = (ip?: string) => [
        { internal: 5432, external: 15432, protocol: "tcp", ...(ip === undefined ? {} : { ip }) },
    ];
    test.each(["0.0.0.0", "8.8.8.8", "172.32.0.1", "192.169.0.1"])("%s violates", async (ip) => {
        expect(await messages("db-port-private", dbContainer({ ports: published(ip) }))).toEqual([
            `Container "database-container" publishes the database port 15432 on ${ip}, reachable from outside the host; set msa:database.bindAddress to 127.0.0.1 or a private address (or set msa:database.publicBindOverride: true on purpose)`,
        ]);
    });
    test("an empty address is every interface; without a host port Docker picks one", async () => {
        const ports = [{ internal: 5432, ip: "", protocol: "tcp" }];
        expect(await messages("db-port-private", dbContainer({ ports }))).toEqual([
            'Container "database-container" publishes the database port 5432 on 0.0.0.0, reachable from outside the host; set msa:database.bindAddress to 127.0.0.1 or a private address (or set msa:database.publicBindOverride: true on purpose)',
        ]);
    });
    test("no address means every interface, and violates", async () => {
        expect(await messages("db-port-private", dbContainer({ ports: published() }))).toEqual([
            'Container "database-container" publishes the database port 15432 on 0.0.0.0, reachable from outside the host; set msa:database.bindAddress to 127.0.0.1 or a private address (or set msa:database.publicBindOverride: true on purpose)',
        ]);
    });
    test.each([
        "127.0.0.1",
        "127.8.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.10",
        "::1",
    ])("%s passes", async (ip) => {
        expect(await messages("db-port-private", dbContainer({ ports: published(ip) }))).toEqual(
            [],
        );
    });
    test("the documented override label lets a public address pass", async () => {
        const c = dbContainer({
            ports: published("0.0.0.0"),
            labels: labels("database", { extra: { "msa.db-public-override": "true" } }),
        });
        expect(await messages("db-port-private", c)).toEqual([]);
    });
    test("a service (not the database) on 0.0.0.0 is not this policy's business", async () => {
        expect(
            await messages("db-port-private", container("orders", { ports: published("0.0.0.0") })),
        ).toEqual([]);
    });
    test("address ranges", () => {
        expect(
            ["10.255.255.255", "172.15.0.1", "::", "fe80::1", "not-an-ip"].map(isPrivateAddress),
        ).toEqual([true, false, false, false, false]);
    });
});

describe("passwords-are-secrets (offline: secretness is known)", () => {
    test("a DB password env entry in plain text violates; as a secret it passes", async () => {
        const plain = container("orders", { envs: ["DB_HOST=db", "DB_PASSWORD=hunter2-pw"] });
        expect(await messages("passwords-are-secrets", plain)).toEqual([
            'Container "orders" gets the DB password (DB_PASSWORD) (envs[1]) as plain text; pass it as a secret (pulumi.secret / config set --secret)',
        ]);
        const ok = container("orders", { envs: ["DB_HOST=db", secret("DB_PASSWORD=hunter2-pw")] });
        expect(await messages("passwords-are-secrets", ok)).toEqual([]);
        expect(await messages("passwords-are-secrets", dbContainer())).toEqual([]);
    });
    test("the provider's registryAuth password in plain text violates; a secret list passes", async () => {
        const auth = [{ address: "registry.example", username: "deploy", password: "glpat-xyz" }];
        const plain = resource(TYPES.provider, "gitlab-provider", { registryAuth: auth });
        expect(await messages("passwords-are-secrets", plain)).toEqual([
            'Provider "gitlab-provider" gets the registry password (registryAuth[0].password) as plain text; pass it as a secret (pulumi.secret / config set --secret)',
        ]);
        const ok = resource(TYPES.provider, "gitlab-provider", { registryAuth: secret(auth) });
        expect(await messages("passwords-are-secrets", ok)).toEqual([]);
    });
    test("an image's registry.password in plain text violates; a secret passes", async () => {
        const registry = { server: "registry.example", username: "deploy" };
        const plain = resource(TYPES.image, "database-image", {
            registry: { ...registry, password: "glpat-xyz" },
        });
        expect(await messages("passwords-are-secrets", plain)).toEqual([
            'Image "database-image" gets the registry password (registry.password) as plain text; pass it as a secret (pulumi.secret / config set --secret)',
        ]);
        const ok = resource(TYPES.image, "database-image", {
            registry: { ...registry, password: secret("glpat-xyz") },
        });
        expect(await messages("passwords-are-secrets", ok)).toEqual([]);
    });
    test("secret paths of captured inputs", () => {
        expect([
            ...secretPaths({ envs: ["A=1", secret("B=2")], registry: { password: secret("x") } }),
        ]).toEqual(["envs[1]", "registry.password"]);
    });
});

/** What `passwords-are-secrets` reports as under the CLI: props unwrapped, secretness unknown. */
async function online(r: CapturedResource): Promise<string[]> {
    const args = validationArgs(r);
    delete args.secretPaths;
    delete args.retainOnDelete;
    const p = POLICIES.find((x) => x.name === "passwords-are-secrets");
    const out: string[] = [];
    for (const validate of p === undefined ? [] : resourceValidations(p)) {
        try {
            await validate(args, (m) => out.push(m));
        } catch {
            // Not applicable to this type: @pulumi/policy's `notApplicable` throws.
        }
    }
    return out;
}

describe("passwords-are-secrets (as under the CLI: props unwrapped, secretness unknown)", () => {
    test("the password copied into another plain field violates", async () => {
        const c = dbContainer({
            labels: [...labels("database"), { label: "debug", value: "pw=s3cret-pw" }],
        });
        expect(await online(c)).toEqual([
            'Container "database-container" copies the DB password (POSTGRES_PASSWORD) into labels[4].value in plain text; keep it only in envs[1], as a secret',
        ]);
    });
    test("the password only in its own env entry passes", async () => {
        expect(await online(dbContainer())).toEqual([]);
    });
    test("a password of 4 characters or more is looked for; a shorter one would match anything", async () => {
        const db = (pw: string) =>
            dbContainer({
                envs: ["POSTGRES_USER=postgres", `POSTGRES_PASSWORD=${pw}`],
                labels: [...labels("database"), { label: "debug", value: "pw=abcd" }],
            });
        expect(await online(db("abcd"))).toEqual([
            'Container "database-container" copies the DB password (POSTGRES_PASSWORD) into labels[4].value in plain text; keep it only in envs[1], as a secret',
        ]);
        expect(await online(db("abc"))).toEqual([]);
    });
    test("the provider's JSON-encoded registryAuth is the password's own field", async () => {
        const auth = [{ address: "registry.example", username: "deploy", password: "glpat-xyz" }];
        const provider = resource(TYPES.provider, "gitlab-provider", {
            registryAuth: JSON.stringify(auth),
        });
        expect(await online(provider)).toEqual([]);
        provider.inputs.host = "ssh://deploy:glpat-xyz@app-host";
        expect(await online(provider)).toEqual([
            'Provider "gitlab-provider" copies the registry password into host in plain text; keep it only in registryAuth[0].password, as a secret',
        ]);
    });
});

describe("passwords-are-secrets: entries it does not judge, fields it does not confuse", () => {
    test("an env entry without a name, or without a value, is not an env variable it judges", async () => {
        // An entry without `=` carries no value, and `=…` has no name: neither is a variable to judge.
        const c = container("orders", { envs: ["API_TOKEN_", "=postgresql://app:s3cret@db/app"] });
        expect(await messages("passwords-are-secrets", c)).toEqual([]);
    });
    test("inputs that are secret as a whole hold the password as a secret", async () => {
        const c = container("orders", { envs: ["DB_PASSWORD=hunter2-pw"] });
        const whole = { ...c, inputs: secret(c.inputs) } as unknown as CapturedResource;
        expect(await messages("passwords-are-secrets", whole)).toEqual([]);
        expect(await messages("passwords-are-secrets", c)).toHaveLength(1);
    });
    test("under the CLI, a secret-looking env value copied elsewhere is not a password leak", async () => {
        const c = container("orders", {
            envs: ["API_TOKEN=t0k3n-value"],
            labels: [...labels("orders"), { label: "debug", value: "t0k3n-value" }],
        });
        expect(await online(c)).toEqual([]);
    });
    test("under the CLI, each registry password is at home in its own entry", async () => {
        const auth = [
            { address: "a.example", username: "deploy", password: "glpat-aaaa" },
            { address: "b.example", username: "deploy", password: "glpat-bbbb" },
        ];
        const provider = resource(TYPES.provider, "gitlab-provider", { registryAuth: auth });
        expect(await online(provider)).toEqual([]);
    });
    test("under the CLI, registryAuth entries that are not objects are skipped", async () => {
        const auth = [
            null,
            { address: "registry.example", username: "deploy", password: "glpat-xyz" },
        ];
        const provider = resource(TYPES.provider, "gitlab-provider", {
            registryAuth: JSON.stringify(auth),
            host: "ssh://deploy:glpat-xyz@app-host",
        });
        expect(await online(provider)).toEqual([
            'Provider "gitlab-provider" copies the registry password into host in plain text; keep it only in registryAuth[1].password, as a secret',
        ]);
    });
});

describe("checks a preview cannot make yet, and values that are not a limit", () => {
    test("a restart policy or memory limit unknown in a preview is skipped", async () => {
        expect(await messages("restart-policy", container("a", { restart: UNKNOWN }))).toEqual([]);
        expect(await messages("memory-limits", container("a", { memory: UNKNOWN }))).toEqual([]);
    });
    test("a memory limit of 0 is no limit", async () => {
        expect(
            await messages("memory-limits", container("orders-container", { memory: 0 })),
        ).toEqual([
            'Container "orders-container" has no memory limit; set msa:services.orders.memoryMb',
        ]);
    });
    test("a DB service's healthcheck unknown in a preview is skipped; other services need none", async () => {
        const db = service("db", { healthcheck: UNKNOWN }, {}, "database");
        expect(await messages("db-healthcheck", db)).toEqual([]);
        expect(await messages("db-healthcheck", service("web"))).toEqual([]);
    });
    test("a DB service port the swarm does not publish is not reported", async () => {
        const db = service(
            "db",
            {},
            { endpointSpec: { ports: [{ targetPort: 5432 }] } },
            "database",
        );
        expect(await messages("db-port-private", db)).toEqual([]);
    });
});

describe("db-healthcheck", () => {
    test("a DB container without a healthcheck, or with NONE, violates", async () => {
        const msg =
            'Container "database-container" is the database but has no healthcheck; give it one (pg_isready), as the PostgresDatabase component does';
        expect(await messages("db-healthcheck", dbContainer({ healthcheck: undefined }))).toEqual([
            msg,
        ]);
        expect(
            await messages("db-healthcheck", dbContainer({ healthcheck: { tests: ["NONE"] } })),
        ).toEqual([msg]);
    });
    test("a DB container with a healthcheck passes; services need none", async () => {
        expect(await messages("db-healthcheck", dbContainer())).toEqual([]);
        expect(await messages("db-healthcheck", container("orders"))).toEqual([]);
    });
});

describe("restart-policy", () => {
    test("no restart policy or no violates", async () => {
        expect(await messages("restart-policy", container("a", { restart: undefined }))).toEqual([
            'Container "a" has restart policy "no"; set msa:services.<key>.restart to always, unless-stopped or on-failure',
        ]);
        expect(await messages("restart-policy", container("a", { restart: "no" }))).toEqual([
            'Container "a" has restart policy "no"; set msa:services.<key>.restart to always, unless-stopped or on-failure',
        ]);
    });
    test.each(["always", "unless-stopped", "on-failure"])("%s passes", async (restart) => {
        expect(await messages("restart-policy", container("a", { restart }))).toEqual([]);
    });
});

describe("prod-data-volume-protected", () => {
    const volume = (production: boolean, protect: boolean, retainOnDelete: boolean) =>
        resource(
            TYPES.volume,
            "database-volume",
            {
                name: "msa-prod-db-data",
                driver: "local",
                labels: labels("database", { env: "prod", production }),
            },
            { stack: "prod", protect, retainOnDelete },
        );
    test("an unprotected production data volume violates, naming what is missing", async () => {
        expect(await messages("prod-data-volume-protected", volume(true, false, false))).toEqual([
            `Volume "database-volume" holds the prod database's data but lacks protect and retainOnDelete; set msa:protect: true in the stack file`,
        ]);
        expect(await messages("prod-data-volume-protected", volume(true, true, false))).toEqual([
            `Volume "database-volume" holds the prod database's data but lacks retainOnDelete; set msa:protect: true in the stack file`,
        ]);
    });
    test("an unprotected volume names protect alone when it is retained", async () => {
        expect(await messages("prod-data-volume-protected", volume(true, false, true))).toEqual([
            `Volume "database-volume" holds the prod database's data but lacks protect; set msa:protect: true in the stack file`,
        ]);
    });
    test("under the CLI, which does not pass retainOnDelete, protect alone passes", async () => {
        const p = POLICIES.find((x) => x.name === "prod-data-volume-protected");
        const args = validationArgs(volume(true, true, false));
        delete args.retainOnDelete;
        const out: string[] = [];
        for (const validate of p === undefined ? [] : resourceValidations(p)) {
            await validate(args, (m) => out.push(m));
        }
        expect(out).toEqual([]);
    });
    test("only the database's volume is this policy's business", async () => {
        const other = resource(
            TYPES.volume,
            "proxy-volume",
            { name: "msa-prod-certs", driver: "local", labels: labels("proxy", { env: "prod" }) },
            { stack: "prod" },
        );
        expect(await messages("prod-data-volume-protected", other)).toEqual([]);
    });
    test("protected and retained passes; a non-production stack needs neither", async () => {
        expect(await messages("prod-data-volume-protected", volume(true, true, true))).toEqual([]);
        expect(await messages("prod-data-volume-protected", volume(false, false, false))).toEqual(
            [],
        );
    });
});

describe("stack-labels (advisory)", () => {
    test("a network without the stack's labels is reported as advisory", async () => {
        const net = resource(TYPES.network, "network-network", {
            name: "net",
            labels: [{ label: "msa.project", value: "msa" }],
        });
        expect(await checkResource(net)).toEqual([
            {
                policy: "stack-labels",
                enforcementLevel: "advisory",
                resource: "network-network",
                type: TYPES.network,
                message:
                    'Network "network-network" lacks the labels msa.stack, msa.environment; give it stackLabels(cfg, <component>) from config/naming.ts',
            },
        ]);
    });
    test("labelled resources pass", async () => {
        const net = resource(TYPES.network, "network-network", {
            name: "net",
            labels: labels("network"),
        });
        expect(await messages("stack-labels", net)).toEqual([]);
    });
    test("labels written as a plain map count as well", async () => {
        const net = resource(TYPES.network, "network-network", {
            name: "net",
            labels: { "msa.project": "msa", "msa.stack": "dev", "msa.environment": "dev" },
        });
        expect(await messages("stack-labels", net)).toEqual([]);
    });
    test("a label without a value counts as missing", async () => {
        const net = resource(TYPES.network, "network-network", {
            name: "net",
            labels: [
                { label: "msa.project" },
                { label: "msa.stack", value: "dev" },
                { label: "msa.environment", value: "dev" },
            ],
        });
        expect(await messages("stack-labels", net)).toEqual([
            'Network "network-network" lacks the labels msa.project; give it stackLabels(cfg, <component>) from config/naming.ts',
        ]);
    });
    test("a label entry unknown in a preview, or null in a hand-made plan, is skipped", async () => {
        const net = (first: unknown) =>
            resource(TYPES.network, "network-network", {
                name: "net",
                labels: [first, ...labels("network")],
            });
        expect(await messages("stack-labels", net(UNKNOWN))).toEqual([]);
        expect(await messages("stack-labels", net(null))).toEqual([]);
    });
});

describe("memory-limits (advisory)", () => {
    test("a container without memory is reported, with the key to set", async () => {
        expect(
            await messages("memory-limits", container("orders-container", { memory: undefined })),
        ).toEqual([
            'Container "orders-container" has no memory limit; set msa:services.orders.memoryMb',
        ]);
        expect(await messages("memory-limits", dbContainer({ memory: undefined }))).toEqual([
            'Container "database-container" has no memory limit; set msa:database.memoryMb',
        ]);
    });
    test("the key follows the component label: service:<key>, the proxy", async () => {
        const svc = container("orders-container", { memory: undefined }, "service:orders");
        expect(await messages("memory-limits", svc)).toEqual([
            'Container "orders-container" has no memory limit; set msa:services.orders.memoryMb',
        ]);
        const proxy = container("proxy-container", { memory: undefined }, "proxy");
        expect(await messages("memory-limits", proxy)).toEqual([
            'Container "proxy-container" has no memory limit; set msa:proxy.memoryMb',
        ]);
    });
    test("a container of no service (a hand-written one, unlabelled) gets the key's pattern", async () => {
        const extra = container("extra", { memory: undefined, labels: [] });
        expect(await messages("memory-limits", extra)).toEqual([
            'Container "extra" has no memory limit; set msa:services.<key>.memoryMb',
        ]);
    });
    test("a container with a limit passes", async () => {
        expect(
            await messages("memory-limits", container("orders-container", { memory: 512 })),
        ).toEqual([]);
    });
});

describe("values unknown in a preview", () => {
    test("an unknown image does not hide a restart policy of no", async () => {
        expect(
            await messages("restart-policy", container("a", { restart: "no", image: UNKNOWN })),
        ).toEqual([
            'Container "a" has restart policy "no"; set msa:services.<key>.restart to always, unless-stopped or on-failure',
        ]);
    });
    test("a healthcheck whose test is unknown is skipped, not reported missing", async () => {
        const db = dbContainer({ healthcheck: { tests: UNKNOWN, interval: "1s" } });
        expect(await messages("db-healthcheck", db)).toEqual([]);
    });
    test("a healthcheck with one unknown argument is skipped, not judged on the rest", async () => {
        const db = dbContainer({ healthcheck: { tests: ["CMD-SHELL", UNKNOWN] } });
        expect(await messages("db-healthcheck", db)).toEqual([]);
    });
    test("a label whose value is unknown is not reported missing", async () => {
        const net = resource(TYPES.network, "network-network", {
            name: "net",
            labels: [
                { label: "msa.project", value: UNKNOWN },
                { label: "msa.stack", value: "dev" },
                { label: "msa.environment", value: "dev" },
            ],
        });
        expect(await messages("stack-labels", net)).toEqual([]);
    });
});

test("the offline arguments answer isType/asType like the CLI's", () => {
    const args = validationArgs(container("orders-container"));
    expect(args.isType(docker.Container)).toBe(true);
    expect(args.isType(docker.Volume)).toBe(false);
    expect(args.asType(docker.Container)?.restart).toBe("always");
    expect(args.asType(docker.Volume)).toBeUndefined();
    expect(args.opts.protect).toBe(false);
    expect(args.retainOnDelete).toBe(false);
});

test("docker's classes carry the captured type tokens; the provider needs DockerProvider", () => {
    const token = (cls: unknown) => (cls as { __pulumiType: string }).__pulumiType;
    expect(
        [
            docker.Container,
            docker.Service,
            docker.Volume,
            docker.Network,
            docker.Image,
            docker.RemoteImage,
            DockerProvider,
        ].map(token),
    ).toEqual([
        TYPES.container,
        TYPES.service,
        TYPES.volume,
        TYPES.network,
        TYPES.image,
        TYPES.remoteImage,
        TYPES.provider,
    ]);
    // As under the CLI: docker.Provider's own token is the package name, so it never matches.
    const args = validationArgs(resource(TYPES.provider, "docker", {}));
    expect(token(docker.Provider)).toBe("docker");
    expect(args.isType(docker.Provider)).toBe(false);
    expect(args.isType(DockerProvider)).toBe(true);
});

describe("the offline runner", () => {
    const privileged = container("evil", { privileged: true });
    const noPrivileged = () => {
        const p = POLICIES.find((x) => x.name === "no-privileged-containers");
        if (p === undefined) {
            throw new Error("no no-privileged-containers");
        }
        return p;
    };
    const stackPolicy = (validateStack: StackValidationPolicy["validateStack"]) => ({
        name: "stack-check",
        description: "a stack check",
        enforcementLevel: "advisory" as const,
        validateStack,
    });
    test("checkCapture runs the whole pack over a capture's resources", async () => {
        expect(await checkCapture({ resources: [privileged] })).toEqual([
            {
                policy: "no-privileged-containers",
                enforcementLevel: "mandatory",
                resource: "evil",
                type: TYPES.container,
                message:
                    'Container "evil" runs privileged, which hands it the host; remove privileged: true',
            },
        ]);
    });
    test("a disabled policy does not run", async () => {
        const disabled = { ...noPrivileged(), enforcementLevel: "disabled" as const };
        expect(await checkResources([privileged], [disabled])).toEqual([]);
    });
    test("a policy without a level is advisory, as under the CLI", async () => {
        const unlevelled = { ...noPrivileged(), enforcementLevel: undefined };
        expect((await checkResources([privileged], [unlevelled])).map(formatViolation)).toEqual([
            '[advisory] no-privileged-containers: Container "evil" runs privileged, which hands it the host; remove privileged: true',
        ]);
    });
    test("a stack violation without a resource names none", async () => {
        const policy = stackPolicy((_args, report) => report("the stack as a whole"));
        expect(await checkResources([privileged], [policy])).toEqual([
            {
                policy: "stack-check",
                enforcementLevel: "advisory",
                resource: "",
                type: "",
                message: "the stack as a whole",
            },
        ]);
    });
    test("a stack validation that calls notApplicable reports nothing", async () => {
        const policy = stackPolicy((args, report) => {
            args.notApplicable("not here");
            report("reached");
        });
        expect(await checkResources([privileged], [policy])).toEqual([]);
    });
    test("a value unknown in a preview, read by a policy, is an advisory that it could not run", async () => {
        const readsImage = {
            name: "reads-image",
            description: "reads the image",
            enforcementLevel: "mandatory" as const,
            validateResource: (args: { props: Record<string, unknown> }) => {
                void String(args.props.image);
            },
        };
        const unknownImage = container("orders", { image: UNKNOWN });
        expect(await checkResources([unknownImage], [readsImage as never])).toEqual([
            {
                policy: "reads-image",
                enforcementLevel: "mandatory",
                resource: "orders",
                type: TYPES.container,
                message:
                    "can't run policy 'reads-image' during preview: string value at .image can't be known during preview",
            },
        ]);
        const readsStack = stackPolicy((args) => {
            void String(args.resources[0]?.props.image);
        });
        expect(await checkResources([unknownImage], [readsStack])).toEqual([
            {
                policy: "stack-check",
                enforcementLevel: "advisory",
                resource: "",
                type: "",
                message:
                    "can't run policy 'stack-check' during preview: string value at .image can't be known during preview",
            },
        ]);
    });
    test("a policy that fails for any other reason fails the run", async () => {
        const broken = stackPolicy(() => {
            throw new Error("a bug in the policy");
        });
        await expect(checkResources([privileged], [broken])).rejects.toThrow("a bug in the policy");
    });
    test("violations come out in resource order, then the pack's; the stack's own last", async () => {
        const a = container("a", { privileged: true, restart: "no" });
        const b = container("b", { privileged: true });
        const stack = stackPolicy((_args, report) => {
            report("about the whole stack");
            report("about b", b.urn);
        });
        const restart = POLICIES.find((x) => x.name === "restart-policy");
        const found = await checkResources([a, b], [stack, noPrivileged(), restart ?? stack]);
        expect(found.map((v) => `${v.resource}: ${v.policy}`)).toEqual([
            "a: no-privileged-containers",
            "a: restart-policy",
            "b: stack-check",
            "b: no-privileged-containers",
            ": stack-check",
        ]);
        expect(found.filter((v) => v.policy === "stack-check").map((v) => v.message)).toEqual([
            "about b",
            "about the whole stack",
        ]);
    });
    test("a lone validation attached to another type is skipped, as the CLI skips it", async () => {
        const attached = (type: string | undefined) => {
            const validate = (_args: unknown, report: (m: string) => void) => report("ran");
            return {
                name: "attached",
                description: "a validation attached to a type",
                enforcementLevel: "advisory" as const,
                validateResource: Object.assign(validate, { __pulumiType: type }),
            };
        };
        const run = async (type: string | undefined) =>
            (await checkResources([privileged], [attached(type)])).map((v) => v.message);
        expect(await run(TYPES.volume)).toEqual([]);
        expect(await run(TYPES.container)).toEqual(["ran"]);
        expect(await run(undefined)).toEqual(["ran"]);
        expect(await run("")).toEqual(["ran"]);
    });
    test("formatViolation: level, policy, message on one line", () => {
        const v: Violation = {
            policy: "restart-policy",
            enforcementLevel: "mandatory",
            resource: "a",
            type: TYPES.container,
            message: 'Container "a" has restart policy "no"',
        };
        expect(formatViolation(v)).toBe(
            '[mandatory] restart-policy: Container "a" has restart policy "no"',
        );
    });
    test("mandatory and remediate fail a run; advisory and disabled do not", () => {
        const at = (enforcementLevel: Violation["enforcementLevel"]) =>
            isMandatory({ policy: "p", enforcementLevel, resource: "", type: "", message: "" });
        expect([at("mandatory"), at("remediate"), at("advisory"), at("disabled")]).toEqual([
            true,
            true,
            false,
            false,
        ]);
    });
    test("isType falls back to a class's isInstance when it has no type token, as the CLI does", () => {
        const args = validationArgs(container("orders-container"));
        const byInstance = (answer: (o: { __pulumiType?: string }) => unknown) =>
            args.isType({ isInstance: answer } as never);
        expect(byInstance((o) => o.__pulumiType === TYPES.container)).toBe(true);
        expect(byInstance((o) => o.__pulumiType === TYPES.volume)).toBe(false);
        expect(byInstance(() => 1)).toBe(false);
        expect(args.isType({} as never)).toBe(false);
        // An empty token is no token.
        const emptyToken = {
            __pulumiType: "",
            isInstance: (o: { __pulumiType?: string }) => o.__pulumiType === TYPES.container,
        };
        expect(args.isType(emptyToken as never)).toBe(true);
    });
    test("a resource's parent reaches the policies: opts.parent, and parent in a stack", () => {
        const parent = resource("msa:service:Microservice", "orders", {});
        const child = { ...container("orders-container"), parentUrn: parent.urn };
        expect(validationArgs(child).opts.parent).toBe(parent.urn);
        expect(validationArgs(parent).opts.parent).toBeUndefined();
        const [p, c] = stackResources([parent, child]);
        expect(c?.parent).toBe(p);
        expect(p?.parent).toBeUndefined();
    });
    test("the arguments are shaped like the CLI's: options, an empty config, no dependencies", async () => {
        const parent = resource("msa:service:Microservice", "orders", {});
        const child = { ...container("orders-container"), parentUrn: parent.urn, protect: true };
        const opts = {
            protect: true,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
            parent: parent.urn,
        };
        const args = validationArgs(child);
        expect(args.opts).toEqual(opts);
        expect(args.getConfig()).toEqual({});
        const [, c] = stackResources([parent, child]);
        expect(c?.opts).toEqual(opts);
        expect(c?.dependencies).toEqual([]);
        expect(c?.propertyDependencies).toEqual({});
        const config = stackPolicy((stackArgs, report) =>
            report(JSON.stringify(stackArgs.getConfig())),
        );
        expect((await checkResources([child], [config])).map((v) => v.message)).toEqual(["{}"]);
    });
    test("a stack validation's resources answer isType/asType like the CLI's", () => {
        const [c] = stackResources([container("orders-container")]);
        expect(c?.isType(docker.Container)).toBe(true);
        expect(c?.asType(docker.Container)?.restart).toBe("always");
        expect(c?.isType(docker.Volume)).toBe(false);
        expect(c?.asType(docker.Volume)).toBeUndefined();
    });
});

test("policy/index.ts hands the pack to PolicyPack as msa-guardrails", () => {
    const PolicyPack = jest.fn();
    jest.isolateModules(() => {
        jest.doMock("@pulumi/policy", () => ({
            ...jest.requireActual<object>("@pulumi/policy"),
            PolicyPack,
        }));
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded for its side effect, under the mock
        require("../../policy/index");
    });
    jest.dontMock("@pulumi/policy");
    expect(PolicyPack).toHaveBeenCalledTimes(1);
    const [name, args] = PolicyPack.mock.calls[0] as [string, { policies: { name: string }[] }];
    expect(name).toBe("msa-guardrails");
    expect(args.policies.map((p) => p.name)).toEqual(POLICIES.map((p) => p.name));
});
