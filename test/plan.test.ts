/** `npm run plan`: the offline plan as operators and CI call it. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./helpers";

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

function plan(...args: string[]): Run {
    const r = spawnSync("npm", ["run", "--silent", "plan", "--", ...args], {
        cwd: ROOT,
        encoding: "utf8",
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("--json", () => {
    let run: Run;
    beforeAll(() => {
        run = plan("--stack", "dev", "--json");
    });

    test("prints exactly one JSON object on stdout, diagnostics on stderr", () => {
        expect(run.status).toBe(0);
        const parsed = JSON.parse(run.stdout) as Record<string, unknown>;
        expect(Object.keys(parsed)).toEqual(["stack", "resources", "outputs", "warnings"]);
        expect(parsed.stack).toBe("dev");
        expect(run.stderr).toContain("warning: msa:dbPassword is not set in Pulumi.dev.yaml");
    });

    test("lists every resource with type, name, parent, inputs, protect, retainOnDelete, dependsOn", () => {
        const { resources } = JSON.parse(run.stdout) as {
            resources: { type: string; name: string; parent: string | null; dependsOn: string[] }[];
        };
        expect(resources.map((r) => `${r.type} ${r.name} <${r.parent ?? ""}>`)).toEqual([
            "msa:registry:GitlabRegistry gitlab <>",
            "msa:network:ServiceNetwork network <>",
            "msa:database:PostgresDatabase database <>",
            "pulumi:providers:docker gitlab-provider <gitlab>",
            "docker:index/volume:Volume database-volume <database>",
            "docker:index/network:Network network-network <network>",
            "docker:index/image:Image database-image <database>",
            "docker:index/container:Container database-container <database>",
            // Services are declared one at a time, each after the runtime's turn (index.ts).
            "msa:service:Microservice SERVICE_B <>",
            "docker:index/remoteImage:RemoteImage SERVICE_B-image <SERVICE_B>",
            "docker:index/container:Container SERVICE_B-container <SERVICE_B>",
            "msa:service:Microservice SERVICE_D <>",
            "docker:index/remoteImage:RemoteImage SERVICE_D-image <SERVICE_D>",
            "docker:index/container:Container SERVICE_D-container <SERVICE_D>",
        ]);
        const d = resources.find((r) => r.name === "SERVICE_D-container");
        expect(d?.dependsOn).toEqual(["database-container", "network-network", "SERVICE_D-image"]);
        for (const r of resources) {
            expect(Object.keys(r)).toEqual([
                "type",
                "name",
                "parent",
                "inputs",
                "protect",
                "retainOnDelete",
                "dependsOn",
            ]);
        }
    });

    test("secrets print as [secret], only the secret element of a list", () => {
        const { resources } = JSON.parse(run.stdout) as {
            resources: { name: string; inputs: { envs?: string[] } }[];
        };
        const envs = resources.find((r) => r.name === "SERVICE_B-container")?.inputs.envs ?? [];
        expect(envs.filter((e) => e === "[secret]")).toHaveLength(1);
        expect(envs).toContain("DB_HOST=db_instance");
        expect(run.stdout).not.toContain("placeholder-msa-dbPassword");
        expect(run.stdout).not.toContain("placeholder-msa-registryPassword");
    });
});

test("the human plan is the resource tree with key properties", () => {
    const run = plan("--stack", "prod");
    expect(run.status).toBe(0);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toBe("Stack prod: 6 resources in 4 components");
    expect(lines).toContain("├─ msa:service:Microservice SERVICE_B");
    expect(run.stdout).toContain("ports: 0.0.0.0:8888->8888/tcp, 0.0.0.0:8900->8900/tcp");
    expect(run.stdout).toContain("DB_HOST=db.prod.internal");
    expect(run.stdout).not.toContain("placeholder-msa-dbPassword");
});

test("--strict turns missing secrets into a failure", () => {
    const run = plan("--stack", "dev", "--strict");
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
        "  - msa:dbPassword is not set in Pulumi.dev.yaml; a placeholder secret was used (pulumi config set --secret msa:dbPassword)",
    );
});

test("an unknown stack is a usage error", () => {
    const run = plan("--stack", "nosuch");
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('plan: no stack file Pulumi.nosuch.yaml for stack "nosuch"\n');
});

test("--stack is required", () => {
    const run = plan("--json");
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("plan: --stack is required");
});

describe("invalid config", () => {
    const stack = `invalid-${process.pid}`;
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    afterAll(() => fs.rmSync(file, { force: true }));

    test("prints every validation error at once and exits 1, with nothing on stdout", () => {
        fs.writeFileSync(
            file,
            [
                "config:",
                "  msa:registryNamespace: team",
                "  msa:registryProject: msa",
                "  msa:registryUsername: ci",
                "  msa:dbName: app",
                "  msa:dbPort: 70000",
                "  msa:services:",
                "    orders: {image: orders, tag: '1', links: [billing]}",
                "",
            ].join("\n"),
        );
        const run = plan("--stack", stack, "--json");
        expect(run.status).toBe(1);
        expect(run.stdout).toBe("");
        expect(run.stderr).toBe(
            [
                `Stack ${stack} has invalid config:`,
                "  - msa:dbPort must be 1-65535, got 70000",
                '  - msa:services.orders.links[0] names unknown service "billing"; known: orders',
                "",
            ].join("\n"),
        );
    });
});
