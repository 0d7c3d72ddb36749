/**
 * The swarm e2e suite (`npm run test:e2e:swarm`, through test/e2e/swarm/run.sh): one worker, as
 * the tests share one cluster. The main e2e config (test/e2e/jest.config.js) also finds these
 * files: there the cluster test skips itself with one line, and the driver's own test runs.
 */
module.exports = {
    preset: "ts-jest",
    testEnvironment: "node",
    rootDir: "../../..",
    roots: ["<rootDir>/test/e2e/swarm"],
    testMatch: ["**/*.test.ts"],
    transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
    maxWorkers: 1,
    testTimeout: 300000,
    verbose: true,
};
