/**
 * Runs a pulumi job of `.gitlab-ci.yml` for real with gitlab-ci-local's shell executor, with a
 * recording fake `pulumi` first on PATH (and a fake `npm` for the jobs' `npm ci`; the real one is
 * run by testJob.test.ts). Shared by deployDrift.test.ts and rollback.test.ts.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { eventArgs, gitlabCiLocal, PipelineEvent, ROOT } from "./gitlabCiLocal";

/**
 * What the fake records per call: its arguments, the commit the job ran at (`CI_COMMIT_SHA`), and
 * the sha256 and the text of each stack file it would read (null: no such file).
 */
export interface PulumiCall {
    argv: string[];
    commit: string | null;
    inputs: Record<string, string | null>;
    texts: Record<string, string | null>;
}

/**
 * A stand-in for the Pulumi CLI: records the call, and refuses to change stack config. A
 * `pulumi preview` of a stack named in FAKE_PULUMI_FAIL_PREVIEW (space- or comma-separated) fails.
 */
export const FAKE_PULUMI = `#!/usr/bin/env node
const fs = require("fs");
const crypto = require("crypto");
const argv = process.argv.slice(2);
const at = argv.findIndex((a) => a === "--stack" || a === "-s");
const stack = at >= 0 ? argv[at + 1] : (argv.find((a) => a.startsWith("--stack=")) || "").slice(8);
const files = ["Pulumi.yaml", "Pulumi." + stack + ".yaml"];
const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f) : null);
const inputs = Object.fromEntries(
    files.map((f) => [f, read(f) && crypto.createHash("sha256").update(read(f)).digest("hex")]),
);
const texts = Object.fromEntries(files.map((f) => [f, read(f) && read(f).toString("utf8")]));
const commit = process.env.CI_COMMIT_SHA || null;
fs.appendFileSync(process.env.FAKE_PULUMI_LOG, JSON.stringify({ argv, commit, inputs, texts }) + "\\n");
const sub = argv.indexOf("config");
if (sub >= 0 && ["set", "set-all", "rm", "rm-all", "cp", "refresh"].includes(argv[sub + 1])) {
    console.error("fake pulumi: pulumi config " + argv[sub + 1] + " would change the stack's inputs");
    process.exit(3);
}
// The preview job's test makes the preview of the stacks named here fail.
const failing = (process.env.FAKE_PULUMI_FAIL_PREVIEW || "").split(/[ ,]+/).filter(Boolean);
if (argv[0] === "preview" && failing.includes(stack)) {
    console.log("Previewing update (" + stack + ")");
    console.error("error: fake pulumi: the preview of stack " + stack + " failed");
    process.exit(255);
}
console.log("fake pulumi " + argv.join(" "));
`;

export const FAKE_NPM = `#!/bin/sh
echo "fake npm $*"
`;

/** The arguments the deploy job passes to `pulumi up` for a stack. */
export function deployUpArgv(stack: string): string[] {
    return [
        ...["up", "--stack", stack, "--yes", "--diff", "--policy-pack", "policy"],
        ...["--non-interactive", "--color", "never"],
    ];
}

/** Writes the fake `pulumi` and `npm` into `bin`. */
export function installFakes(bin: string): void {
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "pulumi"), FAKE_PULUMI, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "npm"), FAKE_NPM, { mode: 0o755 });
}

export interface FakeRun {
    /** The scratch repository: gitlab-ci-local runs the job at its checked-out commit. */
    repo: string;
    /** Holds the fakes (see installFakes). */
    bin: string;
    /** The fake's log; a fresh name per run. */
    log: string;
    /** gitlab-ci-local's state dir, relative to `repo`; a fresh one per run. */
    stateDir: string;
}

/**
 * Runs one job with the shell executor, the fakes first on PATH; expects it to pass and returns
 * its pulumi calls.
 */
export function runJobWithFakes(job: string, event: PipelineEvent, run: FakeRun): PulumiCall[] {
    const result = gitlabCiLocal(
        [
            // Each job in its own copy of the commit, as each pipeline has its own checkout.
            "--force-shell-executor",
            "--shell-isolation",
            "--state-dir",
            run.stateDir,
            ...eventArgs(event),
            // The jobs stop early without a backend; the fake never reads it.
            "--variable",
            "PULUMI_BACKEND_URL=file:///nonexistent",
            job,
        ],
        run.repo,
        120000,
        {
            PATH: `${run.bin}${path.delimiter}${process.env.PATH ?? ""}`,
            FAKE_PULUMI_LOG: run.log,
        },
    );
    const output = result.stdout + result.stderr;
    // On failure the log's tail shows up in the diff.
    expect({
        job,
        status: result.status,
        result: new RegExp(`^\\s*(PASS|FAIL)\\s+${job}\\s*$`, "m").exec(output)?.[0].trim(),
        log: result.status === 0 ? undefined : output.slice(-3000),
    }).toEqual({ job, status: 0, result: `PASS  ${job}`, log: undefined });
    return readCalls(run.log);
}

export function readCalls(log: string): PulumiCall[] {
    if (!fs.existsSync(log)) {
        return [];
    }
    return fs
        .readFileSync(log, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as PulumiCall);
}

/** The project file and every stack file of the working tree. */
export function stackFiles(): string[] {
    return fs.readdirSync(ROOT).filter((f) => /^Pulumi(\.[\w-]+)?\.yaml$/.test(f));
}

export function sha256(data: Buffer | string): string {
    return createHash("sha256").update(data).digest("hex");
}

export function digest(file: string): string | null {
    return fs.existsSync(file) ? sha256(fs.readFileSync(file)) : null;
}
