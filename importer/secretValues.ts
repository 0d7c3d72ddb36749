/**
 * Every secret value the import has seen (env values that are secret by name or content, the
 * `.env` variables they expand from, passwords inside URLs, `PGPASSWORD=…` in a command), so that
 * the same value found anywhere else is treated as the secret it is: a plain env value holding one
 * becomes a secret, a command holding one is not imported, and no output line shows one.
 *
 * Lookups are linear in the text: values of at least `MIN_CONTAINED` characters are indexed by
 * their first characters, each with the lengths of the values that start so, and a position is
 * checked by one map lookup per length; so checking every env value of a large compose file
 * against every secret never compares all pairs, even when thousands of tokens share a prefix.
 * Shorter values are matched only whole: a 3-letter password inside a word is noise, and
 * redacting it would make every line unreadable.
 */

/** Values shorter than this are matched only whole (equality), never inside other text. */
export const MIN_CONTAINED = 4;
const PREFIX = MIN_CONTAINED;
export const REDACTED = "[secret]";

/** `scheme://user:PASSWORD@host` and `password=PASSWORD`: the part that is the credential. */
const URL_PASSWORD = /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/@:]*:([^\s/@]+)@/g;
const KEYWORD_PASSWORD = /(?:^|[?&;\s-])(?:password|passwd|pwd)=([^\s&;]+)/gi;

export class SecretValues {
    /** Value → what it is, for messages that name it (`POSTGRES_PASSWORD, .env:3`). */
    private readonly whats = new Map<string, string>();
    /** First characters → the lengths (longest first) of the values that start with them. */
    private readonly byPrefix = new Map<string, number[]>();
    /** Values that are also plain config the stack needs (a DB user equal to the password). */
    private readonly exempt = new Set<string>();

    /** Adds a secret value (and the password inside it, if it is a URL or connection string). */
    add(value: string, what: string): void {
        if (value === "") {
            return;
        }
        this.addOne(value, what);
        for (const re of [URL_PASSWORD, KEYWORD_PASSWORD]) {
            for (const m of value.matchAll(re)) {
                const part = m[1];
                if (part !== undefined && part !== value) {
                    this.addOne(safeDecode(part), what);
                    this.addOne(part, what);
                }
            }
        }
    }

    get size(): number {
        return this.whats.size;
    }

    /** What a value equal to a secret is (its name and origin), or undefined. */
    equal(value: string): string | undefined {
        return this.whats.get(value);
    }

    /** The first secret the text equals or holds, as what it is; undefined when none. */
    find(text: string): string | undefined {
        return this.match(text)?.what;
    }

    /** The first secret the text equals or holds: the value and what it is. */
    match(text: string): { value: string; what: string } | undefined {
        const whole = this.whats.get(text);
        if (whole !== undefined && !this.exempt.has(text)) {
            return { value: text, what: whole };
        }
        const hit = this.firstAt(text, 0);
        const what = hit === undefined ? undefined : this.whats.get(hit.value);
        return hit === undefined || what === undefined ? undefined : { value: hit.value, what };
    }

    /** The text with every secret it holds replaced by `[secret]`. */
    redact(text: string): string {
        if (this.byPrefix.size === 0 && this.whats.size === 0) {
            return text;
        }
        if (this.whats.has(text) && !this.exempt.has(text)) {
            return REDACTED;
        }
        let out = "";
        let from = 0;
        for (let hit = this.firstAt(text, 0); hit !== undefined; hit = this.firstAt(text, from)) {
            out += text.slice(from, hit.at) + REDACTED;
            from = hit.at + hit.value.length;
        }
        return out + text.slice(from);
    }

    /**
     * A secret value that is also plain config the stack cannot do without (the DB user or
     * database name): it is in the stack file anyway, so it is not hunted for in other text. The
     * report says so instead.
     */
    allowPlain(value: string): void {
        this.exempt.add(value);
    }

    private addOne(value: string, what: string): void {
        if (value === "" || this.whats.has(value)) {
            return;
        }
        this.whats.set(value, what);
        if (value.length >= MIN_CONTAINED) {
            const key = value.slice(0, PREFIX);
            const lengths = this.byPrefix.get(key);
            if (lengths === undefined) {
                this.byPrefix.set(key, [value.length]);
            } else if (!lengths.includes(value.length)) {
                lengths.push(value.length);
                // Longest first, so the longest secret at a position is the one found.
                lengths.sort((a, b) => b - a);
            }
        }
    }

    private firstAt(text: string, start: number): { at: number; value: string } | undefined {
        if (this.byPrefix.size === 0) {
            return undefined;
        }
        for (let i = start; i + PREFIX <= text.length; i++) {
            const lengths = this.byPrefix.get(text.slice(i, i + PREFIX));
            if (lengths === undefined) {
                continue;
            }
            for (const length of lengths) {
                const value = text.slice(i, i + length);
                if (value.length === length && this.whats.has(value) && !this.exempt.has(value)) {
                    return { at: i, value };
                }
            }
        }
        return undefined;
    }
}

function safeDecode(text: string): string {
    try {
        return decodeURIComponent(text);
    } catch {
        return text;
    }
}
