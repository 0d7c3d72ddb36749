/**
 * Runs the real `.gitlab-ci.yml` through gitlab-ci-local (node_modules/.bin) in a scratch
 * directory, so that its state folder never lands in the working tree.
 */
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import { parse } from "yaml";

export const ROOT = path.resolve(__dirname, "../..");
export const CI_FILE = path.join(ROOT, ".gitlab-ci.yml");
export const GITLAB_CI_LOCAL = path.join(ROOT, "node_modules/.bin/gitlab-ci-local");

/** A pipeline trigger: predefined variables to set and to unset, as GitLab would. */
export interface PipelineEvent {
    set: Record<string, string>;
    unset?: string[];
}

export interface ListedJob {
    name: string;
    stage: string;
    when: string;
}

export interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** `env` is added to the (cleaned) environment that shell-executor jobs inherit. */
export function gitlabCiLocal(
    args: string[],
    cwd: string,
    timeoutMs = 60000,
    env: NodeJS.ProcessEnv = {},
): Run {
    const run = spawnSync(GITLAB_CI_LOCAL, [...args, "--no-color"], {
        cwd,
        encoding: "utf8",
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...cleanEnv(), ...env },
    });
    if (run.error !== undefined) {
        throw run.error;
    }
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * `gitlabCiLocal` without blocking this process: a job that talks to a server in this process (the
 * fake GitLab of fakeGitLab.ts) needs the event loop to keep running.
 */
export function gitlabCiLocalAsync(
    args: string[],
    cwd: string,
    timeoutMs = 60000,
    env: NodeJS.ProcessEnv = {},
): Promise<Run> {
    return new Promise((resolve, reject) => {
        const child = spawn(GITLAB_CI_LOCAL, [...args, "--no-color"], {
            cwd,
            env: { ...cleanEnv(), ...env },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
        child.on("error", (err) => {
            clearTimeout(timer);
            reject(err);
        });
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr });
        });
    });
}

/**
 * This process's environment without CI variables (should the suite itself run in GitLab CI) and
 * Jest's own markers: jobs run with the shell executor inherit it.
 */
function cleanEnv(): NodeJS.ProcessEnv {
    return Object.fromEntries(
        Object.entries(process.env).filter(
            ([k]) => !/^(CI|GITLAB_CI|CI_.*|GITLAB_.*|JEST_WORKER_ID|NODE_ENV)$/.test(k),
        ),
    );
}

/** Running a job (not listing) makes gitlab-ci-local copy the checkout with rsync. */
export function requireRsync(): void {
    if (spawnSync("rsync", ["--version"]).status !== 0) {
        throw new Error("gitlab-ci-local needs rsync to run a job: apt-get install -y rsync");
    }
}

/**
 * Makes `dir` a throwaway repository with everything in it committed: gitlab-ci-local reads the
 * commit and the tracked files from git.
 */
export function commitSnapshot(dir: string): void {
    const git = (...args: string[]) =>
        execFileSync(
            "git",
            ["-c", "user.name=ci", "-c", "user.email=ci@example.invalid", ...args],
            { cwd: dir, stdio: "pipe" },
        );
    git("init", "-q", "-b", "main");
    git("add", "-A");
    git("commit", "-q", "-m", "snapshot");
}

/** A scratch directory holding only `.gitlab-ci.yml` (no rule here looks at other files). */
export function scratchWithCiFile(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pipeline-list-"));
    fs.copyFileSync(CI_FILE, path.join(dir, ".gitlab-ci.yml"));
    return dir;
}

export function eventArgs(event: PipelineEvent): string[] {
    return [
        ...Object.entries(event.set).flatMap(([k, v]) => ["--variable", `${k}=${v}`]),
        ...(event.unset ?? []).flatMap((k) => ["--unset-variable", k]),
    ];
}

/** Every job gitlab-ci-local knows, with `when` evaluated from its rules for the event. */
export function listJobs(dir: string, event: PipelineEvent): ListedJob[] {
    const run = gitlabCiLocal(["--list-json", ...eventArgs(event)], dir);
    if (run.status !== 0) {
        throw new Error(`gitlab-ci-local --list-json exited ${run.status}: ${run.stderr}`);
    }
    // Warnings about overridden predefined variables precede the JSON on stdout.
    const start = run.stdout.search(/^\[/m);
    if (start < 0) {
        throw new Error(`gitlab-ci-local --list-json printed no JSON: ${run.stdout}`);
    }
    return JSON.parse(run.stdout.slice(start)) as ListedJob[];
}

/**
 * gitlab-ci-local 4.60 does not apply `workflow:rules`; this evaluates them with its own rule
 * evaluator (the one it applies to job rules), so both use the same expression semantics.
 * Returns the workflow's `when`: "never" means GitLab creates no pipeline.
 */
export function workflowWhen(event: PipelineEvent): string {
    const doc = parse(fs.readFileSync(CI_FILE, "utf8")) as { workflow?: { rules?: unknown[] } };
    const rules = doc.workflow?.rules ?? [];
    const variables = { ...event.set };
    for (const k of event.unset ?? []) {
        delete variables[k];
    }
    const utils = pathToFileURL(path.join(ROOT, "node_modules/gitlab-ci-local/src/utils.js")).href;
    const script = `
        const { Utils } = await import(${JSON.stringify(utils)});
        const { rules, variables } = JSON.parse(process.argv[1]);
        const opt = { argv: { evaluateRuleChanges: false }, rules, variables, cwd: process.cwd() };
        const gitData = { branches: { default: variables.CI_DEFAULT_BRANCH } };
        process.stdout.write(Utils.getRulesResult(opt, gitData, "always").when);
    `;
    const run = spawnSync(
        process.execPath,
        ["--input-type=module", "-e", script, JSON.stringify({ rules, variables })],
        { encoding: "utf8" },
    );
    if (run.status !== 0) {
        throw new Error(`workflow evaluation failed: ${run.stderr}`);
    }
    return run.stdout;
}

/** The job names of the pipeline GitLab would create for the event (empty: no pipeline). */
export function pipelineJobs(dir: string, event: PipelineEvent): string[] {
    if (workflowWhen(event) === "never") {
        return [];
    }
    return listJobs(dir, event)
        .filter((j) => j.when !== "never")
        .map((j) => j.name)
        .sort();
}

/** `.gitlab-ci.yml` with `extends`, anchors and defaults expanded, as gitlab-ci-local sees it. */
export function expandedPipeline(dir: string): Record<string, Record<string, unknown>> {
    const run = gitlabCiLocal(["--preview"], dir);
    if (run.status !== 0) {
        throw new Error(`gitlab-ci-local --preview exited ${run.status}: ${run.stderr}`);
    }
    return parse(run.stdout) as Record<string, Record<string, unknown>>;
}
