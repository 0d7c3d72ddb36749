/**
 * A saved plan: the file `npm run plan -- --stack <name> --json` writes. Read back by
 * `npm run policy -- <plan.json>` and `npm run plan -- --base <plan.json>`, validated with zod so
 * that a file that is not a plan is one clear line, never a crash.
 */
import * as fs from "fs";
import { z } from "zod";
import { CommandError } from "../tools/cli";

export const planSchema = z.object({
    stack: z.string().min(1),
    resources: z.array(
        z.object({
            type: z.string().min(1),
            name: z.string().min(1),
            parent: z.string().nullable(),
            inputs: z.record(z.string(), z.unknown()),
            protect: z.boolean(),
            retainOnDelete: z.boolean(),
            deleteBeforeReplace: z.boolean().optional(),
            dependsOn: z.array(z.string()),
        }),
    ),
    outputs: z.unknown(),
    warnings: z.array(z.string()),
});

export type SavedPlan = z.infer<typeof planSchema>;

/** The plan in `file`, or a `CommandError` that says in one line why it is not one. */
export function readPlan(file: string): SavedPlan {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new CommandError(
            `cannot read ${file}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (e as Error).message}`,
        );
    }
    let json: unknown;
    try {
        json = JSON.parse(text) as unknown;
    } catch (e) {
        // Node quotes the start of the text, line breaks included: keep the message one line.
        throw new CommandError(`${file} is not JSON: ${(e as Error).message.replace(/\s+/g, " ")}`);
    }
    const parsed = planSchema.safeParse(json);
    if (!parsed.success) {
        const issues = parsed.error.issues;
        const first = issues[0];
        const at =
            first === undefined || first.path.length === 0 ? "" : `${first.path.join(".")}: `;
        const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
        throw new CommandError(
            `${file} is not a saved plan (npm run plan -- --stack <name> --json): ${at}${first?.message ?? "invalid"}${more}`,
        );
    }
    return parsed.data;
}
