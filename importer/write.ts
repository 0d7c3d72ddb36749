/**
 * Writing the stack file all at once: the text goes to a temporary file beside it, which then
 * replaces it by a rename (atomic on one filesystem), so a failed write (a full disk, a folder in
 * the way) leaves the existing file as it was, never truncated.
 */
import * as fs from "fs";
import * as path from "path";
import { ImportError } from "./report";

/** The file operations it needs; tests pass failing ones. */
export interface WriteFs {
    writeFileSync(file: string, text: string, options: { flag: string; mode: number }): void;
    renameSync(from: string, to: string): void;
    rmSync(file: string, options: { force: boolean }): void;
}

export function writeAtomic(file: string, text: string, label: string, io: WriteFs = fs): void {
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    try {
        io.writeFileSync(temp, text, { flag: "wx", mode: modeOf(file) });
        io.renameSync(temp, file);
    } catch (e) {
        try {
            io.rmSync(temp, { force: true });
        } catch {
            // Nothing more to clean up.
        }
        const err = e as NodeJS.ErrnoException;
        throw new ImportError(
            `cannot write ${label}: ${err.code ?? err.message}; ${fs.existsSync(file) ? "the existing file is unchanged" : "nothing was written"}, and no secret was set`,
        );
    }
}

/** The existing file's permissions, so a rename does not loosen them. */
function modeOf(file: string): number {
    try {
        return fs.statSync(file).mode & 0o777;
    } catch {
        return 0o644;
    }
}
