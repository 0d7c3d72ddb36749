/**
 * A tag for an image built from a folder, derived from what goes into the build: every file of
 * the context (path and content) and the build arguments. The same commit always yields the same
 * tag, so a deploy and a later preview of that commit agree, and CI never has to write a tag into
 * stack config.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export function contextTag(context: string, buildArgs: Record<string, string> = {}): string {
    const hash = crypto.createHash("sha256");
    for (const file of listFiles(context)) {
        hash.update(`file ${file}\0`);
        hash.update(fs.readFileSync(path.join(context, file)));
        hash.update("\0");
    }
    for (const key of Object.keys(buildArgs).sort()) {
        hash.update(`arg ${key}=${buildArgs[key]}\0`);
    }
    return `src-${hash.digest("hex").slice(0, 12)}`;
}

/** Files below `dir`, as sorted relative paths with `/`, so the hash is the same on every OS. */
function listFiles(dir: string, prefix = ""): string[] {
    return fs
        .readdirSync(path.join(dir, prefix), { withFileTypes: true })
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .flatMap((entry) => {
            const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
            return entry.isDirectory() ? listFiles(dir, rel) : entry.isFile() ? [rel] : [];
        });
}
