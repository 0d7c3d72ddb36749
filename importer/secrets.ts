/**
 * Secrets go to `pulumi config set --secret`, the value on stdin, never on a command line, in a
 * file or in the output. Without a `pulumi` CLI on the PATH the import prints the commands; run
 * without a value, `pulumi config set --secret` asks for it and does not echo what is typed.
 */
import { spawnSync } from "child_process";
import type { SecretValue } from "./mapping";

export { findPulumi } from "../lib/pulumiCli";

/** The arguments after `pulumi`. */
export function secretArgs(stack: string, s: SecretValue): string[] {
    return ["config", "set", "--secret", "--stack", stack, ...(s.path ? ["--path"] : []), s.key];
}

/** The command as an operator types it (the key quoted when it holds a path). */
export function secretCommand(stack: string, s: SecretValue): string {
    return [
        "pulumi",
        ...secretArgs(stack, s).map((a) => (a === s.key && s.path ? `'${a}'` : a)),
    ].join(" ");
}

export interface SetResult {
    key: string;
    ok: boolean;
    /** Pulumi's own message on failure (it never contains the value: it is not on the command line). */
    error?: string;
}

/** Sets each secret that has a value with the CLI, in `cwd` (the folder of the stack file). */
export function setSecrets(
    pulumi: string,
    stack: string,
    cwd: string,
    secrets: readonly SecretValue[],
): SetResult[] {
    return secrets.flatMap((s) => {
        if (s.value === undefined) {
            return [];
        }
        const r = spawnSync(pulumi, secretArgs(stack, s), {
            cwd,
            input: s.value,
            encoding: "utf8",
            stdio: ["pipe", "pipe", "pipe"],
        });
        const ok = r.status === 0;
        const error = ok
            ? undefined
            : (r.error?.message ?? r.stderr.trim().split("\n").pop() ?? `exit ${String(r.status)}`);
        return [{ key: s.key, ok, error: error === undefined ? undefined : scrub(error, s.value) }];
    });
}

/** Belt and braces: a CLI message must never carry the value back into our output. */
function scrub(text: string, value: string): string {
    return value.length > 0 ? text.split(value).join("[secret]") : text;
}
