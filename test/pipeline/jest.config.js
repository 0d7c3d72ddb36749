/**
 * The pipeline suite (`npm run test:pipeline`): `.gitlab-ci.yml` through gitlab-ci-local, and the
 * merge request note script. Kept out of `npm test`: the test job's own run calls `npm test`.
 */
module.exports = {
    preset: "ts-jest",
    testEnvironment: "node",
    rootDir: "../..",
    roots: ["<rootDir>/test/pipeline"],
    testMatch: ["**/*.test.ts"],
    transform: { "^.+\\.ts$": "ts-jest" },
    maxWorkers: 1,
    testTimeout: 60000,
    verbose: true,
};
