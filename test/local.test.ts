/**
 * `npm run local`: without a pulumi CLI it says what to install and exits 2; with one, it logs in
 * to the project-local backend, creates the stack, sets a database password once (on stdin,
 * never on the command line) and runs `pulumi up`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { SpawnSyncOptions } from "child_process";
import { INSTALL_PULUMI, LocalDeps, main, START_DOCKER } from "../tools/local";

interface Call {
    cmd: string;
    args: string[];
    opts: SpawnSyncOptions;
}

function fake(over: { pulumi?: string | undefined; docker?: number; hasPassword?: boolean }) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "msa-local-"));
    const calls: Call[] = [];
    const deps: LocalDeps = {
        pulumi: () => ("pulumi" in over ? over.pulumi : "/usr/bin/pulumi"),
        root: () => root,
        run: (cmd, args, opts) => {
            calls.push({ cmd, args, opts });
            if (cmd === "docker") return { status: over.docker ?? 0, stdout: "" };
            if (args[0] === "config" && args[1] === "get") {
                return { status: over.hasPassword ? 0 : 1, stdout: "" };
            }
            return { status: 0, stdout: "" };
        },
    };
    const out = { stdout: "", stderr: "" };
    const io = {
        stdout: (t: string) => (out.stdout += t),
        stderr: (t: string) => (out.stderr += t),
    };
    return { deps, calls, out, io, root };
}

describe("npm run local", () => {
    test("without a pulumi CLI: what to install, exit 2, nothing run", async () => {
        const f = fake({ pulumi: undefined });
        expect(await main([], f.io, f.deps)).toBe(2);
        expect(f.out.stderr).toBe(`${INSTALL_PULUMI}\n`);
        expect(f.calls).toEqual([]);
    });

    test("without a Docker engine: exit 2 with what to start", async () => {
        const f = fake({ docker: 1 });
        expect(await main([], f.io, f.deps)).toBe(2);
        expect(f.out.stderr).toBe(`${START_DOCKER}\n`);
    });

    test("first run: local backend, stack created, password set on stdin, pulumi up", async () => {
        const f = fake({ hasPassword: false });
        expect(await main(["--yes"], f.io, f.deps)).toBe(0);
        const pulumi = f.calls.filter((c) => c.cmd === "/usr/bin/pulumi");
        expect(pulumi.map((c) => c.args)).toEqual([
            ["stack", "select", "local", "--create"],
            ["config", "get", "msa:dbPassword", "--stack", "local"],
            ["config", "set", "--secret", "--stack", "local", "msa:dbPassword"],
            ["up", "--stack", "local", "--yes"],
        ]);
        for (const c of pulumi) {
            expect(c.opts.cwd).toBe(f.root);
            expect(c.opts.env?.PULUMI_BACKEND_URL).toBe(
                `file://${path.join(f.root, ".pulumi-local")}`,
            );
        }
        const set = pulumi[2] as Call;
        expect(String(set.opts.input)).toMatch(/^[A-Za-z0-9_-]{24}$/);
        expect(set.args.join(" ")).not.toContain(String(set.opts.input));
        expect(fs.existsSync(path.join(f.root, ".pulumi-local"))).toBe(true);
    });

    test("later runs keep the password; --destroy tears the stack down", async () => {
        const f = fake({ hasPassword: true });
        expect(await main(["--destroy"], f.io, f.deps)).toBe(0);
        expect(f.calls.filter((c) => c.cmd !== "docker").map((c) => c.args[0])).toEqual([
            "stack",
            "config",
            "destroy",
        ]);
    });

    test("an unknown option is a usage error", async () => {
        const f = fake({});
        expect(await main(["--stack", "prod"], f.io, f.deps)).toBe(2);
        expect(f.out.stderr).toContain("usage: npm run local");
    });
});
