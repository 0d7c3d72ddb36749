/**
 * `PostgresDatabase` on its own, with plain `pulumi.runtime.setMocks`: the endpoint it exposes,
 * the data volume's safety options, the image tag derived from the build context, and one exact
 * message per bad argument.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}
const created: Registered[] = [];
const options: Record<string, pulumi.CustomResourceOptions> = {};
void pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            created.push({ type: args.type, name: args.name, inputs: args.inputs });
            const state =
                args.type === "docker:index/image:Image"
                    ? { ...args.inputs, repoDigest: "registry.example.com/g/p/db@sha256:beef" }
                    : args.inputs;
            return { id: `${args.name}-id`, state };
        },
        call: (args) => args.inputs,
    },
    "msa",
    "test",
    false,
);
/** Records the options each child is declared with (transformations reach a component's children). */
const recordOptions: pulumi.ComponentResourceOptions = {
    transformations: [
        (a) => {
            options[a.name] = a.opts;
            return undefined;
        },
    ],
};

import { PostgresDatabase, PostgresDatabaseArgs } from "../../components";

const CONTEXT = path.join(__dirname, "..", "..", "docker", "db");
const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

function args(over: Partial<PostgresDatabaseArgs> = {}): PostgresDatabaseArgs {
    return {
        buildContext: CONTEXT,
        imageRepository: "registry.example.com/g/p/db",
        networkName: "net",
        alias: "database",
        containerName: "db",
        volumeName: "db-data",
        dbName: "app",
        schema: "public",
        user: "postgres",
        password: pulumi.secret("pw"),
        healthcheck: { interval: "1s", timeout: "3s", retries: 5, startPeriod: "60s" },
        client: { kind: "pg", dialect: "D", driverClassName: "Drv", type: "T" },
        ...over,
    };
}

beforeEach(() => {
    created.length = 0;
});

describe("PostgresDatabase", () => {
    test("exposes the endpoint services connect to, waiting on the container", async () => {
        const db = new PostgresDatabase("database", args({ port: 6543 }));
        expect(db.endpoint).toMatchObject({
            host: "database",
            port: 6543,
            name: "app",
            schema: "public",
            user: "postgres",
        });
        expect(await pulumi.isSecret(pulumi.output(db.endpoint.password))).toBe(true);
        expect(db.endpoint.readyAfter).toHaveLength(1);
        expect(await value(db.hostEndpoint)).toBe("127.0.0.1:6543");
    });

    test("the data volume is always retained; protect is the caller's switch", async () => {
        const db = new PostgresDatabase("data1", args({ volumeName: "v1" }), recordOptions);
        await value(db.volumeName);
        expect(options["data1-volume"]).toMatchObject({
            retainOnDelete: true,
            protect: false,
            ignoreChanges: ["labels"],
        });
        const prot = new PostgresDatabase(
            "data2",
            args({ volumeName: "v2", protect: true }),
            recordOptions,
        );
        await value(prot.volumeName);
        expect(options["data2-volume"]).toMatchObject({ retainOnDelete: true, protect: true });
        expect(options["data2-container"]).toMatchObject({ protect: true });
    });

    test("without a tag, the image is tagged from its build context; pushed images run by digest", async () => {
        const db = new PostgresDatabase(
            "tagged",
            args({ push: { server: "registry.example.com", username: "u", password: "p" } }),
        );
        expect(await value(db.imageRef)).toBe("registry.example.com/g/p/db@sha256:beef");
        const image = created.find((r) => r.name === "tagged-image");
        expect(image?.inputs.imageName).toMatch(
            /^registry\.example\.com\/g\/p\/db:src-[0-9a-f]{12}$/,
        );
        expect(image?.inputs.skipPush).toBe(false);
    });

    test("a local build is not pushed and runs by name", async () => {
        const db = new PostgresDatabase("local", args({ imageTag: "dev" }));
        expect(await value(db.imageRef)).toBe("registry.example.com/g/p/db:dev");
        expect(created.find((r) => r.name === "local-image")?.inputs.skipPush).toBe(true);
    });

    test.each<[string, Partial<PostgresDatabaseArgs>, string]>([
        ["a port out of range", { port: 0 }, "PostgresDatabase bad: port must be 1-65535, got 0"],
        [
            "a host port out of range",
            { hostPort: 70000 },
            "PostgresDatabase bad: hostPort must be 1-65535, got 70000",
        ],
        [
            "a build context without a Dockerfile",
            { buildContext: __dirname },
            `PostgresDatabase bad: buildContext ${JSON.stringify(__dirname)} has no Dockerfile`,
        ],
        [
            "a healthcheck interval that is not a duration",
            { healthcheck: { interval: "soon", timeout: "3s", retries: 5, startPeriod: "60s" } },
            'PostgresDatabase bad: healthcheck.interval must be a duration like 1s, got "soon"',
        ],
        [
            "zero healthcheck retries",
            { healthcheck: { interval: "1s", timeout: "3s", retries: 0, startPeriod: "60s" } },
            "PostgresDatabase bad: healthcheck.retries must be at least 1, got 0",
        ],
        [
            "an empty database name",
            { dbName: "" },
            "PostgresDatabase bad: dbName must not be empty",
        ],
    ])("refuses %s before declaring anything", (_what, over, message) => {
        expect(() => new PostgresDatabase("bad", args(over))).toThrow(message);
        expect(created.filter((r) => r.name.startsWith("bad"))).toEqual([]);
    });
});
