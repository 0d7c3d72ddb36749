/**
 * The only place that reads `pulumi.Config`: validates the whole stack config before the program
 * declares anything, and hands the secrets on as secret Outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { readConfigMap } from "./read";
import { PROJECT } from "./schema";
import { StackConfig, validateStackConfig } from "./validate";

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
    const { raw, secrets } = readConfigMap(pulumi.runtime.allConfig());
    const result = validateStackConfig(pulumi.getStack(), raw, secrets);
    if (!result.ok) {
        throw new InvalidStackConfig(result.errors);
    }
    const config = new pulumi.Config(PROJECT);
    const secretEnv = result.config.secretEnvNames;
    return {
        cfg: result.config,
        dbPassword: config.requireSecret("dbPassword"),
        registryPassword: config.requireSecret("registryPassword"),
        secretEnv:
            Object.keys(secretEnv).length > 0
                ? config.requireSecretObject<Record<string, Record<string, string>>>("secretEnv")
                : pulumi.secret<Record<string, Record<string, string>>>({}),
        dockerHost: new pulumi.Config("docker").get("host"),
    };
}
