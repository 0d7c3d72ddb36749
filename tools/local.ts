/**
 * `npm run local [-- --destroy] [-- --yes]`: brings the local stack (`Pulumi.local.yaml`) up on
 * this machine's Docker engine with `pulumi up`, the way a newcomer starts:
 *
 * 1. state in a project-local file backend (`.pulumi-local/`, git-ignored), never a shared one;
 * 2. the stack `local` created if it does not exist;
 * 3. a random database password set once, as a secret (`msa:dbPassword`), if the stack has none;
 * 4. `pulumi up` (or `pulumi destroy` with `--destroy`).
 *
 * Without a `pulumi` CLI it says what to install and exits 2; so it does without a reachable Docker
 * engine. The local backend's secrets are encrypted with `PULUMI_CONFIG_PASSPHRASE`, `local` unless
 * set: this stack holds nothing but a throwaway password.
 */
import { spawnSync, type SpawnSyncOptions } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../config/stackFiles";
import { findPulumi } from "../lib/pulumiCli";
import { CliIo, CommandError, exitWith, runCli } from "./cli";

export const STACK = "local";
const USAGE = "usage: npm run local [-- --destroy] [-- --yes]";

export const INSTALL_PULUMI = [
    "npm run local needs the Pulumi CLI, and it is not on the PATH. Install it:",
    "  curl -fsSL https://get.pulumi.com | sh      (then open a new shell)",
    "  or see https://www.pulumi.com/docs/iac/download-install/",
    "then run npm run local again.",
].join("\n");

export const START_DOCKER =
    "npm run local needs a running Docker engine (`docker version` could not reach one): start Docker, then run npm run local again.";

export interface LocalDeps {
    /** Runs a command; returns its exit code and stdout. */
    run(
        cmd: string,
        args: string[],
        opts: SpawnSyncOptions,
    ): { status: number | null; stdout: string };
    pulumi(): string | undefined;
    root(): string;
}

const realDeps: LocalDeps = {
    run: (cmd, args, opts) => {
        const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
        return { status: r.status, stdout: String(r.stdout ?? "") };
    },
    pulumi: () => findPulumi(),
    root: () => projectRoot(),
};

export function main(argv: string[], io?: CliIo, deps: LocalDeps = realDeps): Promise<number> {
    return runCli(
        {
            name: "local",
            usage: USAGE,
            options: { destroy: { type: "boolean" }, yes: { type: "boolean" } },
        },
        argv,
        (args, out) => {
            const pulumi = deps.pulumi();
            if (pulumi === undefined) {
                out.stderr(`${INSTALL_PULUMI}\n`);
                return 2;
            }
            if (deps.run("docker", ["version"], { stdio: "ignore" }).status !== 0) {
                out.stderr(`${START_DOCKER}\n`);
                return 2;
            }
            const root = deps.root();
            const backend = path.join(root, ".pulumi-local");
            fs.mkdirSync(backend, { recursive: true });
            const env = {
                ...process.env,
                PULUMI_BACKEND_URL: `file://${backend}`,
                PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "local",
                PULUMI_SKIP_UPDATE_CHECK: "true",
            };
            const step = (what: string, cmdArgs: string[], opts: SpawnSyncOptions = {}) => {
                const r = deps.run(pulumi, cmdArgs, { cwd: root, env, stdio: "inherit", ...opts });
                if (r.status !== 0) {
                    throw new CommandError(
                        `${what} failed (pulumi ${cmdArgs[0]} exited ${r.status})`,
                    );
                }
                return r;
            };
            step("selecting the local stack", ["stack", "select", STACK, "--create"]);
            const hasPassword =
                deps.run(pulumi, ["config", "get", "msa:dbPassword", "--stack", STACK], {
                    cwd: root,
                    env,
                    stdio: ["ignore", "ignore", "ignore"],
                }).status === 0;
            if (!hasPassword) {
                step(
                    "setting a database password",
                    ["config", "set", "--secret", "--stack", STACK, "msa:dbPassword"],
                    {
                        input: crypto.randomBytes(18).toString("base64url"),
                        stdio: ["pipe", "inherit", "inherit"],
                    },
                );
            }
            const action = args.values.destroy === true ? "destroy" : "up";
            step(`pulumi ${action}`, [
                action,
                "--stack",
                STACK,
                ...(args.values.yes ? ["--yes"] : []),
            ]);
            return 0;
        },
        io,
    );
}

if (require.main === module) {
    exitWith(main(process.argv.slice(2)));
}
