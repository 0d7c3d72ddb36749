/** Each bad input: a clear error naming the file, key or value, and nothing written. */
import * as fs from "fs";
import * as path from "path";
import { ImportError, planImport } from "../../importer";
import { legacyCopy, tempDir } from "./helpers";

function importError(compose: string, extra: { env?: string; dbService?: string } = {}): string {
    try {
        planImport({ compose, stack: "bad", dir: tempDir(), ...extra });
    } catch (e) {
        expect(e).toBeInstanceOf(ImportError);
        return (e as Error).message;
    }
    throw new Error("expected an ImportError");
}

/** A compose file (and files beside it) in a fresh folder. */
function composeIn(text: string, files: Record<string, string> = {}): string {
    const dir = tempDir();
    for (const [name, content] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, name), content);
    }
    fs.writeFileSync(path.join(dir, "docker-compose.yml"), text);
    return path.join(dir, "docker-compose.yml");
}

const PG = `    image: registry.gitlab.com/g/p/api:1.0\n    environment:\n      DB_NAME: app\n`;

test("unreadable compose file", () => {
    const file = path.join(tempDir(), "docker-compose.yml");
    expect(importError(file)).toBe(`cannot read compose file ${file}: no such file`);
});

test("compose file that is a folder", () => {
    const dir = tempDir();
    expect(importError(dir)).toBe(`cannot read compose file ${dir}: it is a folder`);
});

test("unreadable --env file", () => {
    const dir = legacyCopy();
    expect(
        importError(path.join(dir, "docker-compose.yml"), { env: path.join(dir, "prod.env") }),
    ).toBe("cannot read .env file prod.env: no such file");
});

test("unreadable env_file", () => {
    const dir = legacyCopy();
    fs.rmSync(path.join(dir, ".env.db.postgres"));
    expect(importError(path.join(dir, "docker-compose.yml"))).toBe(
        "cannot read env_file .env.db.postgres (named in docker-compose.yml): no such file",
    );
});

test("invalid YAML", () => {
    const file = composeIn("services:\n  api:\n    image: a\n   ports: [1\n");
    expect(importError(file)).toBe(
        "docker-compose.yml is not valid YAML: All mapping items must start at the same column at line 4, column 1",
    );
});

test("a YAML file that is not a compose file", () => {
    expect(importError(composeIn("- just\n- a list\n"))).toBe(
        "docker-compose.yml must be a YAML map with a services: key",
    );
});

test("unknown ${VAR} in the compose file", () => {
    const dir = legacyCopy();
    const env = path.join(dir, ".env");
    fs.writeFileSync(env, fs.readFileSync(env, "utf8").replace(/^DB_PORT_IN=.*$/m, ""));
    expect(importError(path.join(dir, "docker-compose.yml"))).toBe(
        "docker-compose.yml:9: services.database.ports[0] uses ${DB_PORT_IN}, which is not set in .env (compose would substitute an empty string); set DB_PORT_IN there or write ${DB_PORT_IN:-default}",
    );
});

test("unknown ${VAR} in the compose file without any .env", () => {
    expect(importError(composeIn(`services:\n  api:\n    image: \${IMAGE}\n`))).toBe(
        "docker-compose.yml:3: services.api.image uses ${IMAGE}, which is not set in any .env file (there is none beside the compose file; pass --env) (compose would substitute an empty string); set IMAGE there or write ${IMAGE:-default}",
    );
});

test("${VAR:?message} that is unset", () => {
    expect(importError(composeIn(`services:\n  api:\n    image: \${IMAGE:?set the image}\n`))).toBe(
        "docker-compose.yml:3: services.api.image: ${IMAGE:?set the image}: set the image",
    );
});

test("unknown ${VAR} inside an env_file", () => {
    const dir = legacyCopy();
    const env = path.join(dir, ".env.db.postgres");
    fs.writeFileSync(env, fs.readFileSync(env, "utf8").replace(/^DB_PASSWORD=.*$/m, ""));
    expect(importError(path.join(dir, "docker-compose.yml"))).toBe(
        ".env.db.postgres:9: POSTGRES_PASSWORD uses ${DB_PASSWORD}, which is not set earlier in .env.db.postgres (compose would substitute an empty string)",
    );
});

test("two database candidates without --db-service", () => {
    const file = composeIn(
        `services:\n  db1:\n    image: postgres:14\n  db2:\n    image: registry.gitlab.com/g/p/pg:1\n    volumes:\n      - data:/var/lib/postgresql/data\n  api:\n${PG}`,
    );
    expect(importError(file)).toBe(
        'docker-compose.yml has 2 database candidates: "db1" (line 2, runs postgres:14) and "db2" (line 4, mounts /var/lib/postgresql/data); name the one to import with --db-service',
    );
});

test("--db-service picks one of two candidates", () => {
    const file = composeIn(
        `services:\n  db1:\n    image: postgres:14\n  db2:\n    image: postgres:15\n  api:\n${PG}`,
    );
    const dir = tempDir();
    const plan = planImport({ compose: file, stack: "ok", dir, dbService: "db2" });
    expect(plan.dbService).toBe("db2");
    expect(plan.config["msa:database"]).toMatchObject({
        mode: "container",
        alias: "db2",
        image: { base: "postgres:15" },
    });
    expect(plan.services).toEqual(["db1", "api"]);
});

test("--db-service naming no service", () => {
    const file = composeIn(`services:\n  api:\n${PG}`);
    expect(importError(file, { dbService: "db" })).toBe(
        '--db-service "db" is not a service in docker-compose.yml; services: api',
    );
});

test("a service name that cannot be a stack service key", () => {
    const file = composeIn(`services:\n  db:\n    image: postgres:14\n  my.api:\n${PG}`);
    expect(importError(file)).toBe(
        'docker-compose.yml:4: service name "my.api" cannot be a stack service key (it is also the network alias): it must start with a letter and hold only letters, digits, _ and - (at most 63); rename it in docker-compose.yml',
    );
});

test("no database and no DB_HOST: external mode cannot be told where the database is", () => {
    const file = composeIn(`services:\n  api:\n    image: registry.gitlab.com/g/p/api:1.0\n`);
    expect(importError(file)).toBe(
        "docker-compose.yml has no database service (none mounts /var/lib/postgresql/data or runs a postgres image) and no service sets DB_HOST: cannot tell where the external database is; set DB_HOST on a service, or name the database service with --db-service",
    );
});

test("a value the schema rejects: every problem, nothing written", () => {
    const file = composeIn(
        `services:\n  db:\n    image: postgres:14\n    ports: ["5432:5432"]\n  api:\n    image: registry.gitlab.com/g/p/api:1.0\n    ports: ["70000:80"]\n  web:\n    image: registry.gitlab.com/g/p/web:1.0\n    ports: ["5432:8080"]\n`,
    );
    expect(importError(file)).toBe(
        [
            "the imported stack config does not validate (2 problems); nothing was written:",
            "  - msa:services.api.ports[0].host must be 1-65535, got 70000",
            "  - msa:services.web.ports[0].host must be a free host port, got 5432, which msa:database.hostPort already publishes",
        ].join("\n"),
    );
});

test("a stack file that is not valid YAML", () => {
    const dir = legacyCopy();
    fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), "config: [\n");
    expect(() =>
        planImport({ compose: path.join(dir, "docker-compose.yml"), stack: "bad", dir }),
    ).toThrow(
        new ImportError(
            "Pulumi.bad.yaml is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1",
        ),
    );
});

test("a secret the stack file holds in plain text, which the import does not set", () => {
    const dir = legacyCopy();
    fs.writeFileSync(
        path.join(dir, "Pulumi.bad.yaml"),
        "config:\n  msa:registryPassword: glpat-in-plain-text\n",
    );
    let message = "";
    try {
        planImport({ compose: path.join(dir, "docker-compose.yml"), stack: "bad", dir });
    } catch (e) {
        expect(e).toBeInstanceOf(ImportError);
        message = (e as Error).message;
    }
    expect(message).toBe(
        [
            "the imported stack config does not validate (1 problem); nothing was written:",
            "  - msa:registryPassword is in plain text in the stack file; remove it and set it with: pulumi config set --secret msa:registryPassword",
        ].join("\n"),
    );
});

test("extends naming a service that is not there", () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "common.yml"), "services:\n  app:\n    image: a\n");
    fs.writeFileSync(
        path.join(dir, "docker-compose.yml"),
        "services:\n  db:\n    image: postgres:16\n  web:\n    extends:\n      file: common.yml\n      service: base\n",
    );
    expect(importError(path.join(dir, "docker-compose.yml"))).toBe(
        'docker-compose.yml:5: services.web.extends: service "base" is not in common.yml',
    );
});

test("services that extend one another in a circle", () => {
    const file = composeIn(
        "services:\n  db:\n    image: postgres:16\n  a:\n    extends: b\n  b:\n    extends: a\n",
    );
    expect(importError(file)).toBe(
        "docker-compose.yml:5: services.a.extends: services extend one another in a circle",
    );
});

test("a key set twice in one map", () => {
    expect(
        importError(
            composeIn(
                "services:\n  api:\n    image: a\n    image: b\n  db:\n    image: postgres:16\n",
            ),
        ),
    ).toBe(
        "docker-compose.yml:4: services.api.image is set twice in one map (compose refuses that)",
    );
});

describe("names that Object.prototype also has", () => {
    const DB = "  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: pw\n";

    test("are service, env and variable names like any other: nothing lost, nothing made up", () => {
        const file = composeIn(
            "x-base: &base\n  restart: always\n  toString: 1\n" +
                "services:\n" +
                DB +
                "      toString: db-only\n" +
                "  constructor:\n    <<: *base\n    image: registry.example.com/g/p/a:${toString}\n" +
                "    env_file: [app.env]\n" +
                "    environment:\n      - valueOf=3\n      - hasOwnProperty=${constructor:-unset}\n" +
                "  toString:\n    image: registry.example.com/g/p/b:1\n",
            { ".env": "toString=7\n", "app.env": "constructor=5\n" },
        );
        const plan = planImport({
            compose: file,
            env: path.join(path.dirname(file), ".env"),
            stack: "dev",
            dir: tempDir(),
        });
        expect(plan.config["msa:services"]).toEqual({
            constructor: {
                image: "a",
                tag: "7",
                env: { constructor: "5", valueOf: "3", hasOwnProperty: "unset" },
                restart: "always",
            },
            toString: { image: "b", tag: "1", restart: "no" },
        });
        const messages = plan.findings.map((f) => `${f.at}: ${f.message}`);
        expect(messages).toEqual(
            expect.arrayContaining([
                "services.constructor.toString: no stack key for it: the container runs without it",
                expect.stringMatching(
                    /^services\.db env toString: toString=db-only is not set/,
                ) as unknown,
            ]),
        );
    });

    test("--db-service naming one that is not a service", () => {
        const file = composeIn(`services:\n${DB}  api:\n    image: a\n`);
        expect(importError(file, { dbService: "toString" })).toBe(
            '--db-service "toString" is not a service in docker-compose.yml; services: db, api',
        );
    });

    test("extends naming one that is not a service", () => {
        const file = composeIn(
            `services:\n${DB}  api:\n    image: a\n    extends:\n      service: hasOwnProperty\n`,
        );
        expect(importError(file)).toBe(
            'docker-compose.yml:8: services.api.extends: service "hasOwnProperty" is not in docker-compose.yml',
        );
    });

    test.each([
        [
            "a service",
            `services:\n${DB}  __proto__:\n    image: a\n`,
            {},
            "docker-compose.yml:6: services.__proto__ is a key named __proto__, which the stack's config cannot hold; rename it",
        ],
        [
            "an env variable in a map",
            `services:\n${DB}  api:\n    image: a\n    environment:\n      __proto__: x\n`,
            {},
            "docker-compose.yml:9: services.api.environment.__proto__ is a key named __proto__, which the stack's config cannot hold; rename it",
        ],
        [
            "an env variable in a list",
            `services:\n${DB}  api:\n    image: a\n    environment:\n      - __proto__=x\n`,
            {},
            "docker-compose.yml:9: services.api sets an env variable named __proto__, which the stack's config cannot hold; rename it",
        ],
        [
            "an env variable in an env_file",
            `services:\n${DB}  api:\n    image: a\n    env_file: app.env\n`,
            { "app.env": "A=1\n__proto__=x\n" },
            "app.env:2: services.api sets an env variable named __proto__, which the stack's config cannot hold; rename it",
        ],
    ])("__proto__ as %s is refused, not dropped", (_, compose, files, expected) => {
        expect(importError(composeIn(compose, files))).toBe(expected);
    });
});
