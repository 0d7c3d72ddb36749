/** docs/import.md shows the exact output of the import on the legacy set: keep it true. */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../helpers";
import { runImport, tempDir } from "./helpers";

const DOC = fs.readFileSync(path.join(ROOT, "docs", "import.md"), "utf8");

/** The fenced block right after `<!-- import:<name> -->`. */
function block(name: string): string {
    const m = new RegExp(`<!-- import:${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\`\\n`).exec(
        DOC,
    );
    if (m?.[1] === undefined) {
        throw new Error(`no block ${name} in docs/import.md`);
    }
    return m[1];
}

test.each([
    ["legacy", "docker-compose.yml"],
    ["legacy-ext", "docker-compose.external-db.yml"],
])("the documented output of --stack %s is the real one", (stack, file) => {
    const dir = tempDir();
    const run = runImport(
        [
            "--compose",
            `examples/legacy-compose/${file}`,
            "--stack",
            stack,
            "--dir",
            dir,
            "--dry-run",
        ],
        tempDir(),
    );
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(block(`${stack}:stdout`));
    expect(run.stderr).toBe(block(`${stack}:stderr`));
});
