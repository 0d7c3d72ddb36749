/**
 * The only place that reads `pulumi.Config`: validates the whole stack config before the program
 * declares anything, and hands the secrets on as secret Outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { readConfigMap } from "./read";
import { PROJECT, type StackConfig } from "./schema";
import { validateStackConfig } from "./validate";

/** A config error: Pulumi prints a `RunError` without a stack trace. Carries every problem. */
export class InvalidStackConfig extends pulumi.RunError {
    constructor(public readonly errors: string[]) {
        super(
            `invalid stack config (${errors.length} problem${errors.length === 1 ? "" : "s"}):\n  - ${errors.join("\n  - ")}`,
        );
    }
}

export interface LoadedConfig {
    cfg: StackConfig;
    dbPassword: pulumi.Output<string>;
    registryPassword: pulumi.Output<string>;
    /** Secret env per service; every value is secret. */
    secretEnv: pulumi.Output<Record<string, Record<string, string>>>;
    /** `docker:host`: the Docker engine the stack deploys to; unset means the local one. */
    dockerHost: string | undefined;
}

export function loadStackConfig(): LoadedConfig {
    const input = readConfigMap(pulumi.getStack(), pulumi.runtime.allConfig(), isConfigSecret);
    const result = validateStackConfig(input);
    if (!result.ok) {
        throw new InvalidStackConfig(result.errors);
    }
    const config = new pulumi.Config(PROJECT);
    const hasSecretEnv = Object.keys(result.config.secretEnvNames).length > 0;
    return {
        cfg: result.config,
        dbPassword: config.requireSecret("dbPassword"),
        registryPassword:
            result.config.registry === undefined
                ? pulumi.secret("")
                : config.requireSecret("registryPassword"),
        secretEnv: hasSecretEnv
            ? config.requireSecretObject<Record<string, Record<string, string>>>("secretEnv")
            : pulumi.secret<Record<string, Record<string, string>>>({}),
        dockerHost: new pulumi.Config("docker").get("host"),
    };
}

/**
 * Pulumi's own word on which keys hold secrets (the CLI passes the list with the config). The SDK
 * marks the function internal but exports it; `Config.get` on such a key only logs a warning.
 */
function isConfigSecret(fullKey: string): boolean {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as {
        isConfigSecret(k: string): boolean;
    };
    return runtimeConfig.isConfigSecret(fullKey);
}
