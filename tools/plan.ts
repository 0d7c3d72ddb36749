/**
 * `npm run plan -- --stack <name> [--json] [--strict]`: the offline plan. Evaluates the real
 * program under the mock runtime with the stack's config and prints what it declares. Needs no
 * Pulumi CLI and no Docker. Secrets print as `[secret]`. Exit 0 on success, 1 on invalid config
 * (or warnings with --strict), 2 on a usage error.
 */
import { parseArgs } from "util";
import { Capture, CaptureConfigError, captureStack, CapturedResource, redact } from "../capture";
import { StackFileError } from "../config/stackFiles";

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

async function main(argv: string[]): Promise<number> {
    let args;
    try {
        args = parseArgs({
            args: argv,
            options: {
                stack: { type: "string" },
                json: { type: "boolean", default: false },
                strict: { type: "boolean", default: false },
            },
            strict: true,
        }).values;
    } catch (e) {
        process.stderr.write(
            `plan: ${(e as Error).message}\nusage: npm run plan -- --stack <name> [--json] [--strict]\n`,
        );
        return 2;
    }
    if (args.stack === undefined) {
        process.stderr.write(
            "plan: --stack is required\nusage: npm run plan -- --stack <name> [--json] [--strict]\n",
        );
        return 2;
    }
    // Pulumi's runtime may log; stdout carries only the plan.
    console.log = (...parts: unknown[]) => process.stderr.write(`${parts.map(String).join(" ")}\n`);
    let capture: Capture;
    try {
        capture = await captureStack({ stack: args.stack });
    } catch (e) {
        if (e instanceof CaptureConfigError) {
            process.stderr.write(
                `Stack ${args.stack} has invalid config:\n${e.errors.map((x) => `  - ${x}`).join("\n")}\n`,
            );
            return 1;
        }
        if (e instanceof StackFileError) {
            process.stderr.write(`plan: ${e.message}\n`);
            return 2;
        }
        throw e;
    }
    process.stdout.write(
        args.json ? `${JSON.stringify(planJson(capture), null, 2)}\n` : `${renderTree(capture)}\n`,
    );
    for (const w of args.json ? capture.warnings : []) {
        process.stderr.write(`warning: ${w}\n`);
    }
    return args.strict && capture.warnings.length > 0 ? 1 : 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (e: unknown) => {
            process.stderr.write(`plan: ${e instanceof Error ? e.message : String(e)}\n`);
            process.exit(1);
        },
    );
}
