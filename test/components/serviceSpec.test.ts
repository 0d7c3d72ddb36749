/**
 * What `Microservice` and `SwarmService` share, on its own with plain `pulumi.runtime.setMocks`:
 * the image (pulled by digest, or built here and run by digest once pushed), the env, and one exact
 * message per bad argument.
 */
import * as pulumi from "@pulumi/pulumi";
import { optionsRecorder, value } from "./harness";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}
const created: Registered[] = [];
const { options, recordOptions } = optionsRecorder<pulumi.ResourceOptions>();
void pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            created.push({ type: args.type, name: args.name, inputs: args.inputs });
            const state =
                args.type === "docker:index/image:Image"
                    ? { ...args.inputs, repoDigest: `${String(args.inputs.imageName)}@sha256:beef` }
                    : args.inputs;
            return { id: `${args.name}-id`, state };
        },
        call: (args) => ({ ...args.inputs, sha256Digest: "sha256:feed" }),
    },
    "msa",
    "test",
    false,
);

import { externalDatabase, ServiceImage, ServiceSpec } from "../../components";
import { checkServiceSpec, declareImage, serviceEnv } from "../../components/serviceSpec";
import { contextTag } from "../../lib/buildContext";

const CONTEXT = path.join(__dirname, "..", "..", "docker", "example-service");
const REPO = "registry.example.com/g/p/orders";

/** A build context whose Dockerfile is named `Containerfile`, and none named `Dockerfile`. */
const containerfileContext = fs.mkdtempSync(path.join(os.tmpdir(), "msa-spec-"));
fs.writeFileSync(path.join(containerfileContext, "Containerfile"), "FROM scratch\n");
afterAll(() => {
    fs.rmSync(containerfileContext, { recursive: true, force: true });
});

function spec(over: Partial<ServiceSpec> = {}): ServiceSpec {
    return {
        image: { repository: REPO, tag: "1.2.3" },
        networkName: "net",
        alias: "orders",
        database: externalDatabase({
            host: "db.internal",
            port: 6432,
            name: "app",
            schema: "sales",
            user: "app_user",
            password: "pw",
            client: { kind: "pg", dialect: "D", driverClassName: "Drv", type: "T" },
        }),
        ...over,
    };
}

/** The image `declareImage` declares under a parent of its own, and what the service runs. */
async function declared(
    name: string,
    image: ServiceImage,
): Promise<{ ref: string; inputs: Record<string, unknown> | undefined }> {
    const parent = new pulumi.ComponentResource("msa:test:Parent", name, {}, recordOptions);
    const ref = await value(declareImage(parent, name, image));
    // A registry image is a component of its own (`name`), a build the image itself.
    expect(options[image.build === undefined ? name : `${name}-image`]?.parent).toBe(parent);
    return { ref, inputs: created.find((r) => r.name === `${name}-image`)?.inputs };
}

beforeEach(() => {
    created.length = 0;
});

describe("declareImage", () => {
    test("a registry image is pinned by digest", async () => {
        const { ref, inputs } = await declared("pulled", { repository: REPO, tag: "1.2.3" });
        expect(ref).toBe(`${REPO}:1.2.3@sha256:feed`);
        expect(inputs).toEqual({
            name: `${REPO}:1.2.3@sha256:feed`,
            pullTriggers: ["sha256:feed"],
            keepLocally: true,
        });
    });

    test("a local build is tagged from its context, target and args, not pushed, and run by name", async () => {
        const { ref, inputs } = await declared("local", {
            repository: REPO,
            build: { context: CONTEXT, args: { VERSION: "2" }, target: "prod" },
        });
        const tag = contextTag(CONTEXT, { VERSION: "2", TARGET: "prod" });
        expect(ref).toBe(`${REPO}:${tag}`);
        expect(inputs).toEqual({
            imageName: `${REPO}:${tag}`,
            build: {
                context: CONTEXT,
                dockerfile: path.join(CONTEXT, "Dockerfile"),
                args: { VERSION: "2" },
                target: "prod",
            },
            skipPush: true,
            buildOnPreview: false,
        });
    });

    test("without a target or args, the tag hashes an empty TARGET", async () => {
        const { ref, inputs } = await declared("plain", {
            repository: REPO,
            build: { context: CONTEXT },
        });
        const tag = contextTag(CONTEXT, { TARGET: "" });
        expect(tag).not.toBe(contextTag(CONTEXT));
        expect(ref).toBe(`${REPO}:${tag}`);
        expect(inputs?.build).toEqual({
            context: CONTEXT,
            dockerfile: path.join(CONTEXT, "Dockerfile"),
            args: {},
        });
    });

    test("a given tag and Dockerfile name are used as they are", async () => {
        const { ref, inputs } = await declared("named", {
            repository: REPO,
            tag: "dev",
            build: { context: containerfileContext, dockerfile: "Containerfile" },
        });
        expect(ref).toBe(`${REPO}:dev`);
        expect(inputs).toEqual({
            imageName: `${REPO}:dev`,
            build: {
                context: containerfileContext,
                dockerfile: path.join(containerfileContext, "Containerfile"),
                args: {},
            },
            skipPush: true,
            buildOnPreview: false,
        });
    });

    test("a pushed build runs by its digest", async () => {
        const push = { server: "registry.example.com", username: "u", password: "p" };
        const { ref, inputs } = await declared("pushed", {
            repository: REPO,
            tag: "dev",
            build: { context: CONTEXT },
            push,
        });
        expect(ref).toBe(`${REPO}:dev@sha256:beef`);
        expect(inputs).toMatchObject({ skipPush: false, registry: push });
    });
});

describe("serviceEnv", () => {
    test("DB_* and TZ (default UTC) as plain strings, then the caller's env; the secrets wrapped", async () => {
        const { plain, secret } = serviceEnv(
            spec({ env: { NODENAME: "n1" }, secretEnv: { API_TOKEN: "t" } }),
        );
        // Plain strings, not Outputs: a stack of hundreds of services pays for no promise per variable.
        expect(plain).toEqual([
            ["DB_HOST", "db.internal"],
            ["DB_PORT", "6432"],
            ["DB_NAME", "app"],
            ["DB_SCHEMA_NAME", "sales"],
            ["DB_USER", "app_user"],
            ["TZ", "UTC"],
            ["DB_KIND", "pg"],
            ["DB_DIALECT", "D"],
            ["DB_DRIVER_CLASS_NAME", "Drv"],
            ["DB_TYPE", "T"],
            ["NODENAME", "n1"],
        ]);
        expect(secret.map(([k]) => k)).toEqual(["DB_PASSWORD", "API_TOKEN"]);
        for (const [, v] of secret) {
            expect(await pulumi.isSecret(pulumi.output(v))).toBe(true);
        }
        expect(await Promise.all(secret.map(([, v]) => value(pulumi.output(v))))).toEqual([
            "pw",
            "t",
        ]);
    });

    test("a port that is an Output becomes its string", async () => {
        const port = serviceEnv(
            spec({
                database: { ...spec().database, port: pulumi.output(5433) },
                timezone: "Asia/Seoul",
            }),
        ).plain.find(([k]) => k === "DB_PORT")?.[1];
        expect(await value(pulumi.output(port as pulumi.Input<string>))).toBe("5433");
    });
});

describe("checkServiceSpec", () => {
    const accept = (over: Partial<ServiceSpec>) => () => checkServiceSpec("Svc", "ok", spec(over));

    test.each<[string, Partial<ServiceSpec>]>([
        [
            "NODENAME, which the stack sets only when the service does not",
            { env: { NODENAME: "n" } },
        ],
        ["env names with underscores and digits", { env: { _X1: "a", API_TOKEN: "b" } }],
        ["ports 1 and 65535", { ports: [{ container: 1, host: 65535 }] }],
        ["internal-only ports", { ports: [{ container: 80 }, { container: 81 }] }],
        [
            "one host port on two addresses",
            {
                ports: [
                    { container: 80, host: 8080, bindAddress: "127.0.0.1" },
                    { container: 81, host: 8080, bindAddress: "10.0.0.1" },
                ],
            },
        ],
        [
            "one host port for tcp and udp",
            {
                ports: [
                    { container: 53, host: 53 },
                    { container: 53, host: 53, protocol: "udp" },
                ],
            },
        ],
        ["a one-character alias", { alias: "a" }],
        ["a 63-character alias", { alias: `a${"-".repeat(61)}b` }],
        [
            "a build context with its Dockerfile under another name",
            {
                image: {
                    repository: REPO,
                    build: { context: containerfileContext, dockerfile: "Containerfile" },
                },
            },
        ],
        [
            "a build context with a Dockerfile",
            { image: { repository: REPO, build: { context: CONTEXT } } },
        ],
    ])("accepts %s", (_what, over) => {
        expect(accept(over)).not.toThrow();
    });

    test.each<[string, Partial<ServiceSpec>, string]>([
        [
            "an env name starting with a digit",
            { env: { "1ABC": "x" } },
            'Svc bad: env name "1ABC" is not a valid environment variable name',
        ],
        [
            "an env name with a dash at the end",
            { secretEnv: { "TOKEN-": "x" } },
            'Svc bad: env name "TOKEN-" is not a valid environment variable name',
        ],
        [
            "TZ in the env",
            { env: { TZ: "x" } },
            "Svc bad: env TZ is set from the database endpoint or timezone; remove it",
        ],
        [
            "port 0",
            { ports: [{ container: 0 }] },
            "Svc bad: ports[0].container must be 1-65535, got 0",
        ],
        [
            "port 65536",
            { ports: [{ container: 80, host: 65536 }] },
            "Svc bad: ports[0].host must be 1-65535, got 65536",
        ],
        [
            "a port that is not an integer",
            { ports: [{ container: 80.5 }] },
            "Svc bad: ports[0].container must be 1-65535, got 80.5",
        ],
        [
            "a host port given twice, once with the default address and protocol",
            {
                ports: [
                    { container: 80, host: 8080 },
                    { container: 81, host: 8080, bindAddress: "0.0.0.0", protocol: "tcp" },
                ],
            },
            "Svc bad: ports[1].host 8080 is published twice",
        ],
        [
            "a host port on 127.0.0.1 and on every address (0.0.0.0)",
            {
                ports: [
                    { container: 80, host: 8080 },
                    { container: 81, host: 8080, bindAddress: "127.0.0.1" },
                ],
            },
            "Svc bad: ports[1].host 8080/tcp on 127.0.0.1 clashes with the same port on 0.0.0.0",
        ],
        [
            "a host port on every address after the same port on 10.0.0.5",
            {
                ports: [
                    { container: 80, host: 8080, bindAddress: "10.0.0.5", protocol: "udp" },
                    { container: 81, host: 8080, bindAddress: "0.0.0.0", protocol: "udp" },
                ],
            },
            "Svc bad: ports[1].host 8080/udp on 0.0.0.0 clashes with the same port on 10.0.0.5",
        ],
        [
            "a name in both env and secretEnv",
            { env: { API_TOKEN: "x" }, secretEnv: { API_TOKEN: "y" } },
            "Svc bad: env API_TOKEN is given both in env and in secretEnv; keep one",
        ],
        [
            "an alias starting with a dash",
            { alias: "-orders" },
            'Svc bad: alias must be one DNS label, got "-orders"',
        ],
        [
            "an alias ending with a dash",
            { alias: "orders-" },
            'Svc bad: alias must be one DNS label, got "orders-"',
        ],
        [
            "a 64-character alias",
            { alias: `a${"b".repeat(62)}c` },
            `Svc bad: alias must be one DNS label, got "a${"b".repeat(62)}c"`,
        ],
        [
            "a build context without a Dockerfile",
            { image: { repository: REPO, build: { context: containerfileContext } } },
            `Svc bad: image.build: ${JSON.stringify(path.join(containerfileContext, "Dockerfile"))} does not exist`,
        ],
        [
            "a Dockerfile name that is not in the context",
            {
                image: {
                    repository: REPO,
                    build: { context: containerfileContext, dockerfile: "Other" },
                },
            },
            `Svc bad: image.build: ${JSON.stringify(path.join(containerfileContext, "Other"))} does not exist`,
        ],
    ])("refuses %s", (_what, over, message) => {
        expect(() => checkServiceSpec("Svc", "bad", spec(over))).toThrow(new Error(message));
    });

    test("reports every problem at once", () => {
        expect(() =>
            checkServiceSpec(
                "Svc",
                "bad",
                spec({ env: { DB_HOST: "x" }, ports: [{ container: 0 }], alias: "a.b" }),
            ),
        ).toThrow(
            new Error(
                "Svc bad: env DB_HOST is set from the database endpoint or timezone; remove it; " +
                    "ports[0].container must be 1-65535, got 0; " +
                    'alias must be one DNS label, got "a.b"',
            ),
        );
    });
});
