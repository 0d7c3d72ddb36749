/**
 * `npm run policy -- <plan.json>`: the policy pack over a saved plan, the file
 * `npm run plan -- --stack <name> --json` writes (so a pipeline can plan once and check, archive or
 * compare the same file). Applies the same policies as `plan --policy` and prints the same verdict:
 * a summary line, then one line per violation.
 *
 * In a saved plan secrets are `"[secret]"`, which counts as a secret, and values only known after
 * deploy are `{"__unknown": true}`, which the policies skip as they do in a preview.
 *
 * Exit 0 without a mandatory violation, 1 with one, 1 with one line on stderr for a file that cannot
 * be read or is not a saved plan, 2 on a usage error.
 */
import { PROJECT } from "../config/schema";
import { checkResources, isMandatory, PolicyInput } from "../policy/offline";
import { readPlan, type SavedPlan } from "../capture/planFile";
import { CliIo, CliSpec, exitWith, processIo, runCli, UsageError } from "./cli";
import { policyReport } from "./plan";

export { readPlan };

const CLI: CliSpec<Record<string, never>> = {
    name: "policy",
    usage: "usage: npm run policy -- <plan.json>   (written by npm run plan -- --stack <name> --json)",
    options: {},
    positionals: true,
};

/** A saved plan; `test/policy/savedPlan.test.ts` reads what `plan --json` writes with it. */
type Saved = SavedPlan;

export function main(argv: string[], io: CliIo = processIo): Promise<number> {
    return runCli(CLI, argv, ({ positionals }) => check(positionals, io), io);
}

async function check(positionals: string[], io: CliIo): Promise<number> {
    if (positionals.length !== 1) {
        throw new UsageError(
            positionals.length === 0 ? "give the plan file" : "give one plan file",
        );
    }
    const file = positionals[0] as string;
    const plan = readPlan(file);
    const violations = await checkResources(policyInputs(plan));
    io.stdout(`${policyReport(violations)}\n`);
    return violations.some(isMandatory) ? 1 : 0;
}

/**
 * The plan's resources as the policies take them. A saved plan names resources, not URNs; the URN
 * is rebuilt from stack, project, type and name, which is what the policies and messages use.
 */
export function policyInputs(plan: Saved): PolicyInput[] {
    const urn = (type: string, name: string) =>
        `urn:pulumi:${plan.stack}::${PROJECT}::${type}::${name}`;
    const byName = new Map<string, string>();
    for (const r of plan.resources) {
        if (!byName.has(r.name)) {
            byName.set(r.name, urn(r.type, r.name));
        }
    }
    return plan.resources.map((r) => ({
        urn: urn(r.type, r.name),
        type: r.type,
        name: r.name,
        inputs: r.inputs,
        protect: r.protect,
        retainOnDelete: r.retainOnDelete,
        parentUrn: r.parent === null ? null : (byName.get(r.parent) ?? null),
    }));
}

if (require.main === module) {
    exitWith(main(process.argv.slice(2)));
}
