/**
 * Resources in the capture's shape (inputs, secrets as `{__secret, value}`, unknowns as
 * `{__unknown: true}`), so the offline runner hands the policies the same arguments
 * `plan --policy` does, and the policy tests' way of asking for one policy's messages.
 */
import type { CapturedResource } from "../../capture/types";
import { checkResources } from "../../policy/offline";
import { POLICIES, TYPES } from "../../policy/policies";

export const DIGEST = `sha256:${"ab".repeat(32)}`;
export const secret = (value: unknown) => ({ __secret: true as const, value });
export const UNKNOWN = { __unknown: true as const };

export interface LabelOptions {
    /** `msa.environment` (and `msa.stack`). Default `dev`. */
    env?: string;
    /** False adds `msa.production=false`, as a stack with `msa:production: false` does. */
    production?: boolean;
    extra?: Record<string, string>;
}

export function labels(component: string, opts: LabelOptions = {}) {
    const env = opts.env ?? "dev";
    const all: Record<string, string> = {
        "msa.component": component,
        "msa.environment": env,
        "msa.project": "msa",
        "msa.stack": env,
        ...(opts.production === false ? { "msa.production": "false" } : {}),
        ...opts.extra,
    };
    return Object.entries(all).map(([label, value]) => ({ label, value }));
}

export function resource(
    type: string,
    name: string,
    inputs: Record<string, unknown>,
    more: { stack?: string; protect?: boolean; retainOnDelete?: boolean } = {},
): CapturedResource {
    return {
        urn: `urn:pulumi:${more.stack ?? "dev"}::msa::${type}::${name}`,
        type,
        name,
        parent: null,
        parentUrn: null,
        custom: true,
        provider: "docker",
        inputs,
        outputs: {},
        protect: more.protect ?? false,
        retainOnDelete: more.retainOnDelete ?? false,
        dependsOn: [],
        dependsOnUrns: [],
    };
}

/** A container every policy accepts, unless the test changes it. */
export function container(
    name: string,
    inputs: Record<string, unknown> = {},
    component = "orders",
    opts: LabelOptions = {},
): CapturedResource {
    return resource(TYPES.container, name, {
        name,
        image: `registry.example/team/msa/orders:1.0.0@${DIGEST}`,
        restart: "always",
        memory: 256,
        labels: labels(component, opts),
        ...inputs,
    });
}

export function dbContainer(
    inputs: Record<string, unknown> = {},
    opts: LabelOptions = {},
): CapturedResource {
    return container(
        "database-container",
        {
            ports: [{ internal: 5432, external: 5432, ip: "127.0.0.1", protocol: "tcp" }],
            healthcheck: { tests: ["CMD", "pg_isready", "-h", "127.0.0.1"], interval: "1s" },
            envs: ["POSTGRES_USER=postgres", secret("POSTGRES_PASSWORD=s3cret-pw")],
            ...inputs,
        },
        "database",
        opts,
    );
}

/** A swarm service every policy accepts, unless the test changes its container spec. */
export function service(
    name: string,
    spec: Record<string, unknown> = {},
    more: Record<string, unknown> = {},
    component = "orders",
): CapturedResource {
    return resource(TYPES.service, name, {
        name,
        labels: labels(component),
        taskSpec: {
            containerSpec: {
                image: `registry.example/team/msa/orders:1.0.0@${DIGEST}`,
                ...spec,
            },
        },
        ...more,
    });
}

/** The labelled network of a stack that declared `msa:production: false`. */
export const nonProductionNetwork = (): CapturedResource =>
    resource(TYPES.network, "network-network", {
        name: "msa-dev-net",
        labels: labels("network", { production: false }),
    });

/** The messages one policy reports for the resources (one resource, or a small stack). */
export async function messages(
    policy: string,
    resources: CapturedResource | CapturedResource[],
): Promise<string[]> {
    const p = POLICIES.find((x) => x.name === policy);
    if (p === undefined) {
        throw new Error(`no policy ${policy}`);
    }
    return (await checkResources([resources].flat(), [p])).map((v) => v.message);
}
