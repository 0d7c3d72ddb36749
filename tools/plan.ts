/**
 * `npm run plan -- --stack <name> [--json] [--strict] [--policy]`: the offline plan. Evaluates the
 * real program under the mock runtime, as a preview, with the stack's config and prints what it
 * declares. Needs no Pulumi CLI and no Docker. Secrets print as `[secret]`; what only the engine
 * knows (image digests, ids) as `(known after deploy)`, or `{"__unknown": true}` with `--json`.
 * `--policy` applies the policy pack's own resource validations (`policy/policies.ts`) to the
 * planned resources and prints one line per violation. Exit 0 on success, 1 on invalid config, an
 * unreadable or missing stack file, a mandatory policy violation (or warnings with --strict), 2 on
 * a usage error.
 */
import {
    Capture,
    CaptureConfigError,
    CaptureOptions,
    captureStack,
    CapturedResource,
    isSecretValue,
    mapMarkers,
    redact,
} from "../capture";
import { readPlan } from "../capture/planFile";
import { RELEASE_LABEL } from "../components/labels";
import { dataVolumeFindings, releaseFindings } from "../lib/planDiff";
import { checkCapture, formatViolation, isMandatory, Violation } from "../policy/offline";
import { CliIo, CliSpec, exitWith, ParsedCli, processIo, runCli } from "./cli";

const OPTIONS = {
    stack: { type: "string" },
    json: { type: "boolean" },
    strict: { type: "boolean" },
    policy: { type: "boolean" },
    base: { type: "string" },
} as const;

const CLI: CliSpec<typeof OPTIONS> = {
    name: "plan",
    usage: "usage: npm run plan -- --stack <name> [--json] [--strict] [--policy] [--base <plan.json>]",
    options: OPTIONS,
    required: ["stack"],
};

/** What the text plan prints for a value only the engine knows. */
export const KNOWN_AFTER_DEPLOY = "(known after deploy)";

/** The JSON form of a capture: what `--json` prints, secrets redacted, unknowns as markers. */
export function planJson(capture: Capture) {
    return {
        stack: capture.stack,
        resources: capture.resources.map((r) => ({
            type: r.type,
            name: r.name,
            parent: r.parent,
            inputs: redact(r.inputs),
            protect: r.protect,
            retainOnDelete: r.retainOnDelete,
            ...(r.deleteBeforeReplace === undefined
                ? {}
                : { deleteBeforeReplace: r.deleteBeforeReplace }),
            dependsOn: r.dependsOn,
        })),
        outputs: redact(capture.outputs),
        warnings: capture.warnings,
    };
}

export type PlanJson = ReturnType<typeof planJson>;

/** The human form: the resource tree with the key properties of each resource. */
export function renderTree(capture: Capture): string {
    const lines = [
        `Stack ${capture.stack}: ${capture.resources.filter((r) => r.custom).length} resources in ${capture.resources.filter((r) => !r.custom).length} components`,
    ];
    const children = new Map<string | null, CapturedResource[]>();
    for (const r of capture.resources) {
        const list = children.get(r.parentUrn) ?? [];
        list.push(r);
        children.set(r.parentUrn, list);
    }
    const walk = (parent: string | null, indent: string) => {
        const list = children.get(parent) ?? [];
        list.forEach((r, i) => {
            const last = i === list.length - 1;
            lines.push(`${indent}${last ? "└─" : "├─"} ${r.type} ${r.name}${flags(r)}`);
            const inner = `${indent}${last ? "   " : "│  "}`;
            for (const [k, v] of keyProperties(r)) {
                lines.push(`${inner}    ${k}: ${v}`);
            }
            walk(r.urn, inner);
        });
    };
    walk(null, "");
    const outputs = Object.entries(asText(capture.outputs) as Record<string, unknown>);
    if (outputs.length > 0) {
        lines.push("", "Outputs:", ...outputs.map(([k, v]) => `  ${k}: ${show(v)}`));
    }
    if (capture.warnings.length > 0) {
        lines.push("", "Warnings:", ...capture.warnings.map((w) => `  - ${w}`));
    }
    return lines.join("\n");
}

function flags(r: CapturedResource): string {
    const f = [r.protect && "protect", r.retainOnDelete && "retainOnDelete"].filter(Boolean);
    const deps = r.dependsOn.length > 0 ? ` after ${r.dependsOn.join(", ")}` : "";
    return `${f.length > 0 ? ` [${f.join(", ")}]` : ""}${deps}`;
}

type Row = [string, string];

const show = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

/** A list input, item by item; a list that is unknown as a whole prints as such. */
function list<T>(v: unknown, item: (x: T) => string, separator: string, none = ""): string {
    return Array.isArray(v) ? (v as T[]).map(item).join(separator) || none : show(v ?? none);
}

interface Port {
    ip: string;
    external: number;
    internal: number;
    protocol: string;
}

/** A captured value as the text plan shows it: secrets and unknowns in words. */
const asText = (value: unknown): unknown =>
    mapMarkers(value, (m) => (isSecretValue(m) ? "[secret]" : KNOWN_AFTER_DEPLOY));

/**
 * How a release replaces the container, from the label the components set
 * (`components/labels.ts`): created first and switched once healthy, or deleted first, and why.
 */
export function releaseText(labels: unknown, healthGated: boolean): string {
    const release = Array.isArray(labels)
        ? (labels as { label?: string; value?: unknown }[]).find((l) => l.label === RELEASE_LABEL)
              ?.value
        : undefined;
    if (release === "create-first") {
        return healthGated
            ? "zero-downtime (the new container starts and passes its check before the old one stops)"
            : "create-first, but not health-gated: without a health check the old container stops as soon as the new one runs (set the service's healthcheck)";
    }
    return typeof release === "string" && release.startsWith("delete-first: ")
        ? `downtime: ${release.slice("delete-first: ".length)} (the old container stops before the new one starts)`
        : "downtime (delete-first, the provider's default)";
}

function keyProperties(r: CapturedResource): Row[] {
    const inputs = asText(r.inputs) as Record<string, unknown>;
    const pick = (...keys: string[]): Row[] =>
        keys.filter((k) => inputs[k] !== undefined).map((k) => [k, show(inputs[k])]);
    switch (r.type) {
        case "docker:index/container:Container": {
            const rows: Row[] = [
                ...pick("name", "image", "restart"),
                [
                    "ports",
                    list<Port>(
                        inputs.ports,
                        (p) => `${p.ip}:${p.external}->${p.internal}/${p.protocol}`,
                        ", ",
                        "(none published)",
                    ),
                ],
                [
                    "networks",
                    list<{ name: string; aliases?: string[] }>(
                        inputs.networksAdvanced,
                        (n) =>
                            Array.isArray(n.aliases) && n.aliases.length === 0
                                ? n.name
                                : `${n.name} as ${list(n.aliases, String, ", ")}`,
                        "; ",
                    ),
                ],
            ];
            const hc = inputs.healthcheck as
                { tests?: string[]; interval?: string; retries?: number } | undefined;
            if (hc !== undefined) {
                const test = (hc.tests ?? []).slice(1).join(" ");
                rows.push(["healthcheck", `${test} every ${hc.interval}, ${hc.retries} retries`]);
            }
            if (inputs.wait === true) {
                rows.push(["wait", "until healthy"]);
            }
            rows.push(["release", releaseText(inputs.labels, inputs.wait === true)]);
            rows.push(["env", list(inputs.envs, String, " ")]);
            return rows;
        }
        case "docker:index/service:Service": {
            const task = (inputs.taskSpec ?? {}) as {
                containerSpec?: { image?: unknown };
                placement?: { constraints?: string[] };
            };
            const mode = inputs.mode as { global?: boolean; replicated?: { replicas?: number } };
            const endpoint = (inputs.endpointSpec ?? {}) as { mode?: string; ports?: unknown };
            const update = inputs.updateConfig as { order?: string; failureAction?: string };
            return [
                ...pick("name"),
                ["image", show(task.containerSpec?.image)],
                ["mode", mode?.global ? "global" : `${mode?.replicated?.replicas ?? 1} replicas`],
                [
                    "endpoint",
                    `${endpoint.mode ?? "vip"}; ports ${list<{ publishedPort: number; targetPort: number; publishMode: string }>(endpoint.ports, (p) => `${p.publishedPort}->${p.targetPort} (${p.publishMode})`, ", ", "none")}`,
                ],
                ...(task.placement?.constraints?.length
                    ? ([["placement", task.placement.constraints.join(", ")]] as Row[])
                    : []),
                [
                    "release",
                    `${update?.order ?? "stop-first"}${update?.failureAction ? `, on failure: ${update.failureAction}` : ""}`,
                ],
            ];
        }
        case "docker:index/image:Image": {
            const rows = pick("imageName", "skipPush");
            const build = (inputs.build as { args?: unknown } | undefined)?.args;
            return build === undefined ? rows : [...rows, ["build", show(build)]];
        }
        case "docker:index/remoteImage:RemoteImage":
            return pick("name");
        case "docker:index/volume:Volume":
        case "docker:index/network:Network":
            return pick("name", "driver");
        case "pulumi:providers:docker":
            return pick("host", "registryAuth");
        default:
            return [];
    }
}

/** What `main` talks to; tests replace the capture (e.g. to add a hand-written resource). */
export interface PlanIo extends CliIo {
    capture(opts: CaptureOptions): Promise<Capture>;
}

/** What `--base` prints: the data at risk first, then each release and whether callers notice. */
export function changesReport(
    baseFile: string,
    changes: { data: string[]; releases: string[] },
): string {
    return [
        `Changes against ${baseFile}:`,
        ...(changes.data.length + changes.releases.length === 0 ? ["  (no replacements)"] : []),
        ...changes.data.map((l) => `  DATA: ${l}`),
        ...changes.releases.map((l) => `  ${l}`),
    ].join("\n");
}

/** The policy verdict as `--policy` prints it: a summary line, then one line per violation. */
export function policyReport(violations: Violation[]): string {
    const mandatory = violations.filter(isMandatory).length;
    const advisory = violations.length - mandatory;
    return [
        `Policy pack msa-guardrails: ${mandatory} mandatory, ${advisory} advisory violation${violations.length === 1 ? "" : "s"}`,
        ...violations.map(formatViolation),
    ].join("\n");
}

export function main(
    argv: string[],
    io: PlanIo = { ...processIo, capture: captureStack },
): Promise<number> {
    return runCli(CLI, argv, ({ values }) => plan(values, io), io);
}

async function plan(args: ParsedCli<typeof OPTIONS>["values"], io: PlanIo): Promise<number> {
    const stack = args.stack ?? ""; // required: the harness has refused a command line without it
    let capture: Capture;
    try {
        capture = await io.capture({ stack });
    } catch (e) {
        // Anything else (a missing or unreadable stack file…) the harness prints as one line, exit 1.
        if (!(e instanceof CaptureConfigError)) {
            throw e;
        }
        io.stderr(
            `Stack ${stack} has invalid config:\n${e.errors.map((x) => `  - ${x}\n`).join("")}`,
        );
        return 1;
    }
    const violations = args.policy ? await checkCapture(capture) : undefined;
    const json = planJson(capture);
    const base = args.base === undefined ? undefined : readPlan(args.base);
    const changes = base && {
        data: dataVolumeFindings(base.resources, json.resources),
        releases: releaseFindings(base.resources, json.resources),
    };
    if (args.json) {
        const extra = { ...(violations ? { violations } : {}), ...(changes ? { changes } : {}) };
        io.stdout(`${JSON.stringify({ ...json, ...extra }, null, 2)}\n`);
        capture.warnings.forEach((w) => io.stderr(`warning: ${w}\n`));
    } else {
        io.stdout(`${renderTree(capture)}\n`);
        if (changes !== undefined) {
            io.stdout(`\n${changesReport(args.base ?? "", changes)}\n`);
        }
        if (violations !== undefined) {
            io.stdout(`\n${policyReport(violations)}\n`);
        }
    }
    // A change that costs data counts like a warning: --strict refuses it.
    const strictFailure =
        args.strict === true && (capture.warnings.length > 0 || (changes?.data.length ?? 0) > 0);
    return violations?.some(isMandatory) === true || strictFailure ? 1 : 0;
}

if (require.main === module) {
    // Pulumi's runtime may log; stdout carries only the plan.
    console.log = (...parts: unknown[]) => process.stderr.write(`${parts.map(String).join(" ")}\n`);
    exitWith(main(process.argv.slice(2)));
}
