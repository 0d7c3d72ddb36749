/**
 * Jest's node environment for mutation runs, bailing within a test file: once a test has failed
 * under a name pattern (a mutant run, see test/mutation/runner.js), the file's remaining tests are
 * skipped, since the mutant is killed already. Runs without a name pattern (Stryker's dry run,
 * which measures which tests cover which mutant) run every test.
 */
const { TestEnvironment } = require("jest-environment-node");

class BailingEnvironment extends TestEnvironment {
    #bail;
    #failed = false;

    constructor(config, context) {
        super(config, context);
        this.#bail = Boolean(config.globalConfig.testNamePattern);
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
