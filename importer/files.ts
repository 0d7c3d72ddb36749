/** Reading the operator's files: a clear `ImportError` naming the file when one cannot be read. */
import * as fs from "fs";
import { ImportError } from "./report";

export function readText(file: string, label: string, what: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const reason =
            err.code === "ENOENT"
                ? "no such file"
                : err.code === "EISDIR"
                  ? "it is a folder"
                  : err.code === "EACCES"
                    ? "permission denied"
                    : err.message;
        throw new ImportError(`cannot read ${what} ${label}: ${reason}`);
    }
}
