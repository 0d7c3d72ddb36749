/**
 * The corpus (`test/import/corpus/`): compose setups written for this project, each imported and
 * held against compose's own rendering of it (`compose-config.yml`, from docker-compose 1.29, see
 * `corpus/render.ts`), service by service: image (or build), env, ports, restart, and for the
 * database its user, database, password, image and data volume. The stack side is what the real
 * program declares for the imported stack file (captured under the mock runtime, with the secret
 * values the import would set), so a value counts only if it reaches the container.
 *
 * The rule: every value is what compose gives, or the report names the difference (its key or env
 * name, on the service it concerns). And no secret value appears in any output: the stack file,
 * the report, stdout or stderr.
 */
import * as path from "path";
import { parse } from "yaml";
import { Capture, captureStack, CapturedResource, reveal } from "../../capture";
import { ImportPlan, planImport } from "../../importer";
import { isPostgresFamilyText } from "../../importer/mapping/images";
import { renderFindings } from "../../importer/report";
import { main } from "../../tools/import";
import { byName, REGISTRY, ROOT } from "../helpers";
import { caseNames, caseSpec, CORPUS, RENDERING } from "./corpus/render";
import * as fs from "fs";

interface ComposeService {
    image?: string;
    build?: {
        context: string;
        dockerfile?: string;
        target?: string;
        args?: Record<string, unknown>;
    };
    environment?: Record<string, unknown>;
    ports?: unknown[];
    restart?: string;
    volumes?: unknown[];
    profiles?: string[];
}

/** compose's rendering, `$$` read back as `$`, numbers as compose wrote them. */
function rendering(name: string): Record<string, ComposeService> {
    const text = fs.readFileSync(path.join(CORPUS, name, RENDERING), "utf8");
    const unescape = (v: unknown): unknown =>
        typeof v === "string"
            ? v.replace(/\$\$/g, "$")
            : typeof v === "bigint"
              ? v.toString()
              : Array.isArray(v)
                ? v.map(unescape)
                : v !== null && typeof v === "object"
                  ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unescape(x)]))
                  : v;
    const doc = parse(text, { intAsBigInt: true }) as { services: Record<string, unknown> };
    return unescape(doc.services) as Record<string, ComposeService>;
}

interface Imported {
    plan: ImportPlan;
    report: string;
    stdout: string;
    stderr: string;
    capture: Capture;
    compose: Record<string, ComposeService>;
}

async function importCase(name: string): Promise<Imported> {
    const compose = path.join(CORPUS, name, "docker-compose.yml");
    const stack = `corpus-${name}`;
    // The project folder is the checkout: build contexts inside the corpus are inside it.
    const plan = planImport({ compose, stack, dir: ROOT });
    const out = { stdout: "", stderr: "" };
    const status = await main(
        ["--compose", compose, "--stack", stack, "--dir", ROOT, "--dry-run"],
        {
            stdout: (t) => (out.stdout += t),
            stderr: (t) => (out.stderr += t),
        },
    );
    expect(status).toBe(0);
    const config = parse(plan.text) as { config: Record<string, unknown> };
    const secretEnv: Record<string, Record<string, string>> = {};
    const secrets: Record<string, unknown> = { "msa:registryPassword": "registry-token" };
    for (const s of plan.secrets) {
        const m = /^msa:secretEnv\.([^.]+)\.(.+)$/.exec(s.key);
        if (m?.[1] !== undefined && m[2] !== undefined) {
            secretEnv[m[1]] = { ...(secretEnv[m[1]] ?? {}), [m[2]]: s.value ?? "" };
        } else if (s.key !== "msa:registryPassword") {
            secrets[s.key] = s.value ?? "";
        }
    }
    if (Object.keys(secretEnv).length > 0) {
        secrets["msa:secretEnv"] = secretEnv;
    }
    const capture = await captureStack({
        stack,
        config: config.config,
        secrets,
        hooks: REGISTRY,
        preview: false,
    });
    return {
        plan,
        report: renderFindings(plan.findings).join("\n"),
        ...out,
        capture,
        compose: rendering(name),
    };
}

/** `NAME → value` of a container, secrets revealed. */
function envOf(container: CapturedResource): Map<string, string> {
    return new Map(
        (container.inputs.envs as unknown[]).map((e) => {
            const text = String(reveal(e));
            const eq = text.indexOf("=");
            return [text.slice(0, eq), text.slice(eq + 1)];
        }),
    );
}

/** Whether a finding names all `words` (as words) and concerns `service` or the whole stack. */
function reported(r: Imported, service: string, words: string[]): boolean {
    return r.plan.findings.some((f) => {
        const text = `${f.at}: ${f.message}`;
        const scoped =
            new RegExp(`services\\.${escape(service)}([^A-Za-z0-9_-]|$)`).test(text) ||
            (words.length > 0 && (f.at.startsWith("msa:") || words.includes(f.at)));
        return (
            scoped &&
            words.every((w) =>
                new RegExp(`(^|[^A-Za-z0-9_])${escape(w)}([^A-Za-z0-9_]|$)`).test(text),
            )
        );
    });
}

function escape(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

interface PortSpec {
    ip: string;
    published?: number;
    target: number;
    protocol: string;
}

/** compose 1.29's rendered ports (`ip:host:container/proto` or `{published, target}`). */
function composePorts(ports: unknown[] | undefined): PortSpec[] {
    return (ports ?? []).map((p) => {
        if (typeof p === "string") {
            const m = /^(?:([0-9.]+):)?(?:([0-9]+):)?([0-9]+)(?:\/(tcp|udp))?$/.exec(p);
            return {
                ip: m?.[1] ?? "0.0.0.0",
                published: m?.[2] === undefined ? undefined : Number(m[2]),
                target: Number(m?.[3]),
                protocol: m?.[4] ?? "tcp",
            };
        }
        const o = p as Record<string, unknown>;
        return {
            ip: typeof o.host_ip === "string" ? o.host_ip : "0.0.0.0",
            published: o.published === undefined ? undefined : Number(o.published),
            target: Number(o.target),
            protocol: typeof o.protocol === "string" ? o.protocol : "tcp",
        };
    });
}

function containerPorts(container: CapturedResource): PortSpec[] {
    return ((container.inputs.ports ?? []) as Record<string, unknown>[]).map((p) => ({
        ip: String(p.ip),
        published: p.external === undefined ? undefined : Number(p.external),
        target: Number(p.internal),
        protocol: String(p.protocol),
    }));
}

const key = (p: PortSpec) => `${p.ip}:${p.published ?? ""}:${p.target}/${p.protocol}`;

/** Where the official image keeps its data: `PGDATA`, else by major (18 moved it). */
function pgDataOf(c: ComposeService): string {
    const env = c.environment?.PGDATA;
    if (typeof env === "string") {
        return env;
    }
    const major = /:(\d+)/.exec(c.image ?? "")?.[1];
    return major !== undefined && Number(major) >= 18
        ? `/var/lib/postgresql/${major}/docker`
        : "/var/lib/postgresql/data";
}

/** The DB service's Postgres settings as the image reads them. */
function postgresOf(env: Record<string, unknown>): { user: string; db: string; password: string } {
    const user = String(env.POSTGRES_USER ?? "postgres");
    return { user, db: String(env.POSTGRES_DB ?? user), password: String(env.POSTGRES_PASSWORD) };
}

const CASES = caseNames();

test("the corpus has at least 15 setups, each rendered by compose", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(15);
    for (const name of CASES) {
        expect([name, fs.existsSync(path.join(CORPUS, name, RENDERING))]).toEqual([name, true]);
    }
});

describe.each(CASES)("corpus/%s", (name) => {
    const spec = caseSpec(name);
    let r: Imported;
    beforeAll(async () => {
        r = await importCase(name);
    });

    test("no secret value in the stack file, the report, stdout or stderr", () => {
        const values = new Set([
            ...spec.secrets,
            ...r.plan.secrets.flatMap((s) =>
                s.value !== undefined && s.value.length >= 4 ? [s.value] : [],
            ),
        ]);
        for (const v of values) {
            const outputs: [string, string][] = [
                ["stack file", r.plan.text],
                ["report", r.report],
                ["stdout", r.stdout],
                ["stderr", r.stderr],
            ];
            for (const [where, text] of outputs) {
                expect([where, v, text.includes(v)]).toEqual([where, v, false]);
            }
        }
        expect(r.stdout).toBe(r.plan.text);
    });

    test("every compose service is imported, is the database, or is reported", () => {
        expect(r.plan.dbService ?? "none").toBe(spec.db);
        const imported = new Set([...r.plan.services, r.plan.dbService]);
        for (const [svc, c] of Object.entries(r.compose)) {
            expect([svc, imported.has(svc) || reported(r, svc, [])]).toEqual([svc, true]);
            // `docker compose up` does not start a profile-only service: neither does the stack.
            if ((c.profiles ?? []).length > 0) {
                expect([svc, r.plan.services.includes(svc)]).toEqual([svc, false]);
            }
        }
    });

    test("services: image or build, env, ports, restart as compose renders them, or reported", () => {
        const services = r.plan.config["msa:services"] as Record<string, Record<string, unknown>>;
        const registry = r.plan.config["msa:registry"] as Record<string, string> | undefined;
        for (const svc of r.plan.services) {
            const c = r.compose[svc] ?? {};
            const s = services[svc] ?? {};
            // Image: the same reference, or a reported placeholder.
            if (c.build !== undefined) {
                const b = s.build as Record<string, unknown> | undefined;
                const ctx = c.build.context.replace("<case>", path.join(CORPUS, name));
                expect([
                    svc,
                    b === undefined ? undefined : path.join(ROOT, String(b.context)),
                ]).toEqual([svc, ctx]);
                expect([svc, b?.dockerfile ?? "Dockerfile"]).toEqual([
                    svc,
                    c.build.dockerfile ?? "Dockerfile",
                ]);
                expect([svc, b?.target]).toEqual([svc, c.build.target]);
                for (const [arg, v] of Object.entries(c.build.args ?? {})) {
                    const ours = (b?.args as Record<string, string> | undefined)?.[arg];
                    if (ours !== String(v)) {
                        expect([svc, arg, reported(r, svc, [arg])]).toEqual([svc, arg, true]);
                    }
                }
            } else {
                const ours = `${registry?.server}/${String(s.namespace ?? registry?.namespace)}/${String(s.project ?? registry?.project)}/${String(s.image)}:${String(s.tag)}`;
                if (ours !== c.image) {
                    expect([svc, c.image, reported(r, svc, [`services.${svc}.image`])]).toEqual([
                        svc,
                        c.image,
                        true,
                    ]);
                }
            }
            const container = byName(r.capture, `${svc}-container`);
            // Env: each name compose sets (or the stack adds) has compose's value, or is reported.
            const theirs = new Map(
                Object.entries(c.environment ?? {}).map(([k, v]) => [
                    k,
                    v === null ? undefined : String(v),
                ]),
            );
            const ours = envOf(container);
            for (const n of new Set([...theirs.keys(), ...ours.keys()])) {
                if (theirs.get(n) !== ours.get(n)) {
                    expect([svc, n, reported(r, svc, [n])]).toEqual([svc, n, true]);
                }
            }
            // Ports.
            const cp = new Set(composePorts(c.ports).map(key));
            const sp = new Set(containerPorts(container).map(key));
            const differ = [...cp].some((p) => !sp.has(p)) || [...sp].some((p) => !cp.has(p));
            if (differ) {
                expect([svc, reported(r, svc, [`services.${svc}.ports`])]).toEqual([svc, true]);
            }
            // Restart: compose's default is "no".
            const restart = c.restart ?? "no";
            if (container.inputs.restart !== restart) {
                expect([svc, restart, reported(r, svc, [`services.${svc}.restart`])]).toEqual([
                    svc,
                    restart,
                    true,
                ]);
            }
            // Volumes: the stack mounts none on services.
            if ((c.volumes ?? []).length > 0) {
                expect([svc, reported(r, svc, [`services.${svc}.volumes`])]).toEqual([svc, true]);
            }
        }
    });

    test("database: user, database, password, image and data volume as compose had them", () => {
        const dbKey = r.plan.dbService;
        const db = r.plan.config["msa:database"] as Record<string, unknown>;
        if (dbKey === undefined) {
            expect(db.mode).toBe("external");
            return;
        }
        const c = r.compose[dbKey] ?? {};
        const container = byName(r.capture, "database-container");
        const env = envOf(container);
        const theirs = postgresOf(c.environment ?? {});
        expect({
            user: env.get("POSTGRES_USER"),
            db: env.get("POSTGRES_DB"),
            password: env.get("POSTGRES_PASSWORD"),
        }).toEqual(theirs);
        const image = db.image as Record<string, unknown> | undefined;
        if (c.build !== undefined) {
            expect(path.join(ROOT, String(image?.context))).toBe(
                c.build.context.replace("<case>", path.join(CORPUS, name)),
            );
        } else if (isPostgresFamilyText(String(c.image))) {
            // Postgres, PostGIS, pgvector, …: the reference whole, its version and extensions.
            expect(image?.base).toBe(c.image);
        } else {
            // A custom DB image: its base is not known, which is for the operator to settle.
            expect(
                r.plan.findings.filter(
                    (f) => f.kind === "action" && f.at === "msa:database.image.base",
                ),
            ).toHaveLength(1);
        }
        // The data volume: compose's named volume, under the name compose gave it.
        const data = (c.volumes ?? []).find((v) =>
            typeof v === "string"
                ? v.includes(":/var/lib/postgresql")
                : (v as { target?: string }).target?.startsWith("/var/lib/postgresql"),
        );
        if (data !== undefined) {
            const source =
                typeof data === "string"
                    ? data.split(":")[0]
                    : String((data as { source: unknown }).source);
            const declared = parse(fs.readFileSync(path.join(CORPUS, name, RENDERING), "utf8")) as {
                volumes?: Record<string, { name?: string } | null>;
            };
            expect(db.volumeName).toBe(declared.volumes?.[String(source)]?.name ?? source);
        }
        // Where in the volume the data is: where compose's Postgres wrote it, or reported.
        const pgData = pgDataOf(c);
        (c.volumes ?? []).forEach((v, i) => {
            const target =
                typeof v === "string" ? v.split(":")[1] : (v as { target?: string }).target;
            if (target !== undefined && target !== pgData && pgData.startsWith(`${target}/`)) {
                expect(
                    r.plan.findings.filter(
                        (f) => f.kind === "action" && f.at === `services.${dbKey}.volumes[${i}]`,
                    ),
                ).toHaveLength(1);
            }
        });
        // A DB image without a version is a `latest` finding: a newer major refuses the data.
        if (
            typeof c.image === "string" &&
            /^[^:]*(:latest)?$/.test(c.image.replace(/^[^/]*\//, ""))
        ) {
            expect(
                r.plan.findings.filter(
                    (f) => f.kind === "latest" && f.at === `services.${dbKey}.image`,
                ),
            ).toHaveLength(1);
        }
        const restart = c.restart ?? "no";
        if (restart !== "unless-stopped") {
            expect(reported(r, dbKey, [`services.${dbKey}.restart`])).toBe(true);
        }
        const cp = composePorts(c.ports).map(key).sort();
        const sp = containerPorts(container).map(key).sort();
        if (JSON.stringify(cp) !== JSON.stringify(sp)) {
            expect(reported(r, dbKey, [`services.${dbKey}.ports`])).toBe(true);
        }
    });
});
