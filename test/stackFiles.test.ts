/**
 * Reading stack files without the CLI: every broken or absurd file is one clear message naming
 * the file and what is wrong, never an excerpt of the file (the next line may hold a password).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { flattenStackConfig, readStackFile, StackFileError } from "../config/stackFiles";

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
