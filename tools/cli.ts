/**
 * The one command-line harness of the tools (`plan`, `import`, `policy`, `post-mr-note`, `bench`):
 * option parsing with `util.parseArgs`, usage text, and exit codes shared by all of them.
 *
 * - exit 2, with the error and the usage text on stderr: an unknown option, an option given twice,
 *   a missing value or required option, a stray argument (`UsageError`);
 * - exit 1: what the command reports as failed (`CommandError`, or the code `run` returns);
 * - `--help`/`-h`: the usage text on stdout, exit 0.
 *
 * An error that is not ours is printed as one line (`<tool>: <message>`), never a stack trace: the
 * tools run in CI logs, and a stack trace there helps nobody.
 */
import { parseArgs, type ParseArgsConfig } from "util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** A mistake in the command line: exit 2 with the usage text. */
export class UsageError extends Error {}

/** A failure the command explains in its message: exit 1, the message on stderr. */
export class CommandError extends Error {}

/** Where a command writes; tests pass their own. */
export interface CliIo {
    stdout(text: string): void;
    stderr(text: string): void;
}

export const processIo: CliIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
};

export interface CliSpec<O extends Options> {
    /** The tool's name, as messages start with it. */
    name: string;
    /** One line (or a few) of usage text. */
    usage: string;
    options: O;
    /** Options that must be given. */
    required?: (keyof O & string)[];
    /** Whether free arguments (file names) are taken. Default false. */
    positionals?: boolean;
}

type Values<O extends Options> = {
    [K in keyof O]?: O[K] extends { type: "boolean" }
        ? boolean
        : O[K] extends { multiple: true }
          ? string[]
          : string;
};

export interface ParsedCli<O extends Options> {
    values: Values<O>;
    positionals: string[];
    help: boolean;
}

/**
 * Parses `argv` strictly: unknown options, an option given twice (unless declared `multiple`),
 * missing required options and stray arguments are `UsageError`s.
 */
export function parseCli<O extends Options>(spec: CliSpec<O>, argv: string[]): ParsedCli<O> {
    let parsed: ReturnType<typeof parseArgs>;
    try {
        parsed = parseArgs({
            args: argv,
            options: { ...spec.options, help: { type: "boolean", short: "h" } },
            allowPositionals: spec.positionals ?? false,
            strict: true,
            tokens: true,
        });
    } catch (e) {
        throw new UsageError((e as Error).message);
    }
    const seen = new Set<string>();
    for (const token of parsed.tokens ?? []) {
        if (token.kind !== "option") {
            continue;
        }
        const multiple = (spec.options[token.name] as { multiple?: boolean } | undefined)?.multiple;
        if (seen.has(token.name) && multiple !== true) {
            throw new UsageError(`option --${token.name} is given more than once`);
        }
        seen.add(token.name);
    }
    const values = parsed.values as Record<string, unknown>;
    const help = values.help === true;
    delete values.help;
    if (!help) {
        const missing = (spec.required ?? []).filter((k) => values[k] === undefined);
        if (missing.length > 0) {
            throw new UsageError(
                `${missing.map((k) => `--${k}`).join(" and ")} ${missing.length === 1 ? "is" : "are"} required`,
            );
        }
    }
    return { values: values as Values<O>, positionals: parsed.positionals, help };
}

/**
 * Runs a command: parses its options, prints usage on `--help` or a usage error, and maps what
 * it throws to an exit code. Returns the exit code; `main` below turns it into the process's.
 */
export async function runCli<O extends Options>(
    spec: CliSpec<O>,
    argv: string[],
    run: (args: ParsedCli<O>, io: CliIo) => Promise<number> | number,
    io: CliIo = processIo,
): Promise<number> {
    let args: ParsedCli<O>;
    try {
        args = parseCli(spec, argv);
    } catch (e) {
        io.stderr(`${spec.name}: ${(e as Error).message}\n${spec.usage}\n`);
        return 2;
    }
    if (args.help) {
        io.stdout(`${spec.usage}\n`);
        return 0;
    }
    try {
        return await run(args, io);
    } catch (e) {
        if (e instanceof UsageError) {
            io.stderr(`${spec.name}: ${e.message}\n${spec.usage}\n`);
            return 2;
        }
        io.stderr(`${spec.name}: ${e instanceof Error ? e.message : String(e)}\n`);
        return 1;
    }
}

/** For `if (require.main === module)`: runs the command and exits with its code. */
export function exitWith(code: Promise<number>): void {
    code.then(
        (c) => process.exit(c),
        (e: unknown) => {
            process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
            process.exit(1);
        },
    );
}
