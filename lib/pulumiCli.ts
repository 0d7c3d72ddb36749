/** Finding the Pulumi CLI: the tools that can use it (import, local) say so when it is missing. */
import * as fs from "fs";
import * as path from "path";

/** The `pulumi` executable on `PATH`, if any. */
export function findPulumi(envPath = process.env.PATH ?? ""): string | undefined {
    for (const dir of envPath.split(path.delimiter)) {
        if (dir === "") {
            continue;
        }
        const candidate = path.join(dir, "pulumi");
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile()) {
                return candidate;
            }
        } catch {
            // not here
        }
    }
    return undefined;
}
