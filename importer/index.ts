/**
 * The import as one pure step: compose + env files + an existing stack file in, the new stack
 * file text, the secrets to set and the report out. Nothing is written here; `tools/import.ts`
 * writes only when this returns, so bad input writes nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { readConfigMap } from "../config/read";
import { PROJECT } from "../config/schema";
import { flattenStackConfig, projectDefaults } from "../config/stackFiles";
import { validateStackConfig } from "../config/validate";
import { readComposeFile } from "./compose";
import { envLookup, EnvFile, readEnvFile } from "./envFiles";
import { mapCompose, Mapped, SecretValue } from "./mapping";
import { Finding, ImportError } from "./report";
import { readText } from "./files";
import { mergeStackYaml } from "./stackYaml";

export { ImportError } from "./report";
export type { Finding } from "./report";
export type { SecretValue } from "./mapping";

export interface ImportOptions {
    /** The compose file (absolute, or relative to the working directory). */
    compose: string;
    /** The `.env` compose substitutes from. Default: `.env` beside the compose file, if any. */
    env?: string;
    stack: string;
    dbService?: string;
    /** Folder of `Pulumi.<stack>.yaml`. */
    dir: string;
}

export interface ImportPlan {
    stack: string;
    /** How the compose files were read, for the report. */
    reader: string;
    stackFile: string;
    stackLabel: string;
    /** True when the stack file existed and was merged into. */
    merged: boolean;
    /** The new stack file. */
    text: string;
    /** Its `config:` block as data. */
    config: Record<string, unknown>;
    mode: Mapped["mode"];
    dbService?: string;
    services: string[];
    secrets: SecretValue[];
    findings: Finding[];
    /** The files read, as the report names them. */
    sources: string[];
    /** Replaces every secret value the import has seen in a text: for every line it prints. */
    redact: (text: string) => string;
}

/**
 * The import reads compose files itself, by docker-compose 1.29's rules (python-dotenv's env
 * files, compose's interpolation and `extends` merge, PyYAML's numbers), and never runs
 * docker-compose: the result is the same on every machine, whatever is installed, every value
 * keeps its file and line for the report, and 2,000 services take well under the 1.5 s
 * docker-compose 1.29 needs to start. The tests hold this reading to docker-compose's own
 * rendering of a corpus of compose setups (`test/import/corpus/`).
 */
export const READER =
    "the import's own reader, by docker-compose 1.29's rules (docker-compose itself is not run)";

const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

export function planImport(opts: ImportOptions): ImportPlan {
    if (!STACK_NAME.test(opts.stack)) {
        throw new ImportError(
            `--stack must be letters, digits, _, . and -, got ${JSON.stringify(opts.stack)}`,
        );
    }
    checkDir(opts.dir);
    const composePath = path.resolve(opts.compose);
    const composeDir = path.dirname(composePath);
    const label = (file: string) => path.relative(composeDir, file) || path.basename(file);
    const envPath =
        opts.env !== undefined
            ? path.resolve(opts.env)
            : fs.existsSync(path.join(composeDir, ".env"))
              ? path.join(composeDir, ".env")
              : undefined;
    if (!fs.existsSync(composePath)) {
        // Named first: a missing compose file is the likelier mistake than its .env.
        throw new ImportError(`cannot read compose file ${opts.compose}: no such file`);
    }
    const dotenv: EnvFile | undefined =
        envPath === undefined ? undefined : readEnvFile(envPath, label(envPath), ".env file");
    const compose = readComposeFile(
        composePath,
        envLookup(dotenv),
        dotenv?.label ?? "any .env file (there is none beside the compose file; pass --env)",
    );
    const sources = [compose.label, ...(dotenv ? [dotenv.label] : [])];
    for (const f of compose.files.slice(1)) {
        if (!sources.includes(f)) {
            sources.push(f);
        }
    }
    const mapped = mapCompose({
        compose,
        dotenv,
        stack: opts.stack,
        dbService: opts.dbService,
        projectDir: opts.dir,
        readEnv: (file) => {
            const env = readEnvFile(
                path.resolve(composeDir, file),
                path.normalize(file),
                "env_file",
                compose.label,
            );
            if (!sources.includes(env.label)) {
                sources.push(env.label);
            }
            return env;
        },
    });

    const stackLabel = `Pulumi.${opts.stack}.yaml`;
    const stackFile = path.join(opts.dir, stackLabel);
    const existing = readStackFile(stackFile, stackLabel);
    const header = [
        ` Imported from ${sources.join(", ")} by \`npm run import\`.`,
        ` Secrets are not in this file; set them with pulumi config set --secret (the import prints how).`,
    ].join("\n");
    const redact = (text: string) => mapped.secretValues.redact(text);
    let result: ReturnType<typeof mergeStackYaml>;
    try {
        result = mergeStackYaml({
            existing,
            label: stackLabel,
            config: mapped.config,
            weak: mapped.weak,
            header,
            secrets: mapped.secrets.filter((s) => s.value !== undefined).map((s) => s.key),
        });
        validate(opts.stack, result.config, mapped.secrets);
    } catch (e) {
        throw e instanceof ImportError ? new ImportError(redact(e.message)) : e;
    }
    const production = productionFinding(opts.stack, result.config, stackLabel);

    /** A placeholder finding whose keys the stack file already set: nothing to do. */
    const kept = (at: string) =>
        at
            .split(", ")
            .every(
                (k) =>
                    k.startsWith(`${PROJECT}:`) &&
                    result.keptWeak.includes(k.slice(PROJECT.length + 1)),
            );
    return {
        stack: opts.stack,
        reader: READER,
        stackFile,
        stackLabel,
        merged: existing !== undefined,
        text: result.text,
        config: result.config,
        mode: mapped.mode,
        dbService: mapped.dbService,
        services: mapped.services,
        secrets: mapped.secrets,
        findings: [
            ...mapped.findings.filter((f) => !kept(f.at)),
            ...result.findings,
            ...production,
        ].map((f) => ({ ...f, at: redact(f.at), message: redact(f.message) })),
        sources,
        redact,
    };
}

/** `--dir` must be a folder: a missing one is bad input, not a failed write later. */
function checkDir(dir: string): void {
    let stat: fs.Stats;
    try {
        stat = fs.statSync(dir);
    } catch {
        throw new ImportError(`--dir ${dir}: no such folder`);
    }
    if (!stat.isDirectory()) {
        throw new ImportError(`--dir ${dir} is not a folder`);
    }
}

/**
 * The existing stack file, if any. A folder at its path, a symbolic link (writing would change the
 * file it points at, maybe another stack's) or an unreadable file stop the import: nothing is
 * written.
 */
function readStackFile(file: string, label: string): { text: string } | undefined {
    let stat: fs.Stats;
    try {
        stat = fs.lstatSync(file);
    } catch {
        return undefined;
    }
    if (stat.isSymbolicLink()) {
        throw new ImportError(
            `${label} is a symbolic link (to ${fs.readlinkSync(file)}); the import does not write through links: run it with --dir set to the folder of the file itself`,
        );
    }
    if (stat.isDirectory()) {
        throw new ImportError(`${label} is a folder; the import writes a file there: move it away`);
    }
    if (!stat.isFile()) {
        throw new ImportError(`${label} is not a regular file; the import writes a file there`);
    }
    return { text: readText(file, label, "stack file") };
}

/**
 * `msa:production` defaults to true: an imported stack is under the production rules unless its
 * file says otherwise, which compose users do not expect. The report says what that means.
 */
function productionFinding(
    stack: string,
    config: Record<string, unknown>,
    label: string,
): Finding[] {
    if (config[`${PROJECT}:production`] !== undefined) {
        return [];
    }
    return [
        {
            kind: "action",
            file: label,
            at: `${PROJECT}:production`,
            message: `not set, so stack ${stack} is a production stack (the default): the policy pack requires every image pinned (a version or commit id, not latest; pulled images and the DB base image by digest) and the DB volume and container are protected from deletion (msa:protect); a dev or test stack opts out with msa:production: false: pulumi config set --stack ${stack} ${PROJECT}:production false`,
        },
    ];
}

/**
 * The same validation the program runs, on the merged stack file as Pulumi would hand it over:
 * the secrets the import sets with `pulumi config set --secret` count as present and as secret
 * (so are those the stack file already holds as `secure:`). Values of secrets are never passed in.
 */
function validate(stack: string, config: Record<string, unknown>, secrets: SecretValue[]): void {
    const withSecrets: Record<string, unknown> = { ...config };
    const secretEnv = structuredClone(
        (isObj(config[`${PROJECT}:secretEnv`]) ? config[`${PROJECT}:secretEnv`] : {}) as Record<
            string,
            Record<string, unknown>
        >,
    );
    const setByImport = { secure: "set by the import" };
    for (const s of secrets) {
        const m = /^msa:secretEnv\.([^.]+)\.(.+)$/.exec(s.key);
        if (m !== null) {
            const [, svc = "", name = ""] = m;
            secretEnv[svc] = { ...(secretEnv[svc] ?? {}), [name]: setByImport };
        } else if (s.value !== undefined) {
            withSecrets[s.key] = setByImport;
        }
    }
    if (Object.keys(secretEnv).length > 0) {
        withSecrets[`${PROJECT}:secretEnv`] = secretEnv;
    }
    // `secure:` values (and placeholders for required secrets left to the operator) are what
    // Pulumi would list as secret keys.
    const flat = flattenStackConfig(stack, { ...projectDefaults(), ...withSecrets });
    const secretKeys = new Set(flat.secretKeys);
    const result = validateStackConfig(readConfigMap(stack, flat.values, (k) => secretKeys.has(k)));
    if (!result.ok) {
        throw new ImportError(
            `the imported stack config does not validate (${result.errors.length} problem${result.errors.length === 1 ? "" : "s"}); nothing was written:\n  - ${result.errors.join("\n  - ")}`,
        );
    }
}

function isObj(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
