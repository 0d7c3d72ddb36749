/** Unit tests: `npm test`. The e2e suite (`npm run test:e2e`) has its own config. */
module.exports = {
    preset: "ts-jest",
    testEnvironment: "node",
    roots: ["<rootDir>/test"],
    testMatch: ["**/*.test.ts"],
    // The e2e and pipeline suites run on their own (npm run test:e2e, npm run test:pipeline).
    testPathIgnorePatterns: ["/node_modules/", "/test/e2e/", "/test/pipeline/"],
    transform: { "^.+\\.ts$": "ts-jest" },
    testTimeout: 60000,
};
