/**
 * The offline policy run: the pack's own policy objects applied to the resources of a capture
 * (`npm run plan -- --stack <name> --policy`) or of a saved plan (`npm run policy -- <plan.json>`),
 * with arguments shaped like the ones `@pulumi/policy` builds under the CLI: props are the inputs
 * with secrets unwrapped, behind the same unknown-checking proxy, and `isType`/`asType` compare
 * type tokens exactly as the CLI does. Resource validations run per resource, stack validations
 * once over all of them; violations come out in resource order, then in the pack's order.
 */
import type {
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";
import type { Capture, CapturedResource } from "../capture/types";
import { isSecretValue, isUnknownValue, reveal } from "../capture/types";
import { levelOf, POLICIES, resourceValidations } from "./policies";
import type { PolicyArgs } from "./resources";

export interface Violation {
    policy: string;
    enforcementLevel: EnforcementLevel;
    /** Logical name and type of the resource; empty for a violation by the stack as a whole. */
    resource: string;
    type: string;
    message: string;
}

/** What the policies need of a resource: a capture's, or one read back from a saved plan. */
export type PolicyInput = Pick<
    CapturedResource,
    "urn" | "type" | "name" | "inputs" | "protect" | "retainOnDelete" | "parentUrn"
>;

type Policy = ResourceValidationPolicy | StackValidationPolicy;

/** How a saved plan (`plan --json`) writes a secret. */
export const REDACTED = "[secret]";

/** What `args.notApplicable()` throws, as under the CLI. */
class NotApplicable extends Error {}

/**
 * `@pulumi/policy`'s own unknown-checking proxy (an internal module, so loaded untyped): under the
 * CLI, reading a value that is unknown in a preview throws, and the offline run must behave alike.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- internal module, no types
const proxy = require("@pulumi/policy/proxy") as {
    unknownCheckingProxy<T>(props: T): T;
    unknownStringValue: string;
    UnknownValueError: new (...args: never[]) => Error;
};

/** The arguments `validateResource` receives for a resource. */
export function validationArgs(r: PolicyInput): PolicyArgs {
    const props = policyProps(r.inputs);
    return {
        type: r.type,
        props,
        urn: r.urn,
        name: r.name,
        opts: resourceOptions(r),
        stackTags: new Map<string, string>(),
        isType: (cls) => isTypeOf(r.type, cls),
        asType: (cls) => (isTypeOf(r.type, cls) ? (props as never) : undefined),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
        secretPaths: secretPaths(r.inputs),
        retainOnDelete: r.retainOnDelete,
    };
}

/** The resources a stack validation receives. */
export function stackResources(resources: PolicyInput[]): PolicyResource[] {
    const out = resources.map((r): PolicyResource => ({
        type: r.type,
        props: policyProps(r.inputs),
        urn: r.urn,
        name: r.name,
        opts: resourceOptions(r),
        dependencies: [],
        propertyDependencies: {},
        isType: (cls) => isTypeOf(r.type, cls),
        asType: (cls) => (isTypeOf(r.type, cls) ? (policyProps(r.inputs) as never) : undefined),
    }));
    const byUrn = new Map(out.map((r) => [r.urn, r]));
    resources.forEach((r, i) => {
        const parent = r.parentUrn === null ? undefined : byUrn.get(r.parentUrn);
        if (parent !== undefined && out[i] !== undefined) {
            out[i].parent = parent;
        }
    });
    return out;
}

/** Every violation of `policies` (default: the whole pack) by the resources of a capture. */
export function checkCapture(
    capture: Pick<Capture, "resources">,
    policies: Policy[] = POLICIES,
): Promise<Violation[]> {
    return checkResources(capture.resources, policies);
}

/** The violations of one resource, as if it were the whole stack. */
export function checkResource(r: PolicyInput, policies: Policy[] = POLICIES): Promise<Violation[]> {
    return checkResources([r], policies);
}

export async function checkResources(
    resources: PolicyInput[],
    policies: Policy[] = POLICIES,
): Promise<Violation[]> {
    const found: { at: number; order: number; v: Violation }[] = [];
    const index = new Map(resources.map((r, i) => [r.urn, i] as const).reverse());
    for (const [order, policy] of policies.entries()) {
        const level = levelOf(policy);
        if (level === "disabled") {
            continue;
        }
        const add = (at: number, r: PolicyInput | undefined, message: string) =>
            found.push({
                at,
                order,
                v: {
                    policy: policy.name,
                    enforcementLevel: level,
                    resource: r?.name ?? "",
                    type: r?.type ?? "",
                    message,
                },
            });
        const validations = resourceValidations(policy);
        for (const [at, r] of resources.entries()) {
            for (const validate of applicable(validations, r.type)) {
                await guarded(
                    policy,
                    (m) => add(at, r, m),
                    () => validate(validationArgs(r), (message) => add(at, r, message)),
                );
            }
        }
        if ("validateStack" in policy && typeof policy.validateStack === "function") {
            const validateStack = policy.validateStack;
            const args = {
                resources: stackResources(resources),
                stackTags: new Map<string, string>(),
                getConfig: <T extends object>() => ({}) as T,
                notApplicable: (reason?: string): never => {
                    throw new NotApplicable(reason);
                },
            };
            const stackLevel = resources.length;
            await guarded(
                policy,
                (m) => add(stackLevel, undefined, m),
                () =>
                    validateStack(args, (message, urn) => {
                        const at = urn === undefined ? undefined : index.get(urn);
                        add(
                            at ?? stackLevel,
                            at === undefined ? undefined : resources[at],
                            message,
                        );
                    }),
            );
        }
    }
    return found.sort((a, b) => a.at - b.at || a.order - b.order).map((f) => f.v);
}

/**
 * Runs a validation as the CLI does: "not applicable" is no violation, and a value unknown in a
 * preview turns into an advisory that the policy could not run (the pack's own policies read
 * through snapshots and never get here).
 */
async function guarded(
    policy: Policy,
    advise: (message: string) => void,
    run: () => Promise<void> | void,
): Promise<void> {
    try {
        await run();
    } catch (e) {
        if (e instanceof NotApplicable) {
            return;
        }
        if (e instanceof proxy.UnknownValueError) {
            advise(`can't run policy '${policy.name}' during preview: ${e.message}`);
            return;
        }
        throw e;
    }
}

/** The CLI skips a lone validation whose attached type token is not the resource's. */
function applicable<T>(validations: T[], type: string): T[] {
    if (validations.length !== 1) {
        return validations;
    }
    const attached = (validations[0] as { __pulumiType?: unknown }).__pulumiType;
    return typeof attached === "string" && attached !== "" && attached !== type ? [] : validations;
}

/** `[mandatory] no-privileged-containers: Container "x" runs privileged, …; remove …` */
export function formatViolation(v: Violation): string {
    return `[${v.enforcementLevel}] ${v.policy}: ${v.message}`;
}

export const isMandatory = (v: Violation): boolean =>
    v.enforcementLevel === "mandatory" || v.enforcementLevel === "remediate";

/**
 * Paths of the secret values in inputs: `envs[1]`, `registryAuth`, `registry.password`. A capture
 * marks them (`{__secret, value}`); a saved plan has them redacted to `[secret]`.
 */
export function secretPaths(value: unknown, at = "", out = new Set<string>()): Set<string> {
    if (isSecretValue(value) || value === REDACTED) {
        out.add(at);
    } else if (Array.isArray(value)) {
        value.forEach((v, i) => secretPaths(v, `${at}[${i}]`, out));
    } else if (typeof value === "object" && value !== null) {
        for (const [k, v] of Object.entries(value)) {
            secretPaths(v, at === "" ? k : `${at}.${k}`, out);
        }
    }
    return out;
}

/**
 * `@pulumi/policy`'s check of a class against a type token (`isTypeOf` in its server): the class's
 * `__pulumiType` if it has one, otherwise its `isInstance`.
 */
function isTypeOf(type: string, resourceClass: unknown): boolean {
    const cls = resourceClass as { __pulumiType?: unknown; isInstance?: unknown };
    if (typeof cls.__pulumiType === "string" && cls.__pulumiType !== "") {
        return cls.__pulumiType === type;
    }
    return (
        typeof cls.isInstance === "function" &&
        (cls.isInstance as (o: unknown) => unknown)({ __pulumiType: type }) === true
    );
}

/** Inputs as the CLI hands them to policies: secrets unwrapped, unknowns behind the proxy. */
function policyProps(inputs: Record<string, unknown>): Record<string, unknown> {
    const unknownAsCli = (v: unknown): unknown => {
        if (isUnknownValue(v)) {
            return proxy.unknownStringValue;
        }
        if (Array.isArray(v)) {
            return v.map(unknownAsCli);
        }
        if (typeof v === "object" && v !== null) {
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unknownAsCli(x)]));
        }
        return v;
    };
    return proxy.unknownCheckingProxy(unknownAsCli(reveal(inputs)) as Record<string, unknown>);
}

function resourceOptions(r: PolicyInput): PolicyResourceOptions {
    return {
        protect: r.protect,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...(r.parentUrn !== null ? { parent: r.parentUrn } : {}),
    };
}
