/** Shared by the import tests: the legacy example, temp folders, the CLI as a child process. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { ROOT } from "../helpers";

/** The legacy set as shipped with the project (never ../shared). */
export const LEGACY = path.join(ROOT, "examples", "legacy-compose");
export const FIXTURES = path.join(__dirname, "fixtures");
/** The legacy DB password (`DB_PASSWORD=0000` in .env.db.postgres): must never leak. */
export const LEGACY_PASSWORD = "0000";

export interface ComposeService {
    container_name?: string;
    image: string;
    restart?: string;
    environment?: Record<string, string>;
    ports?: { published: number; target: number }[];
    volumes?: string[];
    depends_on?: Record<string, { condition: string }>;
    healthcheck?: { test: string[]; interval: string; timeout: string; retries: number };
}

/** What `docker-compose config` (1.29) renders for a legacy file: compose's own reading of it. */
export function composeReference(file: string): Record<string, ComposeService> {
    const text = fs.readFileSync(
        path.join(FIXTURES, file.replace(/\.yml$/, ".config.yml")),
        "utf8",
    );
    return (parse(text) as { services: Record<string, ComposeService> }).services;
}

export function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "msa-import-"));
}

/** A copy of the legacy set in a temp folder, to break on purpose. */
export function legacyCopy(): string {
    const dir = tempDir();
    fs.cpSync(LEGACY, dir, { recursive: true });
    return dir;
}

export function readConfig(file: string): Record<string, unknown> {
    return (parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
}

export interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

/**
 * `tools/import.ts` through ts-node, as `npm run import` runs it, with `PATH` set to `binDir`
 * alone (so a `pulumi` on the machine cannot interfere; node is called by its full path).
 */
export function runImport(args: string[], binDir: string): Run {
    const r = spawnSync(
        process.execPath,
        [require.resolve("ts-node/dist/bin.js"), "--transpile-only", "tools/import.ts", ...args],
        { cwd: ROOT, encoding: "utf8", env: { ...process.env, PATH: binDir } },
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
