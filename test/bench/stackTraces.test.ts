/**
 * `lib/stackTraces.ts`: the SDK's per-promise traces are not formatted, and nothing else changes —
 * a failing program still reports what failed and where, source-mapped, with its callers.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runtimeSetup, runUnderRuntime } from "../../bench/runtimeHost";
import {
    isTrackedPromiseTrace,
    keepPromiseTracesUnformatted,
    UNFORMATTED_TRACE,
} from "../../lib/stackTraces";
import { ROOT } from "../helpers";

type Prepare = typeof Error.prepareStackTrace;

/** The SDK's own promise tracker (internal: not in its type declarations). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { debuggablePromise } = require("@pulumi/pulumi/runtime/debuggable") as {
    debuggablePromise<T>(p: Promise<T>, ctx: string): Promise<T>;
};

describe("keepPromiseTracesUnformatted", () => {
    let saved: Prepare;
    let savedLeaks: string | undefined;
    const formatted: string[] = [];
    /** Stands in for source-map-support: records what it is asked to format. */
    const installed: Prepare = (error, frames) => {
        formatted.push(error.message);
        return `mapped ${error.message} (${frames.length} frames)`;
    };

    beforeEach(() => {
        saved = Error.prepareStackTrace;
        savedLeaks = process.env.PULUMI_DEBUG_PROMISE_LEAKS;
        delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
        formatted.length = 0;
        Error.prepareStackTrace = installed;
    });
    afterEach(() => {
        Error.prepareStackTrace = saved;
        if (savedLeaks === undefined) {
            delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
        } else {
            process.env.PULUMI_DEBUG_PROMISE_LEAKS = savedLeaks;
        }
    });

    /** The trace the SDK keeps on a promise it tracks. */
    const trackedTrace = (): unknown => {
        const tracked = Promise.resolve();
        void debuggablePromise(tracked, "test");
        return (tracked as unknown as { _debugStackTrace: unknown })._debugStackTrace;
    };

    test("the SDK's trace of a tracked promise is not formatted", () => {
        keepPromiseTracesUnformatted();
        expect(trackedTrace()).toBe(UNFORMATTED_TRACE);
        expect(formatted).toEqual([]);
    });

    test("any other error goes to the installed formatter, with all its frames", () => {
        keepPromiseTracesUnformatted();
        const error = new Error("boom");
        expect(error.stack).toMatch(/^mapped boom \([1-9][0-9]* frames\)$/);
        expect(formatted).toEqual(["boom"]);
    });

    test("loading the program twice wraps the formatter once", () => {
        keepPromiseTracesUnformatted();
        const first = Error.prepareStackTrace;
        keepPromiseTracesUnformatted();
        expect(Error.prepareStackTrace).toBe(first);
        expect(new Error("once").stack).toMatch(/^mapped once/);
        expect(formatted).toEqual(["once"]);
    });

    test("PULUMI_DEBUG_PROMISE_LEAKS keeps every trace", () => {
        process.env.PULUMI_DEBUG_PROMISE_LEAKS = "1";
        keepPromiseTracesUnformatted();
        expect(Error.prepareStackTrace).toBe(installed);
        expect(trackedTrace()).toMatch(/^mapped /);
    });

    test("without an installed formatter nothing is wrapped", () => {
        const error = Error as { prepareStackTrace?: Prepare };
        error.prepareStackTrace = undefined;
        keepPromiseTracesUnformatted();
        expect(error.prepareStackTrace).toBeUndefined();
    });

    test("only a trace whose top frame is the SDK's debuggablePromise counts as one", () => {
        const frame = (fn: string | null, file: string | undefined) =>
            ({ getFunctionName: () => fn, getFileName: () => file }) as NodeJS.CallSite;
        const sdk = "/x/node_modules/@pulumi/pulumi/runtime/debuggable.js";
        expect(isTrackedPromiseTrace([frame("debuggablePromise", sdk)])).toBe(true);
        expect(isTrackedPromiseTrace([frame("debuggablePromise", "/x/debuggable.js")])).toBe(false);
        expect(isTrackedPromiseTrace([frame("other", sdk)])).toBe(false);
        expect(isTrackedPromiseTrace([frame(null, undefined)])).toBe(false);
        expect(isTrackedPromiseTrace([])).toBe(false);
    });
});

test("a failing program under cmd/run still names the TypeScript line and its callers", async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "msa-stacktraces-"));
    let message = "";
    try {
        await runUnderRuntime({
            root: ROOT,
            project: "msa",
            stack: "bench",
            config: {},
            secretKeys: [],
            program: path.join(__dirname, "fixtures", "failingProgram.ts"),
            setup: runtimeSetup(ROOT),
            workDir: work,
        });
    } catch (err) {
        message = (err as Error).message;
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
    const at = (fn: string, line: number) =>
        new RegExp(`at ${fn} \\(\\S*test/bench/fixtures/failingProgram\\.ts:${line}:\\d+\\)`);
    expect(message).toContain("failed under cmd/run (exit 32)");
    expect(message).toContain('error serializing property "name": no host port on bench');
    expect(message).toMatch(at("hostPort", 32));
    expect(message).toMatch(at("containerName", 27));
    expect(message).toMatch(/\S*test\/bench\/fixtures\/failingProgram\.ts:20:\d+/);
    expect(message).not.toContain(UNFORMATTED_TRACE);
}, 60_000);
