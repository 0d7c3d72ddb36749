/**
 * `npm run plan -- --stack <name> [--json] [--strict] [--policy]`: the offline plan. Evaluates the
 * real program under the mock runtime with the stack's config and prints what it declares. Needs no
 * Pulumi CLI and no Docker. Secrets print as `[secret]`. `--policy` applies the policy pack's own
 * resource validations (`policy/policies.ts`) to the planned resources and prints one line per
 * violation. Exit 0 on success, 1 on invalid config, a mandatory policy violation (or warnings with
 * --strict), 2 on a usage error.
 */
import { parseArgs } from "util";
import {
    Capture,
    CaptureConfigError,
    CaptureOptions,
    captureStack,
    CapturedResource,
    redact,
} from "../capture";
import { StackFileError } from "../config/stackFiles";
import { checkCapture, formatViolation, isMandatory, Violation } from "../policy/offline";

const USAGE = "usage: npm run plan -- --stack <name> [--json] [--strict] [--policy]";

export interface PlanJson {
    stack: string;
    resources: {
        type: string;
        name: string;
        parent: string | null;
        inputs: unknown;
        protect: boolean;
        retainOnDelete: boolean;
        dependsOn: string[];
    }[];
    outputs: unknown;
    warnings: string[];
}

/** The JSON form of a capture: what `--json` prints, with every secret redacted. */
export function planJson(capture: Capture): PlanJson {
    return {
        stack: capture.stack,
        resources: capture.resources.map((r) => ({
            type: r.type,
            name: r.name,
            parent: r.parent,
            inputs: redact(r.inputs),
            protect: r.protect,
            retainOnDelete: r.retainOnDelete,
            dependsOn: r.dependsOn,
        })),
        outputs: redact(capture.outputs),
        warnings: capture.warnings,
    };
}

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
    if (capture.warnings.length > 0) {
        lines.push("", "Warnings:", ...capture.warnings.map((w) => `  - ${w}`));
    }
    return lines.join("\n");
}

function flags(r: CapturedResource): string {
    const f = [r.protect ? "protect" : "", r.retainOnDelete ? "retainOnDelete" : ""].filter(
        Boolean,
    );
    const deps = r.dependsOn.length > 0 ? ` after ${r.dependsOn.join(", ")}` : "";
    return `${f.length > 0 ? ` [${f.join(", ")}]` : ""}${deps}`;
}

const show = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

function keyProperties(r: CapturedResource): [string, string][] {
    const i = redact(r.inputs) as Record<string, unknown>;
    const pick = (...keys: string[]): [string, string][] =>
        keys.filter((k) => i[k] !== undefined).map((k) => [k, show(i[k])]);
    switch (r.type) {
        case "docker:index/container:Container": {
            const ports = (
                (i.ports as
                    | { ip: string; external: number; internal: number; protocol: string }[]
                    | undefined) ?? []
            ).map((p) => `${p.ip}:${p.external}->${p.internal}/${p.protocol}`);
            const nets = (
                (i.networksAdvanced as { name: string; aliases?: string[] }[] | undefined) ?? []
            ).map((n) => `${n.name} as ${(n.aliases ?? []).join(", ")}`);
            const hc = i.healthcheck as
                { tests?: string[]; interval?: string; retries?: number } | undefined;
            return [
                ...pick("name", "image", "restart"),
                ["ports", ports.join(", ") || "(none published)"],
                ["networks", nets.join("; ")],
                ...(hc
                    ? ([
                          [
                              "healthcheck",
                              `${(hc.tests ?? []).slice(1).join(" ")} every ${hc.interval}, ${hc.retries} retries`,
                          ],
                      ] as [string, string][])
                    : []),
                ...(i.wait === true ? ([["wait", "until healthy"]] as [string, string][]) : []),
                ["env", ((i.envs as string[] | undefined) ?? []).join(" ")],
            ];
        }
        case "docker:index/image:Image":
            return [
                ...pick("imageName", "skipPush"),
                ["build", show((i.build as { args?: unknown } | undefined)?.args)],
            ];
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
export interface PlanIo {
    capture(opts: CaptureOptions): Promise<Capture>;
    stdout(text: string): void;
    stderr(text: string): void;
}

const processIo: PlanIo = {
    capture: captureStack,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
};

/** The policy verdict as `--policy` prints it: a summary line, then one line per violation. */
export function policyReport(violations: Violation[]): string {
    const mandatory = violations.filter(isMandatory).length;
    const advisory = violations.length - mandatory;
    return [
        `Policy pack msa-guardrails: ${mandatory} mandatory, ${advisory} advisory violation${violations.length === 1 ? "" : "s"}`,
        ...violations.map(formatViolation),
    ].join("\n");
}

export async function main(argv: string[], io: PlanIo = processIo): Promise<number> {
    let args;
    try {
        args = parseArgs({
            args: argv,
            options: {
                stack: { type: "string" },
                json: { type: "boolean", default: false },
                strict: { type: "boolean", default: false },
                policy: { type: "boolean", default: false },
            },
            strict: true,
        }).values;
    } catch (e) {
        io.stderr(`plan: ${(e as Error).message}\n${USAGE}\n`);
        return 2;
    }
    if (args.stack === undefined) {
        io.stderr(`plan: --stack is required\n${USAGE}\n`);
        return 2;
    }
    let capture: Capture;
    try {
        capture = await io.capture({ stack: args.stack });
    } catch (e) {
        if (e instanceof CaptureConfigError) {
            io.stderr(
                `Stack ${args.stack} has invalid config:\n${e.errors.map((x) => `  - ${x}`).join("\n")}\n`,
            );
            return 1;
        }
        if (e instanceof StackFileError) {
            io.stderr(`plan: ${e.message}\n`);
            return 2;
        }
        throw e;
    }
    const violations = args.policy ? await checkCapture(capture) : undefined;
    if (args.json) {
        const json = planJson(capture);
        io.stdout(
            `${JSON.stringify(violations === undefined ? json : { ...json, violations }, null, 2)}\n`,
        );
    } else {
        io.stdout(`${renderTree(capture)}\n`);
        if (violations !== undefined) {
            io.stdout(`\n${policyReport(violations)}\n`);
        }
    }
    for (const w of args.json ? capture.warnings : []) {
        io.stderr(`warning: ${w}\n`);
    }
    if (violations?.some(isMandatory)) {
        return 1;
    }
    return args.strict && capture.warnings.length > 0 ? 1 : 0;
}

if (require.main === module) {
    // Pulumi's runtime may log; stdout carries only the plan.
    console.log = (...parts: unknown[]) => process.stderr.write(`${parts.map(String).join(" ")}\n`);
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (e: unknown) => {
            process.stderr.write(`plan: ${e instanceof Error ? e.message : String(e)}\n`);
            process.exit(1);
        },
    );
}
