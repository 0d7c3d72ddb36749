/**
 * No false drift: a stack's deploy job and its scheduled drift job, run for real by gitlab-ci-local
 * with the shell executor, call `pulumi` on the same stack with the same committed stack files
 * and never change stack config, so the drift check previews exactly the inputs the deploy
 * applied. A fake `pulumi` first on PATH records each call and fails on any config change; a
 * fake `npm` stands in for the jobs' `npm ci` (the real one is run by testJob.test.ts).
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    commitSnapshot,
    gitlabCiLocal,
    PipelineEvent,
    pipelineJobs,
    requireRsync,
    ROOT,
} from "./gitlabCiLocal";

/** What the fake records per call: its arguments and a digest of each stack file it would read. */
interface PulumiCall {
    argv: string[];
    inputs: Record<string, string | null>;
}

const FAKE_PULUMI = `#!/usr/bin/env node
// A stand-in for the Pulumi CLI: records the call, and refuses to change stack config.
const fs = require("fs");
const crypto = require("crypto");
const argv = process.argv.slice(2);
const at = argv.findIndex((a) => a === "--stack" || a === "-s");
const stack = at >= 0 ? argv[at + 1] : (argv.find((a) => a.startsWith("--stack=")) || "").slice(8);
const digest = (f) =>
    fs.existsSync(f) ? crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex") : null;
const inputs = Object.fromEntries(
    ["Pulumi.yaml", "Pulumi." + stack + ".yaml"].map((f) => [f, digest(f)]),
);
fs.appendFileSync(process.env.FAKE_PULUMI_LOG, JSON.stringify({ argv, inputs }) + "\\n");
const sub = argv.indexOf("config");
if (sub >= 0 && ["set", "set-all", "rm", "rm-all", "cp", "refresh"].includes(argv[sub + 1])) {
    console.error("fake pulumi: pulumi config " + argv[sub + 1] + " would change the stack's inputs");
    process.exit(3);
}
console.log("fake pulumi " + argv.join(" "));
`;

const FAKE_NPM = `#!/bin/sh
echo "fake npm $*"
`;

const DEFAULT = { CI_DEFAULT_BRANCH: "main" };
const STACKS: [string, string, string, PipelineEvent, PipelineEvent][] = [
    [
        "dev",
        "deploy-dev",
        "drift-dev",
        { set: { ...DEFAULT, CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main" } },
        { set: { ...DEFAULT, CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main" } },
    ],
    [
        "prod",
        "deploy-prod",
        "drift-prod",
        { set: { ...DEFAULT, CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "release" } },
        { set: { ...DEFAULT, CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "release" } },
    ],
];

let scratch: string;
let repo: string;
let bin: string;

beforeAll(() => {
    requireRsync();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pipeline-drift-"));
    repo = path.join(scratch, "repo");
    bin = path.join(scratch, "bin");
    fs.mkdirSync(repo);
    fs.mkdirSync(bin);
    for (const file of [".gitlab-ci.yml", ...stackFiles()]) {
        fs.copyFileSync(path.join(ROOT, file), path.join(repo, file));
    }
    commitSnapshot(repo);
    fs.writeFileSync(path.join(bin, "pulumi"), FAKE_PULUMI, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "npm"), FAKE_NPM, { mode: 0o755 });
});

afterAll(() => {
    if (scratch !== undefined) {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
});

it("the fake pulumi fails on a config change, so a job that made one would fail", () => {
    const log = path.join(scratch, "self-test.log");
    const run = spawnSync(
        path.join(bin, "pulumi"),
        ["config", "set", "--stack", "dev", "msa:dbImageTag", "abc123"],
        { cwd: repo, encoding: "utf8", env: { ...process.env, FAKE_PULUMI_LOG: log } },
    );
    expect([run.status, run.stderr]).toEqual([
        3,
        "fake pulumi: pulumi config set would change the stack's inputs\n",
    ]);
    expect(readCalls(log).map((c) => c.argv)).toEqual([
        ["config", "set", "--stack", "dev", "msa:dbImageTag", "abc123"],
    ]);
});

describe.each(STACKS)("stack %s", (stack, deployJob, driftJob, push, schedule) => {
    it(`${deployJob} and ${driftJob} run pulumi on stack ${stack} with the same inputs, and no config change`, () => {
        // gitlab-ci-local runs a named job whatever its rules: check that the event picks it.
        expect(pipelineJobs(repo, push)).toContain(deployJob);
        expect(pipelineJobs(repo, schedule)).toContain(driftJob);

        const committed = Object.fromEntries(
            ["Pulumi.yaml", `Pulumi.${stack}.yaml`].map((f) => [f, digest(path.join(repo, f))]),
        );
        expect(committed[`Pulumi.${stack}.yaml`]).not.toBeNull();
        const deploy = runJob(deployJob, push);
        const drift = runJob(driftJob, schedule);

        expect(deploy.calls.map((c) => c.argv)).toEqual([
            [
                ...["up", "--stack", stack, "--yes", "--diff", "--policy-pack", "policy"],
                ...["--non-interactive", "--color", "never"],
            ],
            ["stack", "output", "--stack", stack],
        ]);
        expect(drift.calls.map((c) => c.argv)).toEqual([
            [
                ...["preview", "--stack", stack, "--refresh", "--expect-no-changes", "--diff"],
                ...["--non-interactive", "--color", "never"],
            ],
        ]);
        // The stack files each pulumi call would read are the committed ones, untouched.
        for (const call of [...deploy.calls, ...drift.calls]) {
            expect([call.argv[0], call.inputs]).toEqual([call.argv[0], committed]);
        }
    });
});

/** Runs one job with the shell executor, the fakes first on PATH; returns its pulumi calls. */
function runJob(job: string, event: PipelineEvent): { calls: PulumiCall[] } {
    const log = path.join(scratch, `${job}.log`);
    const run = gitlabCiLocal(
        [
            // Each job in its own copy of the commit, as each pipeline has its own checkout.
            "--force-shell-executor",
            "--shell-isolation",
            "--state-dir",
            `../state-${job}`,
            ...Object.entries(event.set).flatMap(([k, v]) => ["--variable", `${k}=${v}`]),
            // The jobs stop early without a backend; the fake never reads it.
            "--variable",
            "PULUMI_BACKEND_URL=file:///nonexistent",
            job,
        ],
        repo,
        120000,
        { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`, FAKE_PULUMI_LOG: log },
    );
    const output = run.stdout + run.stderr;
    // On failure the log's tail shows up in the diff.
    expect({
        job,
        status: run.status,
        result: new RegExp(`^\\s*(PASS|FAIL)\\s+${job}\\s*$`, "m").exec(output)?.[0].trim(),
        log: run.status === 0 ? undefined : output.slice(-3000),
    }).toEqual({ job, status: 0, result: `PASS  ${job}`, log: undefined });
    return { calls: readCalls(log) };
}

function readCalls(log: string): PulumiCall[] {
    if (!fs.existsSync(log)) {
        return [];
    }
    return fs
        .readFileSync(log, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as PulumiCall);
}

/** The project file and every stack file, as committed. */
function stackFiles(): string[] {
    return fs.readdirSync(ROOT).filter((f) => /^Pulumi(\.[\w-]+)?\.yaml$/.test(f));
}

function digest(file: string): string | null {
    return fs.existsSync(file)
        ? createHash("sha256").update(fs.readFileSync(file)).digest("hex")
        : null;
}
