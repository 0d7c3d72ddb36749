/**
 * How the policies read resources: typed with `@pulumi/docker`'s classes through
 * `validateResourceOfType`, as plain snapshots in which a value that is unknown during a preview is
 * `undefined` (and listed), never a throw. Plus what every policy needs: labels, the production
 * switch, the resource as messages name it.
 */
import * as docker from "@pulumi/docker";
import type { Resource, Unwrap } from "@pulumi/pulumi";
import {
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    validateResourceOfType,
} from "@pulumi/policy";
import { LABEL_KEYS } from "../config/naming";

/** The type tokens the engine (and a capture) gives the resources the pack looks at. */
export const TYPES = {
    container: "docker:index/container:Container",
    service: "docker:index/service:Service",
    volume: "docker:index/volume:Volume",
    network: "docker:index/network:Network",
    image: "docker:index/image:Image",
    remoteImage: "docker:index/remoteImage:RemoteImage",
    provider: "pulumi:providers:docker",
} as const;

/**
 * `docker.Provider` for `isType`/`asType`. Its own `__pulumiType` is `docker`, the package name,
 * whereas the engine's type token of a provider is `pulumi:providers:docker`; `@pulumi/policy`
 * compares the token with `__pulumiType` first, so `validateResourceOfType(docker.Provider, …)`
 * would never match a provider, under the CLI or offline. Never instantiated.
 */
export class DockerProvider extends docker.Provider {
    static readonly __pulumiType = TYPES.provider;
}

/**
 * What the offline runner knows beyond what `@pulumi/policy` passes under the CLI. Under the CLI
 * these are absent and the checks that need them do what the CLI's data allows (see each policy).
 */
export interface OfflineFacts {
    /** Property paths (`envs[1]`, `registryAuth`, `registry.password`) the program declared secret. */
    secretPaths?: ReadonlySet<string>;
    /** `@pulumi/policy` 1.x does not pass `retainOnDelete`; the capture does. */
    retainOnDelete?: boolean;
}
export type PolicyArgs = ResourceValidationArgs & OfflineFacts;

/**
 * A resource's props as the policies read them: every field optional, because a value unknown in a
 * preview reads as `undefined`, and a saved plan may hold anything.
 */
export type Known<T> = T extends readonly (infer U)[]
    ? Known<U>[]
    : T extends object
      ? { [K in keyof T]?: Known<T[K]> }
      : T;

/** A typed resource, as a check sees it. */
export interface Checked<P> {
    props: Known<P>;
    args: PolicyArgs;
    report: ReportViolation;
    /** True when the value at `path` (`healthcheck`, `taskSpec.containerSpec.env`) or in it is unknown. */
    unknown(path: string): boolean;
}

type ResourceClass<TResource extends Resource, TArgs> = {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- @pulumi/policy's own signature
    new (name: string, args: TArgs, ...rest: any[]): TResource;
};

/** `validateResourceOfType`, with the props as a plain snapshot (see `snapshot`). */
export function validateTyped<TResource extends Resource, TArgs>(
    resourceClass: ResourceClass<TResource, TArgs>,
    check: (resource: Checked<Unwrap<NonNullable<TArgs>>>) => void,
): ResourceValidation {
    return validateResourceOfType(resourceClass, (props, args, report) => {
        const snap = snapshot(props);
        check({
            props: snap.value as Known<Unwrap<NonNullable<TArgs>>>,
            args: args as PolicyArgs,
            report,
            unknown: (p) => hasUnknown(snap.unknown, p),
        });
    });
}

/** A stack validation's resource as `asType` gives it, as a plain snapshot; undefined if another type. */
export function asTyped<TResource extends Resource, TArgs>(
    r: PolicyResource,
    resourceClass: ResourceClass<TResource, TArgs>,
): Known<Unwrap<NonNullable<TArgs>>> | undefined {
    return r.isType(resourceClass)
        ? (snapshot(r.props).value as Known<Unwrap<NonNullable<TArgs>>>)
        : undefined;
}

/**
 * A deep copy of props in which every value that cannot be read is `undefined` and its path is
 * listed. Under the CLI, reading a value unknown during a preview throws (`@pulumi/policy`'s
 * unknown-checking proxy); a policy that let it through would turn into an advisory "can't run
 * during preview" for the whole resource, or, in a stack validation, for the whole stack.
 */
export function snapshot(v: unknown): { value: unknown; unknown: ReadonlySet<string> } {
    const unknown = new Set<string>();
    const read = (obj: unknown, key: string | number, at: string): unknown => {
        let value: unknown;
        try {
            value = (obj as Record<string | number, unknown>)[key];
        } catch {
            unknown.add(at);
            return undefined;
        }
        return walk(value, at);
    };
    const walk = (x: unknown, at: string): unknown => {
        if (typeof x !== "object" || x === null) {
            return x;
        }
        if (Array.isArray(x)) {
            return Array.from({ length: x.length }, (_, i) => read(x, i, `${at}[${i}]`));
        }
        return Object.fromEntries(
            Object.keys(x).map((k) => [k, read(x, k, at === "" ? k : `${at}.${k}`)]),
        );
    };
    return { value: walk(v, ""), unknown };
}

function hasUnknown(paths: ReadonlySet<string>, p: string): boolean {
    for (const u of paths) {
        if (u === p || u.startsWith(`${p}.`) || u.startsWith(`${p}[`)) {
            return true;
        }
    }
    return false;
}

/** `Container "SERVICE_B-container"`: the resource as messages name it. */
export function show(args: { type: string; name: string }): string {
    const kind = args.type.startsWith("pulumi:providers:")
        ? "Provider"
        : (args.type.split(":").pop() ?? args.type);
    return `${kind} ${JSON.stringify(args.name)}`;
}

/** The items of a list that may be missing, unknown or (in a hand-made plan) not a list. */
export function list<T>(v: readonly T[] | undefined | null): NonNullable<T>[] {
    return Array.isArray(v)
        ? (v as T[]).filter((x): x is NonNullable<T> => x !== undefined && x !== null)
        : [];
}

export function strings(v: readonly (string | undefined)[] | undefined | null): string[] {
    return list(v).filter((x): x is string => typeof x === "string");
}

/** A string map (`driverOpts`, `env`), keeping only string values. */
export function stringMap(v: unknown): Record<string, string> {
    return typeof v === "object" && v !== null && !Array.isArray(v)
        ? Object.fromEntries(
              Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"),
          )
        : {};
}

type Labels = readonly ({ label?: string; value?: string } | undefined)[] | undefined;

/** Docker's labels as the provider takes them (`[{label, value}]`) or as a plain map. */
export function labelsOf(labels: Labels | Record<string, string>): Record<string, string> {
    if (Array.isArray(labels)) {
        return Object.fromEntries(
            list(labels as Labels)
                .filter((l) => typeof l.label === "string")
                .map((l) => [l.label as string, typeof l.value === "string" ? l.value : ""]),
        );
    }
    return stringMap(labels);
}

/**
 * Whether labels put a resource under the production rules: always, unless the stack said
 * `msa:production: false`, which labels its resources `msa.production=false`. A missing label is
 * production; so is any other value. `msa.environment` plays no part: how an environment is spelled
 * (`prod`, `production`, `live`) must not switch the rules off.
 */
export function isProduction(labels: Record<string, string>): boolean {
    return labels[LABEL_KEYS.production] !== "false";
}

/**
 * Whether a stack is under the production rules, for the resources that carry no labels (images,
 * the provider): yes unless every resource the program labelled (`msa.stack`) says
 * `msa.production=false`. One labelled resource without it (a hand-written addition) puts the
 * whole stack back under the rules: a stack opts out only as a whole.
 */
export function stackIsProduction(resources: PolicyResource[]): boolean {
    const labelled = resources
        .map((r) => labelsOf(labelsProp(r.props)))
        .filter((l) => l[LABEL_KEYS.stack] !== undefined);
    return labelled.length === 0 || labelled.some(isProduction);
}

/** A resource's `labels`, read without tripping over an unknown value. */
function labelsProp(props: unknown): Labels {
    const value = snapshot(props).value as { labels?: Labels } | undefined;
    return value?.labels;
}
