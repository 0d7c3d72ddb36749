/**
 * `passwords-are-secrets` with the shared secret-name rule (`lib/secretNames.ts`): plain env whose
 * name looks secret or whose value carries a credential is a mandatory violation, for containers
 * and swarm services; so are a service's registry password and the provider's TLS key.
 */
import type { CapturedResource } from "../../capture/types";
import { validationArgs } from "../../policy/offline";
import { POLICIES, resourceValidations, TYPES } from "../../policy/policies";
import { container, dbContainer, messages, resource, secret, service, UNKNOWN } from "./resources";

const POLICY = "passwords-are-secrets";

describe("container env", () => {
    test("a secret-looking name in plain env violates, naming the secretEnv key to use", async () => {
        const c = container("orders-container", { envs: ["LOG_LEVEL=info", "API_TOKEN=t0k3n"] });
        expect(await messages(POLICY, c)).toEqual([
            `Container "orders-container" gets the secret-looking env API_TOKEN (envs[1]) as plain text; pass it as a secret (pulumi config set --secret --path 'msa:secretEnv.orders.API_TOKEN')`,
        ]);
    });
    test.each(["PGPASSWORD", "CLIENTSECRET", "DB_PASS", "AUTH_HEADER", "COOKIE"])(
        "%s in plain env violates",
        async (name) => {
            const c = container("orders-container", { envs: [`${name}=value`] });
            expect(await messages(POLICY, c)).toHaveLength(1);
        },
    );
    test("a service labelled service:<key> gets the same fix", async () => {
        const c = container("orders-container", { envs: ["API_TOKEN=t0k3n"] }, "service:orders");
        expect(await messages(POLICY, c)).toEqual([
            `Container "orders-container" gets the secret-looking env API_TOKEN (envs[0]) as plain text; pass it as a secret (pulumi config set --secret --path 'msa:secretEnv.orders.API_TOKEN')`,
        ]);
    });
    test("a credential in a plainly named value violates", async () => {
        const c = container("orders-container", {
            envs: ["DATABASE_URL=postgres://app:pw@db/app", "UPSTREAM=Bearer abcdef0123456789"],
        });
        expect(await messages(POLICY, c)).toEqual([
            `Container "orders-container" gets a credential in env DATABASE_URL (envs[0]) as plain text; pass it as a secret (pulumi config set --secret --path 'msa:secretEnv.orders.DATABASE_URL')`,
            `Container "orders-container" gets a credential in env UPSTREAM (envs[1]) as plain text; pass it as a secret (pulumi config set --secret --path 'msa:secretEnv.orders.UPSTREAM')`,
        ]);
    });
    test("the same entries as secrets pass; plain settings pass", async () => {
        const c = container("orders-container", {
            envs: [
                secret("API_TOKEN=t0k3n"),
                secret("DATABASE_URL=postgres://app:pw@db/app"),
                "CACHE_KEY_PREFIX=orders",
                "OTEL_SERVICE_NAME=orders",
                "SERVICE_B_URL=http://SERVICE_B:8080",
                "POSTGRES_PASSWORD_FILE=/run/secrets/db",
            ],
        });
        expect(await messages(POLICY, c)).toEqual([]);
    });
    test("in the database container the fix is the program's, not msa:secretEnv", async () => {
        const db = dbContainer({
            envs: ["POSTGRES_USER=postgres", secret("POSTGRES_PASSWORD=pw-1234"), "PGPASSWORD=x"],
        });
        expect(await messages(POLICY, db)).toEqual([
            'Container "database-container" gets the secret-looking env PGPASSWORD (envs[2]) as plain text; pass it as a secret (pulumi.secret / config set --secret)',
        ]);
    });
    test("a saved plan's redacted entries count as secrets", async () => {
        const c = container("orders-container", { envs: ["[secret]", "DB_HOST=db"] });
        expect(await messages(POLICY, c)).toEqual([]);
    });
    test("a saved plan's redacted values count as secrets: service env, registry passwords", async () => {
        const s = service(
            "orders",
            { env: { API_TOKEN: "[secret]" } },
            {
                auth: {
                    serverAddress: "registry.example",
                    username: "deploy",
                    password: "[secret]",
                },
            },
        );
        expect(await messages(POLICY, s)).toEqual([]);
    });
});

describe("swarm services", () => {
    test("plain secret env and a plain registry password violate", async () => {
        const s = service(
            "orders",
            { env: { API_KEY: "k-123", LOG_LEVEL: "info" } },
            {
                auth: {
                    serverAddress: "registry.example",
                    username: "deploy",
                    password: "glpat-1",
                },
            },
        );
        expect(await messages(POLICY, s)).toEqual([
            `Service "orders" gets the secret-looking env API_KEY (taskSpec.containerSpec.env.API_KEY) as plain text; pass it as a secret (pulumi config set --secret --path 'msa:secretEnv.orders.API_KEY')`,
            'Service "orders" gets the registry password (auth.password) as plain text; pass it as a secret (pulumi.secret / config set --secret)',
        ]);
    });
    test("as secrets they pass", async () => {
        const s = service(
            "orders",
            { env: secret({ API_KEY: "k-123" }) },
            {
                auth: {
                    serverAddress: "registry.example",
                    username: "deploy",
                    password: secret("glpat-1"),
                },
            },
        );
        expect(await messages(POLICY, s)).toEqual([]);
    });
    test("an env value unknown in a preview is skipped; a plain one beside it still violates", async () => {
        const s = service("orders", { env: { API_KEY: UNKNOWN, API_TOKEN: "t0k3n" } });
        expect(await messages(POLICY, s)).toEqual([
            `Service "orders" gets the secret-looking env API_TOKEN (taskSpec.containerSpec.env.API_TOKEN) as plain text; pass it as a secret (pulumi config set --secret --path 'msa:secretEnv.orders.API_TOKEN')`,
        ]);
    });
});

describe("the provider's registryAuth as the engine passes it (JSON-encoded)", () => {
    test("a plain password in the encoded list violates; text that is not JSON has none", async () => {
        const auth = [{ address: "registry.example", username: "deploy", password: "glpat-xyz" }];
        const encoded = resource(TYPES.provider, "gitlab-provider", {
            registryAuth: JSON.stringify(auth),
        });
        expect(await messages(POLICY, encoded)).toEqual([
            'Provider "gitlab-provider" gets the registry password (registryAuth[0].password) as plain text; pass it as a secret (pulumi.secret / config set --secret)',
        ]);
        const garbled = resource(TYPES.provider, "gitlab-provider", { registryAuth: "[{" });
        expect(await messages(POLICY, garbled)).toEqual([]);
    });
});

describe("the provider's TLS key", () => {
    test("plain keyMaterial violates; a secret passes", async () => {
        const key = "-----BEGIN PRIVATE KEY-----";
        expect(
            await messages(POLICY, resource(TYPES.provider, "docker", { keyMaterial: key })),
        ).toEqual([
            `Provider "docker" gets the Docker host's TLS private key (keyMaterial) as plain text; pass it as a secret (pulumi.secret / config set --secret)`,
        ]);
        expect(
            await messages(
                POLICY,
                resource(TYPES.provider, "docker", { keyMaterial: secret(key) }),
            ),
        ).toEqual([]);
    });
});

describe("under the CLI (secretness unknown)", () => {
    const online = async (r: CapturedResource) => {
        const args = validationArgs(r);
        delete args.secretPaths;
        const out: string[] = [];
        const p = POLICIES.find((x) => x.name === POLICY);
        for (const validate of p === undefined ? [] : resourceValidations(p)) {
            try {
                await validate(args, (m) => out.push(m));
            } catch {
                // Not applicable to this type.
            }
        }
        return out;
    };
    test("env that only looks secret is left to the offline check", async () => {
        expect(await online(container("orders", { envs: ["API_TOKEN=t0k3n-value"] }))).toEqual([]);
    });
    test("a service's registry password copied into a label violates", async () => {
        const s = service(
            "orders",
            {},
            {
                auth: { serverAddress: "registry.example", password: "glpat-123" },
                labels: [{ label: "debug", value: "glpat-123" }],
            },
        );
        expect(await online(s)).toEqual([
            'Service "orders" copies the registry password into labels[0].value in plain text; keep it only in auth.password, as a secret',
        ]);
    });
});
