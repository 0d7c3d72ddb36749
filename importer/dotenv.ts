/**
 * Env files as docker-compose 1.29 reads them: through python-dotenv 0.21 (`dotenv_values` with
 * `interpolate=True`), the parser Debian's docker-compose uses for `.env` and every `env_file`.
 * Its rules, which the npm `dotenv` package does not share:
 *
 * - an unquoted value runs to the end of the line; ` #` (a `#` after whitespace) starts a comment,
 *   a `#` inside a word does not (`KEY=abc#def` is `abc#def`); trailing whitespace is dropped;
 * - `'…'` and `"…"` may span lines; in `"…"` the escapes `\\ \' \" \a \b \f \n \r \t \v` are
 *   decoded, in `'…'` only `\\` and `\'`;
 * - only `${NAME}` and `${NAME:-default}` are substituted, in every kind of value (quoted too),
 *   from the entries above in the same file; a `$` anywhere else is kept (`pa$word`, `$HOME`);
 *   `:-` takes the default only when the name is not in the file at all;
 * - `NAME` without `=` is an entry without a value (compose then takes it from its environment);
 * - a line it cannot parse is skipped (python-dotenv warns), as is a `# comment` line.
 *
 * Values are never part of a message here: callers report a line by its name and number.
 */

export interface DotenvBinding {
    name: string;
    /** Null for `NAME` without `=`. */
    value: string | null;
    /** 1-based line of the name. */
    line: number;
}

export interface DotenvReference {
    /** What the value says, e.g. `${DB_PASSWORD}` or `${PORT:-5432}`. */
    expression: string;
    name: string;
    /** Undefined for `${NAME}`: no default. */
    fallback?: string;
}

const MULTILINE_WHITESPACE = /\s*/y;
const WHITESPACE = /[^\S\r\n]*/y;
const EXPORT = /(?:export[^\S\r\n]+)?/y;
const SINGLE_QUOTED_KEY = /'([^']+)'/y;
const UNQUOTED_KEY = /([^=#\s]+)/y;
const EQUAL_SIGN = /(=[^\S\r\n]*)/y;
const SINGLE_QUOTED_VALUE = /'((?:\\'|[^'])*)'/y;
const DOUBLE_QUOTED_VALUE = /"((?:\\"|[^"])*)"/y;
const UNQUOTED_VALUE = /([^\r\n]*)/y;
const COMMENT = /(?:[^\S\r\n]*#[^\r\n]*)?/y;
const END_OF_LINE = /[^\S\r\n]*(?:\r\n|\n|\r|$)/y;
const REST_OF_LINE = /[^\r\n]*(?:\r|\n|\r\n)?/y;
const DOUBLE_QUOTE_ESCAPES = /\\[\\'"abfnrtv]/g;
const SINGLE_QUOTE_ESCAPES = /\\[\\']/g;
const ESCAPES: Record<string, string> = {
    "\\": "\\",
    "'": "'",
    '"': '"',
    a: "\u0007",
    b: "\b",
    f: "\f",
    n: "\n",
    r: "\r",
    t: "\t",
    v: "\v",
};
/** python-dotenv's `_posix_variable`: `${name}` or `${name:-default}`; the name is anything. */
const POSIX_VARIABLE = /\$\{([^}:]*)(?::-([^}]*))?\}/g;

class ParseFailure extends Error {}

/** The bindings of an env file in file order (a name set twice appears twice). */
export function parseDotenv(text: string): DotenvBinding[] {
    const source = text.startsWith("\uFEFF") ? text.slice(1) : text;
    let pos = 0;
    let line = 1;
    const advance = (to: number) => {
        for (let i = pos; i < to; i++) {
            const c = source[i];
            // \r\n, \n and \r each end one line, as python-dotenv counts them.
            if (c === "\n" || (c === "\r" && source[i + 1] !== "\n")) {
                line++;
            }
        }
        pos = to;
    };
    const read = (re: RegExp): string[] => {
        re.lastIndex = pos;
        const m = re.exec(source);
        if (m === null) {
            throw new ParseFailure();
        }
        advance(re.lastIndex);
        return m.slice(1);
    };
    const out: DotenvBinding[] = [];
    while (pos < source.length) {
        try {
            read(MULTILINE_WHITESPACE);
            if (pos >= source.length) {
                break;
            }
            read(EXPORT);
            const keyLine = line;
            let name: string | undefined;
            if (source[pos] === "#") {
                name = undefined;
            } else if (source[pos] === "'") {
                name = read(SINGLE_QUOTED_KEY)[0];
            } else {
                name = read(UNQUOTED_KEY)[0];
            }
            read(WHITESPACE);
            let value: string | null = null;
            if (source[pos] === "=") {
                read(EQUAL_SIGN);
                value = parseValue(source, pos, read);
            }
            read(COMMENT);
            read(END_OF_LINE);
            if (name !== undefined) {
                out.push({ name, value, line: keyLine });
            }
        } catch (e) {
            if (!(e instanceof ParseFailure)) {
                throw e;
            }
            read(REST_OF_LINE);
        }
    }
    return out;
}

function parseValue(source: string, pos: number, read: (re: RegExp) => string[]): string {
    const c = source[pos];
    if (c === "'") {
        return (read(SINGLE_QUOTED_VALUE)[0] ?? "").replace(
            SINGLE_QUOTE_ESCAPES,
            (m) => ESCAPES[m[1] ?? ""] ?? m,
        );
    }
    if (c === '"') {
        return (read(DOUBLE_QUOTED_VALUE)[0] ?? "").replace(
            DOUBLE_QUOTE_ESCAPES,
            (m) => ESCAPES[m[1] ?? ""] ?? m,
        );
    }
    if (c === undefined || c === "\n" || c === "\r") {
        return "";
    }
    const part = read(UNQUOTED_VALUE)[0] ?? "";
    return part.replace(/\s+#.*/, "").trimEnd();
}

/** The `${…}` references python-dotenv substitutes in a value. */
export function dotenvReferences(value: string): DotenvReference[] {
    return [...value.matchAll(POSIX_VARIABLE)].map((m) => ({
        expression: m[0],
        name: m[1] ?? "",
        fallback: m[2],
    }));
}

/**
 * python-dotenv's substitution, from the entries above only (the shell is never read): a name the
 * file sets (even without a value) gives its value, else the default, else "".
 */
export function substituteDotenv(value: string, known: ReadonlyMap<string, string | null>): string {
    return value.replace(POSIX_VARIABLE, (_, name: string, fallback: string | undefined) =>
        known.has(name) ? (known.get(name) ?? "") : (fallback ?? ""),
    );
}
