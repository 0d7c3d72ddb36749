/**
 * The legacy compose set imported into a stack: the offline plan of that stack matches what compose
 * itself makes of the files (`docker-compose config`, kept as fixtures), service by service.
 */
import * as fs from "fs";
import * as path from "path";
import { Capture, captureStack, CapturedResource, reveal } from "../../capture";
import { looksSecret } from "../../lib/secretNames";
import { ImportPlan, planImport } from "../../importer";
import { renderFindings } from "../../importer/report";
import { byName, CONTAINER, IMAGE, REGISTRY, REMOTE_IMAGE, VOLUME } from "../helpers";
import { composeReference, ComposeService, LEGACY, readConfig, tempDir } from "./helpers";

interface Imported {
    plan: ImportPlan;
    capture: Capture;
    report: string;
}

/**
 * Imports into a temp folder, then captures the written stack file with the secrets the import
 * asks for set as `pulumi config set --secret` leaves them: `secure:` values (placeholders).
 */
async function importAndCapture(compose: string, stack: string): Promise<Imported> {
    const dir = tempDir();
    const plan = planImport({ compose: path.join(LEGACY, compose), stack, dir });
    fs.writeFileSync(plan.stackFile, plan.text);
    const config = readConfig(plan.stackFile);
    const secretEnv: Record<string, Record<string, { secure: string }>> = {};
    for (const s of plan.secrets) {
        const m = /^msa:secretEnv\.([^.]+)\.(.+)$/.exec(s.key);
        if (m?.[1] !== undefined && m[2] !== undefined) {
            secretEnv[m[1]] = { ...(secretEnv[m[1]] ?? {}), [m[2]]: { secure: `v1:${m[2]}` } };
        } else {
            config[s.key] = { secure: `v1:${s.key}` };
        }
    }
    config["msa:secretEnv"] = secretEnv;
    const capture = await captureStack({ stack, config, hooks: REGISTRY, preview: false });
    return { plan, capture, report: renderFindings(plan.findings).join("\n") };
}

/** `NAME=value` entries of a container, secrets as `NAME=<secret>`. */
function envOf(container: CapturedResource): Map<string, string> {
    const envs = container.inputs.envs as unknown[];
    return new Map(
        envs.map((e) => {
            const text = String(reveal(e));
            const name = text.slice(0, text.indexOf("="));
            const secret = typeof e === "object" && e !== null;
            return [name, secret ? "<secret>" : text.slice(text.indexOf("=") + 1)];
        }),
    );
}

/** compose's env with secrets (by name, or expanded from one: POSTGRES_PASSWORD) as `<secret>`. */
function composeEnv(svc: ComposeService): Map<string, string> {
    return new Map(
        Object.entries(svc.environment ?? {}).map(([k, v]) => [
            k,
            looksSecret(k) ? "<secret>" : String(v),
        ]),
    );
}

/**
 * The service's container runs what compose ran: image and tag, ports, every env value, restart
 * policy, container name, and the service name as its alias on `network`.
 */
function expectServiceAsInCompose(
    r: Imported,
    key: string,
    svc: ComposeService,
    network: string,
): CapturedResource {
    const container = byName(r.capture, `${key}-container`);
    expectImage(r.capture, key, svc, r.plan);
    expectPorts(container, svc, "0.0.0.0");
    expect(Object.fromEntries(envOf(container))).toEqual(Object.fromEntries(composeEnv(svc)));
    expect(container.inputs.restart).toBe(svc.restart);
    expect(container.inputs.name).toBe(svc.container_name);
    expect(container.inputs.networksAdvanced).toEqual([{ name: network, aliases: [key] }]);
    return container;
}

function expectImage(capture: Capture, key: string, svc: ComposeService, plan: ImportPlan): void {
    const tag = svc.image.slice(svc.image.lastIndexOf(":") + 1);
    const server = svc.image.split("/")[0];
    const remote = byName(capture, `${key}-image`);
    // The legacy refs are placeholders: same registry and tag, a placeholder path the report names.
    expect(remote.inputs.name).toMatch(
        new RegExp(
            `^${server}/change-me/change-me/${key.toLowerCase().replace("_", "-")}:${tag}@sha256:[0-9a-f]{64}$`,
        ),
    );
    expect(plan.findings).toContainEqual(
        expect.objectContaining({
            kind: "action",
            at: `services.${key}.image`,
            message: expect.stringContaining(
                `${JSON.stringify(svc.image)} is not a valid image reference`,
            ),
        }),
    );
    expect(plan.findings).toContainEqual(
        expect.objectContaining({ kind: "latest", at: `services.${key}.image` }),
    );
}

function expectPorts(container: CapturedResource, svc: ComposeService, ip: string): void {
    expect(container.inputs.ports).toEqual(
        (svc.ports ?? []).map((p) => ({
            external: p.published,
            internal: p.target,
            ip,
            protocol: "tcp",
        })),
    );
}

describe("docker-compose.yml + .env → container-mode stack", () => {
    const compose = composeReference("docker-compose.yml");
    let r: Imported;
    beforeAll(async () => {
        r = await importAndCapture("docker-compose.yml", "legacy");
    });

    test("the import finds the database and both services", () => {
        expect(r.plan.mode).toBe("container");
        expect(r.plan.dbService).toBe("database");
        expect(r.plan.services).toEqual(["SERVICE_B", "SERVICE_D"]);
        expect(r.plan.sources).toEqual(["docker-compose.yml", ".env", ".env.db.postgres"]);
    });

    test("database: tag, port (bound to 127.0.0.1 on purpose), restart, volume, name", () => {
        const db = compose.database as ComposeService;
        const container = byName(r.capture, "database-container");
        expect(container.inputs.name).toBe(db.container_name);
        expect(container.inputs.restart).toBe(db.restart);
        expectPorts(container, db, "127.0.0.1");
        expect(r.report).toContain(
            'docker-compose.yml:9 services.database.ports[0] "${DB_PORT_IN}:${DB_PORT_OUT}": the DB port 5432 is published on 127.0.0.1 (msa:database.bindAddress) instead of every interface',
        );
        const [volume, target] = (db.volumes?.[0] ?? "").split(":");
        expect(container.inputs.volumes).toEqual([{ volumeName: volume, containerPath: target }]);
        expect(byName(r.capture, "database-volume").inputs).toMatchObject({
            name: volume,
            driver: "local",
        });
        // The DB image is built from docker/db, tagged with a hash of it: compose's tag does not
        // carry over, and the report says so.
        expect(byName(r.capture, "database-image").inputs.imageName).toMatch(
            /^registry\.gitlab\.com\/change-me\/change-me\/db:src-[0-9a-f]{12}$/,
        );
        expect(r.report).toContain(
            "compose's tag latest is not carried over (msa:database.image.tag is left unset)",
        );
        expect(db.image).toBe("registry.gitlab.com/...:latest");
    });

    test("database healthcheck: same timing; the TCP test is a reported, deliberate change", () => {
        const db = compose.database as ComposeService;
        const container = byName(r.capture, "database-container");
        const hc = container.inputs.healthcheck as Record<string, unknown>;
        expect(hc).toMatchObject({
            interval: db.healthcheck?.interval,
            timeout: db.healthcheck?.timeout,
            retries: db.healthcheck?.retries,
        });
        expect(db.healthcheck?.test).toEqual(["CMD", "pg_isready", "-U", "postgres"]);
        expect(hc.tests).toEqual(["CMD", "pg_isready", "-h", "127.0.0.1", "-p", "5432"]);
        // pg_isready reads the user and database from the env.
        const env = envOf(container);
        expect([env.get("PGUSER"), env.get("PGDATABASE")]).toEqual(["postgres", "sf1_db"]);
        expect(r.report).toContain(
            'docker-compose.yml:13 services.database.healthcheck.test: compose runs "pg_isready -U postgres"; the stack runs "pg_isready -h 127.0.0.1 -p 5432" as user postgres on database sf1_db (PGUSER, PGDATABASE)',
        );
    });

    test("database env: each value is on the DB container or reported as moved to the services", () => {
        const env = envOf(byName(r.capture, "database-container"));
        const moved = [
            "DB_USER",
            "DB_PASSWORD",
            "DB_KIND",
            "DB_DIALECT",
            "DB_DRIVER_CLASS_NAME",
            "DB_TYPE",
        ];
        expect(r.report).toContain(
            `docker-compose.yml:4 services.database env: the DB container no longer gets ${moved.join(", ")} (from .env.db.postgres; Postgres does not read them)`,
        );
        for (const [name, value] of composeEnv(compose.database as ComposeService)) {
            if (moved.includes(name)) {
                expect(env.has(name)).toBe(false);
            } else {
                expect([name, env.get(name)]).toEqual([name, value]);
            }
        }
        expect(env.get("POSTGRES_PASSWORD")).toBe("<secret>");
    });

    for (const key of ["SERVICE_B", "SERVICE_D"]) {
        test(`${key}: image and tag, ports, every env value, restart, name, alias, starts after a healthy DB`, () => {
            const svc = compose[key] as ComposeService;
            const container = expectServiceAsInCompose(r, key, svc, "msa-legacy-net");
            expect(svc.depends_on).toEqual({ database: { condition: "service_healthy" } });
            expect(container.dependsOn).toContain("database-container");
            // The DB container is created with wait: true, i.e. once its healthcheck passes.
            expect(byName(r.capture, "database-container").inputs.wait).toBe(true);
        });
    }

    test("SERVICE_B_IP is kept as is and reported: a links entry would replace it", () => {
        const env = envOf(byName(r.capture, "SERVICE_D-container"));
        expect(env.get("SERVICE_B_IP")).toBe("0.0.0.0");
        expect(r.report).toContain(
            "docker-compose.yml:48 services.SERVICE_D env SERVICE_B_IP: kept as is: SERVICE_B_IP=0.0.0.0 addresses SERVICE_B through a port published on the Docker host (0.0.0.0 does not reach another container anyway). A links entry would replace it: add SERVICE_B to msa:services.SERVICE_D.links",
        );
    });

    test("exactly the expected resources, no more", () => {
        const counts: Record<string, number> = {};
        for (const res of r.capture.resources.filter((x) => x.custom)) {
            counts[res.type] = (counts[res.type] ?? 0) + 1;
        }
        expect(counts[CONTAINER]).toBe(3);
        expect(counts[VOLUME]).toBe(1);
        expect(counts[IMAGE]).toBe(1);
        expect(counts[REMOTE_IMAGE]).toBe(2);
    });
});

describe("docker-compose.external-db.yml + .env → external-mode stack", () => {
    const compose = composeReference("docker-compose.external-db.yml");
    let r: Imported;
    beforeAll(async () => {
        r = await importAndCapture("docker-compose.external-db.yml", "legacy-ext");
    });

    test("no database resources; host and port from the env", () => {
        expect(r.plan.mode).toBe("external");
        expect(r.plan.config["msa:database"]).toEqual({
            mode: "external",
            host: "0.0.0.0",
            port: 5432,
            name: "sf1_db",
            schema: "sf1_schema",
            user: "postgres",
            client: {
                kind: "postgresql",
                dialect: "org.hibernate.dialect.PostgreSQL10Dialect",
                driverClassName: "org.postgresql.Driver",
                type: "postgresql_table",
            },
        });
        expect(r.capture.resources.filter((x) => x.name.startsWith("database"))).toEqual([]);
        expect(r.capture.resources.filter((x) => x.type === CONTAINER)).toHaveLength(2);
    });

    test("DB_HOST=0.0.0.0 is reported as a value the operator must change", () => {
        expect(r.report).toContain(
            "docker-compose.external-db.yml:13 msa:database.host: DB_HOST=0.0.0.0 (DB_HOST from .env:8) is not an address a container can reach a database at (0.0.0.0 means every interface to a server, no host to a client); msa:database.host is 0.0.0.0 so the stack validates, but set the database server's address before pulumi up: pulumi config set --stack legacy-ext --path msa:database.host <db-host>",
        );
    });

    for (const key of ["SERVICE_B", "SERVICE_D"]) {
        test(`${key}: image and tag, ports, every env value, restart, name, alias`, () => {
            const svc = compose[key] as ComposeService;
            const container = expectServiceAsInCompose(r, key, svc, "msa-legacy-ext-net");
            expect(container.dependsOn.filter((d) => d.startsWith("database"))).toEqual([]);
        });
    }
});
