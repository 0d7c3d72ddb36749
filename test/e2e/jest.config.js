/** The e2e suite (`npm run test:e2e`, through run.sh): one worker, since the tests share an engine. */
module.exports = {
    preset: "ts-jest",
    testEnvironment: "node",
    rootDir: "../..",
    roots: ["<rootDir>/test/e2e"],
    testMatch: ["**/*.test.ts"],
    transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
    maxWorkers: 1,
    testTimeout: 300000,
    verbose: true,
};
