/**
 * The merge request `preview` job (ci/preview.sh), run for real by gitlab-ci-local with the shell
 * executor in shallow clones of a scratch repository, as GitLab runs it: the real offline plan
 * (`npm run plan`, the program of this working tree), a recording fake `pulumi`
 * (fakePulumi.ts, whose preview fails on demand), a fake `npm ci` that links this checkout's
 * node_modules, and the real tools/post-mr-note.ts posting to a fake GitLab notes API
 * (fakeGitLab.ts). Each case reads the note GitLab received:
 *
 * - a failed `pulumi preview` or a failed plan still reaches the note, the other stack is still
 *   previewed and planned, and the job fails naming the failed stack;
 * - against a base commit whose dev stack differs in the DB image and volume, the note says
 *   "downtime: database restart" and that the data volume would be replaced;
 * - a base that cannot be planned (the stack is new, the base's plan fails, the commit cannot be
 *   fetched) is said in the note, the plan is posted in full, and nothing fails because of it.
 *
 * About 5 minutes on a loaded 2-core machine: each run plans both stacks twice.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { FakeGitLab } from "./fakeGitLab";
import { installFakes, PulumiCall, readCalls } from "./fakePulumi";
import { gitlabCiLocalAsync, pipelineJobs, requireRsync, ROOT, Run } from "./gitlabCiLocal";

const TOKEN = "glpat-PREVIEWJOB0123456789";
const MARKER = "<!-- msa-preview-note: preview -->";
const JOB_TIMEOUT = 8 * 60 * 1000;
/** What the plan says of the dev stack's DB when its image and volume change. */
const DB_RESTART =
    "  database-container is replaced with downtime: database restart (one data directory)";
const VOLUME_REPLACED =
    '  DATA: data volume sf1_db_storage (database-volume) would be replaced (name "sf1_db_storage" → "sf1_db_storage_v2"): the database starts empty on the new volume; the old one is kept (retainOnDelete)';
const PREVIEW_ARGV = (stack: string) => [
    ...["preview", "--stack", stack, "--diff", "--policy-pack", "policy"],
    ...["--non-interactive", "--color", "never"],
];

jest.setTimeout(JOB_TIMEOUT + 60000);

const gitlab = new FakeGitLab(TOKEN);
let scratch: string;
let origin: string;
let bin: string;
/** The commits of the scratch repository (see beforeAll). */
const sha: Record<"a0" | "a" | "bBase" | "b" | "c", string> = {
    a0: "",
    a: "",
    bBase: "",
    b: "",
    c: "",
};

beforeAll(async () => {
    requireRsync();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pipeline-preview-"));
    bin = path.join(scratch, "bin");
    installFakes(bin);
    fs.writeFileSync(path.join(bin, "npm"), fakeNpm(), { mode: 0o755 });
    origin = path.join(scratch, "origin.git");
    const src = path.join(scratch, "src");
    copyProject(src);
    const git = gitIn(src);
    git("init", "-q", "-b", "main");
    // a0: the project without the prod stack; a: with it (main).
    const prod = fs.readFileSync(path.join(src, "Pulumi.prod.yaml"));
    fs.rmSync(path.join(src, "Pulumi.prod.yaml"));
    git("add", "-A");
    git("commit", "-q", "-m", "a0: no prod stack");
    sha.a0 = git("rev-parse", "HEAD");
    fs.writeFileSync(path.join(src, "Pulumi.prod.yaml"), prod);
    git("add", "-A");
    git("commit", "-q", "-m", "a: the prod stack");
    sha.a = git("rev-parse", "HEAD");
    // c: dev's DB on another base image and another volume.
    sha.c = commitOn(src, "c", sha.a, "Pulumi.dev.yaml", (doc) => {
        doc.setIn(["config", "msa:database", "image", "base"], "postgres:16");
        doc.setIn(["config", "msa:database", "volumeName"], "sf1_db_storage_v2");
    });
    // b-base: dev's config invalid (its plan fails); b: prod's config invalid instead.
    sha.bBase = commitOn(src, "b-base", sha.a, "Pulumi.dev.yaml", (doc) => {
        doc.setIn(["config", "msa:database", "port"], 70000);
    });
    sha.b = commitOn(src, "b", sha.a, "Pulumi.prod.yaml", (doc) => {
        doc.setIn(["config", "msa:database", "port"], 70000);
    });
    execFileSync("git", ["clone", "-q", "--bare", src, origin]);
    await gitlab.start();
}, 120000);

afterAll(async () => {
    await gitlab.stop();
    if (scratch !== undefined) {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
});

it("a merge request pipeline runs the preview job", () => {
    const dir = cloneAt("list", "main");
    const event = { set: { CI_PIPELINE_SOURCE: "merge_request_event", CI_DEFAULT_BRANCH: "main" } };
    expect(pipelineJobs(dir, event)).toContain("preview");
});

it("a failed pulumi preview reaches the note, the other stack is still previewed, and the job fails naming the stack", async () => {
    const run = await runPreview("a-fail", "main", sha.a, { FAKE_PULUMI_FAIL_PREVIEW: "dev" });

    expect(run.status).not.toBe(0);
    expect(run.result).toBe("FAIL  preview");
    expect(run.output).toMatch(/^.*failed: dev:preview\s*$/m);
    // Both stacks previewed and planned: the failure stopped nothing.
    expect(run.calls.map((c) => c.argv)).toEqual([PREVIEW_ARGV("dev"), PREVIEW_ARGV("prod")]);
    expect(section(run.note, "dev.preview.txt")).toBe(
        "Previewing update (dev)\nerror: fake pulumi: the preview of stack dev failed",
    );
    expect(section(run.note, "prod.preview.txt")).toBe(
        `fake pulumi ${PREVIEW_ARGV("prod").join(" ")}`,
    );
    expect(section(run.note, "dev.plan.txt")).toContain("\nStack dev: ");
    expect(section(run.note, "prod.plan.txt")).toContain("\nStack prod: ");
    expect(section(run.note, "summary.txt")).toBe(
        [
            `dev: against main at ${sha.a.slice(0, 8)}:`,
            "  (no replacements)",
            `prod: against main at ${sha.a.slice(0, 8)}:`,
            "  (no replacements)",
            "failed: dev:preview",
        ].join("\n"),
    );
    expect(run.updatedInPlace).toBe(true);
});

it("a failed plan reaches the note, the other stack is still planned, and only that stack fails the job", async () => {
    // The base of this merge request is b-base, where dev's config is invalid: dev cannot be
    // compared, and that is not a failure.
    const run = await runPreview("b-fail", "b", sha.bBase);

    expect(run.status).not.toBe(0);
    expect(run.result).toBe("FAIL  preview");
    expect(run.output).toMatch(/^.*failed: prod:plan\s*$/m);
    expect(run.calls.map((c) => c.argv)).toEqual([PREVIEW_ARGV("dev"), PREVIEW_ARGV("prod")]);
    const prodPlan = section(run.note, "prod.plan.txt");
    expect(prodPlan).toContain(
        "Stack prod has invalid config:\n  - msa:database.port must be 1-65535, got 70000",
    );
    const devPlan = section(run.note, "dev.plan.txt");
    const short = sha.bBase.slice(0, 8);
    expect(devPlan.split("\n")[0]).toBe(
        `No comparison with main: the plan of ${short} failed (- msa:database.port must be 1-65535, got 70000; see preview/base/dev.err). This is the plan of this commit alone: replacements, downtime and data volumes at risk are not shown.`,
    );
    expect(devPlan).toContain("\nStack dev: ");
    expect(devPlan).toContain("Policy pack msa-guardrails: 0 mandatory");
    expect(section(run.note, "summary.txt")).toBe(
        [
            `dev: no comparison with main: the plan of ${short} failed (- msa:database.port must be 1-65535, got 70000; see preview/base/dev.err)`,
            `prod: no comparison with main: the plan failed before comparing (see prod.plan.txt)`,
            "failed: prod:plan",
        ].join("\n"),
    );
    expect(run.updatedInPlace).toBe(true);
});

it("against a base whose DB image and volume differ, the note says downtime: database restart and names the volume; a stack new in the merge request is said, not failed", async () => {
    // A shallow clone of c lacks its base a0 (two commits back): the job fetches it.
    const run = await runPreview("c-base", "c", sha.a0);

    expect(run.result).toBe("PASS  preview");
    expect(run.status).toBe(0);
    const short = sha.a0.slice(0, 8);
    expect(section(run.note, "summary.txt")).toBe(
        [
            `dev: against main at ${short}:`,
            VOLUME_REPLACED,
            DB_RESTART,
            `prod: no comparison with main: Pulumi.prod.yaml does not exist at ${short} (a stack new in this merge request?)`,
        ].join("\n"),
    );
    // The plan itself says it too, next to the resources.
    const devPlan = section(run.note, "dev.plan.txt");
    expect(devPlan.split("\n")[0]).toBe(`Compared with the plan of main at ${short}.`);
    expect(devPlan).toContain(
        `Changes against preview/base/dev.json:\n${VOLUME_REPLACED}\n${DB_RESTART}\n`,
    );
    expect(devPlan).toContain("release: downtime: database restart (one data directory)");
    // The new stack's plan is posted in full.
    const prodPlan = section(run.note, "prod.plan.txt");
    expect(prodPlan.split("\n")[0]).toMatch(/^No comparison with main: Pulumi\.prod\.yaml/);
    expect(prodPlan).toContain("\nStack prod: ");
    expect(prodPlan).toContain("Policy pack msa-guardrails: 0 mandatory");
    expect(run.calls.map((c) => c.argv)).toEqual([PREVIEW_ARGV("dev"), PREVIEW_ARGV("prod")]);
    expect(run.updatedInPlace).toBe(true);
});

it("a base commit that cannot be fetched is said in the note and fails nothing", async () => {
    const missing = "0123456789abcdef0123456789abcdef01234567";
    const run = await runPreview("d-missing", "main", missing);

    expect(run.result).toBe("PASS  preview");
    expect(run.status).toBe(0);
    const summary = section(run.note, "summary.txt").split("\n");
    expect(summary).toHaveLength(2);
    for (const [i, stack] of ["dev", "prod"].entries()) {
        expect(summary[i]).toMatch(
            new RegExp(
                `^${stack}: no comparison with main: base commit ${missing} is not in the clone and could not be fetched \\(.+\\)$`,
            ),
        );
        const plan = section(run.note, `${stack}.plan.txt`);
        expect(plan.split("\n")[0]).toMatch(
            new RegExp(
                `^No comparison with main: base commit ${missing} is not in the clone .*This is the plan of this commit alone`,
            ),
        );
        expect(plan).toContain(`\nStack ${stack}: `);
        expect(plan).not.toContain("Changes against");
    }
    expect(run.updatedInPlace).toBe(true);
});

interface PreviewRun {
    status: number | null;
    /** gitlab-ci-local's verdict line, e.g. `PASS  preview`. */
    result: string | undefined;
    output: string;
    calls: PulumiCall[];
    /** The note GitLab holds afterwards. */
    note: string;
    /** The note of the previous push was edited, and no second note was posted. */
    updatedInPlace: boolean;
}

/**
 * Runs the preview job in a fresh shallow clone of `branch`, as a merge request pipeline whose
 * base is `base`, with a note of a previous push already on the merge request.
 */
async function runPreview(
    name: string,
    branch: string,
    base: string,
    env: NodeJS.ProcessEnv = {},
): Promise<PreviewRun> {
    gitlab.reset();
    const previous = gitlab.addNote(`${MARKER}\n### Pulumi preview for 0ld0ld0`, gitlab.user);
    const repo = cloneAt(name, branch);
    const log = path.join(scratch, `${name}.log`);
    const variables = {
        CI_PIPELINE_SOURCE: "merge_request_event",
        CI_DEFAULT_BRANCH: "main",
        CI_MERGE_REQUEST_IID: "7",
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME: "main",
        CI_MERGE_REQUEST_DIFF_BASE_SHA: base,
        CI_PROJECT_ID: "42",
        CI_API_V4_URL: gitlab.apiUrl,
        GITLAB_API_TOKEN: TOKEN,
        // The jobs stop early without a backend; the fake never reads it.
        PULUMI_BACKEND_URL: "file:///nonexistent",
    };
    const result = await gitlabCiLocalAsync(
        [
            "--force-shell-executor",
            "--shell-isolation",
            "--state-dir",
            `../state-${name}`,
            ...Object.entries(variables).flatMap(([k, v]) => ["--variable", `${k}=${v}`]),
            "preview",
        ],
        repo,
        JOB_TIMEOUT,
        {
            PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
            FAKE_PULUMI_LOG: log,
            ...env,
        },
    );
    return summarise(result, log, previous);
}

function summarise(result: Run, log: string, previous: number): PreviewRun {
    const output = result.stdout + result.stderr;
    const notes = gitlab.notes.filter((n) => n.body.split("\n", 1)[0] === MARKER);
    const writes = gitlab.requests.filter((r) => r.method === "POST" || r.method === "PUT");
    if (notes.length !== 1 || writes.length !== 1) {
        throw new Error(
            `expected one note written once, got ${notes.length} notes and ${writes.length} writes; job output:\n${output.slice(-5000)}`,
        );
    }
    const note = notes[0]?.body ?? "";
    return {
        status: result.status,
        result: /^\s*(PASS|FAIL)\s+preview\s*$/m.exec(output)?.[0].trim(),
        output,
        calls: readCalls(log),
        note,
        updatedInPlace:
            notes[0]?.id === previous &&
            writes[0]?.method === "PUT" &&
            !note.includes("0ld0ld0") &&
            /^### Pulumi preview for [0-9a-f]{8}$/m.test(note),
    };
}

/** The text of the note's collapsed section `title` (one file of the job). */
function section(note: string, title: string): string {
    const start = note.indexOf(`<details><summary>${title}</summary>\n\n`);
    if (start < 0) {
        throw new Error(`no section ${title} in the note:\n${note}`);
    }
    const body = note.slice(start).split("\n</details>")[0] ?? "";
    const fenced = /\n(`{3,})text\n([\s\S]*)\n\1\n?$/.exec(body);
    if (fenced === null) {
        throw new Error(`section ${title} is not a text block:\n${body}`);
    }
    return fenced[2] ?? "";
}

/** A shallow clone of `branch` from the scratch origin, as GitLab's runner clones (GIT_DEPTH). */
function cloneAt(name: string, branch: string): string {
    const dir = path.join(scratch, name);
    execFileSync("git", [
        ...["clone", "-q", "--depth", "1", "--branch", branch],
        ...[`file://${origin}`, dir],
    ]);
    return dir;
}

/** Commits a change of one stack file on a new branch from `from`; returns the commit. */
function commitOn(
    dir: string,
    branch: string,
    from: string,
    file: string,
    change: (doc: ReturnType<typeof parseDocument>) => void,
): string {
    const git = gitIn(dir);
    git("checkout", "-q", "-b", branch, from);
    const doc = parseDocument(fs.readFileSync(path.join(dir, file), "utf8"));
    change(doc);
    fs.writeFileSync(path.join(dir, file), doc.toString());
    git("commit", "-q", "-a", "-m", `${branch}: ${file}`);
    const commit = git("rev-parse", "HEAD");
    git("checkout", "-q", "main");
    return commit;
}

/**
 * The project as it is in this working tree (tracked and new files, as git would commit them),
 * without node_modules: the fake `npm ci` links this checkout's.
 */
function copyProject(dest: string): void {
    const files = execFileSync("git", ["ls-files", "-z", "-co", "--exclude-standard"], {
        cwd: ROOT,
        encoding: "utf8",
    })
        .split("\0")
        .filter((f) => f !== "" && fs.existsSync(path.join(ROOT, f)));
    for (const file of files) {
        fs.mkdirSync(path.dirname(path.join(dest, file)), { recursive: true });
        fs.copyFileSync(path.join(ROOT, file), path.join(dest, file));
        fs.chmodSync(path.join(dest, file), fs.statSync(path.join(ROOT, file)).mode);
    }
}

/**
 * `npm ci` links this checkout's node_modules (installing is testJob.test.ts's business); any
 * other npm command is the real npm's.
 */
function fakeNpm(): string {
    const npm = execFileSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).trim();
    return [
        "#!/bin/sh",
        'if [ "$1" = ci ]; then',
        `  ln -sfn ${JSON.stringify(path.join(ROOT, "node_modules"))} node_modules`,
        '  echo "fake npm ci: node_modules linked"',
        "  exit 0",
        "fi",
        `exec ${JSON.stringify(npm)} "$@"`,
        "",
    ].join("\n");
}

function gitIn(dir: string): (...args: string[]) => string {
    return (...args) =>
        execFileSync(
            "git",
            ["-c", "user.name=ci", "-c", "user.email=ci@example.invalid", ...args],
            { cwd: dir, encoding: "utf8" },
        ).trim();
}
