/**
 * Compose's own reading of each corpus setup: `docker-compose config` (Debian's docker-compose
 * 1.29), saved as `compose-config.yml` beside the setup, so the corpus test compares the import with
 * compose without running it. Run after changing a setup:
 *
 *     npx ts-node --transpile-only test/import/corpus/render.ts [<case> …]
 *
 * docker-compose runs with an environment holding `PATH` only, as the import reads no shell
 * variable either. The setup's absolute path in the rendering (bind mounts, build contexts) is
 * written as `<case>`, so the files are the same on every machine, and the text is formatted with
 * Prettier, as every YAML file of the project is (`npm run lint`); the live test compares the
 * data, not the text. A setup whose `case.yml` says
 * `rendering: hand` uses syntax docker-compose 1.29 refuses; its rendering is written by hand and
 * left alone here (the live test checks that 1.29 still refuses it).
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

export const CORPUS = __dirname;
export const RENDERING = "compose-config.yml";

export interface CaseSpec {
    about: string;
    classes: (number | string)[];
    /** Values that must never appear in any output of the import. */
    secrets: string[];
    /** `hand`: docker-compose 1.29 cannot render the setup; the rendering is hand-written. */
    rendering?: "hand";
    /** `--db-service`, when the setup needs it. */
    dbService?: string;
    /** The compose service that is the database, or `none` (external mode). */
    db: string;
}

export function caseNames(): string[] {
    return fs
        .readdirSync(CORPUS, { withFileTypes: true })
        .filter((e) => e.isDirectory() && fs.existsSync(path.join(CORPUS, e.name, "case.yml")))
        .map((e) => e.name)
        .sort();
}

export function caseSpec(name: string): CaseSpec {
    return parse(fs.readFileSync(path.join(CORPUS, name, "case.yml"), "utf8")) as CaseSpec;
}

export function hasDockerCompose(): boolean {
    return spawnSync("docker-compose", ["version"], { encoding: "utf8" }).status === 0;
}

/** `docker-compose config` of one setup, paths made machine-independent; or its error. */
export function render(name: string): { ok: true; text: string } | { ok: false; error: string } {
    const dir = path.join(CORPUS, name);
    const r = spawnSync("docker-compose", ["-f", "docker-compose.yml", "config"], {
        cwd: dir,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "" },
    });
    if (r.status !== 0) {
        return { ok: false, error: (r.stderr || r.stdout).trim() };
    }
    return { ok: true, text: r.stdout.split(dir).join("<case>") };
}

/** `render`, without blocking: the live test renders every setup at once. */
export function renderAsync(
    name: string,
): Promise<{ ok: true; text: string } | { ok: false; error: string }> {
    const dir = path.join(CORPUS, name);
    return new Promise((resolve) => {
        const child = spawn("docker-compose", ["-f", "docker-compose.yml", "config"], {
            cwd: dir,
            env: { PATH: process.env.PATH ?? "" },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
        child.on("error", (e) => resolve({ ok: false, error: e.message }));
        child.on("close", (code) =>
            resolve(
                code === 0
                    ? { ok: true, text: stdout.split(dir).join("<case>") }
                    : { ok: false, error: (stderr || stdout).trim() },
            ),
        );
    });
}

/** The rendering as it is committed: Prettier's formatting of compose's text. */
export async function committedText(text: string): Promise<string> {
    // Loaded here, not with the module: the tests import this file, and Prettier's loader uses a
    // dynamic import that Jest's module system does not run.
    const prettier = await import("prettier");
    return prettier.format(text, { parser: "yaml", tabWidth: 2, printWidth: 100 });
}

/** A rendering as data (`$$` still escaped, as compose writes it). */
export function renderingData(text: string): unknown {
    return parse(text, { intAsBigInt: true });
}

async function main(names: string[]): Promise<number> {
    if (!hasDockerCompose()) {
        process.stderr.write("render: docker-compose is not on the PATH\n");
        return 1;
    }
    let failed = 0;
    for (const name of names.length > 0 ? names : caseNames()) {
        const spec = caseSpec(name);
        const r = render(name);
        if (spec.rendering === "hand") {
            process.stdout.write(
                `${name}: hand-written rendering kept (docker-compose 1.29 ${r.ok ? "now renders it: check" : "refuses it"})\n`,
            );
            continue;
        }
        if (!r.ok) {
            failed++;
            process.stderr.write(`${name}: docker-compose config failed:\n${r.error}\n`);
            continue;
        }
        fs.writeFileSync(path.join(CORPUS, name, RENDERING), await committedText(r.text));
        process.stdout.write(`${name}: ${RENDERING} written\n`);
    }
    return failed > 0 ? 1 : 0;
}

if (require.main === module) {
    void main(process.argv.slice(2)).then((code) => process.exit(code));
}
