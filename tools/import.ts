/**
 * `npm run import -- --compose <file> [--env <file>] --stack <name> [--db-service <name>]
 * [--dir <folder>] [--dry-run]`: turns a compose file and its env files into
 * `Pulumi.<stack>.yaml` (merged into an existing one), sets the secrets with
 * `pulumi config set --secret` when a `pulumi` CLI is on the PATH (or prints those commands), and
 * reports what it changed, could not map, or needs the operator's hand. Exit 0 on success, 1 on
 * bad input (nothing written), 2 on a usage error.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { ImportError, ImportPlan, planImport } from "../importer";
import { renderFindings } from "../importer/report";
import { findPulumi, secretCommand, setSecrets } from "../importer/secrets";

const USAGE =
    "usage: npm run import -- --compose <file> [--env <file>] --stack <name> [--db-service <name>] [--dir <folder>] [--dry-run]";

function main(argv: string[]): number {
    let args;
    try {
        args = parseArgs({
            args: argv,
            options: {
                compose: { type: "string" },
                env: { type: "string" },
                stack: { type: "string" },
                "db-service": { type: "string" },
                dir: { type: "string" },
                "dry-run": { type: "boolean", default: false },
                help: { type: "boolean", short: "h", default: false },
            },
            strict: true,
        }).values;
    } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n${USAGE}\n`);
        return 2;
    }
    if (args.help) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
    }
    if (args.compose === undefined || args.stack === undefined) {
        process.stderr.write(`error: --compose and --stack are required\n${USAGE}\n`);
        return 2;
    }
    let plan: ImportPlan;
    try {
        plan = planImport({
            compose: args.compose,
            env: args.env,
            stack: args.stack,
            dbService: args["db-service"],
            dir: path.resolve(args.dir ?? "."),
        });
    } catch (e) {
        if (e instanceof ImportError) {
            process.stderr.write(`error: ${e.message}\n`);
            return 1;
        }
        throw e;
    }
    const dryRun = args["dry-run"] === true;
    // In a dry run stdout carries the stack file alone, so it can be redirected; the report goes
    // to stderr. Otherwise the report is the output.
    const out = dryRun ? process.stderr : process.stdout;
    const lines: string[] = [summary(plan)];
    if (dryRun) {
        process.stdout.write(plan.text);
        lines.push(
            `Dry run: ${plan.merged ? `would merge into ${plan.stackLabel}` : `would write ${plan.stackLabel}`}; nothing written, no secret set; the stack file is on stdout.`,
        );
    } else {
        fs.writeFileSync(plan.stackFile, plan.text);
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
    out.write(`${lines.join("\n")}\n`);
    return secrets.failed ? 1 : 0;
}

function summary(plan: ImportPlan): string {
    const db =
        plan.mode === "container"
            ? `database service ${plan.dbService ?? "?"} → msa:dbMode container`
            : "no database service → msa:dbMode external";
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

process.exitCode = main(process.argv.slice(2));
