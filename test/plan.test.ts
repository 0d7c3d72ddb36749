/** `npm run plan`: the offline plan as operators and CI call it. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Capture, CaptureConfigError, CaptureOptions, captureStack } from "../capture";
import { main, PlanIo } from "../tools/plan";
import { captureFixture } from "./capture/fixture";
import { ROOT, stackConfig } from "./helpers";

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

/**
 * The real stacks, as operators and CI run them. What each stack declares is `stack.test.ts`'s
 * subject; here, that `plan` prints exactly the capture, in its forms and with its exit codes.
 */
describe("--json", () => {
    let run: Run;
    let capture: Capture;
    beforeAll(async () => {
        run = plan("--stack", "dev", "--json");
        capture = await captureStack({ stack: "dev" });
    });

    test("prints exactly one JSON object on stdout, diagnostics on stderr", () => {
        expect(run.status).toBe(0);
        const parsed = JSON.parse(run.stdout) as Record<string, unknown>;
        expect(Object.keys(parsed)).toEqual(["stack", "resources", "outputs", "warnings"]);
        expect(parsed.stack).toBe("dev");
        expect(run.stderr).toContain("warning: msa:dbPassword is not set in Pulumi.dev.yaml");
    });

    test("lists every resource with type, name, parent, inputs, protect, retainOnDelete, dependsOn", () => {
        // …and deleteBeforeReplace where the program sets it (create-first service containers).
        const { resources } = JSON.parse(run.stdout) as {
            resources: { type: string; name: string; parent: string | null; dependsOn: string[] }[];
        };
        const line = (r: (typeof resources)[number]) => `${r.type} ${r.name} <${r.parent ?? ""}>`;
        expect(resources.map(line)).toEqual(capture.resources.map(line));
        expect(resources.map((r) => r.dependsOn)).toEqual(
            capture.resources.map((r) => r.dependsOn),
        );
        for (const r of resources) {
            const createFirst = capture.resources.find(
                (c) => c.name === r.name,
            )?.deleteBeforeReplace;
            expect(Object.keys(r)).toEqual([
                "type",
                "name",
                "parent",
                "inputs",
                "protect",
                "retainOnDelete",
                ...(createFirst === undefined ? [] : ["deleteBeforeReplace"]),
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

    test("digests the registry has not resolved are unknown markers, never made up", () => {
        const { resources } = JSON.parse(run.stdout) as {
            resources: { name: string; inputs: Record<string, unknown> }[];
        };
        const image = resources.find((r) => r.name === "SERVICE_B-image");
        expect(image?.inputs.name).toEqual({ __unknown: true });
        expect(run.stdout).not.toContain("sha256:");
    });
});

test("the human plan is the resource tree with key properties", () => {
    const run = plan("--stack", "prod");
    expect(run.status).toBe(0);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toMatch(/^Stack prod: \d+ resources in \d+ components$/);
    expect(lines).toContain("├─ msa:service:Microservice SERVICE_B");
    expect(run.stdout).toContain(
        "ports: 0.0.0.0:8080->8080/tcp, 0.0.0.0:8888->8888/tcp, 0.0.0.0:8900->8900/tcp",
    );
    expect(run.stdout).toContain("└─ msa:proxy:EdgeProxy proxy");
    expect(run.stdout).toContain(
        "release: create-first, but not health-gated: without a health check the old container stops as soon as the new one runs (set the service's healthcheck)",
    );
    expect(run.stdout).toContain("DB_HOST=db.prod.internal");
    expect(run.stdout).not.toContain("placeholder-msa-dbPassword");
    expect(run.stdout).toContain("image: (known after deploy)");
    expect(run.stdout).not.toContain("sha256:");
});

test("--strict turns missing secrets into a failure", () => {
    const run = plan("--stack", "dev", "--strict");
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
        "  - msa:dbPassword is not set in Pulumi.dev.yaml; a placeholder secret was used (pulumi config set --secret msa:dbPassword)",
    );
});

test("a stack without a stack file fails with one line (exit 1), not a usage error", () => {
    const run = plan("--stack", "nosuch");
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('plan: no stack file Pulumi.nosuch.yaml for stack "nosuch"\n');
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
                "  msa:registry: {namespace: team, project: msa, username: ci}",
                "  msa:database: {name: app, port: 70000}",
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
                "  - msa:database.port must be 1-65535, got 70000",
                '  - msa:services.orders.links[0] names unknown service "billing"; known: orders',
                "",
            ].join("\n"),
        );
    });
});

/** `main` in this process, with the capture replaced; `captured` lists what it was asked for. */
async function planWith(
    argv: string[],
    capture: (opts: CaptureOptions) => Promise<Capture> = (opts) => captureFixture(opts),
): Promise<Run & { captured: CaptureOptions[] }> {
    const run = { status: null as number | null, stdout: "", stderr: "" };
    const captured: CaptureOptions[] = [];
    const io: PlanIo = {
        capture: (opts) => {
            captured.push(opts);
            return capture(opts);
        },
        stdout: (t) => {
            run.stdout += t;
        },
        stderr: (t) => {
            run.stderr += t;
        },
    };
    run.status = await main(argv, io);
    return { ...run, captured };
}

describe("values only the engine knows (test/fixtures/unknowns)", () => {
    test("the text plan prints (known after deploy) for a name built from an unresolved digest", async () => {
        const run = await planWith(["--stack", "fixture"]);
        expect(run.status).toBe(0);
        // Up to the warnings, which name the project's own required secrets.
        expect(run.stdout.split("\nWarnings:")[0]).toBe(
            [
                "Stack fixture: 6 resources in 0 components",
                "├─ docker:index/volume:Volume data",
                "├─ pulumi:providers:docker registry",
                "│      registryAuth: [secret]",
                "├─ docker:index/image:Image db-image",
                "│      imageName: registry.example.com/team/app/db:1",
                "│      skipPush: false",
                '│      build: {"BASE_IMAGE":"postgres:14"}',
                "├─ docker:index/remoteImage:RemoteImage orders-image",
                "│      name: (known after deploy)",
                "├─ docker:index/container:Container db-container after db-image",
                "│      name: db",
                "│      image: (known after deploy)",
                "│      ports: (none published)",
                "│      networks: ",
                "│      release: downtime (delete-first, the provider's default)",
                "│      env: ",
                "└─ docker:index/container:Container orders-container after orders-image, data",
                "       name: orders",
                "       image: (known after deploy)",
                "       ports: (none published)",
                "       networks: ",
                "       release: downtime (delete-first, the provider's default)",
                "       env: MODE=plan [secret]",
                "",
                "Outputs:",
                '  images: {"orders":"(known after deploy)","db":"(known after deploy)"}',
                "  volume: (known after deploy)",
                "  digest: (known after deploy)",
                "  tag: registry.example.com/team/app/orders:1.4.2",
                "  token: [secret]",
                "",
            ].join("\n"),
        );
        expect(run.stdout).not.toContain("sha256:");
    });

    test('--json carries {"__unknown": true} where the engine decides, in inputs and outputs', async () => {
        const run = await planWith(["--stack", "fixture", "--json"]);
        expect(run.status).toBe(0);
        const json = JSON.parse(run.stdout) as {
            resources: { name: string; inputs: Record<string, unknown> }[];
            outputs: Record<string, unknown>;
        };
        const inputs = (name: string) => json.resources.find((r) => r.name === name)?.inputs;
        expect(inputs("orders-image")).toEqual({ name: { __unknown: true } });
        expect(inputs("db-container")?.image).toEqual({ __unknown: true });
        expect(json.outputs).toEqual({
            images: { orders: { __unknown: true }, db: { __unknown: true } },
            volume: { __unknown: true },
            digest: { __unknown: true },
            tag: "registry.example.com/team/app/orders:1.4.2",
            token: "[secret]",
        });
        expect(run.stdout).not.toContain("sha256:");
    });
});

describe("exit codes", () => {
    test("invalid config: every error on stderr, one a line, nothing on stdout, exit 1", async () => {
        const run = await planWith(["--stack", "dev", "--json"], () =>
            Promise.reject(new CaptureConfigError("dev", ["msa:a is wrong", "msa:b is wrong"])),
        );
        expect(run).toMatchObject({
            status: 1,
            stdout: "",
            stderr: "Stack dev has invalid config:\n  - msa:a is wrong\n  - msa:b is wrong\n",
        });
    });

    test("--strict: warnings fail the plan", async () => {
        const withWarning = async (opts: CaptureOptions) => ({
            ...(await captureFixture(opts)),
            warnings: ["msa:token is not set"],
        });
        expect((await planWith(["--stack", "fixture"], withWarning)).status).toBe(0);
        const strict = await planWith(["--stack", "fixture", "--strict"], withWarning);
        expect(strict.status).toBe(1);
        expect(strict.stdout).toContain("Warnings:\n  - msa:token is not set");
    });

    test("any other failure is one line, exit 1", async () => {
        const run = await planWith(["--stack", "fixture"], () =>
            Promise.reject(new Error("registry said no")),
        );
        expect(run).toMatchObject({ status: 1, stdout: "", stderr: "plan: registry said no\n" });
    });
});

describe("usage errors: exit 2, the message and the usage on stderr, nothing captured", () => {
    const USAGE =
        "usage: npm run plan -- --stack <name> [--json] [--strict] [--policy] [--base <plan.json>]\n";
    test.each([
        [
            "--stack twice",
            ["--stack", "dev", "--stack", "prod"],
            "option --stack is given more than once",
        ],
        [
            "--json twice",
            ["--stack", "dev", "--json", "--json"],
            "option --json is given more than once",
        ],
        ["an unknown option", ["--stack", "dev", "--stak", "prod"], "Unknown option '--stak'"],
        ["--stack without a value", ["--stack"], "Option '--stack <value>' argument missing"],
        ["no --stack", ["--json"], "--stack is required"],
        [
            "a stray argument",
            ["--stack", "dev", "prod"],
            "Unexpected argument 'prod'. This command does not take positional arguments",
        ],
    ])("%s", async (_label, argv, message) => {
        const run = await planWith(argv);
        expect(run).toEqual({
            status: 2,
            stdout: "",
            stderr: `plan: ${message}\n${USAGE}`,
            captured: [],
        });
    });

    test("--help prints the usage on stdout, exit 0", async () => {
        const run = await planWith(["--help"]);
        expect(run).toEqual({ status: 0, stdout: USAGE, stderr: "", captured: [] });
    });

    test("npm run plan -- --stack dev --stack prod exits 2", () => {
        const run = plan("--stack", "dev", "--stack", "prod");
        expect(run.status).toBe(2);
        expect(run.stderr).toBe(`plan: option --stack is given more than once\n${USAGE}`);
    });
});

describe("--base: what the change does to data and to callers", () => {
    test("a renamed data volume and a new DB setting are named against the saved plan", async () => {
        const base = path.join(os.tmpdir(), `msa-base-${process.pid}.json`);
        const out: string[] = [];
        // Secrets set, so that no warning makes --strict fail: only the data finding may.
        const secrets = { "msa:dbPassword": "pw", "msa:registryPassword": "token" };
        const io = {
            stdout: (t: string) => out.push(t),
            stderr: () => undefined,
            capture: (opts: CaptureOptions) => captureStack({ ...opts, secrets }),
        };
        expect(await main(["--stack", "dev", "--json"], io)).toBe(0);
        fs.writeFileSync(base, out.join(""));
        out.length = 0;
        const changed = stackConfig("dev");
        const db = changed["msa:database"] as Record<string, unknown>;
        db.volumeName = "shop-db-data";
        const code = await main(["--stack", "dev", "--base", base, "--strict"], {
            ...io,
            capture: (opts) => captureStack({ ...opts, config: changed, secrets }),
        });
        const text = out.join("");
        expect(text).toContain(
            `Changes against ${base}:\n  DATA: data volume sf1_db_storage (database-volume) would be replaced (name "sf1_db_storage" → "shop-db-data"): the database starts empty on the new volume; the old one is kept (retainOnDelete)\n  database-container is replaced with downtime: database restart (one data directory)\n`,
        );
        expect(code).toBe(1);
        out.length = 0;
        expect(await main(["--stack", "dev", "--base", base, "--strict"], io)).toBe(0);
        expect(out.join("")).toContain(`Changes against ${base}:\n  (no replacements)\n`);
        fs.rmSync(base);
    });

    test("a base that is not a plan is one line, exit 1", async () => {
        const bad = path.join(os.tmpdir(), `msa-bad-${process.pid}.json`);
        fs.writeFileSync(bad, '{"stack": "dev"}');
        const err: string[] = [];
        const code = await main(["--stack", "dev", "--base", bad], {
            stdout: () => undefined,
            stderr: (t) => err.push(t),
            capture: captureStack,
        });
        expect(code).toBe(1);
        expect(err.join("")).toBe(
            `plan: ${bad} is not a saved plan (npm run plan -- --stack <name> --json): resources: Invalid input: expected array, received undefined (and 2 more)\n`,
        );
        fs.rmSync(bad);
    });
});
