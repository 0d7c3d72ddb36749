/** Unit tests: `npm test`. The e2e suite (`npm run test:e2e`) has its own config. */
module.exports = {
    preset: "ts-jest",
    testEnvironment: "node",
    roots: ["<rootDir>/test"],
    testMatch: ["**/*.test.ts"],
    testPathIgnorePatterns: ["/node_modules/", "/test/e2e/"],
    transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true }] },
    testTimeout: 60000,
};
