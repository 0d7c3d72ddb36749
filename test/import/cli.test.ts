/**
 * `npm run import` as a child process: what it writes and prints, that the password is in neither,
 * and how secrets reach `pulumi config set --secret` (a recording stand-in for the CLI).
 */
import * as fs from "fs";
import * as path from "path";
import { main } from "../../tools/import";
import { LEGACY, LEGACY_PASSWORD, readConfig, Run, runImport, tempDir } from "./helpers";

const COMPOSE = path.join(LEGACY, "docker-compose.yml");

describe("without a pulumi CLI on PATH", () => {
    const dir = tempDir();
    const bin = tempDir();
    const file = path.join(dir, "Pulumi.legacy.yaml");
    let run: Run;
    beforeAll(() => {
        run = runImport(["--compose", COMPOSE, "--stack", "legacy", "--dir", dir], bin);
    });

    test("writes the stack file and exits 0", () => {
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
        expect(readConfig(file)["msa:database"]).toMatchObject({
            mode: "container",
            name: "sf1_db",
        });
        expect(run.stdout.split("\n").slice(0, 3)).toEqual([
            "Imported docker-compose.yml, .env, .env.db.postgres as stack legacy: database service database → msa:database.mode container; services SERVICE_B, SERVICE_D.",
            "Compose files read with the import's own reader, by docker-compose 1.29's rules (docker-compose itself is not run).",
            "Wrote Pulumi.legacy.yaml.",
        ]);
    });

    test("prints the exact commands for every secret, values read from stdin", () => {
        const tail = run.stdout.slice(run.stdout.indexOf("Secrets ("));
        expect(tail).toBe(
            [
                "Secrets (never written to Pulumi.legacy.yaml, never printed):",
                "  No pulumi CLI on PATH: run these next to Pulumi.legacy.yaml; each asks for the value and does not echo it:",
                "    pulumi config set --secret --stack legacy msa:dbPassword                                      # DB_PASSWORD, .env.db.postgres:5",
                "    pulumi config set --secret --stack legacy --path 'msa:secretEnv.SERVICE_B.POSTGRES_PASSWORD'  # POSTGRES_PASSWORD = ${DB_PASSWORD}, .env.db.postgres:9",
                "    pulumi config set --secret --stack legacy --path 'msa:secretEnv.SERVICE_D.POSTGRES_PASSWORD'  # POSTGRES_PASSWORD = ${DB_PASSWORD}, .env.db.postgres:9",
                "    pulumi config set --secret --stack legacy msa:registryPassword                                # registry password or GitLab deploy token; not in the compose files",
                "",
            ].join("\n"),
        );
    });

    test("the password appears nowhere in the stack file or the output", () => {
        const text = fs.readFileSync(file, "utf8");
        expect(text).not.toContain(LEGACY_PASSWORD);
        expect(text).not.toMatch(/password/i);
        expect(run.stdout).not.toContain(LEGACY_PASSWORD);
        expect(run.stderr).not.toContain(LEGACY_PASSWORD);
    });
});

describe("--dry-run", () => {
    const dir = tempDir();
    let run: Run;
    beforeAll(() => {
        run = runImport(
            ["--compose", COMPOSE, "--stack", "legacy", "--dir", dir, "--dry-run"],
            tempDir(),
        );
    });

    test("prints the stack file on stdout, the report on stderr, writes nothing", () => {
        expect(run.status).toBe(0);
        expect(fs.readdirSync(dir)).toEqual([]);
        expect(
            run.stdout.startsWith("# Imported from docker-compose.yml, .env, .env.db.postgres"),
        ).toBe(true);
        expect(run.stdout).toContain(
            "  msa:database:\n    mode: container\n    alias: db_instance\n",
        );
        expect(run.stderr.split("\n")[2]).toBe(
            "Dry run: would write Pulumi.legacy.yaml; nothing written, no secret set; the stack file is on stdout.",
        );
        expect(run.stdout + run.stderr).not.toContain(LEGACY_PASSWORD);
    });
});

describe("with a pulumi CLI on PATH", () => {
    const dir = tempDir();
    const bin = tempDir();
    const log = path.join(dir, "calls.log");
    // Records each call: its arguments, its working folder and what it read on stdin.
    fs.writeFileSync(
        path.join(bin, "pulumi"),
        `#!/bin/sh\nprintf '%s|%s|%s\\n' "$*" "$PWD" "$(cat)" >> ${log}\n`,
        { mode: 0o755 },
    );
    // The stand-in needs sh and cat.
    fs.symlinkSync("/bin/sh", path.join(bin, "sh"));
    fs.symlinkSync("/bin/cat", path.join(bin, "cat"));
    let run: Run;
    beforeAll(() => {
        run = runImport(["--compose", COMPOSE, "--stack", "legacy", "--dir", dir], bin);
    });

    test("sets each secret with pulumi config set --secret, the value on stdin only", () => {
        expect(run.status).toBe(0);
        expect(fs.readFileSync(log, "utf8").trim().split("\n")).toEqual([
            `config set --secret --stack legacy msa:dbPassword|${dir}|${LEGACY_PASSWORD}`,
            `config set --secret --stack legacy --path msa:secretEnv.SERVICE_B.POSTGRES_PASSWORD|${dir}|${LEGACY_PASSWORD}`,
            `config set --secret --stack legacy --path msa:secretEnv.SERVICE_D.POSTGRES_PASSWORD|${dir}|${LEGACY_PASSWORD}`,
        ]);
    });

    test("reports what it set, asks for the one secret it does not have, prints no value", () => {
        const tail = run.stdout.slice(run.stdout.indexOf("Secrets ("));
        expect(tail).toBe(
            [
                "Secrets (never written to Pulumi.legacy.yaml, never printed):",
                "  set msa:dbPassword with pulumi config set --secret (from DB_PASSWORD, .env.db.postgres:5)",
                "  set msa:secretEnv.SERVICE_B.POSTGRES_PASSWORD with pulumi config set --secret (from POSTGRES_PASSWORD = ${DB_PASSWORD}, .env.db.postgres:9)",
                "  set msa:secretEnv.SERVICE_D.POSTGRES_PASSWORD with pulumi config set --secret (from POSTGRES_PASSWORD = ${DB_PASSWORD}, .env.db.postgres:9)",
                "  Run these next to Pulumi.legacy.yaml; each asks for the value and does not echo it:",
                "    pulumi config set --secret --stack legacy msa:registryPassword  # registry password or GitLab deploy token; not in the compose files",
                "",
            ].join("\n"),
        );
        expect(run.stdout + run.stderr).not.toContain(LEGACY_PASSWORD);
        expect(fs.readFileSync(path.join(dir, "Pulumi.legacy.yaml"), "utf8")).not.toContain(
            LEGACY_PASSWORD,
        );
    });
});

const USAGE =
    "usage: npm run import -- --compose <file> [--env <file>] --stack <name> [--db-service <name>] [--dir <folder>] [--dry-run]";

/** `main` in this process, its output captured: for what ends before anything is read. */
async function runMain(argv: string[]): Promise<Run> {
    const out = { stdout: "", stderr: "" };
    const status = await main(argv, {
        stdout: (t) => (out.stdout += t),
        stderr: (t) => (out.stderr += t),
    });
    return { status, ...out };
}

describe("usage errors: exit 2, the error and the usage text on stderr", () => {
    // Nothing is read before the command line is checked: the file need not exist.
    const c = "compose.yml";
    test.each([
        [["--compose", c], "--stack is required"],
        [[], "--compose and --stack are required"],
        [
            ["--compose", c, "--stack", "a", "--stack", "b"],
            "option --stack is given more than once",
        ],
        [
            ["--compose", c, "--stack", "a", "--dry-run", "--dry-run"],
            "option --dry-run is given more than once",
        ],
        [["--compose", c, "--stack", "a", "--force"], "Unknown option '--force'"],
        [["--compose", c, "--stack", "a", "extra.yml"], "Unexpected argument 'extra.yml'"],
        [["--compose", c, "--stack"], "Option '--stack <value>' argument missing"],
    ])("%j", async (argv, message) => {
        const run = await runMain(argv);
        expect(run).toEqual({ status: 2, stdout: "", stderr: expect.any(String) as string });
        const [first, second] = run.stderr.split("\n");
        expect(first).toContain(message);
        expect(first?.startsWith("import: ")).toBe(true);
        expect(second).toBe(USAGE);
    });

    test("--help prints the usage on stdout, exit 0", async () => {
        expect(await runMain(["--help"])).toEqual({ status: 0, stdout: `${USAGE}\n`, stderr: "" });
    });

    test("through npm run import's own process: exit 2", () => {
        const run = runImport(["--compose", COMPOSE], tempDir());
        expect(run.status).toBe(2);
        expect(run.stderr).toBe(`import: --stack is required\n${USAGE}\n`);
    });
});

describe("a secret pulumi config set refuses", () => {
    const dir = tempDir();
    const bin = tempDir();
    // A stand-in CLI that fails as Pulumi does without a stack selected, after reading stdin.
    fs.writeFileSync(
        path.join(bin, "pulumi"),
        `#!/bin/sh\ncat >/dev/null\necho "error: no stack named 'legacy' found" >&2\nexit 255\n`,
        { mode: 0o755 },
    );
    fs.symlinkSync("/bin/sh", path.join(bin, "sh"));
    fs.symlinkSync("/bin/cat", path.join(bin, "cat"));
    let run: Run;
    beforeAll(() => {
        run = runImport(["--compose", COMPOSE, "--stack", "legacy", "--dir", dir], bin);
    });

    test("exits 1 and says which; the stack file is written, the commands printed", () => {
        expect(run.status).toBe(1);
        expect(fs.existsSync(path.join(dir, "Pulumi.legacy.yaml"))).toBe(true);
        const tail = run.stdout.slice(run.stdout.indexOf("Secrets ("));
        expect(tail.split("\n").slice(0, 3)).toEqual([
            "Secrets (never written to Pulumi.legacy.yaml, never printed):",
            "  FAILED to set msa:dbPassword: error: no stack named 'legacy' found",
            "  FAILED to set msa:secretEnv.SERVICE_B.POSTGRES_PASSWORD: error: no stack named 'legacy' found",
        ]);
        expect(tail).toContain("    pulumi config set --secret --stack legacy msa:dbPassword  ");
        expect(run.stdout + run.stderr).not.toContain(LEGACY_PASSWORD);
    });
});

describe("bad input through the CLI", () => {
    test("bad input exits 1 with the message and writes nothing", () => {
        const dir = tempDir();
        const missing = path.join(dir, "nope.yml");
        const run = runImport(["--compose", missing, "--stack", "legacy", "--dir", dir], tempDir());
        expect(run.status).toBe(1);
        expect(run.stderr).toBe(`import: cannot read compose file ${missing}: no such file\n`);
        expect(run.stdout).toBe("");
        expect(fs.readdirSync(dir)).toEqual([]);
    });
});
