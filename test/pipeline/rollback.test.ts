/**
 * Rollback is deploying the previous release. A release is a pure function of its commit (the
 * service tags are in the committed stack file, CI writes no config), so GitLab's environment
 * rollback, which re-runs an older pipeline's deploy job on that pipeline's own commit, applies
 * exactly that commit's stack file. In a scratch repository, commit A deploys tags v1 and commit B
 * tags v2; gitlab-ci-local runs deploy-dev at B, then at A with the branch head still at B, as
 * GitLab re-runs A's job. A recording fake `pulumi` (test/pipeline/fakePulumi.ts) shows what each
 * run applied.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { parse, parseDocument } from "yaml";
import {
    deployUpArgv,
    installFakes,
    PulumiCall,
    runJobWithFakes,
    sha256,
    stackFiles,
} from "./fakePulumi";
import {
    commitSnapshot,
    expandedPipeline,
    PipelineEvent,
    pipelineJobs,
    requireRsync,
    ROOT,
} from "./gitlabCiLocal";

const STACK = "dev";
const JOB = "deploy-dev";
const STACK_FILE = `Pulumi.${STACK}.yaml`;
/** The push to the default branch that created each pipeline (a re-run keeps its variables). */
const PUSH: PipelineEvent = {
    set: { CI_DEFAULT_BRANCH: "main", CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main" },
};

interface Job {
    script?: string[];
    before_script?: string[];
    variables?: Record<string, string>;
    environment?: { name: string; url?: string };
    resource_group?: string;
}

let scratch: string;
let repo: string;
let bin: string;
let commitA: string;
let commitB: string;

beforeAll(() => {
    requireRsync();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pipeline-rollback-"));
    repo = path.join(scratch, "repo");
    bin = path.join(scratch, "bin");
    fs.mkdirSync(repo);
    for (const file of [".gitlab-ci.yml", "package.json", "package-lock.json", ...stackFiles()]) {
        fs.copyFileSync(path.join(ROOT, file), path.join(repo, file));
    }
    const original = fs.readFileSync(path.join(ROOT, STACK_FILE), "utf8");
    fs.writeFileSync(path.join(repo, STACK_FILE), withServiceTags(original, "v1"));
    commitSnapshot(repo);
    commitA = git("rev-parse", "HEAD");
    fs.writeFileSync(path.join(repo, STACK_FILE), withServiceTags(original, "v2"));
    git("commit", "-q", "-a", "-m", "services v2");
    commitB = git("rev-parse", "HEAD");
    installFakes(bin);
});

afterAll(() => {
    if (scratch !== undefined) {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
});

it("commit A deploys tags v1 and commit B tags v2, and nothing else differs", () => {
    expect(serviceTags(committed(commitA).toString("utf8"))).toEqual(allTags("v1"));
    expect(serviceTags(committed(commitB).toString("utf8"))).toEqual(allTags("v2"));
    expect(git("diff", "--name-only", commitA, commitB)).toBe(STACK_FILE);
});

it("deploy-dev is the job GitLab's rollback re-runs: environment dev, resource group pulumi-dev", () => {
    const pipeline = expandedPipeline(repo) as Record<string, Job | undefined>;
    const deploy = pipeline[JOB] ?? {};
    // Environments → dev lists the deployments of this job; Rollback re-runs one of them.
    expect(deploy.environment).toMatchObject({ name: STACK });
    // A rollback and a newer pipeline's deploy (or the drift check) never run at once.
    expect(deploy.resource_group).toBe(`pulumi-${STACK}`);
    expect(pipeline[`drift-${STACK}`]?.resource_group).toBe(deploy.resource_group);
    // Its only own input is the stack's name; it reads no commit, ref or pipeline variable, runs no
    // git, and passes no config to pulumi.
    expect(deploy.variables).toEqual({ STACK });
    const lines = [...(deploy.before_script ?? []), ...(deploy.script ?? [])];
    expect(lines).toContain(`pulumi ${deployUpArgv(STACK).join(" ").replace(STACK, '"$STACK"')}`);
    const derived = /\$\{?CI_[A-Z_]+|\bgit\s|\bpulumi\b.*(\sconfig\b|--config\b|\s-c\s)/;
    expect(lines.filter((l) => derived.test(l))).toEqual([]);
});

it("re-running commit A's deploy-dev after B's applies A's stack file exactly, as B's run applied B's", () => {
    // Both pushes to the default branch created a pipeline with deploy-dev.
    expect(pipelineJobs(repo, PUSH)).toContain(JOB);

    const atB = runAt(commitB, "B");
    // GitLab runs the old job on its own commit while the branch has moved on: A checked out,
    // main still at B.
    git("checkout", "-q", "--detach", commitA);
    expect([git("rev-parse", "HEAD"), git("rev-parse", "main")]).toEqual([commitA, commitB]);
    const atA = runAt(commitA, "A");

    // The same pulumi commands: nothing in the job depends on which commit is the newest.
    const argv = [deployUpArgv(STACK), ["stack", "output", "--stack", STACK]];
    expect(atB.map((c) => c.argv)).toEqual(argv);
    expect(atA.map((c) => c.argv)).toEqual(argv);

    for (const [calls, commit, tag] of [
        [atB, commitB, "v2"],
        [atA, commitA, "v1"],
    ] as const) {
        const stackFile = committed(commit);
        const project = committed(commit, "Pulumi.yaml");
        for (const call of calls) {
            // Each call ran at its own commit and read that commit's stack file, byte for byte.
            expect({ argv: call.argv, commit: call.commit, inputs: call.inputs }).toEqual({
                argv: call.argv,
                commit,
                inputs: { "Pulumi.yaml": sha256(project), [STACK_FILE]: sha256(stackFile) },
            });
            expect(call.texts[STACK_FILE]).toBe(stackFile.toString("utf8"));
            expect(serviceTags(call.texts[STACK_FILE] ?? "")).toEqual(allTags(tag));
        }
    }
});

it("the program reads its inputs from the checkout only: no environment, git, clock or randomness", () => {
    const modules = programModules();
    expect(modules).toEqual(expect.arrayContaining(["index.ts", "config/pulumiConfig.ts"]));
    const found: string[] = [];
    for (const file of modules) {
        const source = fs.readFileSync(path.join(ROOT, file), "utf8");
        const code = ts
            .createPrinter({ removeComments: true })
            .printFile(ts.createSourceFile(file, source, ts.ScriptTarget.Latest));
        for (const pattern of [
            /process\.env/g,
            /process\.argv/g,
            /child_process/g,
            /\b(?:CI|GITLAB)_[A-Z_]+/g,
            /\.git\b/g,
            /Date\.now|new Date\(/g,
            /Math\.random|randomUUID|randomBytes/g,
        ]) {
            found.push(...[...code.matchAll(pattern)].map((m) => `${file}: ${m[0]}`));
        }
    }
    // Such a value would make a re-run of an old commit's job deploy something new. The one read
    // allowed is the SDK's own debug switch, which decides only whether the SDK's promise traces
    // are kept for its leak report (lib/stackTraces.ts), never what is declared.
    const debugSwitch = "lib/stackTraces.ts: process.env";
    const debugReads = (file: string) =>
        [...fs.readFileSync(path.join(ROOT, file), "utf8").matchAll(/process\.env(\.\w+)?/g)].map(
            (m) => m[0],
        );
    expect(debugReads("lib/stackTraces.ts")).toEqual(["process.env.PULUMI_DEBUG_PROMISE_LEAKS"]);
    expect(found.filter((f) => f !== debugSwitch)).toEqual([]);
});

/** Runs deploy-dev at the checked-out commit, in its own state dir; returns its pulumi calls. */
function runAt(commit: string, name: string): PulumiCall[] {
    expect(git("rev-parse", "HEAD")).toBe(commit);
    const log = path.join(scratch, `${name}.log`);
    return runJobWithFakes(JOB, PUSH, { repo, bin, log, stateDir: `../state-${name}` });
}

/** A file as committed in `commit`, as bytes. */
function committed(commit: string, file = STACK_FILE): Buffer {
    return execFileSync("git", ["show", `${commit}:${file}`], { cwd: repo });
}

/** `tag` once per service of the stack. */
function allTags(tag: string): string[] {
    const services = serviceTags(fs.readFileSync(path.join(ROOT, STACK_FILE), "utf8"));
    expect(services.length).toBeGreaterThan(1);
    return services.map(() => tag);
}

/** `text` with every service's tag set to `tag`; comments and everything else kept. */
function withServiceTags(text: string, tag: string): string {
    const doc = parseDocument(text);
    const services = doc.getIn(["config", "msa:services"]) as { toJSON(): object };
    const keys = Object.keys(services.toJSON());
    expect(keys.length).toBeGreaterThan(1);
    for (const key of keys) {
        doc.setIn(["config", "msa:services", key, "tag"], tag);
    }
    return doc.toString();
}

/** The tag of every service of a stack file, in order. */
function serviceTags(text: string): string[] {
    const doc = parse(text) as { config: { "msa:services": Record<string, { tag?: string }> } };
    return Object.values(doc.config["msa:services"]).map((s) => s.tag ?? "");
}

function git(...args: string[]): string {
    return execFileSync(
        "git",
        ["-c", "user.name=ci", "-c", "user.email=ci@example.invalid", ...args],
        { cwd: repo, encoding: "utf8" },
    ).trim();
}

/** The program's own modules, relative to the root: everything index.ts imports, transitively. */
function programModules(): string[] {
    const seen = new Set<string>();
    const todo = [path.join(ROOT, "index.ts")];
    for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
        if (seen.has(file)) {
            continue;
        }
        seen.add(file);
        const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
        for (const { fileName } of info.importedFiles) {
            if (!fileName.startsWith(".")) {
                continue;
            }
            const base = path.resolve(path.dirname(file), fileName);
            const target = [`${base}.ts`, path.join(base, "index.ts")].find((f) =>
                fs.existsSync(f),
            );
            if (target === undefined) {
                throw new Error(`${file} imports ${fileName}, which is not a module here`);
            }
            todo.push(target);
        }
    }
    return [...seen].map((f) => path.relative(ROOT, f)).sort();
}
