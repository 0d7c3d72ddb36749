/**
 * Jest's node environment for mutation runs.
 *
 * - **The program's modules see the mutant.** The capture (`capture/index.ts`) evaluates the
 *   program through Node's own `require`, outside jest's sandboxed global, so StrykerJS's
 *   instrumented code there would find its own `__stryker__` object: no per-test coverage in the
 *   dry run, and the first mutant's id kept for the life of the worker, so every later mutant of
 *   `index.ts`, `components/` or `config/` would "survive" any capture test. `setup()` hands that
 *   code the same context object jest's global has.
 * - **Bail within a file:** once a test has failed under a name pattern (a mutant run, see
 *   test/mutation/runner.js), the file's remaining tests are skipped, since the mutant is killed
 *   already. Runs without a name pattern (Stryker's dry run, which measures which tests cover
 *   which mutant) run every test.
 */
const { TestEnvironment } = require("jest-environment-node");

class BailingEnvironment extends TestEnvironment {
    #bail;
    #failed = false;

    constructor(config, context) {
        super(config, context);
        this.#bail = Boolean(config.globalConfig.testNamePattern);
    }

    async setup() {
        await super.setup();
        const namespace = this.global.__strykerGlobalNamespace__ ?? "__stryker__";
        if (this.global[namespace] !== undefined) {
            globalThis[namespace] = this.global[namespace];
        }
    }

    async handleTestEvent(event) {
        if (!this.#bail) {
            return;
        }
        if (event.name === "test_done" && event.test.errors.length > 0) {
            this.#failed = true;
        } else if (event.name === "test_start" && this.#failed) {
            // jest-circus reads the mode right after this event: the test is reported as skipped.
            event.test.mode = "skip";
        }
    }
}

module.exports = BailingEnvironment;
