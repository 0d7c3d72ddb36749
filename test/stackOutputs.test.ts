/**
 * The stack outputs, exactly: what `pulumi stack output` shows an operator (where the services
 * answer, which images run, the proxy's container, the connection string).
 *
 * Each test captures the stack itself: mutation testing runs only the tests that executed the code
 * it mutates, and a capture in a `beforeAll` belongs to no test.
 */
import { captureStack, type MockHooks } from "../capture";
import { CONTAINER, digestOf, REGISTRY, stackConfig } from "./helpers";

/** The registry's answers, and Docker's name for each container the stack leaves unnamed. */
const DEPLOYED: MockHooks = {
    call: REGISTRY.call,
    newResource: (args) =>
        args.type === CONTAINER && args.inputs.name === undefined
            ? { id: `${args.name}-id`, state: { ...args.inputs, name: `${args.name}-7f3a` } }
            : REGISTRY.newResource?.(args),
};

const pinned = (image: string) => `${image.replace(/:[^:/]+$/, "")}@${digestOf(image)}`;

test("the dev stack's outputs: network, database, endpoints, proxy, images, connection string", async () => {
    const c = await captureStack({
        stack: "dev",
        secrets: { "msa:dbPassword": "s3cr3t/Pa55" },
        hooks: DEPLOYED,
        preview: false,
    });
    expect(c.outputs).toEqual({
        dockerNetwork: "msa-dev-net",
        database: {
            mode: "container",
            host: "db_instance",
            port: 5432,
            hostEndpoint: "127.0.0.1:5432",
        },
        // The proxy publishes them on 0.0.0.0: reached on the Docker host as localhost.
        endpoints: {
            SERVICE_B: ["http://localhost:8080"],
            SERVICE_D: ["http://localhost:8888", "http://localhost:8900"],
        },
        proxy: "proxy-container-7f3a",
        images: {
            database: pinned("registry.gitlab.com/my-group/msa/db:dev"),
            SERVICE_B: `registry.gitlab.com/my-group/msa/service-b:latest@${digestOf("registry.gitlab.com/my-group/msa/service-b:latest")}`,
            SERVICE_D: `registry.gitlab.com/my-group/msa/service-d:latest@${digestOf("registry.gitlab.com/my-group/msa/service-d:latest")}`,
        },
        connectionString: {
            __secret: true,
            value: "postgresql://postgres:s3cr3t%2FPa55@db_instance:5432/sf1_db?currentSchema=sf1_schema",
        },
    });
});

test("each service's endpoints are its own proxy routes, at the address they bind", async () => {
    const config = stackConfig("dev");
    config["msa:services"] = {
        web: {
            image: "web",
            tag: "1.0.0",
            ports: [
                { container: 8080, host: 18080, bindAddress: "127.0.0.1" },
                { container: 8081, host: 18081 },
            ],
        },
        worker: { image: "worker", tag: "1.0.0" },
        admin: { image: "admin", tag: "1.0.0", ports: [{ container: 9000, host: 19000 }] },
    };
    const c = await captureStack({ stack: "dev", config });
    expect(c.outputs.endpoints).toEqual({
        web: ["http://127.0.0.1:18080", "http://localhost:18081"],
        worker: [],
        admin: ["http://localhost:19000"],
    });
});

test("an external database: no database image or host endpoint among the outputs", async () => {
    const config = stackConfig("dev");
    config["msa:database"] = {
        mode: "external",
        host: "db.internal",
        port: 6432,
        name: "sf1_db",
        schema: "sf1_schema",
    };
    delete config["msa:proxy"];
    const c = await captureStack({ stack: "dev", config, hooks: DEPLOYED, preview: false });
    expect(c.outputs).toEqual({
        dockerNetwork: "msa-dev-net",
        database: { mode: "external", host: "db.internal", port: 6432 },
        // Without the proxy each service publishes its own ports.
        endpoints: {
            SERVICE_B: ["http://localhost:8080"],
            SERVICE_D: ["http://localhost:8888", "http://localhost:8900"],
        },
        images: {
            SERVICE_B: `registry.gitlab.com/my-group/msa/service-b:latest@${digestOf("registry.gitlab.com/my-group/msa/service-b:latest")}`,
            SERVICE_D: `registry.gitlab.com/my-group/msa/service-d:latest@${digestOf("registry.gitlab.com/my-group/msa/service-d:latest")}`,
        },
        connectionString: {
            __secret: true,
            value: "postgresql://postgres:placeholder-msa-dbPassword@db.internal:6432/sf1_db?currentSchema=sf1_schema",
        },
    });
    expect(Object.keys(c.outputs)).not.toContain("proxy");
});
