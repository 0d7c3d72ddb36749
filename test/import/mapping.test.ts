/**
 * A compose file beyond the legacy one (fixtures/shop): registry split with a per-service project,
 * anchors and merge keys, secrets found by what they expand from, compose defaults written out.
 */
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
        expect([
            c["msa:registryServer"],
            c["msa:registryNamespace"],
            c["msa:registryProject"],
        ]).toEqual(["registry.example.com", "team", "shop"]);
        expect([c["msa:dbHost"], c["msa:dbName"], c["msa:dbUser"], c["msa:dbBaseImage"]]).toEqual([
            "db",
            "shop",
            "shop",
            "postgres:15",
        ]);
        expect([c["msa:dbPort"], c["msa:dbHostPort"], c["msa:dbBindAddress"]]).toEqual([
            5432,
            5433,
            "127.0.0.1",
        ]);
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
            "  docker-compose.yml:30 services.orders.healthcheck: the stack declares no healthcheck for services",
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
