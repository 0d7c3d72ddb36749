/**
 * `docker/db/initdb/10-create-db-and-schema.sh` against a real Postgres (Debian's `postgresql`,
 * started here on a private socket): creates the database and schema, is idempotent, and treats
 * hostile names as names.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stackConfigSchema } from "../config/schema";
import { ROOT } from "./helpers";

const SCRIPT = path.join(ROOT, "docker/db/initdb/10-create-db-and-schema.sh");
const PORT = 54329;

function postgresBin(): string {
    const base = "/usr/lib/postgresql";
    const versions = fs.existsSync(base) ? fs.readdirSync(base).sort() : [];
    const bin = versions.map((v) => path.join(base, v, "bin")).pop();
    if (bin === undefined || !fs.existsSync(path.join(bin, "initdb"))) {
        throw new Error("Debian's postgresql is not installed: apt-get install -y postgresql");
    }
    return bin;
}

/** Postgres refuses to run as root: run its tools as the `postgres` user when we are root. */
function asPostgres(cmd: string, args: string[]): void {
    const [file, argv] =
        process.getuid?.() === 0
            ? ["runuser", ["-u", "postgres", "--", cmd, ...args]]
            : [cmd, args];
    execFileSync(file, argv, { stdio: "pipe" });
}

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
    const bin = postgresBin();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "initdb-test-"));
    fs.chmodSync(dir, 0o777);
    const data = path.join(dir, "data");
    asPostgres(path.join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres"]);
    asPostgres(path.join(bin, "pg_ctl"), [
        "-D",
        data,
        "-w",
        "-l",
        path.join(dir, "log"),
        "-o",
        `-k ${dir} -p ${PORT} -c listen_addresses=''`,
        "start",
    ]);
    env = { ...process.env, PGHOST: dir, PGPORT: String(PORT), POSTGRES_USER: "postgres" };
    psql("postgres", "CREATE TABLE canary (id int)");
});

afterAll(() => {
    if (dir !== undefined) {
        asPostgres(path.join(postgresBin(), "pg_ctl"), [
            "-D",
            path.join(dir, "data"),
            "-m",
            "fast",
            "stop",
        ]);
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

function runInit(dbName: string, schema: string): { status: number | null; stderr: string } {
    const r = spawnSync("sh", [SCRIPT], {
        env: { ...env, DB_NAME: dbName, DB_SCHEMA_NAME: schema },
        encoding: "utf8",
    });
    return { status: r.status, stderr: r.stderr };
}

/** Runs one query with values bound as psql variables, never pasted into the SQL. */
function psql(db: string, sql: string, vars: Record<string, string> = {}): string {
    const args = ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-U", "postgres"];
    for (const [k, v] of Object.entries(vars)) {
        args.push("--set", `${k}=${v}`);
    }
    return execFileSync("psql", args, {
        env: { ...env, PGDATABASE: db },
        input: sql,
        encoding: "utf8",
    }).trim();
}

const databases = (name: string) =>
    psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = :'n'", { n: name });
const schemas = (db: string, name: string) =>
    psql(db, "SELECT count(*) FROM pg_namespace WHERE nspname = :'n'", { n: name });

test("creates the database and the schema, owned by the DB user", () => {
    expect(runInit("sf1_db", "sf1_schema")).toEqual({ status: 0, stderr: "" });
    expect(databases("sf1_db")).toBe("1");
    expect(schemas("sf1_db", "sf1_schema")).toBe("1");
    expect(
        psql(
            "sf1_db",
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'sf1_schema'",
        ),
    ).toBe("postgres");
});

test("is idempotent: a second run succeeds and duplicates nothing", () => {
    expect(runInit("idem_db", "idem_schema").status).toBe(0);
    expect(runInit("idem_db", "idem_schema")).toEqual({ status: 0, stderr: "" });
    expect(databases("idem_db")).toBe("1");
    expect(schemas("idem_db", "idem_schema")).toBe("1");
});

test("works when the database already exists (POSTGRES_DB created it)", () => {
    psql("postgres", 'CREATE DATABASE "pre_made"');
    expect(runInit("pre_made", "app").status).toBe(0);
    expect(schemas("pre_made", "app")).toBe("1");
});

test.each([
    ['sf1"; DROP TABLE canary; --', "s"],
    ["x'); DROP DATABASE postgres; --", "s'; DROP TABLE canary; --"],
    ["a=b host=elsewhere", "Mixed Case Schema"],
    ["$(touch /tmp/initdb-pwned)", "`touch /tmp/initdb-pwned`"],
    ["데이터베이스", "스키마"],
    ["postgres://user@evil/db", "public"],
])("hostile names are created verbatim: %j / %j", (dbName, schema) => {
    expect(runInit(dbName, schema)).toEqual({ status: 0, stderr: "" });
    expect(databases(dbName)).toBe("1");
    expect(schemas(dbName, schema)).toBe("1");
    expect(psql("postgres", "SELECT count(*) FROM canary")).toBe("0");
    expect(databases("postgres")).toBe("1");
    expect(fs.existsSync("/tmp/initdb-pwned")).toBe(false);
});

test("missing settings fail with a message naming the variable", () => {
    const r = spawnSync("sh", [SCRIPT], {
        env: { ...env, DB_NAME: "x", DB_SCHEMA_NAME: "" },
        encoding: "utf8",
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("DB_SCHEMA_NAME must be set");
});

/** What the config refuses, Postgres refuses (or silently changes) too: checked on the real server. */
describe("the config's Postgres rules match Postgres", () => {
    const fails = (db: string, sql: string) => {
        expect(() => psql(db, sql)).toThrow();
    };

    test("a schema or role starting with pg_ is refused by Postgres", () => {
        fails("postgres", "CREATE SCHEMA pg_app");
        fails("postgres", "CREATE ROLE pg_admin");
    });

    test("a name over 63 bytes is cut by Postgres, so the database would not be the one named", () => {
        const name = "데".repeat(22); // 22 characters, 66 bytes
        expect(psql("postgres", "SELECT octet_length(:'n'::name)", { n: name })).toBe("63");
    });

    test("template databases cannot be the application's database", () => {
        expect(runInit("template0", "app").status).not.toBe(0);
    });

    test.each(["Asia/Seoul", "UTC", "Europe/Berlin", "Asia/Seol", "Mars/Olympus"])(
        "time zone %s: Postgres and the config agree",
        (tz) => {
            let postgres = true;
            try {
                psql("postgres", "SELECT set_config('timezone', :'tz', false)", { tz });
            } catch {
                postgres = false;
            }
            const config = validTimeZone(tz);
            expect(config).toBe(postgres);
        },
    );

    test("the healthcheck's PGDATABASE is a name; pg_isready -d would parse it as settings", () => {
        const hostile = "host=/nonexistent dbname=x";
        const viaEnv = spawnSync("pg_isready", ["-p", String(PORT)], {
            env: { ...env, PGDATABASE: hostile },
            encoding: "utf8",
        });
        const viaArg = spawnSync("pg_isready", ["-p", String(PORT), "-d", hostile], {
            env,
            encoding: "utf8",
        });
        expect(viaEnv.status).toBe(0);
        expect(viaArg.status).not.toBe(0);
    });
});

function validTimeZone(tz: string): boolean {
    return stackConfigSchema.shape.timezone.safeParse(tz).success;
}
