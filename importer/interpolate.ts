/**
 * Compose's variable substitution in the compose file: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`. Unlike compose, an unset variable without
 * a default is an error: compose substitutes an empty string with a warning, and an empty port or
 * host is how values get lost in a migration.
 */

export type Lookup = (name: string) => string | undefined;

/** `unset`: a variable without a default; `required`: `${VAR:?…}`; `invalid`: not a variable. */
export type InterpolationKind = "unset" | "required" | "invalid";

/** Its message names the expression, never the text around it (which may be a password). */
export class InterpolationError extends Error {
    constructor(
        public readonly variable: string,
        public readonly expression: string,
        message: string,
        public readonly kind: InterpolationKind,
    ) {
        super(message);
        this.name = "InterpolationError";
    }
}

const PATTERN = /\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([^}]*)\}|)/g;
const BRACED = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?$/s;

export function interpolate(text: string, lookup: Lookup): string {
    return text.replace(
        PATTERN,
        (match: string, dollar?: string, bare?: string, braced?: string): string => {
            if (dollar !== undefined) {
                return "$";
            }
            if (bare !== undefined) {
                return required(bare, match, lookup);
            }
            if (braced === undefined) {
                throw new InterpolationError(
                    "",
                    match,
                    `invalid interpolation: a "$" that starts no variable; write $$ for a literal $`,
                    "invalid",
                );
            }
            const m = BRACED.exec(braced);
            if (m === null) {
                throw new InterpolationError(
                    braced,
                    match,
                    `invalid interpolation ${match}; write $$ for a literal $`,
                    "invalid",
                );
            }
            const [, name = "", op, arg = ""] = m;
            const value = lookup(name);
            switch (op) {
                case ":-":
                    return value === undefined || value === "" ? arg : value;
                case "-":
                    return value ?? arg;
                case ":?":
                case "?":
                    if (value === undefined || (op === ":?" && value === "")) {
                        throw new InterpolationError(
                            name,
                            match,
                            `${match}: ${arg || `${name} is required`}`,
                            "required",
                        );
                    }
                    return value;
                default:
                    return required(name, match, lookup);
            }
        },
    );
}

/** The variables a text refers to (for secret tracking): `${A}x$B` → ["A", "B"]. */
export function references(text: string): string[] {
    const names: string[] = [];
    for (const m of text.matchAll(PATTERN)) {
        const name = m[2] ?? (m[3] !== undefined ? BRACED.exec(m[3])?.[1] : undefined);
        if (name !== undefined) {
            names.push(name);
        }
    }
    return names;
}

function required(name: string, match: string, lookup: Lookup): string {
    const value = lookup(name);
    if (value === undefined) {
        throw new InterpolationError(name, match, `${match} is not set`, "unset");
    }
    return value;
}
