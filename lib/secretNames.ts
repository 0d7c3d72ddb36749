/**
 * The one rule for what counts as a secret, shared by config validation (`config/validate.ts`),
 * the import (`importer/`) and the policy pack (`policy/policies.ts`): env names that look like
 * they hold a secret, and values that carry credentials whatever their name. Plain module: no
 * resources, no config.
 *
 * Names are split into words on anything that is not a letter or digit (`DB_PASSWORD` →
 * `DB`, `PASSWORD`), upper-cased, then:
 *
 * - a word that is a secret word names a secret wherever it stands (`DB_PASS`, `AUTH_HEADER`);
 * - a word that ends in an unambiguous secret word glued to a prefix names one too
 *   (`PGPASSWORD`, `CLIENTSECRET`, `ACCESSTOKEN`, `HTPASSWD`, `PRIVATEKEY`). Only long words are
 *   matched that way: a glued `PASS`, `AUTH` or `KEY` would catch `BYPASS`, `OAUTH`, `MONKEY`;
 * - `KEY` names a secret at the end of a name (`STRIPE_KEY`) or right after a qualifier
 *   (`PRIVATE_KEY_PEM`); elsewhere it is a plain setting (`CACHE_KEY_PREFIX`, `KEY_ID`);
 * - a name whose last word says it refers to a secret rather than holding it (`_FILE`, `_PATH`,
 *   `_DIR`, `_NAME`: `POSTGRES_PASSWORD_FILE`, `PWD_DIR`, `SESSION_COOKIE_NAME`) is plain.
 *   Docker's `_FILE` convention is how images read a secret from a file, so refusing it would
 *   push the secret itself into the env. `_ID` is not such a word: Vault's `SECRET_ID` is a
 *   credential (`KEY_ID` stays plain by the `KEY` rule).
 */

/** Words that name a secret wherever they stand in a name. */
export const SECRET_WORDS: ReadonlySet<string> = new Set([
    "PASSWORD",
    "PASSWORDS",
    "PASSWD",
    "PASSPHRASE",
    "PASS",
    "PWD",
    "PW",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "TOKENS",
    "CREDENTIAL",
    "CREDENTIALS",
    "APIKEY",
    "AUTH",
    "AUTHORIZATION",
    "HTPASSWD",
    "COOKIE",
    "COOKIES",
]);

/** Secret words long enough to recognise when glued to a prefix (`PGPASSWORD`, `CLIENTSECRET`). */
const GLUED_SUFFIXES = ["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIALS"];

/** Words after which `KEY` is a secret even when more words follow (`PRIVATE_KEY_PEM`). */
export const KEY_QUALIFIERS: ReadonlySet<string> = new Set([
    "API",
    "PRIVATE",
    "ACCESS",
    "SIGNING",
    "ENCRYPTION",
    "MASTER",
    "SECRET",
]);

/** A last word that makes the name point at a secret instead of holding it. */
export const REFERENCE_WORDS: ReadonlySet<string> = new Set(["FILE", "PATH", "DIR", "NAME"]);

/** True for names like `DB_PASSWORD`, `PGPASSWORD`, `CLIENTSECRET`, `STRIPE_KEY`, `AUTH_HEADER`. */
export function looksSecret(name: string): boolean {
    const words = name
        .toUpperCase()
        .split(/[^A-Z0-9]+/)
        .filter((w) => w !== "");
    if (words.length > 1 && REFERENCE_WORDS.has(words[words.length - 1] ?? "")) {
        return false;
    }
    return words.some((word, i) => isSecretWord(word, words[i - 1], i === words.length - 1));
}

function isSecretWord(word: string, previous: string | undefined, last: boolean): boolean {
    if (SECRET_WORDS.has(word)) {
        return true;
    }
    if (GLUED_SUFFIXES.some((s) => word.length > s.length && word.endsWith(s))) {
        return true;
    }
    if (word === "KEY") {
        return last || KEY_QUALIFIERS.has(previous ?? "");
    }
    // `PRIVATEKEY`, `APIKEY`, `SECRETKEY`: a qualifier glued to KEY.
    return [...KEY_QUALIFIERS].some((q) => word === `${q}KEY` || word.endsWith(`${q}KEY`));
}

/** `scheme://user:password@host`, `redis://:password@host`: a URL whose userinfo has a password. */
const URL_PASSWORD = /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]+@/;
/** `jdbc:oracle:thin:user/password@host`: Oracle's thin-driver form. */
const ORACLE_THIN = /jdbc:oracle:thin:[^\s/@:]+\/[^\s@]+@/i;
/**
 * `…?user=u&password=pw` (JDBC), `…;password=pw` (SQL Server, ODBC's `Pwd=`), `host=h password=pw`
 * (libpq), `--password=pw` (a command line).
 */
const KEYWORD_PASSWORD = /(?:^|[?&;\s-])(?:password|passwd|pwd)=[^\s&;]/i;
/** An HTTP `Authorization` value, alone or after its header name. */
const AUTHORIZATION = /^(?:(?:proxy-)?authorization:\s*)?(basic|bearer)\s+([A-Za-z0-9._~+/-]+=*)$/i;

/**
 * True for values that carry a credential whatever the env name: URLs with a password in their
 * userinfo (`postgres://u:pw@h/db`, `redis://:pw@cache`), connection strings with `password=`
 * (JDBC, ODBC, libpq), and `Authorization` values (`Basic <user:password in base64>`,
 * `Bearer <token>`). A URL with a user only (`ssh://deploy@host`) carries none.
 */
export function carriesCredentials(value: string): boolean {
    if (URL_PASSWORD.test(value) || ORACLE_THIN.test(value) || KEYWORD_PASSWORD.test(value)) {
        return true;
    }
    const auth = AUTHORIZATION.exec(value.trim());
    if (auth === null) {
        return false;
    }
    const [, scheme = "", credentials = ""] = auth;
    if (scheme.toLowerCase() === "bearer") {
        return credentials.length >= 8;
    }
    // Basic credentials are base64 of `user:password`; "Basic plan" is prose, not a header.
    const decoded = Buffer.from(credentials, "base64").toString("utf8");
    return /^[^\s:]*:.+$/.test(decoded) && /^[A-Za-z0-9+/]+=*$/.test(credentials);
}
