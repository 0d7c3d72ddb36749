/** The one secret-name rule (validation, policy, import): each name and each value shape. */
import { carriesCredentials, looksSecret } from "../../lib/secretNames";

describe("names that hold a secret", () => {
    test.each([
        // What config/env.ts caught before: the secret words wherever they stand.
        "PASSWORD",
        "DB_PASSWORD",
        "POSTGRES_PASSWORD",
        "SMTP_PASSWD",
        "DB_PWD",
        "SECRET",
        "JWT_SECRET",
        "SECRET_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "VAULT_SECRET_ID",
        "TOKEN_ID",
        "API_TOKEN",
        "GITLAB_TOKEN_VALUE",
        "AWS_CREDENTIALS",
        "APIKEY",
        "STRIPE_APIKEY",
        // KEY at the end, or right after a qualifier.
        "KEY",
        "STRIPE_KEY",
        "API_KEY",
        "PRIVATE_KEY_PEM",
        "ACCESS_KEY_VALUE",
        "SIGNING_KEY_V2",
        "ENCRYPTION_KEY_BASE64",
        "MASTER_KEY_HEX",
        // Short spellings.
        "DB_PW",
        "PASS",
        "DB_PASS",
        "SMTP_PASS",
        "KEYSTORE_PASS",
        "PASSPHRASE",
        "SSH_PASSPHRASE",
        // Glued words.
        "PGPASSWORD",
        "MYSQLPASSWORD",
        "HTPASSWD",
        "CLIENTSECRET",
        "OAUTH_CLIENTSECRET",
        "PRIVATEKEY",
        "SSH_PRIVATEKEY",
        "SECRETKEY",
        "ACCESSTOKEN",
        "GITHUB_ACCESSTOKEN",
        "REFRESHTOKEN",
        // Auth and cookies.
        "AUTH",
        "AUTH_HEADER",
        "BASIC_AUTH",
        "AUTHORIZATION",
        "HTTP_AUTHORIZATION",
        "COOKIE",
        "SESSION_COOKIE",
        "COOKIE_SECRET",
        // Case and separators do not matter.
        "db_password",
        "db-password",
        "db.password",
        "Api_Key",
    ])("%s", (name) => {
        expect(looksSecret(name)).toBe(true);
    });
});

describe("names that stay plain", () => {
    test.each([
        "CACHE_KEY_PREFIX",
        "KEY_ID",
        "PRIMARY_KEY_COLUMN",
        "KEYBOARD_LAYOUT",
        "OTEL_SERVICE_NAME",
        "PASSENGER_COUNT",
        "BYPASS_CACHE",
        "COMPASS_URL",
        "AUTHOR",
        "AUTHOR_EMAIL",
        "OAUTH_ISSUER",
        "MONKEY_MODE",
        "TOKENIZER_MODEL",
        "SECRETARY_EMAIL",
        "PASSWORDLESS_LOGIN",
        "DB_HOST",
        "DB_USER",
        "DB_DRIVER_CLASS_NAME",
        "NODENAME",
        "SERVICE_B_URL",
        "TZ",
        "PGUSER",
        "PGDATABASE",
        // A last word that says the name refers to a secret rather than holding it.
        "PWD_DIR",
        "POSTGRES_PASSWORD_FILE",
        "TLS_KEY_PATH",
        "SECRET_NAME",
        "SESSION_COOKIE_NAME",
    ])("%s", (name) => {
        expect(looksSecret(name)).toBe(false);
    });
});

describe("values that carry credentials", () => {
    test.each([
        ["a URL with user and password", "postgres://u:pw@h/db"],
        ["a URL with a password only", "redis://:pw@cache:6379/0"],
        ["an AMQP URL", "amqp://guest:guest@rabbit:5672/"],
        ["a URL inside a longer value", "--url=mongodb://app:s3cret@mongo:27017/app"],
        ["JDBC with password=", "jdbc:postgresql://db:5432/app?user=app&password=s3cret"],
        ["JDBC with ;password=", "jdbc:sqlserver://db:1433;databaseName=app;password=s3cret"],
        ["ODBC with Pwd=", "Driver={PostgreSQL};Server=db;Uid=app;Pwd=s3cret;"],
        ["libpq keywords", "host=db user=app password=s3cret dbname=app"],
        ["a command-line flag", "--password=s3cret"],
        ["Oracle's thin form", "jdbc:oracle:thin:app/s3cret@db:1521/ORCL"],
        ["Basic credentials", "Basic dXNlcjpwYXNz"],
        ["Basic after the header name", "Authorization: Basic dXNlcjpwYXNz"],
        ["Bearer token", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"],
        ["Bearer, lower case", "bearer abcdef0123456789"],
    ])("%s: %s", (_what, value) => {
        expect(carriesCredentials(value)).toBe(true);
    });
});

describe("values that carry none", () => {
    test.each([
        ["a URL without userinfo", "http://SERVICE_B:8080"],
        ["a URL with a user only", "ssh://deploy@app-host"],
        ["a URL with a port", "http://orders:8080/path@v2"],
        ["JDBC without a password", "jdbc:postgresql://db:5432/app?user=app"],
        ["an empty password=", "jdbc:postgresql://db/app?password=&user=x"],
        ["prose that starts with Basic", "Basic plan"],
        ["a short Bearer placeholder", "Bearer token"],
        ["an e-mail address", "ops@example.com"],
        ["a plain word", "postgresql"],
        ["a redacted secret", "[secret]"],
    ])("%s: %s", (_what, value) => {
        expect(carriesCredentials(value)).toBe(false);
    });
});
