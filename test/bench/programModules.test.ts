/**
 * What the program loads is paid by every preview (docs/bench.md): its own imports must not pull
 * in what only the tools need. Each module `index.ts` imports is loaded in a fresh Node process,
 * under the loader `Pulumi.yaml` names, and the packages loaded are listed.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { ROOT } from "../helpers";

/** The packages a fresh process loads for the modules `index.ts` imports. */
function packagesLoadedByProgramImports(): string[] {
    const source = fs.readFileSync(path.join(ROOT, "index.ts"), "utf8");
    const imports = ts.preProcessFile(source, true, false).importedFiles.map((f) => f.fileName);
    const script = `
const Module = require("module");
const loaded = new Set();
const load = Module._load;
Module._load = function (request, ...rest) {
    const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(Module._resolveFilename(request, ...rest));
    if (m) loaded.add(m[1]);
    return load.call(this, request, ...rest);
};
for (const i of ${JSON.stringify(imports)}) require(i.startsWith(".") ? require("path").resolve(i) : i);
process.stdout.write(JSON.stringify([...loaded]));
`;
    const out = execFileSync(
        process.execPath,
        ["--require", "ts-node/register/transpile-only", "-e", script],
        { cwd: ROOT, encoding: "utf8" },
    );
    return JSON.parse(out) as string[];
}

test("the program's imports load zod and the Pulumi SDKs but not the stack files' YAML parser", () => {
    const loaded = packagesLoadedByProgramImports();
    expect(loaded).toEqual(expect.arrayContaining(["@pulumi/pulumi", "@pulumi/docker", "zod"]));
    expect(loaded).not.toContain("yaml");
});
