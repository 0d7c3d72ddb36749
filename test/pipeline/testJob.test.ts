/**
 * The `test` job, run for real by gitlab-ci-local with the shell executor. The job runs
 * `npm ci`, which replaces node_modules: it runs in a scratch copy of the tree, never in the
 * working tree. Slow (npm ci builds re2 natively, then the whole unit suite runs): ~3 minutes.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { commitSnapshot, gitlabCiLocal, requireRsync, ROOT } from "./gitlabCiLocal";

/** Never copied: installed or generated state, not sources. */
const SKIP = new Set([
    "node_modules",
    ".git",
    ".gitlab-ci-local",
    ".e2e",
    "bin",
    "coverage",
    ".npm",
    ".pulumi-home",
    "preview",
    // A mutation run's sandboxes and reports (npm run test:mutation), should one be under way.
    ".stryker-tmp",
    "reports",
]);

let scratch: string;

beforeAll(() => {
    requireRsync();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pipeline-test-job-"));
    const repo = path.join(scratch, "repo");
    fs.cpSync(ROOT, repo, {
        recursive: true,
        filter: (src) => path.dirname(src) !== ROOT || !SKIP.has(path.basename(src)),
    });
    commitSnapshot(repo);
});

afterAll(() => {
    if (scratch !== undefined) {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
});

it(
    "runs green with the shell executor",
    () => {
        // The machine's npm cache (warm after the checkout's own npm ci) instead of $CI_PROJECT_DIR/.npm.
        const npmCache = execFileSync("npm", ["config", "get", "cache"], {
            encoding: "utf8",
        }).trim();
        const run = gitlabCiLocal(
            [
                "--force-shell-executor",
                "--state-dir",
                "../state",
                "--variable",
                `npm_config_cache=${npmCache}`,
                "test",
            ],
            path.join(scratch, "repo"),
            20 * 60 * 1000,
        );
        const output = run.stdout + run.stderr;
        // On failure the log's tail shows up in the diff.
        expect({
            status: run.status,
            result: /^\s*(PASS|FAIL)\s+test\s*$/m.exec(output)?.[0].trim(),
            log: run.status === 0 ? undefined : output.slice(-5000),
        }).toEqual({ status: 0, result: "PASS  test", log: undefined });
        expect(output).toContain("test $ npm ci --prefer-offline --no-audit --no-fund && npm test");
        expect(output).toContain("All matched files use Prettier code style!");
        const summary = /Test Suites: (\d+) passed, (\d+) total/.exec(output);
        expect(summary?.[1]).toBe(summary?.[2]);
        expect(Number(summary?.[1])).toBeGreaterThan(0);
        expect(output).not.toMatch(/Tests:.*failed/);
        // The job installs what the suite needs (Postgres, docker-compose): nothing is skipped.
        expect(output).not.toMatch(/Tests:.*(skipped|todo)/);
        expect(output).not.toContain("SKIPPED");
    },
    20 * 60 * 1000,
);
