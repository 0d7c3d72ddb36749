/**
 * The mutation runs' jest runner and environment (test/mutation/runner.js, environment.js): a run
 * without a name pattern (Stryker's dry run) runs everything and records each file's tests; a run
 * with one (a mutant) loads only the files that hold a matching test and stops at the first failure.
 */
import { runCLI } from "jest";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const fixtures = path.join(__dirname, "..", "fixtures", "mutation");

async function run(dir: string, testNamePattern?: string, globals?: Record<string, unknown>) {
    const config = {
        rootDir: dir,
        testMatch: ["**/*.fixture.js"],
        globals,
        transform: {},
        runner: require.resolve("./runner.js"),
        testEnvironment: require.resolve("./environment.js"),
        // No reporters: the fixtures' failures are meant, and their summaries would read as this
        // suite's in the log (the GitLab test job's check looks for "Tests: … failed").
        reporters: [],
    };
    const { results } = await runCLI(
        {
            $0: "jest",
            _: [],
            config: JSON.stringify(config),
            runInBand: true,
            silent: true,
            ci: true,
            cache: false,
            testNamePattern,
        },
        [dir],
    );
    const tests = results.testResults.flatMap((file) =>
        file.testResults.map(
            (t) => `${path.basename(file.testFilePath)}: ${t.fullName} ${t.status}`,
        ),
    );
    return tests.sort();
}

describe("mutation runner", () => {
    let dir: string;
    let log: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "msa-mutation-runner-"));
        for (const f of fs.readdirSync(fixtures)) {
            fs.copyFileSync(path.join(fixtures, f), path.join(dir, f));
        }
        log = path.join(dir, "loaded.log");
        fs.writeFileSync(log, "");
        process.env.MUTATION_FIXTURE_LOG = log;
    });
    afterEach(() => {
        delete process.env.MUTATION_FIXTURE_LOG;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("runs every test without a name pattern and records each file's tests", async () => {
        fs.rmSync(path.join(dir, "shared.fixture.js"));
        expect(await run(dir)).toEqual([
            "first.fixture.js: probe after the failure failed",
            "first.fixture.js: probe fails failed",
            "second.fixture.js: probe in another file passed",
            "unmatched.fixture.js: other test passed",
        ]);
        const index = JSON.parse(
            fs.readFileSync(path.join(dir, ".stryker-test-files.json"), "utf8"),
        );
        expect(index[path.join(dir, "second.fixture.js")].names).toEqual(["probe in another file"]);
        expect(index[path.join(dir, "unmatched.fixture.js")].names).toEqual(["other test"]);
    });

    it("with a name pattern, loads only files with a matching test and stops at a failure", async () => {
        fs.rmSync(path.join(dir, "shared.fixture.js"));
        await run(dir);
        fs.writeFileSync(log, "");
        // The failing file first, whatever jest's order: the index says it is the quickest.
        const indexFile = path.join(dir, ".stryker-test-files.json");
        const index = JSON.parse(fs.readFileSync(indexFile, "utf8"));
        index[path.join(dir, "first.fixture.js")].ms = 0;
        index[path.join(dir, "second.fixture.js")].ms = 1000;
        fs.writeFileSync(indexFile, JSON.stringify(index));

        expect(await run(dir, "probe")).toEqual([
            "first.fixture.js: probe after the failure pending",
            "first.fixture.js: probe fails failed",
        ]);
        expect(fs.readFileSync(log, "utf8")).toBe("");
    });

    it("with a name pattern and no failure, runs every matching file", async () => {
        fs.rmSync(path.join(dir, "shared.fixture.js"));
        await run(dir);
        fs.writeFileSync(log, "");
        expect(await run(dir, "probe in another")).toEqual([
            "second.fixture.js: probe in another file passed",
        ]);
        expect(fs.readFileSync(log, "utf8")).toBe("second loaded\n");
    });

    it("loads every file it has no record of", async () => {
        fs.rmSync(path.join(dir, "shared.fixture.js"));
        expect(await run(dir, "other test")).toEqual([
            "first.fixture.js: probe after the failure pending",
            "first.fixture.js: probe fails pending",
            "second.fixture.js: probe in another file pending",
            "unmatched.fixture.js: other test passed",
        ]);
        expect(fs.readFileSync(log, "utf8").split("\n").sort()).toEqual([
            "",
            "second loaded",
            "unmatched loaded",
        ]);
    });

    it("gives code loaded through Node's own require the test's Stryker context", () => {
        // In a jest process of its own: run in this one, the environment's `globalThis` would be
        // this test's sandbox, not Node's real global. StrykerJS puts its context on jest's global
        // as `__stryker__`; the config's `globals` stand in for it here.
        const config = path.join(dir, "jest.config.json");
        fs.writeFileSync(
            config,
            JSON.stringify({
                rootDir: dir,
                testMatch: ["**/shared.fixture.js"],
                transform: {},
                runner: require.resolve("./runner.js"),
                testEnvironment: require.resolve("./environment.js"),
                globals: {
                    __strykerGlobalNamespace__: "__stryker__",
                    __stryker__: { activeMutant: "7" },
                },
            }),
        );
        const jest = spawnSync(
            process.execPath,
            [require.resolve("jest/bin/jest"), "-c", config, "--ci", "--no-cache", "-t", "shared"],
            { encoding: "utf8" },
        );
        expect(jest.stderr).toContain("✓ shared context");
        expect(jest.status).toBe(0);
    });
});
