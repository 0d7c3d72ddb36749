/**
 * `npm run import -- --compose <file> [--env <file>] --stack <name> [--db-service <name>]
 * [--dir <folder>] [--dry-run]`: turns a compose file and its env files into
 * `Pulumi.<stack>.yaml` (merged into an existing one), sets the secrets with
 * `pulumi config set --secret` when a `pulumi` CLI is on the PATH (or prints those commands), and
 * reports what it changed, could not map, or needs the operator's hand. Exit 0 on success, 1 on
 * bad input (nothing written) or when `pulumi config set` failed for a secret, 2 on a usage error
 * (an unknown or repeated option, a missing --compose or --stack).
 */
import * as path from "path";
import { ImportPlan, planImport } from "../importer";
import { renderFindings } from "../importer/report";
import { findPulumi, secretCommand, setSecrets } from "../importer/secrets";
import { writeAtomic } from "../importer/write";
import { CliIo, CliSpec, exitWith, ParsedCli, processIo, runCli } from "./cli";

const OPTIONS = {
    compose: { type: "string" },
    env: { type: "string" },
    stack: { type: "string" },
    "db-service": { type: "string" },
    dir: { type: "string" },
    "dry-run": { type: "boolean" },
} as const;

const CLI: CliSpec<typeof OPTIONS> = {
    name: "import",
    usage: "usage: npm run import -- --compose <file> [--env <file>] --stack <name> [--db-service <name>] [--dir <folder>] [--dry-run]",
    options: OPTIONS,
    required: ["compose", "stack"],
};

/**
 * The command line; returns the exit code. Bad input (`ImportError`) is its message on stderr and
 * exit 1, before anything is written; usage errors are exit 2 (`tools/cli.ts`).
 */
export function main(argv: string[], io: CliIo = processIo): Promise<number> {
    return runCli(CLI, argv, ({ values }, out) => run(values, out), io);
}

function run(args: ParsedCli<typeof OPTIONS>["values"], rawIo: CliIo): number {
    const plan = planImport({
        compose: args.compose ?? "",
        env: args.env,
        stack: args.stack ?? "",
        dbService: args["db-service"],
        dir: path.resolve(args.dir ?? "."),
    });
    const dryRun = args["dry-run"] === true;
    // Every line the import prints goes through the redaction of every secret value it has seen:
    // the mapping keeps them out, this makes sure.
    const io: CliIo = {
        stdout: (t) => rawIo.stdout(plan.redact(t)),
        stderr: (t) => rawIo.stderr(plan.redact(t)),
    };
    // In a dry run stdout carries the stack file alone, so it can be redirected; the report goes
    // to stderr. Otherwise the report is the output.
    const out = dryRun ? io.stderr : io.stdout;
    const lines: string[] = [summary(plan), `Compose files read with ${plan.reader}.`];
    if (dryRun) {
        io.stdout(plan.text);
        lines.push(
            `Dry run: ${plan.merged ? `would merge into ${plan.stackLabel}` : `would write ${plan.stackLabel}`}; nothing written, no secret set; the stack file is on stdout.`,
        );
    } else {
        writeAtomic(plan.stackFile, plan.text, plan.stackLabel);
        lines.push(
            plan.merged
                ? `Merged into ${plan.stackLabel} (keys and comments the import does not own are kept).`
                : `Wrote ${plan.stackLabel}.`,
        );
    }
    const report = renderFindings(plan.findings);
    if (report.length > 0) {
        lines.push("", ...report);
    }
    const secrets = secretLines(plan, dryRun);
    lines.push("", ...secrets.lines);
    out(`${lines.join("\n")}\n`);
    return secrets.failed ? 1 : 0;
}

function summary(plan: ImportPlan): string {
    const db =
        plan.mode === "container"
            ? `database service ${plan.dbService ?? "?"} → msa:database.mode container`
            : "no database service → msa:database.mode external";
    return `Imported ${plan.sources.join(", ")} as stack ${plan.stack}: ${db}; services ${plan.services.join(", ") || "(none)"}.`;
}

function secretLines(plan: ImportPlan, dryRun: boolean): { lines: string[]; failed: boolean } {
    const lines = [`Secrets (never written to ${plan.stackLabel}, never printed):`];
    const pulumi = dryRun ? undefined : findPulumi();
    const manual = plan.secrets.filter((s) => pulumi === undefined || s.value === undefined);
    let failed = false;
    if (pulumi !== undefined) {
        for (const r of setSecrets(
            pulumi,
            plan.stack,
            path.dirname(plan.stackFile),
            plan.secrets,
        )) {
            const s = plan.secrets.find((x) => x.key === r.key);
            if (r.ok) {
                lines.push(
                    `  set ${r.key} with pulumi config set --secret (from ${s?.source ?? "?"})`,
                );
            } else {
                failed = true;
                lines.push(`  FAILED to set ${r.key}: ${r.error ?? "?"}`);
                if (s !== undefined) {
                    manual.push(s);
                }
            }
        }
    }
    if (manual.length > 0) {
        lines.push(
            pulumi === undefined
                ? dryRun
                    ? `  Dry run, none set; once ${plan.stackLabel} is written, run these next to it; each asks for the value and does not echo it:`
                    : `  No pulumi CLI on PATH: run these next to ${plan.stackLabel}; each asks for the value and does not echo it:`
                : `  Run these next to ${plan.stackLabel}; each asks for the value and does not echo it:`,
        );
        const commands = manual.map((s) => secretCommand(plan.stack, s));
        const width = Math.max(...commands.map((c) => c.length));
        manual.forEach((s, i) => {
            lines.push(`    ${(commands[i] ?? "").padEnd(width)}  # ${s.source}`);
        });
    }
    return { lines, failed };
}

if (require.main === module) {
    exitWith(main(process.argv.slice(2)));
}
