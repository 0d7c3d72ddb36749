/**
 * One block per class of defect found by importing real compose files (the issue "6 of 15 came out
 * wrong without a line in the report"), each case the smallest compose setup that showed it. Each
 * test failed before the fix; the corpus (`corpus.test.ts`) holds whole setups to compose's own
 * rendering.
 */
import * as fs from "fs";
import * as path from "path";
import { ImportError, ImportPlan, planImport } from "../../importer";
import { renderFindings } from "../../importer/report";
import { writeAtomic } from "../../importer/write";
import { main } from "../../tools/import";
import { tempDir } from "./helpers";

/** A compose setup (`docker-compose.yml` and the files beside it) in a fresh folder. */
function setup(files: Record<string, string>): string {
    const dir = tempDir();
    for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), text);
    }
    return path.join(dir, "docker-compose.yml");
}

function plan(compose: string, opts: { dir?: string; dbService?: string } = {}): ImportPlan {
    return planImport({
        compose,
        stack: "t",
        dir: opts.dir ?? tempDir(),
        dbService: opts.dbService,
    });
}

function importError(compose: string, dir = tempDir()): string {
    try {
        planImport({ compose, stack: "t", dir });
    } catch (e) {
        expect(e).toBeInstanceOf(ImportError);
        return (e as Error).message;
    }
    throw new Error("expected an ImportError");
}

const report = (p: ImportPlan) => renderFindings(p.findings).join("\n");
const db = (p: ImportPlan) => p.config["msa:database"] as Record<string, unknown>;
const services = (p: ImportPlan) =>
    p.config["msa:services"] as Record<string, Record<string, unknown>>;
const secret = (p: ImportPlan, key: string) => p.secrets.find((s) => s.key === key);

/** `npm run import -- … --dry-run` in this process: exit code, stdout, stderr. */
async function cli(compose: string, ...extra: string[]) {
    const out = { stdout: "", stderr: "" };
    const status = await main(
        ["--compose", compose, "--stack", "t", "--dir", tempDir(), "--dry-run", ...extra],
        { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t) },
    );
    return { status, ...out };
}

const API = "    image: registry.gitlab.com/acme/shop/api:1.0\n";

describe("1. the DB image: the full reference becomes msa:database.image.base", () => {
    test.each([
        "postgres:16-alpine",
        "docker.io/library/postgres:18",
        "postgis/postgis:16-3.4",
        "pgvector/pgvector:pg17",
        "timescale/timescaledb:2.17.2-pg16",
    ])("%s", (image) => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: ${image}\n    environment:\n      POSTGRES_PASSWORD: pw-db-1\n  api:\n${API}`,
            }),
        );
        expect(p.dbService).toBe("db");
        expect(db(p).image).toEqual({ base: image });
    });

    test("a team's own DB image: its name, no tag (the program derives one), the base to settle", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: registry.gitlab.com/acme/shop/pg:latest\n    volumes: [data:/var/lib/postgresql/data]\n  api:\n${API}volumes:\n  data:\n`,
            }),
        );
        expect(db(p).image).toEqual({ name: "pg" });
        expect(report(p)).toContain(
            "compose's tag is not carried over (msa:database.image.tag is left unset)",
        );
        expect(p.findings).toContainEqual(
            expect.objectContaining({ kind: "action", at: "msa:database.image.base" }),
        );
    });
});

describe("2. secrets: found by name, in URLs and by value, never written or printed", () => {
    const compose = setup({
        ".env": "PG_PW=pg-9f8e7d6c\nREDIS_PW=rd-5a4b3c2d\n",
        "docker-compose.yml": [
            "services:",
            "  db:",
            "    image: postgres:16",
            "    environment:",
            "      POSTGRES_PASSWORD: ${PG_PW}",
            "    healthcheck:",
            '      test: ["CMD-SHELL", "PGPASSWORD=${PG_PW} pg_isready -h localhost"]',
            "  cache:",
            "    image: registry.gitlab.com/acme/shop/redis:7",
            "    command: redis-server --requirepass ${REDIS_PW}",
            "  api:",
            "    image: registry.gitlab.com/acme/shop/api:1.0",
            '    command: ["api", "--token", "${PG_PW}"]',
            "    environment:",
            "      DB_PASS: ${PG_PW}",
            "      DB_PW: ${PG_PW}",
            "      SMTP_PASS: smtp-1a2b3c4d",
            "      DATABASE_URL: postgres://app:${PG_PW}@db/app",
            "      CACHE_URL: redis://:${REDIS_PW}@cache:6379",
            "      BACKUP_KEY_COPY: ${PG_PW}",
            "",
        ].join("\n"),
    });

    test("each goes to msa:secretEnv, by name, by credentials in it, or by holding a secret", () => {
        const p = plan(compose);
        for (const name of [
            "DB_PASS",
            "DB_PW",
            "SMTP_PASS",
            "DATABASE_URL",
            "CACHE_URL",
            "BACKUP_KEY_COPY",
        ]) {
            expect([name, secret(p, `msa:secretEnv.api.${name}`)?.value !== undefined]).toEqual([
                name,
                true,
            ]);
        }
        expect(services(p).api?.env).toBeUndefined();
    });

    test("a command reusing a secret is not imported, and says so", () => {
        const p = plan(compose);
        expect(services(p).cache?.command).toBeUndefined();
        expect(services(p).api?.command).toBeUndefined();
        expect(p.findings).toContainEqual(
            expect.objectContaining({ kind: "action", at: "services.cache.command" }),
        );
    });

    test("no secret value in the stack file, the report, stdout or stderr", async () => {
        const p = plan(compose);
        const run = await cli(compose);
        expect(run.status).toBe(0);
        for (const v of ["pg-9f8e7d6c", "rd-5a4b3c2d", "smtp-1a2b3c4d"]) {
            for (const text of [p.text, report(p), run.stdout, run.stderr]) {
                expect([v, text.includes(v)]).toEqual([v, false]);
            }
        }
        expect(report(p)).toContain('compose runs "PGPASSWORD=[secret] pg_isready -h localhost"');
    });

    test("an interpolation error in a secret names the key, never the value", () => {
        const message = importError(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: "s3cr3t$-tail"\n  api:\n${API}`,
            }),
        );
        expect(message).toBe(
            "docker-compose.yml:5: services.db.environment.POSTGRES_PASSWORD (a secret: its value is not shown) uses a $ compose cannot read as a variable; write $$ for a literal $, or set the variable",
        );
    });

    test("a plain value equal to a secret is not written (a container name here)", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: hunter2-xyz\n  api:\n${API}    container_name: hunter2-xyz\n`,
            }),
        );
        expect(p.text).not.toContain("hunter2-xyz");
        expect(p.findings).toContainEqual(
            expect.objectContaining({ kind: "action", at: "msa:services.api.containerName" }),
        );
    });
});

describe("2b. a password anyone can guess", () => {
    test("equal to the DB user: the user is written, the report asks for another password", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_USER: shopadmin\n      POSTGRES_PASSWORD: shopadmin\n  api:\n${API}`,
            }),
        );
        expect(db(p)).toMatchObject({ user: "shopadmin", name: "shopadmin" });
        expect(
            p.findings.filter((f) => f.kind === "action" && f.at.startsWith("msa:database.")),
        ).toEqual([
            expect.objectContaining({
                message: expect.stringContaining("the password is one anyone can guess") as string,
            }),
        ]);
    });

    test("inside an image name (postgres): the image is kept whole and readable", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_USER: app\n      POSTGRES_PASSWORD: postgres\n  api:\n${API}`,
            }),
        );
        expect(db(p).image).toEqual({ base: "postgres:16" });
        expect(p.redact(p.text)).toBe(p.text);
        expect(report(p)).toContain(
            "msa:database.image.base: holds the value of POSTGRES_PASSWORD",
        );
    });
});

describe("3. env_file values: a # inside a word is kept", () => {
    test("KEY=abc#def is abc#def; a # after a space starts a comment", () => {
        const p = plan(
            setup({
                "app.env": "SALT=abc#def\nCOLOR=#fff\nMODE=fast # comment\n",
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n  api:\n${API}    env_file: app.env\n`,
            }),
        );
        expect(services(p).api?.env).toEqual({ SALT: "abc#def", COLOR: "#fff", MODE: "fast" });
    });
});

describe("4. bare environment names are read from .env; the database Postgres creates", () => {
    const compose = setup({
        ".env": "POSTGRES_USER=shop\nPOSTGRES_PASSWORD=pw-shop-77\n",
        "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n    environment:\n      - POSTGRES_USER\n      - POSTGRES_PASSWORD\n  api:\n${API}`,
    });

    test("user and password from .env; no POSTGRES_DB: the database is named after the user", () => {
        const p = plan(compose);
        expect(db(p)).toMatchObject({ user: "shop", name: "shop" });
        expect(secret(p, "msa:dbPassword")?.value).toBe("pw-shop-77");
    });

    test("a password compose took from the shell is asked for, not forgotten", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n    environment:\n      - POSTGRES_PASSWORD\n  api:\n${API}`,
            }),
        );
        expect(secret(p, "msa:dbPassword")).toMatchObject({ value: undefined });
    });
});

describe("5. the data volume, wherever PGDATA puts it", () => {
    test("mounted at a PGDATA subfolder: that volume is the data volume", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n    environment:\n      PGDATA: /var/lib/postgresql/data/pgdata\n    volumes:\n      - pg:/var/lib/postgresql/data/pgdata\n  api:\n${API}volumes:\n  pg: {}\n`,
            }),
        );
        expect(db(p).volumeName).toBe("pg");
        expect(report(p)).not.toContain("the stack mounts only the data volume");
    });

    test("mounted above PGDATA: the same volume, and the move of the data is for the operator", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n    environment:\n      PGDATA: /var/lib/postgresql/data/pgdata\n    volumes:\n      - pg:/var/lib/postgresql/data\n  api:\n${API}volumes:\n  pg: {}\n`,
            }),
        );
        expect(db(p).volumeName).toBe("pg");
        expect(p.findings).toContainEqual(
            expect.objectContaining({
                kind: "action",
                at: "services.db.volumes[0]",
                message: expect.stringContaining("so the data is in its pgdata/ folder") as string,
            }),
        );
    });
});

describe("6. a $ in env_file values is kept, as compose keeps it", () => {
    test("pa$word, 'lit$eral', $HOME; ${VAR} from the same file is still substituted", () => {
        const p = plan(
            setup({
                "app.env": "A=pa$word\nB='lit$eral'\nC=$HOME/x\nD=${A}-2\n",
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n  api:\n${API}    env_file: app.env\n`,
            }),
        );
        expect(services(p).api?.env).toEqual({
            A: "pa$word",
            B: "lit$eral",
            C: "$HOME/x",
            D: "pa$word-2",
        });
    });
});

describe("7. extends, profiles, entrypoint, network_mode", () => {
    test("extends (another file, then the same file): image and env carried, lines from the base", () => {
        const p = plan(
            setup({
                "base/common.yml":
                    "services:\n  app:\n    image: registry.gitlab.com/acme/shop/app:2.0\n    env_file: app.env\n    environment:\n      LEVEL: info\n",
                "base/app.env": "REGION=eu\n",
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n  api:\n    extends:\n      file: base/common.yml\n      service: app\n    environment:\n      LEVEL: debug\n  worker:\n    extends: api\n    command: ["work"]\n`,
            }),
        );
        expect(services(p).api).toMatchObject({
            image: "app",
            tag: "2.0",
            env: { REGION: "eu", LEVEL: "debug" },
        });
        expect(services(p).worker).toMatchObject({ image: "app", command: ["work"] });
        expect(p.sources).toEqual(expect.arrayContaining(["base/common.yml", "base/app.env"]));
    });

    test("a profile-only service is not deployed, and the report says so", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n  api:\n${API}  pgadmin:\n    image: dpage/pgadmin4:8\n    profiles: [debug]\n`,
            }),
        );
        expect(Object.keys(services(p))).toEqual(["api"]);
        expect(report(p)).toContain(
            "docker-compose.yml:6 services.pgadmin: compose starts it only with --profile debug, and the stack has no profiles: it is not imported, so it is not deployed",
        );
    });

    test("entrypoint and network_mode: host are named with what changes", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n  api:\n${API}    entrypoint: ["/wait", "--"]\n    network_mode: host\n`,
            }),
        );
        const actions = p.findings.filter((f) => f.kind === "action").map((f) => f.at);
        expect(actions).toEqual(
            expect.arrayContaining(["services.api.entrypoint", "services.api.network_mode"]),
        );
        expect(report(p)).toContain("the container runs the image's own entrypoint");
        expect(report(p)).toContain("it no longer listens on the host's interfaces");
    });
});

describe("8. numbers as compose passes them", () => {
    test("20 digits stay 20 digits; 0022 is YAML 1.1's octal 18, said so", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n  api:\n${API}    environment:\n      ID: 12345678901234567890\n      UMASK: 0022\n      QUOTED: "0022"\n`,
            }),
        );
        expect(services(p).api?.env).toEqual({
            ID: "12345678901234567890",
            UMASK: "18",
            QUOTED: "0022",
        });
        expect(report(p)).toContain(
            "compose reads the unquoted 0022 as a YAML 1.1 number and passes UMASK=18",
        );
    });
});

describe("9. optional env files", () => {
    test("required: false and missing: skipped and noted, not an error", () => {
        const p = plan(
            setup({
                "app.env": "A=1\n",
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n  api:\n${API}    env_file:\n      - path: app.env\n      - path: local.env\n        required: false\n`,
            }),
        );
        expect(services(p).api?.env).toEqual({ A: "1" });
        expect(report(p)).toContain(
            "services.api.env_file[1]: local.env does not exist and is optional (required: false)",
        );
    });
});

describe("10. advice and differences that are not", () => {
    test("a browser-facing localhost URL is not advised to become a link", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n  api:\n${API}    environment:\n      FRONTEND_URL: http://localhost:5173\n  frontend:\n    image: registry.gitlab.com/acme/shop/frontend:1.0\n`,
            }),
        );
        expect(report(p)).not.toContain("links");
    });

    test("DB_PORT equal to the database's port is not a change", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n  api:\n${API}    environment:\n      DB_PORT: 5432\n`,
            }),
        );
        expect(report(p)).not.toContain("DB_PORT");
    });

    test("a new external-mode stack file is not reported as a mode change", () => {
        const p = plan(
            setup({
                "docker-compose.yml": `services:\n  api:\n${API}    environment:\n      DB_HOST: db.example.com\n`,
            }),
        );
        expect(report(p)).not.toContain("msa:database.mode");
    });

    test.each(["postgres", "postgres:latest"])(
        "a bare %s DB base is a `latest` finding",
        (image) => {
            const p = plan(
                setup({
                    "docker-compose.yml": `services:\n  db:\n    image: ${image}\n  api:\n${API}`,
                }),
            );
            expect(p.findings).toContainEqual(
                expect.objectContaining({ kind: "latest", at: "services.db.image" }),
            );
        },
    );
});

describe("11. writing the stack file", () => {
    const compose = setup({
        "docker-compose.yml": `services:\n  db:\n    image: postgres:16\n  api:\n${API}`,
    });

    test("a failed write leaves the existing file as it was", () => {
        const dir = tempDir();
        const file = path.join(dir, "Pulumi.t.yaml");
        fs.writeFileSync(file, "config: {}\n# the operator's file\n");
        const failing = {
            writeFileSync: (f: string, text: string) => {
                fs.writeFileSync(f, text.slice(0, 10));
                throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
            },
            renameSync: fs.renameSync,
            rmSync: fs.rmSync,
        };
        expect(() => writeAtomic(file, "config:\n  new: true\n", "Pulumi.t.yaml", failing)).toThrow(
            new ImportError(
                "cannot write Pulumi.t.yaml: ENOSPC; the existing file is unchanged, and no secret was set",
            ),
        );
        expect(fs.readFileSync(file, "utf8")).toBe("config: {}\n# the operator's file\n");
        expect(fs.readdirSync(dir)).toEqual(["Pulumi.t.yaml"]);
    });

    test("a folder at the stack file's path is bad input", () => {
        const dir = tempDir();
        fs.mkdirSync(path.join(dir, "Pulumi.t.yaml"));
        expect(importError(compose, dir)).toBe(
            "Pulumi.t.yaml is a folder; the import writes a file there: move it away",
        );
    });

    test("a missing --dir is bad input", () => {
        const dir = path.join(tempDir(), "nope");
        expect(importError(compose, dir)).toBe(`--dir ${dir}: no such folder`);
    });

    test("a symlinked stack file is not written through", () => {
        const dir = tempDir();
        const target = path.join(tempDir(), "shared.yaml");
        fs.writeFileSync(target, "config: {}\n");
        fs.symlinkSync(target, path.join(dir, "Pulumi.t.yaml"));
        expect(importError(compose, dir)).toBe(
            `Pulumi.t.yaml is a symbolic link (to ${target}); the import does not write through links: run it with --dir set to the folder of the file itself`,
        );
        expect(fs.readFileSync(target, "utf8")).toBe("config: {}\n");
    });
});

describe("12. size", () => {
    test("a 2,000-service compose file is imported to the end (its speed: bench/import.ts)", () => {
        const lines = ["services:", "  db:", "    image: postgres:16"];
        for (let i = 0; i < 2000; i++) {
            lines.push(
                `  svc${i}:`,
                `    image: registry.gitlab.com/acme/shop/svc${i}:1.0.${i}`,
                "    environment:",
                `      PEER_URL: http://svc${(i + 1) % 2000}:8080`,
                `      SVC${(i + 1) % 2000}_URL: http://10.0.0.1:${10000 + i}`,
                `      API_TOKEN: tok-${i}-abcdef`,
            );
        }
        const compose = setup({ "docker-compose.yml": `${lines.join("\n")}\n` });
        let p: ImportPlan | undefined;
        try {
            p = plan(compose);
        } catch (e) {
            // The schema caps a stack at LIMITS.services: the import got to validation, the end.
            expect((e as Error).message).toMatch(
                /^the imported stack config does not validate \(1 problem\); nothing was written:\n {2}- msa:services must have at most [0-9]+ services$/,
            );
            return;
        }
        expect(p.services).toHaveLength(2000);
    });
});

describe("healthcheck values the stack cannot take are reported, for a service as for the DB", () => {
    test("a duration that is not one and retries that are not a whole number: named, left to the stack's defaults", () => {
        const p = plan(
            setup({
                "docker-compose.yml": [
                    "services:",
                    "  db:",
                    "    image: postgres:16",
                    "    healthcheck:",
                    "      interval: soon",
                    "      retries: 2.5",
                    "  api:",
                    "    image: registry.gitlab.com/acme/shop/api:1.0",
                    "    healthcheck:",
                    '      test: ["CMD", "true"]',
                    "      timeout: 90",
                    "      retries: 2.5",
                    "",
                ].join("\n"),
            }),
        );
        expect(services(p).api?.healthcheck).toEqual({ command: ["true"] });
        expect(db(p).healthcheck).toBeUndefined();
        const text = report(p);
        for (const line of [
            'services.db.healthcheck.interval: "soon" is not a duration like 1s, 500ms or 1m30s',
            "services.db.healthcheck.retries: 2.5 is not a whole number",
            "services.api.healthcheck.timeout: 90 is not a duration like 1s, 500ms or 1m30s; the stack's default applies",
            "services.api.healthcheck.retries: 2.5 is not a whole number; the stack's default applies",
        ]) {
            expect(text).toContain(line);
        }
    });
});
