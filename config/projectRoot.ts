/**
 * Where the project is. Apart from the stack-file reader (`stackFiles.ts`), so the program, which
 * needs the folder but never reads a YAML file, does not load a YAML parser in every preview.
 */
import * as fs from "fs";
import * as path from "path";

/**
 * The folder holding `Pulumi.yaml`, found by walking up from this file, so the answer is the same
 * from the TypeScript sources and from JavaScript compiled into a subfolder (`bin/`) or elsewhere.
 */
export function projectRoot(start = __dirname): string {
    for (let dir = start; ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
            return dir;
        }
        if (path.dirname(dir) === dir) {
            // Compiled outside the checkout: Pulumi runs programs from the project folder.
            return fs.existsSync(path.join(process.cwd(), "Pulumi.yaml"))
                ? process.cwd()
                : path.resolve(__dirname, "..");
        }
    }
}
