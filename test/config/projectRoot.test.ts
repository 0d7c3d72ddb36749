/**
 * How the project root is found: the folder holding `Pulumi.yaml`, walking up from where the code
 * is; compiled outside any checkout, the folder Pulumi runs the program from, else the folder above
 * `config/`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { projectRoot } from "../../config/projectRoot";

/** This checkout (or Stryker's sandbox of it): the folder above `config/`. */
const CHECKOUT = path.resolve(__dirname, "..", "..");

let tmp: string;
let cwd: string;

beforeEach(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "msa-root-")));
    cwd = process.cwd();
});
afterEach(() => {
    process.chdir(cwd);
    fs.rmSync(tmp, { recursive: true, force: true });
});

/** `tmp/<rel>`, created, with a `Pulumi.yaml` in it when asked. */
function folder(rel: string, pulumiYaml = false): string {
    const dir = path.join(tmp, rel);
    fs.mkdirSync(dir, { recursive: true });
    if (pulumiYaml) {
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: msa\nruntime: nodejs\n");
    }
    return dir;
}

test("the folder that holds Pulumi.yaml, from itself", () => {
    const project = folder("project", true);
    expect(projectRoot(project)).toBe(project);
});

test("the nearest folder above with Pulumi.yaml, from a subfolder (compiled into bin/)", () => {
    const project = folder("project", true);
    folder("project/bin/config");
    expect(projectRoot(path.join(project, "bin", "config"))).toBe(project);
});

test("the nearest one wins over one further up", () => {
    folder("outer", true);
    const inner = folder("outer/inner", true);
    expect(projectRoot(folder("outer/inner/lib"))).toBe(inner);
});

test("this checkout's root by default", () => {
    expect(projectRoot()).toBe(CHECKOUT);
});

describe("compiled outside any project (no Pulumi.yaml up to /)", () => {
    test("the working folder, when Pulumi runs the program from the project folder", () => {
        const elsewhere = folder("elsewhere/dist");
        const project = folder("project", true);
        process.chdir(project);
        expect(projectRoot(elsewhere)).toBe(project);
    });

    test("else the folder above config/, not the working folder", () => {
        const elsewhere = folder("elsewhere/dist");
        process.chdir(folder("not-a-project"));
        expect(projectRoot(elsewhere)).toBe(CHECKOUT);
    });
});
