/**
 * `npm run policy -- <plan.json>`: the pack over a plan saved with `npm run plan -- --json`. The
 * real stacks' saved plans give the verdict `plan --policy` gives; crafted plans cover secrets as
 * `"[secret]"`, unknowns as `{"__unknown": true}`, the exit codes and unreadable files.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { captureStack } from "../../capture";
import { main as plan } from "../../tools/plan";
import { main as policy } from "../../tools/policy";
import { ROOT } from "../helpers";

const DIGEST = `sha256:${"ab".repeat(32)}`;
let dir: string;

beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "msa-saved-plan-"));
});
afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: unknown): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
    return file;
}

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const code = await policy(argv, {
        stdout: (t) => {
            stdout += t;
        },
        stderr: (t) => {
            stderr += t;
        },
    });
    return { code, stdout, stderr };
}

async function savedPlan(stack: string, extra: string[] = []): Promise<string> {
    let out = "";
    await plan(["--stack", stack, "--json", ...extra], {
        capture: captureStack,
        stdout: (t) => {
            out += t;
        },
        stderr: () => undefined,
    });
    return out;
}

/** A resource as `plan --json` writes it. */
function planned(type: string, name: string, inputs: Record<string, unknown>, more = {}) {
    return {
        type,
        name,
        parent: null,
        inputs,
        protect: false,
        retainOnDelete: false,
        dependsOn: [],
        ...more,
    };
}

const labels = (component: string, extra: Record<string, string> = {}) =>
    Object.entries({
        "msa.component": component,
        "msa.environment": "staging",
        "msa.project": "msa",
        "msa.stack": "staging",
        ...extra,
    }).map(([label, value]) => ({ label, value }));

const crafted = (resources: unknown[]) => ({
    stack: "staging",
    resources,
    outputs: {},
    warnings: [],
});

describe("the real stacks, saved", () => {
    /** `plan --policy`'s verdict: the lines after the resource tree, and its exit code. */
    async function planVerdict(stack: string): Promise<{ code: number; verdict: string }> {
        let out = "";
        const code = await plan(["--stack", stack, "--policy"], {
            capture: captureStack,
            stdout: (t) => {
                out += t;
            },
            stderr: () => undefined,
        });
        return { code, verdict: out.slice(out.indexOf("Policy pack msa-guardrails:")) };
    }

    test.each(["dev", "prod"])(
        "%s: the same verdict and exit code as plan --policy",
        async (stack) => {
            const expected = await planVerdict(stack);
            expect(expected.verdict).toMatch(/^Policy pack msa-guardrails: 0 mandatory, /);
            const file = write(`${stack}.json`, await savedPlan(stack));
            expect(await run([file])).toEqual({
                code: expected.code,
                stdout: expected.verdict,
                stderr: "",
            });
        },
    );

    test("a plan saved with --json --policy (violations included) reads the same", async () => {
        const file = write("prod-policy.json", await savedPlan("prod", ["--policy"]));
        const plain = write("prod-plain.json", await savedPlan("prod"));
        expect(await run([file])).toEqual(await run([plain]));
    });

    test("npm run policy -- <file> runs the tool", () => {
        const file = write(
            "tiny.json",
            crafted([
                planned("docker:index/container:Container", "evil", {
                    name: "evil",
                    image: `busybox@${DIGEST}`,
                    privileged: true,
                    restart: "always",
                    memory: 64,
                    labels: labels("evil"),
                }),
            ]),
        );
        const r = spawnSync("npm", ["run", "--silent", "policy", "--", file], {
            cwd: ROOT,
            encoding: "utf8",
        });
        expect([r.status, r.stdout]).toEqual([
            1,
            [
                "Policy pack msa-guardrails: 1 mandatory, 0 advisory violation",
                '[mandatory] no-privileged-containers: Container "evil" runs privileged, which hands it the host; remove privileged: true',
                "",
            ].join("\n"),
        ]);
    });
});

describe("crafted plans", () => {
    test("violations, one line each; secrets as [secret] and unknowns are accepted as such", async () => {
        const file = write(
            "hostile.json",
            crafted([
                planned("pulumi:providers:docker", "docker", { registryAuth: "[secret]" }),
                planned("docker:index/remoteImage:RemoteImage", "orders-image", {
                    name: `registry.example/g/p/orders:release@${DIGEST}`,
                }),
                planned("docker:index/container:Container", "orders-container", {
                    name: "orders",
                    image: { __unknown: true },
                    envs: ["[secret]", "API_TOKEN=t0k3n", "DB_HOST=db"],
                    restart: "always",
                    memory: 256,
                    pidMode: "host",
                    labels: labels("orders"),
                }),
                planned(
                    "docker:index/volume:Volume",
                    "database-volume",
                    { name: "db", labels: labels("database") },
                    { protect: true },
                ),
            ]),
        );
        const r = await run([file]);
        expect(r).toEqual({
            code: 1,
            stdout: [
                "Policy pack msa-guardrails: 4 mandatory, 0 advisory violations",
                `[mandatory] prod-images-pinned: RemoteImage "orders-image" pulls registry.example/g/p/orders:release@${DIGEST}, whose tag release moves in prod, so the next deploy may run another image; set the service's tag (msa:services.<key>.tag) to a release tag`,
                '[mandatory] no-host-namespaces: Container "orders-container" sets pidMode: host, which lets it see and signal every process on the host; remove pidMode',
                `[mandatory] passwords-are-secrets: Container "orders-container" gets the secret-looking env API_TOKEN (envs[1]) as plain text; pass it as a secret (pulumi config set --secret --path 'msa:secretEnv.orders.API_TOKEN')`,
                `[mandatory] prod-data-volume-protected: Volume "database-volume" holds the prod database's data but lacks retainOnDelete; set msa:protect: true in the stack file`,
                "",
            ].join("\n"),
            stderr: "",
        });
    });

    test("the same stack declaring msa:production: false passes the production rules", async () => {
        const nonProduction = labels("orders", { "msa.production": "false" });
        const file = write(
            "staging.json",
            crafted([
                planned("docker:index/remoteImage:RemoteImage", "orders-image", {
                    name: `registry.example/g/p/orders:latest@${DIGEST}`,
                }),
                planned("docker:index/container:Container", "orders-container", {
                    name: "orders",
                    image: `registry.example/g/p/orders:latest@${DIGEST}`,
                    restart: "always",
                    memory: 256,
                    labels: nonProduction,
                }),
            ]),
        );
        expect(await run([file])).toEqual({
            code: 0,
            stdout: "Policy pack msa-guardrails: 0 mandatory, 0 advisory violations\n",
            stderr: "",
        });
    });
});

describe("usage and unreadable files", () => {
    test.each([
        [[], "policy: give the plan file"],
        [["a.json", "b.json"], "policy: give one plan file"],
        [["--stack", "dev"], "policy: Unknown option '--stack'"],
    ])("%j: exit 2 with the usage", async (argv, first) => {
        const r = await run(argv);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe("");
        expect(r.stderr.split("\n").slice(0, 2)).toEqual([
            expect.stringContaining(first),
            "usage: npm run policy -- <plan.json>   (written by npm run plan -- --stack <name> --json)",
        ]);
    });

    test.each([
        ["missing", () => path.join(dir, "nope.json"), "cannot read {file}: no such file"],
        ["a directory", () => dir, "cannot read {file}: is a directory"],
        [
            "not JSON",
            () => write("text.json", "stack: dev\n"),
            "{file} is not JSON: Unexpected token 's', \"stack: dev \" is not valid JSON",
        ],
        [
            "JSON of another shape",
            () => write("list.json", [1, 2]),
            "{file} is not a saved plan (npm run plan -- --stack <name> --json): Invalid input: expected object, received array",
        ],
        [
            "a resource without protect",
            () =>
                write("noprotect.json", {
                    ...crafted([]),
                    resources: [{ type: "t", name: "n", parent: null, inputs: {}, dependsOn: [] }],
                }),
            "{file} is not a saved plan (npm run plan -- --stack <name> --json): resources.0.protect: Invalid input: expected boolean, received undefined (and 1 more)",
        ],
    ])("%s: exit 1 with one line", async (_what, file, message) => {
        const f = file();
        const r = await run([f]);
        expect(r).toEqual({
            code: 1,
            stdout: "",
            stderr: `policy: ${message.replace("{file}", f)}\n`,
        });
    });
});
