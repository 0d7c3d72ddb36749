/**
 * A compose file beyond the legacy one (fixtures/shop): registry split with a per-service project,
 * anchors and merge keys, secrets found by what they expand from, compose defaults written out.
 */
import * as fs from "fs";
import * as path from "path";
import { ImportPlan, planImport } from "../../importer";
import { renderFindings } from "../../importer/report";
import { FIXTURES, tempDir } from "./helpers";

describe("fixtures/shop", () => {
    let plan: ImportPlan;
    let report: string;
    beforeAll(() => {
        plan = planImport({
            compose: path.join(FIXTURES, "shop", "docker-compose.yml"),
            stack: "shop",
            dir: tempDir(),
        });
        report = renderFindings(plan.findings).join("\n");
    });

    test("registry, database and services as the stack holds them", () => {
        const c = plan.config;
        expect(c["msa:registry"]).toEqual({
            server: "registry.example.com",
            namespace: "team",
            project: "shop",
            username: "change-me",
        });
        // Compose's healthcheck-less DB gets the stack's defaults: no healthcheck key is written.
        expect(c["msa:database"]).toEqual({
            mode: "container",
            alias: "db",
            volumeName: "pgdata",
            port: 5432,
            hostPort: 5433,
            bindAddress: "127.0.0.1",
            name: "shop",
            user: "shop",
            image: { base: "postgres:15" },
        });
        expect(c["msa:timezone"]).toBe("Europe/Berlin");
        expect(c["msa:services"]).toEqual({
            orders: {
                image: "orders",
                tag: "1.4",
                memoryMb: 512,
                ports: [
                    { container: 8080, host: 8080, bindAddress: "0.0.0.0" },
                    { container: 9090 },
                ],
                env: { FEATURE_X: "on", PAYMENTS_URL: "http://payments:8081" },
                restart: "unless-stopped",
                command: ["java", "-jar", "app.jar"],
                // compose's `test: <string>` runs through the shell, as Docker runs it.
                healthcheck: { command: ["sh", "-c", "curl -f http://localhost:8080"] },
            },
            payments: {
                image: "payments",
                project: "other",
                tag: "latest",
                ports: [{ container: 8081, host: 8081, bindAddress: "0.0.0.0" }],
                env: { FEATURE_X: "on" },
                restart: "unless-stopped",
            },
            cache: { image: "redis", tag: "7", restart: "no" },
        });
    });

    test("values built from a secret are secret; no secret value is anywhere in the result", () => {
        expect(plan.secrets.map((s) => [s.key, s.source])).toEqual([
            ["msa:dbPassword", "POSTGRES_PASSWORD = ${PG_PASS}, docker-compose.yml:11"],
            [
                "msa:secretEnv.orders.API_TOKEN",
                "API_TOKEN = ${ORDERS_TOKEN}, docker-compose.yml:25",
            ],
            [
                "msa:secretEnv.orders.DATABASE_URL",
                "DATABASE_URL = ${PG_PASS}, docker-compose.yml:27",
            ],
            [
                "msa:registryPassword",
                "registry password or GitLab deploy token; not in the compose files",
            ],
        ]);
        for (const value of ["s3cr3t-pg", "tok-123"]) {
            expect(plan.text).not.toContain(value);
            expect(report).not.toContain(value);
        }
    });

    test("strings YAML 1.1 reads as booleans are quoted", () => {
        expect(plan.text).toContain('      restart: "no"\n');
        expect(plan.text).toContain('        FEATURE_X: "on"\n');
    });

    test("reports what has no stack key, with its line", () => {
        for (const line of [
            '  docker-compose.yml:15 services.db.volumes[1]: "./init:/docker-entrypoint-initdb.d": the stack mounts only the data volume',
            "  docker-compose.yml:19 services.orders.depends_on.cache: the stack does not order services among themselves; orders may start before cache",
            "  docker-compose.yml:39 networks: the stack puts every service on one network of its own",
            '  docker-compose.yml:22 services.orders.ports[1] "9090": compose publishes container port 9090 on a random host port; the stack does not publish it (reachable on the stack\'s network only): set a host port if needed',
            "  docker-compose.yml:19 services.orders.depends_on: the stack starts every service once the database is healthy (compose waited for service_started)",
            "  docker-compose.yml:34 services.payments.image: registry.example.com/team/other/payments (no tag: latest) → msa:services.payments.tag latest; pin a version",
        ]) {
            expect(report).toContain(line);
        }
        // A URL that names the service keeps working on the stack's network: nothing to report.
        expect(report).not.toContain("PAYMENTS_URL");
    });
});

describe("values that carry credentials, whatever their name", () => {
    const dir = tempDir();
    const files: Record<string, string> = {
        ".env": "CACHE_URL=redis://:pw-dotenv@cache:6379\n",
        "api.env": "JDBC=jdbc:postgresql://reports/db?user=u&password=pw-envfile\n",
        "docker-compose.yml": [
            "services:",
            "  db:",
            "    image: postgres:15",
            "    environment:",
            "      POSTGRES_DB: app",
            "  api:",
            "    image: registry.gitlab.com/g/p/api:1.0",
            "    env_file: api.env",
            '    command: ["worker", "--password=pw-command"]',
            "    environment:",
            "      REPORTS_DB: postgres://reporter:pw-literal@reports/db",
            "      CACHE: ${CACHE_URL}",
            "      UPSTREAM_HEADER: Bearer abcdefgh12345",
            "      DOCS_URL: https://docs@example.com/api",
            "  worker:",
            "    image: registry.gitlab.com/g/p/worker:1.0",
            "    environment:",
            "      DB_HOST: postgres://u:pw-dbhost@db/app",
            "",
        ].join("\n"),
    };
    for (const [name, text] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, name), text);
    }
    const plan = planImport({
        compose: path.join(dir, "docker-compose.yml"),
        stack: "creds",
        dir: tempDir(),
    });
    const report = renderFindings(plan.findings).join("\n");

    test("go to msa:secretEnv (from compose, an env_file or .env), never to the stack file", () => {
        expect(plan.secrets.map((s) => [s.key, s.source])).toEqual([
            ["msa:secretEnv.api.JDBC", "JDBC, api.env:1"],
            ["msa:secretEnv.api.REPORTS_DB", "REPORTS_DB, docker-compose.yml:11"],
            ["msa:secretEnv.api.CACHE", "CACHE = ${CACHE_URL}, docker-compose.yml:12"],
            ["msa:secretEnv.api.UPSTREAM_HEADER", "UPSTREAM_HEADER, docker-compose.yml:13"],
            [
                "msa:registryPassword",
                "registry password or GitLab deploy token; not in the compose files",
            ],
        ]);
        // A URL with a user and no password carries none.
        expect((plan.config["msa:services"] as Record<string, unknown>).api).toMatchObject({
            env: { DOCS_URL: "https://docs@example.com/api" },
        });
    });

    test("a command or a plain key that would hold one is dropped and reported, without it", () => {
        const api = (plan.config["msa:services"] as Record<string, Record<string, unknown>>).api;
        expect(api?.command).toBeUndefined();
        expect(report).toContain(
            "  docker-compose.yml:9 services.api.command: the command carries credentials (a password, or the value of a secret, in it), which never go to the stack file: the command is not imported; pass the credential in env (msa:secretEnv.api.<NAME>, set with pulumi config set --secret --path) and set msa:services.api.command without it",
        );
        expect(report).toContain(
            "  docker-compose.yml:18 services.worker env DB_HOST: the value carries credentials (a password in it); DB_HOST maps to msa:database.alias, plain config that never holds a credential, so the value is dropped: set msa:database.alias without them (the password is msa:dbPassword)",
        );
        expect((plan.config["msa:database"] as Record<string, unknown>).alias).toBe("db");
    });

    test("no credential is in the stack file or the report", () => {
        for (const secret of [
            "pw-dotenv",
            "pw-envfile",
            "pw-command",
            "pw-literal",
            "abcdefgh12345",
            "pw-dbhost",
        ]) {
            expect([secret, plan.text.includes(secret)]).toEqual([secret, false]);
            expect([secret, report.includes(secret)]).toEqual([secret, false]);
        }
    });
});
