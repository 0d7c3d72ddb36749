/**
 * No false drift: a stack's deploy job and its scheduled drift job, run for real by gitlab-ci-local
 * with the shell executor, call `pulumi` on the same stack with the same committed stack files
 * and never change stack config, so the drift check previews exactly the inputs the deploy
 * applied. A fake `pulumi` first on PATH records each call and fails on any config change; a
 * fake `npm` stands in for the jobs' `npm ci` (the real one is run by testJob.test.ts).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    deployUpArgv,
    digest,
    installFakes,
    PulumiCall,
    readCalls,
    runJobWithFakes,
    stackFiles,
} from "./fakePulumi";
import { commitSnapshot, PipelineEvent, pipelineJobs, requireRsync, ROOT } from "./gitlabCiLocal";

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
    for (const file of [".gitlab-ci.yml", ...stackFiles()]) {
        fs.copyFileSync(path.join(ROOT, file), path.join(repo, file));
    }
    commitSnapshot(repo);
    installFakes(bin);
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
            deployUpArgv(stack),
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

/** Runs one job in its own copy of the commit, the fakes first on PATH; returns its pulumi calls. */
function runJob(job: string, event: PipelineEvent): { calls: PulumiCall[] } {
    const run = { repo, bin, log: path.join(scratch, `${job}.log`), stateDir: `../state-${job}` };
    return { calls: runJobWithFakes(job, event, run) };
}
