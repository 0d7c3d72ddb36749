/**
 * `loadStackConfig`, the one reader of `pulumi.Config`, on the real stack files as the CLI would
 * pass them: the validated config, every problem at once in one error, and the secrets handed on
 * as secret Outputs (an absent registry password too, so no plain value stands in for one).
 */
import * as pulumi from "@pulumi/pulumi";
import { InvalidStackConfig, LoadedConfig, loadStackConfig } from "../../config/pulumiConfig";
import { flattenStackConfig, readStackFile } from "../../config/stackFiles";

/** The value and secret-ness of an Output. */
async function reveal<T>(o: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
    const value = await new Promise<T>((resolve) => o.apply(resolve));
    return { value, secret: await pulumi.isSecret(o) };
}

/** Runs `loadStackConfig` as a program of `stack` would, with `values` as the CLI's config. */
function loadWith(
    stack: string,
    values: Record<string, string>,
    secretKeys: string[],
): LoadedConfig {
    void pulumi.runtime.setMocks(
        {
            newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
            call: (a) => a.inputs,
        },
        "msa",
        stack,
        false,
    );
    pulumi.runtime.setAllConfig(values, secretKeys);
    return loadStackConfig();
}

function loadStack(stack: string, extra: Record<string, string> = {}): LoadedConfig {
    const files = readStackFile(stack);
    return loadWith(stack, { ...files.values, ...extra }, files.secretKeys);
}

afterAll(() => pulumi.runtime.setAllConfig({}, []));

describe("a stack without a registry (local)", () => {
    test("validated config of the stack Pulumi runs", () => {
        const { cfg } = loadStack("local");
        expect(cfg.stack).toBe("local");
        expect(cfg.environment).toBe("local");
        expect(cfg.registry).toBeUndefined();
        expect(Object.keys(cfg.services)).toEqual(["example"]);
    });

    test("the registry password is an empty secret, not read from config", async () => {
        expect(await reveal(loadStack("local").registryPassword)).toEqual({
            value: "",
            secret: true,
        });
    });

    test("the database password is the config's, as a secret", async () => {
        expect(await reveal(loadStack("local").dbPassword)).toEqual({
            value: "placeholder-msa-dbPassword",
            secret: true,
        });
    });

    test("no msa:secretEnv: an empty secret map", async () => {
        expect(await reveal(loadStack("local").secretEnv)).toEqual({ value: {}, secret: true });
    });

    test("docker:host unset means the local engine", () => {
        expect(loadStack("local").dockerHost).toBeUndefined();
    });

    test("docker:host names the engine to deploy to", () => {
        expect(loadStack("local", { "docker:host": "ssh://deploy@docker-1" }).dockerHost).toBe(
            "ssh://deploy@docker-1",
        );
    });
});

describe("a stack with a registry (dev)", () => {
    test("the registry password is the config's, as a secret", async () => {
        const loaded = loadStack("dev");
        expect(loaded.cfg.registry?.namespace).toBe("my-group");
        expect(await reveal(loaded.registryPassword)).toEqual({
            value: "placeholder-msa-registryPassword",
            secret: true,
        });
    });

    test("msa:secretEnv is read whole, as a secret", async () => {
        const secretEnv = { SERVICE_B: { API_TOKEN: "t0ken" } };
        const files = readStackFile("dev", undefined, { "msa:secretEnv": secretEnv });
        const loaded = loadWith("dev", files.values, files.secretKeys);
        expect(loaded.cfg.secretEnvNames).toEqual({ SERVICE_B: ["API_TOKEN"] });
        expect(await reveal(loaded.secretEnv)).toEqual({ value: secretEnv, secret: true });
    });
});

describe("a bad config", () => {
    /** `msa:` values on top of the local stack's. */
    function problems(values: Record<string, unknown>): InvalidStackConfig {
        const files = readStackFile("local");
        const extra = flattenStackConfig("local", values);
        try {
            loadWith("local", { ...files.values, ...extra.values }, [
                ...files.secretKeys,
                ...extra.secretKeys,
            ]);
        } catch (e) {
            expect(e).toBeInstanceOf(InvalidStackConfig);
            expect(e).toBeInstanceOf(pulumi.RunError);
            return e as InvalidStackConfig;
        }
        throw new Error("expected an InvalidStackConfig");
    }

    test("one problem: named, with its message", () => {
        const e = problems({ "msa:timezone": "Mars/Olympus" });
        expect(e.errors).toHaveLength(1);
        expect(e.message).toBe(`invalid stack config (1 problem):\n  - ${e.errors[0]}`);
        expect(e.errors[0]).toMatch(/^msa:timezone /);
    });

    test("every problem at once, one per line", () => {
        const e = problems({ "msa:timezone": "Mars/Olympus", "msa:production": "yes" });
        expect(e.errors).toHaveLength(2);
        expect(e.message).toBe(
            `invalid stack config (2 problems):\n  - ${e.errors.join("\n  - ")}`,
        );
    });

    test("a secret's value never reaches the message", () => {
        const e = problems({ "msa:environment": { secure: "v1:hunter2" } });
        expect(e.message).toBe(
            "invalid stack config (1 problem):\n  - msa:environment is set as a secret, but it cannot be one (it names, labels or switches things); set it without --secret: pulumi config set msa:environment <value>",
        );
    });
});
