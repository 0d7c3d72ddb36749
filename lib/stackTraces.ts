/**
 * Stack traces nobody reads are not formatted.
 *
 * For every promise it tracks (four per resource property, about 430 per service), the Pulumi SDK
 * reads `new Error().stack` in `debuggablePromise` and keeps the text, which only
 * `PULUMI_DEBUG_PROMISE_LEAKS` ever prints. Under `pulumi preview` each such read goes through
 * `source-map-support` (loaded by the SDK's `cmd/run` and by ts-node), which maps every frame
 * through the source maps: about half of what a preview costs the program (docs/bench.md).
 *
 * `keepPromiseTracesUnformatted()` wraps the installed `Error.prepareStackTrace` so that a trace
 * whose top frame is the SDK's `debuggablePromise` is not formatted; every other trace (a thrown
 * error, the SDK's source position of a resource) goes to the installed formatter unchanged, with
 * every frame, source-mapped. Nothing changes with `PULUMI_DEBUG_PROMISE_LEAKS` set, or where no
 * formatter is installed (plain `node`, where formatting is cheap).
 */

/** What a tracked promise's `_debugStackTrace` says instead of the trace. */
export const UNFORMATTED_TRACE =
    "Error: stack trace not formatted (set PULUMI_DEBUG_PROMISE_LEAKS=1 to keep it)";

type PrepareStackTrace = (error: Error, frames: NodeJS.CallSite[]) => unknown;

/** Marks the wrapper, so loading the program twice in one process does not wrap it twice. */
const WRAPPED = Symbol.for("msa.keepPromiseTracesUnformatted");

export function keepPromiseTracesUnformatted(): void {
    const installed = Error.prepareStackTrace as PrepareStackTrace | undefined;
    if (
        process.env.PULUMI_DEBUG_PROMISE_LEAKS ||
        typeof installed !== "function" ||
        WRAPPED in installed
    ) {
        return;
    }
    const wrapper: PrepareStackTrace = function (this: unknown, error, frames) {
        return isTrackedPromiseTrace(frames)
            ? UNFORMATTED_TRACE
            : installed.call(this, error, frames);
    };
    Object.defineProperty(wrapper, WRAPPED, { value: true });
    Error.prepareStackTrace = wrapper;
}

/** The trace `debuggablePromise` (`@pulumi/pulumi/runtime/debuggable.js`) takes for itself. */
export function isTrackedPromiseTrace(frames: readonly NodeJS.CallSite[]): boolean {
    const top = frames[0];
    return (
        top !== undefined &&
        top.getFunctionName() === "debuggablePromise" &&
        /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/.test(top.getFileName() ?? "")
    );
}
