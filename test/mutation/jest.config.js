/**
 * The unit suite as StrykerJS runs it (`npm run test:mutation`, stryker.config.json): the suites
 * that exercise components/, config/, index.ts and policy/, transpiled without type checks (the
 * TypeScript checker refuses mutants that do not compile, once, before any test runs). Left out:
 * the fuzz (a new seed each run would make a mutant's fate depend on chance), this folder's own
 * test of the runner, the import corpus
 * and legacy checks against docker-compose, the init script on a real Postgres and the bench, all
 * of which still run in `npm test`.
 */
const base = require("../../jest.config.js");

module.exports = {
    ...base,
    rootDir: "../..",
    roots: ["<rootDir>/test"],
    testPathIgnorePatterns: [
        ...base.testPathIgnorePatterns,
        "/test/fuzz/",
        "/test/mutation/",
        "/test/import/",
        "/test/bench/",
        "/test/initScript.test.ts",
        // These run the CLI tools in child processes: per-test coverage cannot see into them, and
        // the same logic is tested in process by the suites that remain.
        "/test/plan.test.ts",
        "/test/policy/stacks.test.ts",
        "/test/policy/savedPlan.test.ts",
        "/test/policy/analyzer.test.ts",
    ],
    transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true, diagnostics: false }] },
    // Skips the test files in which none of a mutant's covering tests is (test/mutation/runner.js).
    runner: require.resolve("./runner.js"),
    // Skips a file's remaining tests once one has killed the mutant (test/mutation/environment.js).
    // (An absolute path: StrykerJS resolves the environment itself, without jest's <rootDir>.)
    testEnvironment: require.resolve("./environment.js"),
};
