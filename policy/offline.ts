/**
 * The offline policy run: the pack's own `ResourceValidationPolicy` objects applied to the resources
 * of a capture, with arguments shaped like the ones `@pulumi/policy` builds under the CLI (props are
 * the inputs with secrets unwrapped). Used by `npm run plan -- --stack <name> --policy` and the tests.
 */
import type {
    EnforcementLevel,
    PolicyResourceOptions,
    ResourceValidationPolicy,
} from "@pulumi/policy";
import type { Capture, CapturedResource } from "../capture/types";
import { isSecretValue, reveal } from "../capture/types";
import { PolicyArgs, POLICIES } from "./policies";

export interface Violation {
    policy: string;
    enforcementLevel: EnforcementLevel;
    /** Logical name and type of the resource. */
    resource: string;
    type: string;
    message: string;
}

/** What `args.notApplicable()` throws, as under the CLI. */
class NotApplicable extends Error {}

/** The arguments `validateResource` receives for a captured resource. */
export function validationArgs(r: CapturedResource): PolicyArgs {
    const opts: PolicyResourceOptions = {
        protect: r.protect,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...(r.parentUrn !== null ? { parent: r.parentUrn } : {}),
    };
    return {
        type: r.type,
        props: reveal(r.inputs) as Record<string, unknown>,
        urn: r.urn,
        name: r.name,
        opts,
        stackTags: new Map<string, string>(),
        isType: (cls) => (cls as { __pulumiType?: string }).__pulumiType === r.type,
        asType: <TResource, TArgs>(cls: {
            new (name: string, args: TArgs, ...rest: never[]): TResource;
        }) =>
            (cls as unknown as { __pulumiType?: string }).__pulumiType === r.type
                ? (reveal(r.inputs) as never)
                : undefined,
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
        secretPaths: secretPaths(r.inputs),
        retainOnDelete: r.retainOnDelete,
    } as PolicyArgs;
}

/** Every violation of `policies` (default: the whole pack) by the resources of a capture. */
export async function checkCapture(
    capture: Capture,
    policies: ResourceValidationPolicy[] = POLICIES,
): Promise<Violation[]> {
    const out: Violation[] = [];
    for (const r of capture.resources) {
        out.push(...(await checkResource(r, policies)));
    }
    return out;
}

export async function checkResource(
    r: CapturedResource,
    policies: ResourceValidationPolicy[] = POLICIES,
): Promise<Violation[]> {
    const out: Violation[] = [];
    for (const policy of policies) {
        const level = policy.enforcementLevel ?? "advisory";
        if (level === "disabled") {
            continue;
        }
        const validations = [policy.validateResource].flat().filter((v) => v !== undefined);
        for (const validate of validations) {
            try {
                await validate(validationArgs(r), (message) =>
                    out.push({
                        policy: policy.name,
                        enforcementLevel: level,
                        resource: r.name,
                        type: r.type,
                        message,
                    }),
                );
            } catch (e) {
                if (!(e instanceof NotApplicable)) {
                    throw e;
                }
            }
        }
    }
    return out;
}

/** `[mandatory] no-privileged-containers: Container "x" runs privileged, …; remove …` */
export function formatViolation(v: Violation): string {
    return `[${v.enforcementLevel}] ${v.policy}: ${v.message}`;
}

export const isMandatory = (v: Violation): boolean =>
    v.enforcementLevel === "mandatory" || v.enforcementLevel === "remediate";

/** Paths of the secret values in captured inputs: `envs[1]`, `registryAuth`, `registry.password`. */
export function secretPaths(value: unknown, at = "", out = new Set<string>()): Set<string> {
    if (isSecretValue(value)) {
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
