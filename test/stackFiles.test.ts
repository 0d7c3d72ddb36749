/**
 * Reading stack files without the CLI: every broken or absurd file is one clear message naming
 * the file and what is wrong, never an excerpt of the file (the next line may hold a password).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    flattenStackConfig,
    placeholderSecret,
    projectDefaults,
    readStackFile,
    StackFileError,
} from "../config/stackFiles";

const PROJECT =
    "name: msa\nruntime: nodejs\nconfig:\n  timezone:\n    type: string\n    default: UTC\n";
let dir: string;

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "msa-stackfiles-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), PROJECT);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function message(stackFile: string | undefined, projectFile?: string): string {
    if (stackFile !== undefined) {
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), stackFile);
    }
    if (projectFile !== undefined) {
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), projectFile);
    }
    try {
        readStackFile("dev", dir);
    } catch (e) {
        expect(e).toBeInstanceOf(StackFileError);
        return (e as Error).message.replace(path.relative(process.cwd(), dir) + path.sep, "");
    }
    throw new Error("expected a StackFileError");
}

describe("broken stack and project files", () => {
    test.each([
        [
            "a stack file that is a list",
            "- a\n- b\n",
            "Pulumi.dev.yaml must be a YAML map with a config: map",
        ],
        [
            "a stack file that is a scalar",
            "hello\n",
            "Pulumi.dev.yaml must be a YAML map with a config: map",
        ],
        [
            "a config: that is a list",
            "config:\n  - a\n",
            "Pulumi.dev.yaml: config must be a map of key: value",
        ],
        [
            "a YAML syntax error, without quoting the file",
            "config:\n  msa:environment: [dev\n  msa:dbPassword: hunter2\n",
            "Pulumi.dev.yaml is not valid YAML at line 3, column 3: bad indent",
        ],
        [
            "a duplicate key",
            "config:\n  msa:timezone: UTC\n  msa:timezone: Asia/Seoul\n",
            "Pulumi.dev.yaml is not valid YAML at line 3, column 3: duplicate key",
        ],
    ])("%s", (_what, text, expected) => {
        const got = message(text);
        expect(got).toBe(expected);
        expect(got).not.toContain("hunter2");
    });

    test.each([
        [
            "a Pulumi.yaml that is a list",
            "- a\n",
            "Pulumi.yaml must be a YAML map (name:, runtime:, config:)",
        ],
        [
            "a Pulumi.yaml whose config declares a bare value",
            "name: msa\nconfig:\n  foo: 1\n",
            "Pulumi.yaml: config.foo must be a declaration like {type: string, default: …}",
        ],
        [
            "a Pulumi.yaml whose config is a list",
            "name: msa\nconfig:\n  - foo\n",
            "Pulumi.yaml: config must be a map of key declarations",
        ],
    ])("%s", (_what, project, expected) => {
        expect(message("config: {}\n", project)).toBe(expected);
    });

    test("a dangling symbolic link is named as one", () => {
        fs.symlinkSync(path.join(dir, "gone.yaml"), path.join(dir, "Pulumi.dev.yaml"));
        expect(message(undefined)).toBe(
            "cannot read Pulumi.dev.yaml: it does not exist (a dangling link?)",
        );
    });

    test("a folder where the stack file should be", () => {
        fs.mkdirSync(path.join(dir, "Pulumi.dev.yaml"));
        expect(message(undefined)).toBe("cannot read Pulumi.dev.yaml: it is a folder");
    });

    test("a stack file over 1 MiB is refused before it is parsed", () => {
        const big = `config:\n  msa:services:\n${"    # padding\n".repeat(100_000)}`;
        expect(message(big)).toBe(
            `Pulumi.dev.yaml is ${Buffer.byteLength(big)} bytes; the limit is 1048576 bytes (1 MiB)`,
        );
    });

    test("a missing stack file", () => {
        expect(message(undefined)).toBe('no stack file Pulumi.dev.yaml for stack "dev"');
    });
});

describe("secret-ness as the CLI passes it", () => {
    test("a key is secret when any value inside is secure:, and only then", () => {
        const files = flattenStackConfig("dev", {
            "msa:database": { name: "app", user: { secure: "v1:x" } },
            "msa:services": { a: { image: "a", tag: "1" } },
            "msa:dbPassword": "hunter2",
            "msa:registryPassword": { secure: "v1:y" },
        });
        expect(files.secretKeys.sort()).toEqual(["msa:database", "msa:registryPassword"]);
        expect(files.missingSecrets).toEqual([]);
    });
});

test("a stack whose config Pulumi could not pass to the program (PULUMI_CONFIG ≥ 128 KiB) is refused", () => {
    const services = Array.from(
        { length: 400 },
        (_, i) =>
            `    svc${i}:\n      image: svc${i}\n      tag: 1.0.0\n      env:\n        A: "${"x".repeat(300)}"\n`,
    ).join("");
    expect(message(`config:\n  msa:services:\n${services}`)).toMatch(
        /^the config of stack dev is \d+ bytes as Pulumi passes it \(PULUMI_CONFIG\); Linux refuses one of 131072 bytes or more, so pulumi could not start the program \(pulumi\/pulumi#8680\): split the stack$/,
    );
});

describe("stack names", () => {
    test.each([
        [
            "a path",
            "../etc/passwd",
            'stack name must be letters, digits, _, . and -, got "../etc/passwd"',
        ],
        ["an empty name", "", 'stack name must be letters, digits, _, . and -, got ""'],
        [
            "a huge name, cut at 60 characters",
            `${"x".repeat(70)}/y`,
            `stack name must be letters, digits, _, . and -, got "${"x".repeat(60)}"`,
        ],
    ])("%s is refused before any file is looked for", (_what, stack, expected) => {
        expect(() => readStackFile(stack, dir)).toThrow(new StackFileError(expected));
    });

    test("letters, digits, _, . and - are a stack name", () => {
        fs.writeFileSync(path.join(dir, "Pulumi.Prod_eu-1.2.yaml"), "config: {}\n");
        expect(readStackFile("Prod_eu-1.2", dir).stack).toBe("Prod_eu-1.2");
    });
});

describe("placeholder secrets", () => {
    test("name the key, every run of other characters as one -", () => {
        expect(placeholderSecret("msa:dbPassword")).toBe("placeholder-msa-dbPassword");
        expect(placeholderSecret("msa:secretEnv.DB__PASS")).toBe(
            "placeholder-msa-secretEnv-DB-PASS",
        );
    });

    test("stand in for secure: values, and for a required secret the stack does not set", () => {
        const files = flattenStackConfig("dev", {
            "msa:secretEnv": { orders: { SPRING__DATASOURCE_PASSWORD: { secure: "v1:x" } } },
            "msa:registryPassword": { secure: "v1:y" },
        });
        expect(files.values).toEqual({
            "msa:secretEnv": JSON.stringify({
                orders: {
                    SPRING__DATASOURCE_PASSWORD:
                        "placeholder-msa-secretEnv-SPRING-DATASOURCE-PASSWORD",
                },
            }),
            "msa:registryPassword": "placeholder-msa-registryPassword",
            "msa:dbPassword": "placeholder-msa-dbPassword",
        });
        expect(files.missingSecrets).toEqual(["msa:dbPassword"]);
    });
});

describe("more broken files", () => {
    test("a stack file that is a bare alias is not a YAML document", () => {
        expect(message("*a\n")).toBe("Pulumi.dev.yaml is not a YAML document");
    });

    test("an empty Pulumi.yaml is not a map", () => {
        expect(message("config: {}\n", "")).toBe(
            "Pulumi.yaml must be a YAML map (name:, runtime:, config:)",
        );
    });

    test("a stack file that links to itself", () => {
        fs.symlinkSync("Pulumi.dev.yaml", path.join(dir, "Pulumi.dev.yaml"));
        expect(message(undefined)).toBe("cannot read Pulumi.dev.yaml: too many symbolic links");
    });

    test.each([
        ["EACCES", "permission denied"],
        [undefined, "unreadable"],
        ["EIO", "EIO"],
    ])("a file the system refuses (%s) is named with the reason", (code, reason) => {
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config: {}\n");
        // The fs module itself (what config/stackFiles.ts calls), not this file's import of it.
        const stat = jest
            .spyOn(jest.requireActual<typeof fs>("fs"), "statSync")
            .mockImplementation(() => {
                throw Object.assign(new Error("refused"), code === undefined ? {} : { code });
            });
        try {
            expect(message(undefined)).toBe(`cannot read Pulumi.dev.yaml: ${reason}`);
        } finally {
            stat.mockRestore();
        }
    });

    test("an empty stack file is a stack without config", () => {
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "");
        expect(readStackFile("dev", dir).values).toEqual({
            "msa:timezone": "UTC",
            "msa:registryPassword": "placeholder-msa-registryPassword",
            "msa:dbPassword": "placeholder-msa-dbPassword",
        });
    });

    test("a stack file of exactly 1 MiB is read", () => {
        const head = "config:\n  msa:timezone: Asia/Seoul\n";
        const text = head + "#".repeat(1024 * 1024 - head.length - 1) + "\n";
        expect(Buffer.byteLength(text)).toBe(1024 * 1024);
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), text);
        expect(readStackFile("dev", dir).values["msa:timezone"]).toBe("Asia/Seoul");
    });
});

describe("project defaults", () => {
    test("declared defaults, in the msa: namespace unless they name their own; no default, no key", () => {
        fs.writeFileSync(
            path.join(dir, "Pulumi.yaml"),
            [
                "name: msa",
                "config:",
                "  timezone:",
                "    type: string",
                "    default: UTC",
                "  production:",
                "    type: boolean",
                "    default: false",
                "  docker:host:",
                "    default: unix:///var/run/docker.sock",
                "  dbPassword:",
                "    type: string",
                "    secret: true",
                "",
            ].join("\n"),
        );
        expect(projectDefaults(dir)).toEqual({
            "msa:timezone": "UTC",
            "msa:production": false,
            "docker:host": "unix:///var/run/docker.sock",
        });
    });
});

describe("config the program sees", () => {
    test("a value of exactly 128 KiB as Pulumi passes it is refused, one byte less is not", () => {
        const flatSize = (pad: string) =>
            Buffer.byteLength(
                JSON.stringify(
                    flattenStackConfig("dev", { "msa:timezone": "UTC", "msa:pad": pad }).values,
                ),
            );
        const pad = "x".repeat(131072 - flatSize(""));
        expect(flatSize(pad)).toBe(131072);
        const write = (p: string) =>
            fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), `config:\n  msa:pad: ${p}\n`);
        write(pad);
        expect(message(undefined)).toBe(
            "the config of stack dev is 131072 bytes as Pulumi passes it (PULUMI_CONFIG); Linux refuses one of 131072 bytes or more, so pulumi could not start the program (pulumi/pulumi#8680): split the stack",
        );
        write(pad.slice(1));
        expect(readStackFile("dev", dir).values["msa:pad"]).toBe(pad.slice(1));
    });

    test("decrypted secrets: a string as it is, anything else as JSON, all secret", () => {
        const files = flattenStackConfig(
            "dev",
            { "msa:timezone": "UTC" },
            { "msa:dbPassword": "hunter2", "msa:secretEnv": { orders: { API_TOKEN: "t0ken" } } },
        );
        expect(files.values).toEqual({
            "msa:timezone": "UTC",
            "msa:dbPassword": "hunter2",
            "msa:secretEnv": '{"orders":{"API_TOKEN":"t0ken"}}',
            "msa:registryPassword": "placeholder-msa-registryPassword",
        });
        expect(files.secretKeys.sort()).toEqual([
            "msa:dbPassword",
            "msa:registryPassword",
            "msa:secretEnv",
        ]);
    });

    test("only a map whose one key is secure: is a secret; null is a value", () => {
        const files = flattenStackConfig("dev", {
            "msa:database": { secure: "v1:x", note: "kept" },
            "msa:namePrefix": null,
        });
        expect(files.values["msa:database"]).toBe('{"secure":"v1:x","note":"kept"}');
        expect(files.values["msa:namePrefix"]).toBe("null");
        expect(files.secretKeys.sort()).toEqual(["msa:dbPassword", "msa:registryPassword"]);
    });
});
