/**
 * The pack as defined at module level (each policy's name, level, description and its list of
 * per-type validations), loaded afresh inside each test. The other policy tests load the pack once,
 * when their file is imported, so mutation testing cannot credit them with this code (it credits a
 * module's top-level code only to tests during which the module was evaluated). One violating
 * resource per validation, so that dropping any validation from a policy's list fails here.
 */
import type { CapturedResource } from "../../capture/types";
import type * as Offline from "../../policy/offline";
import type * as Policies from "../../policy/policies";
import { TYPES } from "../../policy/policies";
import { freshModules } from "../helpers";
import { container, dbContainer, labels, resource, service } from "./resources";

/** `policy/policies.ts` and `policy/offline.ts` from one fresh module registry. */
function freshPack(): { policies: typeof Policies; offline: typeof Offline } {
    return freshModules<{ policies: typeof Policies; offline: typeof Offline }>({
        policies: "policy/policies",
        offline: "policy/offline",
    });
}

/** The names of the policies of a fresh pack that report something for `r`. */
async function violatedBy(r: CapturedResource): Promise<string[]> {
    const { policies, offline } = freshPack();
    const violations = await offline.checkResources([r], policies.POLICIES);
    return [...new Set(violations.map((v) => v.policy))];
}

/** The messages one policy of a fresh pack reports for `r`. */
async function freshMessages(policy: string, r: CapturedResource): Promise<string[]> {
    const { policies, offline } = freshPack();
    const p = policies.POLICIES.filter((x) => x.name === policy);
    return (await offline.checkResources([r], p)).map((v) => v.message);
}

const onHostNetwork = (s: CapturedResource): CapturedResource => {
    (s.inputs.taskSpec as Record<string, unknown>).networksAdvanceds = [{ name: "host" }];
    return s;
};

test("names, enforcement levels and a description for each policy", () => {
    const { POLICIES } = freshPack().policies;
    expect(POLICIES.map((p) => [p.name, p.enforcementLevel])).toEqual([
        ["no-privileged-containers", "mandatory"],
        ["no-added-capabilities", "mandatory"],
        ["no-docker-socket-mount", "mandatory"],
        ["no-host-devices", "mandatory"],
        ["no-host-namespaces", "mandatory"],
        ["no-unconfined-security", "mandatory"],
        ["prod-images-pinned", "mandatory"],
        ["db-port-private", "mandatory"],
        ["passwords-are-secrets", "mandatory"],
        ["db-healthcheck", "mandatory"],
        ["restart-policy", "mandatory"],
        ["prod-data-volume-protected", "mandatory"],
        ["stack-labels", "advisory"],
        ["memory-limits", "advisory"],
    ]);
    for (const p of POLICIES) {
        // A sentence, as `pulumi preview --policy-pack` shows it next to the name.
        expect(p.description).toMatch(/^[A-Z].{20,}\.$/s);
    }
    const description = (name: string) => POLICIES.find((p) => p.name === name)?.description;
    // The lists a description spells out, as the operator reads them.
    expect(description("no-added-capabilities")).toContain(
        "beyond CHOWN, DAC_OVERRIDE, FOWNER, KILL, NET_BIND_SERVICE, SETGID, SETUID.",
    );
    expect(description("db-port-private")).toContain("(127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, ");
    expect(description("stack-labels")).toContain(
        "the stack's labels (msa.project, msa.stack, msa.environment).",
    );
});

test("the offline runner's constants: what is mandatory, how a saved plan writes a secret", () => {
    const { offline } = freshPack();
    const level = (enforcementLevel: string) =>
        offline.isMandatory({ enforcementLevel } as Parameters<typeof offline.isMandatory>[0]);
    expect([level("mandatory"), level("remediate"), level("advisory"), level("disabled")]).toEqual([
        true,
        true,
        false,
        false,
    ]);
    expect([...offline.secretPaths({ a: "[secret]", b: "plain" })]).toEqual(["a"]);
});

test.each<[string, string, () => CapturedResource]>([
    ["no-privileged-containers", "a container", () => container("c", { privileged: true })],
    [
        "no-added-capabilities",
        "a container",
        () => container("c", { capabilities: { adds: ["SYS_ADMIN"] } }),
    ],
    ["no-added-capabilities", "a service", () => service("s", { capAdds: ["SYS_ADMIN"] })],
    [
        "no-docker-socket-mount",
        "a container",
        () =>
            container("c", {
                volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/s.sock" }],
            }),
    ],
    [
        "no-docker-socket-mount",
        "a service",
        () =>
            service("s", {
                mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/s.sock" }],
            }),
    ],
    [
        "no-docker-socket-mount",
        "a volume",
        () =>
            resource("docker:index/volume:Volume", "data", {
                name: "data",
                driver: "local",
                driverOpts: { type: "none", o: "bind", device: "/var/run" },
                labels: labels("orders"),
            }),
    ],
    [
        "no-host-devices",
        "a container",
        () =>
            container("c", {
                devices: [{ hostPath: "/dev/sda", containerPath: "/dev/sda", permissions: "rwm" }],
            }),
    ],
    ["no-host-namespaces", "a container", () => container("c", { pidMode: "host" })],
    ["no-host-namespaces", "a service", () => onHostNetwork(service("s"))],
    [
        "no-unconfined-security",
        "a container",
        () => container("c", { securityOpts: ["seccomp=unconfined"] }),
    ],
    [
        "no-unconfined-security",
        "a service",
        () => service("s", { privileges: { seLinuxContext: { disable: true } } }),
    ],
    ["db-port-private", "a container", () => dbContainer({ networkMode: "host", ports: [] })],
    [
        "db-port-private",
        "a service",
        () =>
            service(
                "db",
                {},
                { endpointSpec: { ports: [{ targetPort: 5432, publishedPort: 5432 }] } },
                "database",
            ),
    ],
    [
        "db-healthcheck",
        "a container",
        () => dbContainer({ healthcheck: { tests: ["CMD", "true"], interval: "1s" } }),
    ],
    ["db-healthcheck", "a service", () => service("db", {}, {}, "database")],
    [
        "passwords-are-secrets",
        "a container",
        () => container("c", { envs: ["DB_PASSWORD=hunter2-pw"] }),
    ],
    ["passwords-are-secrets", "a service", () => service("s", { env: { API_TOKEN: "t0k3n" } })],
    [
        "passwords-are-secrets",
        "an image",
        () =>
            resource(TYPES.image, "database-image", {
                registry: { server: "registry.example", username: "u", password: "glpat-xyz" },
            }),
    ],
    [
        "passwords-are-secrets",
        "a provider",
        () =>
            resource(TYPES.provider, "gitlab-provider", {
                registryAuth: [
                    { address: "registry.example", username: "u", password: "glpat-xyz" },
                ],
            }),
    ],
    ["restart-policy", "a container", () => container("c", { restart: "no" })],
    [
        "prod-data-volume-protected",
        "a volume",
        () =>
            resource(
                TYPES.volume,
                "database-volume",
                {
                    name: "msa-prod-db-data",
                    driver: "local",
                    labels: labels("database", { env: "prod" }),
                },
                { stack: "prod" },
            ),
    ],
    ["stack-labels", "a container", () => container("c", { labels: [] })],
    ["stack-labels", "a service", () => service("s", {}, { labels: [] })],
    ["stack-labels", "a volume", () => resource(TYPES.volume, "v", { name: "v" })],
    ["stack-labels", "a network", () => resource(TYPES.network, "n", { name: "n" })],
    ["memory-limits", "a container", () => container("c", { memory: undefined })],
])("%s checks %s", async (policy, _what, violating) => {
    expect(await violatedBy(violating())).toContain(policy);
});

test("a secret env's fix names its service's config key; the database, proxy and network have none", async () => {
    const plainToken = (component: string) =>
        container("c", { envs: ["API_TOKEN=t0k3n-value"] }, component);
    expect(await freshMessages("passwords-are-secrets", plainToken("service:orders"))).toEqual([
        `Container "c" gets the secret-looking env API_TOKEN (envs[0]) as plain text; pass it as a secret (pulumi config set --secret --path 'msa:secretEnv.orders.API_TOKEN')`,
    ]);
    for (const component of ["database", "proxy", "network"]) {
        expect(await freshMessages("passwords-are-secrets", plainToken(component))).toEqual([
            'Container "c" gets the secret-looking env API_TOKEN (envs[0]) as plain text; pass it as a secret (pulumi.secret / config set --secret)',
        ]);
    }
});

test("the private ranges the database port may be published on", () => {
    const { isPrivateAddress } = freshPack().policies;
    expect(["127.0.0.1", "10.1.2.3", "172.16.0.5", "192.168.1.1"].map(isPrivateAddress)).toEqual([
        true,
        true,
        true,
        true,
    ]);
    expect(["8.8.8.8", "172.32.0.1", "not-an-address"].map(isPrivateAddress)).toEqual([
        false,
        false,
        false,
    ]);
});
