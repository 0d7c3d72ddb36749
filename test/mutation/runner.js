/**
 * Jest's own test runner for mutation runs: only the files that hold a mutant's covering tests,
 * and no further file once one has failed.
 *
 * StrykerJS runs each mutant with `--testNamePattern` set to the tests that cover it, but hands
 * jest every test file: jest then loads each file (and `@pulumi/pulumi` with it, about a quarter
 * of a second each) only to skip all of its tests. This runner remembers, from every run without a
 * name pattern (Stryker's dry run), which test names each file holds, and on a run with a pattern
 * drops the files none of whose tests match it; a file it has no record of is kept.
 *
 * Jest cannot bail programmatically (jestjs/jest#11766), so every covering test would run even
 * after one has killed the mutant. Here the files run one after the other, and the run stops after
 * the first file with a failing test: the mutant is killed either way (Stryker bails on the first
 * failure too, unless `disableBail` is set, which these runs do not use).
 */
const fs = require("fs");
const path = require("path");
const TestRunner = require("jest-runner").default;

class CoveringFilesRunner extends TestRunner {
    async runTests(tests, watcher, options) {
        const indexFile = path.join(this._globalConfig.rootDir, ".stryker-test-files.json");
        const pattern = this._globalConfig.testNamePattern;
        if (!pattern) {
            const index = readIndex(indexFile);
            const unsubscribe = this.on("test-file-success", ([test, result]) => {
                index[test.path] = {
                    ms: result.perfStats.runtime,
                    names: result.testResults.map((r) => r.fullName),
                };
            });
            try {
                return await super.runTests(tests, watcher, options);
            } finally {
                unsubscribe();
                fs.writeFileSync(indexFile, JSON.stringify(index));
            }
        }
        let failed = false;
        const unsubscribe = [
            this.on("test-file-success", ([, result]) => {
                failed ||= result.numFailingTests > 0 || result.testExecError !== undefined;
            }),
            this.on("test-file-failure", () => {
                failed = true;
            }),
        ];
        try {
            for (const test of filterTests(tests, readIndex(indexFile), pattern)) {
                if (failed || watcher.isInterrupted()) {
                    break;
                }
                await super.runTests([test], watcher, { ...options, serial: true });
            }
        } finally {
            unsubscribe.forEach((off) => off());
        }
    }
}

/**
 * The tests worth loading: those whose file holds a test the pattern matches, or is unknown; the
 * quickest first (by the dry run's time), so a mutant is killed as cheaply as it can be.
 */
function filterTests(tests, index, pattern) {
    // jest matches `--testNamePattern` case-insensitively against each test's full name.
    const re = new RegExp(pattern, "i");
    const ms = (t) => index[t.path]?.ms ?? Infinity;
    return tests
        .filter((t) => index[t.path]?.names.some((name) => re.test(name)) ?? true)
        .sort((a, b) => ms(a) - ms(b));
}

function readIndex(file) {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
        return {};
    }
}

module.exports = CoveringFilesRunner;
module.exports.filterTests = filterTests;
