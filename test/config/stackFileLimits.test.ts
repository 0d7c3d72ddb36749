/**
 * The limits and secret rules `readStackFile` takes from the schema's module-level constants
 * (`LIMITS`, `SECRET_KEYS`): a stack file over 1 MiB, a config of 128 KiB as Pulumi passes it, and
 * placeholders for the required secrets a stack does not set. Every case reads with a fresh load
 * of `config/stackFiles.ts` (`./freshConfig`), since mutation testing credits a change to a
 * module-level constant only to tests that load it.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { freshStackFiles } from "./freshConfig";

let dir: string;

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "msa-stacklimits-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: msa\nruntime: nodejs\n");
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const writeStackFile = (text: string) => fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), text);
const shownDir = () => path.relative(process.cwd(), dir);

/** The message `readStackFile` of a fresh load throws, as a `StackFileError` of that load. */
function errorOf(): string {
    const { readStackFile, StackFileError } = freshStackFiles();
    try {
        readStackFile("dev", dir);
    } catch (e) {
        expect(e).toBeInstanceOf(StackFileError);
        return (e as Error).message;
    }
    throw new Error("expected a StackFileError");
}

describe("a stack file is read up to 1 MiB", () => {
    const head = "config:\n  msa:timezone: Asia/Seoul\n";
    const padded = (bytes: number) => head + "#".repeat(bytes - head.length - 1) + "\n";

    test("exactly 1 MiB is read", () => {
        writeStackFile(padded(1024 * 1024));
        expect(freshStackFiles().readStackFile("dev", dir).values["msa:timezone"]).toBe(
            "Asia/Seoul",
        );
    });

    test("one byte more is refused before it is parsed", () => {
        writeStackFile(padded(1024 * 1024 + 1));
        expect(errorOf()).toBe(
            `${path.join(shownDir(), "Pulumi.dev.yaml")} is 1048577 bytes; the limit is 1048576 bytes (1 MiB)`,
        );
    });
});

describe("the config as Pulumi passes it stays under 128 KiB", () => {
    /** A stack whose flat config (as JSON) is `bytes` long. */
    function writeConfigOf(bytes: number): string {
        const { flattenStackConfig } = freshStackFiles();
        const size = (pad: string) =>
            Buffer.byteLength(JSON.stringify(flattenStackConfig("dev", { "msa:pad": pad }).values));
        const pad = "x".repeat(bytes - size(""));
        writeStackFile(`config:\n  msa:pad: ${pad}\n`);
        return pad;
    }

    test("131071 bytes are read", () => {
        const pad = writeConfigOf(131071);
        expect(freshStackFiles().readStackFile("dev", dir).values["msa:pad"]).toBe(pad);
    });

    test("131072 bytes are refused", () => {
        writeConfigOf(131072);
        expect(errorOf()).toBe(
            "the config of stack dev is 131072 bytes as Pulumi passes it (PULUMI_CONFIG); Linux refuses one of 131072 bytes or more, so pulumi could not start the program (pulumi/pulumi#8680): split the stack",
        );
    });
});

describe("required secrets the stack does not set get placeholders", () => {
    test("both passwords, not msa:secretEnv", () => {
        writeStackFile("config:\n  msa:timezone: UTC\n");
        expect(freshStackFiles().readStackFile("dev", dir)).toEqual({
            stack: "dev",
            values: {
                "msa:timezone": "UTC",
                "msa:registryPassword": "placeholder-msa-registryPassword",
                "msa:dbPassword": "placeholder-msa-dbPassword",
            },
            secretKeys: ["msa:registryPassword", "msa:dbPassword"],
            missingSecrets: ["msa:registryPassword", "msa:dbPassword"],
        });
    });

    test("a password the stack sets is kept", () => {
        writeStackFile("config:\n  msa:dbPassword:\n    secure: AAABAJ\n");
        const read = freshStackFiles().readStackFile("dev", dir);
        expect(read.values).toEqual({
            "msa:dbPassword": "placeholder-msa-dbPassword",
            "msa:registryPassword": "placeholder-msa-registryPassword",
        });
        expect(read.missingSecrets).toEqual(["msa:registryPassword"]);
    });
});
