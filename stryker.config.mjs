// @ts-check
/**
 * `npm run test:mutation`: mutation testing (StrykerJS, jest runner, TypeScript checker) of the
 * folders the issue names: components/, config/, index.ts and policy/. `MUTATE_ONLY=<part>`
 * (components, config, index or policy) mutates one of them, with its own reports, so a part can
 * be re-run alone; `npm run test:mutation` runs them one after the other (test/mutation/run.sh).
 * Reports: reports/mutation/<part>/index.html and mutation.json. How to read them, the scores,
 * static mutants and the survivors that are equivalent: docs/mutation.md.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
const PARTS = {
    components: ["components/**/*.ts"],
    config: ["config/**/*.ts"],
    index: ["index.ts"],
    policy: ["policy/**/*.ts"],
};
const part = process.env.MUTATE_ONLY ?? "all";
if (part !== "all" && !(part in PARTS)) {
    throw new Error(`MUTATE_ONLY must be one of ${Object.keys(PARTS).join(", ")}, got ${part}`);
}
const dir = `reports/mutation/${part}`;

export default {
    packageManager: "npm",
    testRunner: "jest",
    jest: {
        projectType: "custom",
        configFile: "test/mutation/jest.config.js",
        // Not jest's --findRelatedTests: the capture tests load the program at run time (not by
        // import), so jest would not count them as related to what they cover. The runner in
        // test/mutation/runner.js loads only the files that hold a mutant's covering tests.
        enableFindRelatedTests: false,
    },
    checkers: ["typescript"],
    tsconfigFile: "tsconfig.mutation.json",
    coverageAnalysis: "perTest",
    // Static mutants (module-level code: the zod schema, policy descriptions) run the whole suite
    // each; docs/mutation.md says how they are counted.
    ignoreStatic: true,
    mutate: part === "all" ? Object.values(PARTS).flat() : PARTS[part],
    // event-recorder: each tested mutant as it is tested (events/), read by test/mutation/survivors.mjs.
    reporters: ["html", "json", "clear-text", "progress", "event-recorder"],
    eventReporter: { baseDir: `${dir}/events` },
    htmlReporter: { fileName: `${dir}/index.html` },
    jsonReporter: { fileName: `${dir}/mutation.json` },
    incremental: true,
    incrementalFile: `${dir}/stryker-incremental.json`,
    thresholds: { high: 95, low: 90, break: null },
    concurrency: 2,
    timeoutMS: 30000,
    tempDirName: `.stryker-tmp/${part}`,
    cleanTempDir: "always",
};
