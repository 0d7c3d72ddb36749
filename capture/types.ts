/** What a capture returns: plain data, shared by plan, policy, the e2e driver and the bench. */

/** Marks a value the program declared as secret; `redact` prints it as `[secret]`. */
export interface SecretValue {
    readonly __secret: true;
    readonly value: unknown;
}

export const isSecretValue = (v: unknown): v is SecretValue =>
    typeof v === "object" && v !== null && (v as { __secret?: unknown }).__secret === true;

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
    /** Inputs as the provider receives them; secret values are `SecretValue`s. */
    inputs: Record<string, unknown>;
    /** What the mock provider answered (the computed outputs). */
    outputs: Record<string, unknown>;
    protect: boolean;
    retainOnDelete: boolean;
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
    /** Stack outputs; secret ones are `SecretValue`s. */
    outputs: Record<string, unknown>;
    warnings: string[];
}

/** The config was rejected before anything was declared. */
export class CaptureConfigError extends Error {
    constructor(
        public readonly stack: string,
        public readonly errors: string[],
    ) {
        super(`invalid stack config for ${stack}:\n  - ${errors.join("\n  - ")}`);
        this.name = "CaptureConfigError";
    }
}

/** Replaces every secret with `[secret]`: what plans and logs print. */
export function redact(value: unknown): unknown {
    if (isSecretValue(value)) {
        return "[secret]";
    }
    if (Array.isArray(value)) {
        return value.map(redact);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v)]));
    }
    return value;
}

/** Unwraps every secret: what a driver that really creates the resources needs. */
export function reveal(value: unknown): unknown {
    if (isSecretValue(value)) {
        return reveal(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(reveal);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
    }
    return value;
}

/** True when `value` holds a secret anywhere inside. */
export function containsSecret(value: unknown): boolean {
    if (isSecretValue(value)) {
        return true;
    }
    if (Array.isArray(value)) {
        return value.some(containsSecret);
    }
    if (typeof value === "object" && value !== null) {
        return Object.values(value).some(containsSecret);
    }
    return false;
}
