/**
 * `.gitlab-ci.yml` is valid (gitlab-ci-local validates it against GitLab's JSON schema) and its
 * rules pick exactly the jobs they claim for each kind of pipeline.
 */
import * as fs from "fs";
import * as path from "path";
import {
    expandedPipeline,
    PipelineEvent,
    pipelineJobs,
    ROOT,
    scratchWithCiFile,
    workflowWhen,
} from "./gitlabCiLocal";

const DEFAULT = { CI_DEFAULT_BRANCH: "main" };

/** Predefined variables as GitLab sets them for each trigger. */
const EVENTS: Record<string, PipelineEvent> = {
    "merge request": {
        set: {
            ...DEFAULT,
            CI_PIPELINE_SOURCE: "merge_request_event",
            CI_MERGE_REQUEST_IID: "7",
            CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "feature/login",
            CI_MERGE_REQUEST_TARGET_BRANCH_NAME: "main",
            CI_COMMIT_REF_NAME: "feature/login",
        },
        // GitLab does not set CI_COMMIT_BRANCH in merge request pipelines.
        unset: ["CI_COMMIT_BRANCH"],
    },
    "push to the default branch": {
        set: { ...DEFAULT, CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main" },
    },
    "push to release": {
        set: { ...DEFAULT, CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "release" },
    },
    "schedule on the default branch": {
        set: { ...DEFAULT, CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main" },
    },
    "schedule on release": {
        set: { ...DEFAULT, CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "release" },
    },
    "schedule on another branch": {
        set: { ...DEFAULT, CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "feature/login" },
    },
    "push to another branch": {
        set: { ...DEFAULT, CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "feature/login" },
    },
    "push to a branch with an open merge request": {
        set: {
            ...DEFAULT,
            CI_PIPELINE_SOURCE: "push",
            CI_COMMIT_BRANCH: "feature/login",
            CI_OPEN_MERGE_REQUESTS: "my-group/msa!7",
        },
    },
    "push of a tag": {
        set: { ...DEFAULT, CI_PIPELINE_SOURCE: "push", CI_COMMIT_TAG: "v1.0.0" },
        unset: ["CI_COMMIT_BRANCH"],
    },
    "pipeline run by hand on release": {
        set: { ...DEFAULT, CI_PIPELINE_SOURCE: "web", CI_COMMIT_BRANCH: "release" },
    },
};

let dir: string;

beforeAll(() => {
    dir = scratchWithCiFile();
});

afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("jobs per pipeline (gitlab-ci-local --list-json)", () => {
    const expected: [string, string[]][] = [
        ["merge request", ["preview", "test"]],
        ["push to the default branch", ["deploy-dev", "test"]],
        ["push to release", ["deploy-prod", "test"]],
        // Each stack's drift check runs on the branch that deploys it, never on another's code.
        ["schedule on the default branch", ["drift-dev", "test"]],
        ["schedule on release", ["drift-prod", "test"]],
        ["schedule on another branch", ["test"]],
        ["push to another branch", ["test"]],
        // The merge request pipeline runs instead (see the first case).
        ["push to a branch with an open merge request", []],
        ["push of a tag", []],
        ["pipeline run by hand on release", ["deploy-prod", "test"]],
    ];

    it.each(expected)("%s: %j", (name, jobs) => {
        expect(pipelineJobs(dir, EVENTS[name] as PipelineEvent)).toEqual(jobs);
    });

    it("covers every event", () => {
        expect(expected.map(([name]) => name).sort()).toEqual(Object.keys(EVENTS).sort());
    });
});

describe("workflow:rules (gitlab-ci-local's rule evaluator)", () => {
    it.each([
        ["merge request", "always"],
        ["push to the default branch", "always"],
        ["schedule on the default branch", "always"],
        ["schedule on release", "always"],
        ["push to another branch", "always"],
        ["push to a branch with an open merge request", "never"],
        ["push of a tag", "never"],
    ])("%s: %s", (name, when) => {
        expect(workflowWhen(EVENTS[name] as PipelineEvent)).toBe(when);
    });
});

describe("job definitions (gitlab-ci-local --preview)", () => {
    type Job = {
        image?: { name: string };
        script?: string[];
        before_script?: string[];
        environment?: { name: string; url: string };
        resource_group?: string;
        artifacts?: { when?: string; paths?: string[] };
        cache?: { key: { prefix: string; files: string[] }; paths: string[] }[];
        variables?: Record<string, string>;
        parallel?: { matrix: Record<string, string[]>[] };
    };
    let pipeline: Record<string, Job>;
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
        packages: Record<string, { version: string }>;
    };

    beforeAll(() => {
        pipeline = expandedPipeline(dir) as Record<string, Job>;
    });

    const job = (name: string): Job => {
        const found = pipeline[name];
        if (found === undefined) {
            throw new Error(`no job ${name} in .gitlab-ci.yml`);
        }
        return found;
    };

    it("every job runs pulumi/pulumi-nodejs pinned to the CLI matching @pulumi/pulumi", () => {
        const sdk = lock.packages["node_modules/@pulumi/pulumi"]?.version;
        expect(sdk).toMatch(/^\d+\.\d+\.\d+$/);
        for (const name of [
            "test",
            "preview",
            "deploy-dev",
            "deploy-prod",
            "drift-dev",
            "drift-prod",
        ]) {
            expect([name, job(name).image?.name]).toEqual([name, `pulumi/pulumi-nodejs:${sdk}`]);
        }
    });

    it("test runs npm ci && npm test with the npm cache keyed on the lock file", () => {
        expect(job("test").script).toEqual([
            "npm ci --prefer-offline --no-audit --no-fund && npm test",
        ]);
        // What the unit suite would otherwise skip: initScript's Postgres, test/import's compose.
        const setup = (job("test").before_script ?? []).join("\n");
        expect(setup).toContain('|| missing="$missing postgresql"');
        expect(setup).toContain(
            'command -v docker-compose >/dev/null || missing="$missing docker-compose"',
        );
        expect(setup).toContain("apt-get install -y -qq --no-install-recommends $missing");
        expect(job("test").cache?.map((c) => [c.key, c.paths])).toEqual([
            [{ prefix: "npm", files: ["package-lock.json"] }, [".npm/"]],
        ]);
    });

    it("Pulumi jobs cache npm and PULUMI_HOME's plugins", () => {
        const variables = (pipeline as unknown as { variables: Record<string, string> }).variables;
        expect(variables.PULUMI_HOME).toBe("$CI_PROJECT_DIR/.pulumi-home");
        expect(variables.npm_config_cache).toBe("$CI_PROJECT_DIR/.npm");
        for (const name of ["preview", "deploy-dev", "deploy-prod", "drift-dev", "drift-prod"]) {
            expect([name, job(name).cache?.map((c) => [c.key, c.paths])]).toEqual([
                name,
                [
                    [{ prefix: "npm", files: ["package-lock.json"] }, [".npm/"]],
                    [
                        { prefix: "pulumi-plugins", files: ["package-lock.json"] },
                        [".pulumi-home/plugins/"],
                    ],
                ],
            ]);
        }
    });

    it("preview runs ci/preview.sh (its behaviour: previewJob.test.ts) and keeps the artifact", () => {
        expect(job("preview").script).toEqual(["bash ci/preview.sh"]);
        expect(job("preview").artifacts).toMatchObject({ when: "always", paths: ["preview/"] });
    });

    it.each([
        ["deploy-dev", "dev", "pulumi-dev", "$DEV_ENVIRONMENT_URL"],
        ["deploy-prod", "prod", "pulumi-prod", "$PROD_ENVIRONMENT_URL"],
    ])(
        "%s: pulumi up on stack %s, resource group %s, the committed config as is",
        (name, stack, group, url) => {
            const j = job(name);
            expect(j.variables).toEqual({ STACK: stack });
            expect(j.environment).toEqual({ name: stack, url });
            expect(j.resource_group).toBe(group);
            expect(j.script).toEqual([
                'pulumi up --stack "$STACK" --yes --diff --policy-pack policy --non-interactive --color never',
                'pulumi stack output --stack "$STACK"',
            ]);
        },
    );

    it.each([
        ["drift-dev", "deploy-dev"],
        ["drift-prod", "deploy-prod"],
    ])(
        "%s previews the stack of %s with --refresh --expect-no-changes, in its resource group",
        (name, deploy) => {
            expect(job(name).variables).toEqual(job(deploy).variables);
            expect(job(name).resource_group).toBe(job(deploy).resource_group);
            expect(job(name).script).toEqual([
                'pulumi preview --stack "$STACK" --refresh --expect-no-changes --diff --non-interactive --color never',
            ]);
        },
    );

    it("no job changes stack config or passes config on the command line", () => {
        const jobs = Object.entries(pipeline).filter(([, j]) => Array.isArray(j.script));
        expect(jobs.length).toBeGreaterThanOrEqual(6);
        for (const [name, j] of jobs) {
            const scripts = [...(j.before_script ?? []), ...(j.script ?? [])].join("\n");
            expect([name, scripts]).not.toEqual([name, expect.stringMatching(/pulumi\s+config\b/)]);
            expect([name, scripts]).not.toEqual([
                name,
                expect.stringMatching(/pulumi\s[^\n]*\s(-c|--config|--config-file)[\s=]/),
            ]);
        }
    });

    it("no job asks for privileged mode, Docker-in-Docker or the host's Docker socket", () => {
        const text = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");
        expect(text).not.toMatch(/services:|docker:dind|docker\.sock|DOCKER_HOST|privileged: true/);
    });
});
