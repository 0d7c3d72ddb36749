/** What a capture returns: plain data, shared by plan, policy, the e2e driver and the bench. */

/** Marks a value the program declared as secret; `redact` prints it as `[secret]`. */
export interface SecretValue {
    readonly __secret: true;
    readonly value: unknown;
}

/**
 * Marks a value only the engine knows once it has created a resource (an image digest, an id): in
 * a preview it is unknown, and so is every string built from it. Plans print it as
 * `(known after deploy)`; JSON carries it as `{"__unknown": true}`.
 */
export interface UnknownValue {
    readonly __unknown: true;
}

export const UNKNOWN_VALUE: UnknownValue = Object.freeze({ __unknown: true });

export const isSecretValue = (v: unknown): v is SecretValue =>
    typeof v === "object" && v !== null && (v as { __secret?: unknown }).__secret === true;

export const isUnknownValue = (v: unknown): v is UnknownValue =>
    typeof v === "object" && v !== null && (v as { __unknown?: unknown }).__unknown === true;

export interface CapturedResource {
    urn: string;
    /** Pulumi type token, e.g. `docker:index/container:Container`. */
    type: string;
    /** Logical name. */
    name: string;
    /** Logical name of the parent, or null for a top-level resource. */
    parent: string | null;
    parentUrn: string | null;
    /** False for component resources. */
    custom: boolean;
    /** Logical name of the explicit provider, if any. */
    provider: string | null;
    /** Inputs as the provider receives them, with `SecretValue` and `UnknownValue` markers. */
    inputs: Record<string, unknown>;
    /** What the mock provider answered (the computed outputs, unknown in a preview). */
    outputs: Record<string, unknown>;
    protect: boolean;
    retainOnDelete: boolean;
    /** The `deleteBeforeReplace` option as declared; absent when left to the provider's default. */
    deleteBeforeReplace?: boolean;
    /** Logical names of the resources it depends on, explicitly and through inputs. */
    dependsOn: string[];
    dependsOnUrns: string[];
}

export interface CapturedInvoke {
    token: string;
    args: Record<string, unknown>;
    provider: string | null;
}

export interface Capture {
    stack: string;
    resources: CapturedResource[];
    invokes: CapturedInvoke[];
    /** Stack outputs, with `SecretValue` and `UnknownValue` markers. */
    outputs: Record<string, unknown>;
    warnings: string[];
}

/** The config was rejected before anything was declared. */
export class CaptureConfigError extends Error {
    constructor(
        /** Not `stack`: that is `Error`'s own, the trace a test runner prints. */
        public readonly stackName: string,
        public readonly errors: string[],
    ) {
        super(`invalid stack config for ${stackName}:\n  - ${errors.join("\n  - ")}`);
        this.name = "CaptureConfigError";
    }
}

/** Rebuilds a captured value with each secret or unknown marker replaced by `replace(marker)`. */
export function mapMarkers(
    value: unknown,
    replace: (marker: SecretValue | UnknownValue) => unknown,
): unknown {
    if (isSecretValue(value) || isUnknownValue(value)) {
        return replace(value);
    }
    if (Array.isArray(value)) {
        return value.map((v) => mapMarkers(v, replace));
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, mapMarkers(v, replace)]),
        );
    }
    return value;
}

/** Replaces every secret with `[secret]` and keeps unknowns: what plans and logs print. */
export const redact = (value: unknown): unknown =>
    mapMarkers(value, (m) => (isSecretValue(m) ? "[secret]" : m));

/** Unwraps every secret and keeps unknowns: what a driver that creates the resources needs. */
export const reveal = (value: unknown): unknown =>
    mapMarkers(value, (m) => (isSecretValue(m) ? reveal(m.value) : m));
