/**
 * `npm run bench:release [-- --rps 200 --out FILE --check]`: what a release costs the callers of
 * a service, on the real Docker engine. A second process (`hey`, Debian's; installed with apt-get
 * when missing) sends constant HTTP load to a published endpoint (`/health` on a loopback address)
 * from 8 s before a release until 8 s after it, while the same sample service image goes through:
 *
 * - `compose`: the legacy setup, `examples/legacy-compose/docker-compose.yml` verbatim, run by
 *   Debian's docker-compose 1.29 with an `.env` naming the local images; the release changes
 *   `SERVICE_B_VERSION` in `.env` and runs `docker-compose up -d` (load on SERVICE_B's port);
 * - `release`: our stack (edge proxy owning the host port, `web` created first and health-gated)
 *   from v1 to v2 through the e2e driver (`test/e2e/driver.ts`), which follows the engine's rules;
 * - `failedRelease`: from v2 to a tag whose container never becomes healthy (the update fails);
 * - `rollback`: from there back to v1.
 *
 * Both setups stop a replaced container with the same 10 s grace (compose's default stop timeout,
 * the stack's default `stopGraceSeconds`). For each scenario: requests sent, failed requests
 * (connection errors and answers other than 2xx), the slowest answer, and the wall time of the
 * release (`docker-compose up -d`, or the driver's update). Writes `bench/release.json` (or
 * `--out`) and prints a table. Targets: release, failedRelease and rollback each fail 0 of at
 * least 2,000 requests, and our release takes at most twice compose's wall time; `--check` exits
 * 1 when one is missed, `--from FILE` judges a saved result without measuring.
 *
 * The registry and images come from the e2e set-up (`test/e2e/setup.sh`, as root, like
 * `npm run test:e2e`); the registry is stopped at the end, the base images stay cached.
 */
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CliSpec, CommandError, exitWith, runCli, UsageError } from "../tools/cli";
import { DockerDriver, freePort, type Deployment } from "../test/e2e/driver";
import {
    docker,
    e2eEnv,
    localReleaseImages,
    publishReleaseImages,
    releaseConfig,
    releaseSecrets,
    releaseStack,
    RELEASES,
    removeStackLeftovers,
    sleep,
    until2xx,
    type E2eEnv,
    type ReleaseStack,
} from "../test/e2e/fixtures";

const ROOT = path.resolve(__dirname, "..");
const DEFAULT_OUT = path.join(__dirname, "release.json");
const DEFAULT_RPS = 200;
/** Load runs this long before the release starts and after it ends. */
const LEAD_MS = 8000;
/** `hey` stops by itself after this long whatever happens (the release is bounded well below). */
const HEY_MAX = "300s";
const SCENARIOS = ["compose", "release", "failedRelease", "rollback"] as const;
type ScenarioName = (typeof SCENARIOS)[number];
/**
 * The service's healthcheck in our stack: `/health` probed every 500 ms, 5 s to start, three
 * misses to fail, so a container that never becomes healthy fails the update after `waitTimeout`
 * = ceil(5 + 3 × (0.5 + 1)) + 10 = 20 s. A health-gated release waits for the first passing probe
 * (one interval after the start) and the provider's next look (it polls once a second): with a
 * 1 s interval the release measured 2.7 s, with the schema's default 2 s 3.5 s, against compose's
 * 0.8 s.
 */
const HEALTHCHECK = {
    http: "/health",
    interval: "500ms",
    timeout: "1s",
    retries: 3,
    startPeriod: "5s",
};
/** Compose's default stop timeout, and the stack's default `stopGraceSeconds`. */
const STOP_GRACE_SECONDS = 10;

/**
 * Clean-ups that must run even if the bench stops abruptly (they are synchronous, so they can run
 * from the exit guard at the end of this file); each is removed once it has run normally.
 */
const atAbort = new Set<() => void>();

export interface ScenarioResult {
    requests: number;
    failed: number;
    maxLatencyMs: number;
    wallMs: number;
}

export interface ReleaseBench {
    machine: string;
    rps: number;
    scenarios: Record<ScenarioName, ScenarioResult>;
}

export interface Target {
    what: string;
    ok: boolean;
}

const OPTIONS = {
    rps: { type: "string" },
    out: { type: "string" },
    check: { type: "boolean" },
    from: { type: "string" },
} as const;

const CLI: CliSpec<typeof OPTIONS> = {
    name: "bench:release",
    usage: [
        "usage: npm run bench:release -- [--rps N] [--out FILE] [--check]",
        "       npm run bench:release -- --from FILE [--check]",
        `  --rps N      requests per second of constant load (default ${DEFAULT_RPS})`,
        "  --out FILE   where to write the results (default bench/release.json)",
        "  --check      exit 1 if a target is missed",
        "  --from FILE  judge a saved result again, without measuring",
    ].join("\n"),
    options: OPTIONS,
};

export function main(argv: string[]): Promise<number> {
    return runCli(CLI, argv, async ({ values }) => {
        let results: ReleaseBench;
        if (values.from !== undefined) {
            if (values.rps !== undefined || values.out !== undefined) {
                throw new UsageError(
                    "--from judges a saved result; --rps and --out cannot be used with it",
                );
            }
            results = JSON.parse(
                fs.readFileSync(path.resolve(values.from), "utf8"),
            ) as ReleaseBench;
        } else {
            const rps = values.rps ?? String(DEFAULT_RPS);
            if (!/^[1-9][0-9]*$/.test(rps)) {
                throw new UsageError(
                    `--rps must be a positive integer, got ${JSON.stringify(rps)}`,
                );
            }
            results = await bench(Number(rps));
            const out = path.resolve(values.out ?? DEFAULT_OUT);
            fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
            console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
        }
        console.log(`\n${table(results)}`);
        const targets = judge(results);
        console.log(
            `\n${targets.map((t) => `${t.ok ? "met   " : "MISSED"}  ${t.what}`).join("\n")}`,
        );
        const missed = targets.filter((t) => !t.ok);
        if (values.check === true && missed.length > 0) {
            console.log(`\n--check: ${missed.length} target(s) missed`);
            return 1;
        }
        return 0;
    });
}

async function bench(rps: number): Promise<ReleaseBench> {
    ensureHey();
    const machine = await describeMachine();
    const setup = e2eSetup();
    const teardown = () => e2eTeardown(setup);
    atAbort.add(teardown);
    try {
        const env = e2eEnv();
        log("publishing the release images to the e2e registry");
        const images = await publishReleaseImages(env);
        const compose = await composeScenario(env, rps);
        const ours = await stackScenarios(env, images.proxyImage, rps);
        return { machine, rps, scenarios: { compose, ...ours } };
    } finally {
        atAbort.delete(teardown);
        teardown();
    }
}

/** The legacy compose setup: SERVICE_B from release 1 to release 2 by `.env` and `up -d`. */
async function composeScenario(env: E2eEnv, rps: number): Promise<ScenarioResult> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msa-bench-compose-"));
    const project = `msabench${crypto.randomBytes(3).toString("hex")}`;
    const legacy = path.join(ROOT, "examples", "legacy-compose");
    fs.copyFileSync(path.join(legacy, "docker-compose.yml"), path.join(dir, "docker-compose.yml"));
    fs.copyFileSync(path.join(legacy, ".env.db.postgres"), path.join(dir, ".env.db.postgres"));
    for (const name of ["db_instance", "SERVICE_B", "SERVICE_D"]) {
        const exists = await docker
            .getContainer(name)
            .inspect()
            .then(
                () => true,
                () => false,
            );
        if (exists) {
            throw new CommandError(
                `a container named ${name} exists (the legacy compose file fixes that name); remove it first`,
            );
        }
    }
    const [dbImage, dbTag] = splitTag(env.postgresImage);
    const web = await localReleaseImages(env);
    const ports = {
        db: await freePort(),
        b: await freePort(),
        d: await freePort(),
        dCache: await freePort(),
    };
    const dotenv = (serviceBTag: string) =>
        [
            `DB_IMAGE=${dbImage}`,
            `DB_VERSION=${dbTag}`,
            "DB_ENV_FILE=.env.db.postgres",
            `SERVICE_B_IMAGE=${web.repository}`,
            `SERVICE_B_VERSION=${serviceBTag}`,
            "SERVICE_B_IP=0.0.0.0",
            "SERVICE_B_NAME=SERVICE_B1",
            `SERVICE_D_IMAGE=${web.repository}`,
            `SERVICE_D_VERSION=${web.tag(RELEASES.v1)}`,
            "SERVICE_D_NAME=kit1",
            `DB_PORT_IN=${ports.db}`,
            "DB_PORT_OUT=5432",
            `SERVICE_B_PORT_IN=${ports.b}`,
            "SERVICE_B_PORT_OUT=8080",
            `SERVICE_D_PORT_IN=${ports.d}`,
            "SERVICE_D_PORT_OUT=8888",
            `SERVICE_D_CACHE_PORT_IN=${ports.dCache}`,
            "SERVICE_D_CACHE_PORT_OUT=8900",
            "",
        ].join("\n");
    const compose = (...args: string[]) => run("docker-compose", ["-p", project, ...args], dir);
    const down = () =>
        spawnSync("docker-compose", ["-p", project, "down", "-v", "--remove-orphans"], {
            cwd: dir,
            stdio: "ignore",
        });
    atAbort.add(down);
    fs.writeFileSync(path.join(dir, ".env"), dotenv(web.tag(RELEASES.v1)));
    try {
        log("compose: starting the legacy setup (the DB's healthcheck runs every 10 s)");
        await compose("up", "-d");
        const url = `http://127.0.0.1:${ports.b}/health`;
        await until2xx(url, 60_000);
        const result = await underLoad("compose", url, rps, async () => {
            fs.writeFileSync(path.join(dir, ".env"), dotenv(web.tag(RELEASES.v2)));
            await compose("up", "-d");
        });
        if (result.error !== undefined) {
            throw result.error;
        }
        const running = (await docker.getContainer("SERVICE_B").inspect()).Config.Image;
        if (running !== `${web.repository}:${web.tag(RELEASES.v2)}`) {
            throw new CommandError(
                `compose: SERVICE_B runs ${running} after the release, not release 2`,
            );
        }
        return result.scenario;
    } finally {
        atAbort.delete(down);
        await compose("down", "-v", "--remove-orphans").catch((e: Error) => log(e.message));
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Our stack: v1 → v2 (release), v2 → never healthy (failedRelease), back to v1 (rollback). */
async function stackScenarios(
    env: E2eEnv,
    proxyImage: string,
    rps: number,
): Promise<Record<"release" | "failedRelease" | "rollback", ScenarioResult>> {
    const driver = new DockerDriver(docker);
    const ids: ReleaseStack = await releaseStack("bench");
    const capture = (tag: string) =>
        driver.capture(
            ids.stack,
            releaseConfig(env, ids, proxyImage, tag, {
                healthcheck: HEALTHCHECK,
                stopGraceSeconds: STOP_GRACE_SECONDS,
            }),
            releaseSecrets(env, ids),
        );
    let deployment: Deployment | undefined;
    const label = `label=msa.stack=${ids.stack}`;
    const purge = () =>
        spawnSync(
            "sh",
            [
                "-c",
                `docker ps -aq --filter ${label} | xargs -r docker rm -f; docker network ls -q --filter ${label} | xargs -r docker network rm; docker volume ls -q --filter ${label} | xargs -r docker volume rm`,
            ],
            { stdio: "ignore" },
        );
    atAbort.add(purge);
    try {
        log("stack: deploying v1 (edge proxy, DB, web)");
        deployment = await driver.deploy(await capture(RELEASES.v1));
        const url = `http://127.0.0.1:${ids.webPort}/health`;
        await until2xx(url);
        const step = async (name: string, tag: string, shouldFail: boolean) => {
            const next = await capture(tag);
            let failure: (Error & { deployment?: Deployment }) | undefined;
            const result = await underLoad(name, url, rps, async () => {
                try {
                    deployment = await driver.update(deployment as Deployment, next);
                } catch (e) {
                    failure = e as Error & { deployment?: Deployment };
                    deployment = failure.deployment ?? deployment;
                }
            });
            if (result.error !== undefined) {
                throw result.error;
            }
            if (shouldFail !== (failure !== undefined)) {
                throw new CommandError(
                    `${name}: the update ${failure === undefined ? "succeeded" : `failed: ${failure.message}`}, expected it to ${shouldFail ? "fail" : "succeed"}`,
                );
            }
            if (failure !== undefined) {
                log(`${name}: the update failed as it should: ${failure.message}`);
            }
            return result.scenario;
        };
        return {
            release: await step("release", RELEASES.v2, false),
            failedRelease: await step("failedRelease", RELEASES.BROKEN, true),
            rollback: await step("rollback", RELEASES.v1, false),
        };
    } finally {
        atAbort.delete(purge);
        if (deployment !== undefined) {
            await driver.destroy(deployment).catch((e: Error) => log(e.message));
        }
        await removeStackLeftovers(ids.stack);
    }
}

/**
 * Runs `release` under constant load from `hey` on `url`: load from `LEAD_MS` before it until
 * `LEAD_MS` after it.
 */
async function underLoad(
    name: string,
    url: string,
    rps: number,
    release: () => Promise<void>,
): Promise<{ scenario: ScenarioResult; error?: Error }> {
    const load = startHey(url, rps);
    await sleep(LEAD_MS);
    const started = Date.now();
    const error = await release().then(
        () => undefined,
        (e: Error) => e,
    );
    const wallMs = Date.now() - started;
    await sleep(LEAD_MS);
    const { distribution, ...report } = await load.stop();
    const scenario = { ...report, wallMs };
    log(
        `${name}: ${wallMs} ms; ${report.requests} requests, ${report.failed} failed, slowest ${report.maxLatencyMs} ms (${distribution.join("; ")})`,
    );
    return { scenario, ...(error === undefined ? {} : { error }) };
}

export interface HeyReport {
    requests: number;
    failed: number;
    maxLatencyMs: number;
    /** hey's status code and error distributions, as it printed them. */
    distribution: string[];
}

/**
 * `hey` in its own process: `workers` at `rps / workers` requests per second each (so `rps` in
 * all), a 10 s timeout per request, stopped by SIGINT (it then prints its summary) or after
 * `HEY_MAX`. Few workers by default (one per 50 requests/s): hey's workers tick in step, so 40 of
 * them open 40 connections at once five times a second, which overflows the sample service's
 * listen backlog (Python's default, 5) and costs 1-3 s SYN retransmits with no release at all;
 * four workers keep the load even (35 ms worst case at rest on the machine measured).
 */
export function startHey(
    url: string,
    rps: number,
    workers = Math.max(1, Math.ceil(rps / 50)),
): { stop(): Promise<HeyReport> } {
    if (!/^http:\/\/127\.[0-9.]+:[0-9]+\//.test(url)) {
        throw new CommandError(`load goes to loopback addresses only, got ${url}`);
    }
    const child = spawn(
        "hey",
        ["-z", HEY_MAX, "-c", String(workers), "-q", String(rps / workers), "-t", "10", url],
        { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    return {
        stop: async () => {
            child.kill("SIGINT");
            const code = await exited;
            if (code !== 0) {
                throw new CommandError(`hey exited ${code}: ${out.trim()}`);
            }
            return parseHey(out);
        },
    };
}

/**
 * hey's summary → requests sent (every status code and every error), failed (errors and
 * non-2xx answers) and the slowest answer. hey counts only answered requests in its latencies.
 */
export function parseHey(out: string): HeyReport {
    const slowest = /Slowest:\s+([0-9.]+) secs/.exec(out);
    const statuses = section(out, "Status code distribution:").map((line) => {
        const m = /^\[(\d+)\]\s+(\d+) responses/.exec(line);
        if (m === null) {
            throw new CommandError(`cannot read hey's status line: ${line}`);
        }
        return { status: Number(m[1]), count: Number(m[2]) };
    });
    const errors = section(out, "Error distribution:").map((line) => {
        const m = /^\[(\d+)\]\s/.exec(line);
        if (m === null) {
            throw new CommandError(`cannot read hey's error line: ${line}`);
        }
        return Number(m[1]);
    });
    const answered = statuses.reduce((n, s) => n + s.count, 0);
    const errored = errors.reduce((n, e) => n + e, 0);
    const non2xx = statuses
        .filter((s) => s.status < 200 || s.status > 299)
        .reduce((n, s) => n + s.count, 0);
    return {
        requests: answered + errored,
        failed: errored + non2xx,
        maxLatencyMs: slowest === null ? 0 : Math.round(Number(slowest[1]) * 1000),
        distribution: [
            ...statuses.map((s) => `HTTP ${s.status}: ${s.count}`),
            ...errorKinds(section(out, "Error distribution:")),
        ],
    };
}

/**
 * hey lists each distinct error line, and a reset names its own client port: counted by kind
 * (the request and the addresses left out), so a summary stays one line.
 */
export function errorKinds(lines: string[]): string[] {
    const kinds = new Map<string, number>();
    for (const line of lines) {
        const m = /^\[(\d+)\]\s+(.*)$/.exec(line);
        const kind = (m?.[2] ?? line)
            .replace(/^Get "[^"]*": /, "")
            .replace(/\b\d{1,3}(\.\d{1,3}){3}:\d+/g, "ADDR");
        kinds.set(kind, (kinds.get(kind) ?? 0) + Number(m?.[1] ?? 1));
    }
    return [...kinds].map(([kind, n]) => `${kind}: ${n}`);
}

function section(out: string, title: string): string[] {
    const lines = out.split("\n");
    const start = lines.findIndex((l) => l.trim() === title);
    if (start < 0) {
        return [];
    }
    const body: string[] = [];
    for (const line of lines.slice(start + 1)) {
        if (line.trim() === "") {
            break;
        }
        body.push(line.trim());
    }
    return body;
}

export function judge(r: ReleaseBench): Target[] {
    const zeroOf = (name: ScenarioName): Target => {
        const s = r.scenarios[name];
        return {
            what: `${name}: 0 failed of at least 2,000 requests (${s.failed} of ${s.requests})`,
            ok: s.failed === 0 && s.requests >= 2000,
        };
    };
    const ratio = r.scenarios.release.wallMs / r.scenarios.compose.wallMs;
    return [
        zeroOf("release"),
        zeroOf("failedRelease"),
        zeroOf("rollback"),
        {
            what: `release at most 2x compose's wall time (${r.scenarios.release.wallMs} ms vs ${r.scenarios.compose.wallMs} ms: ${ratio.toFixed(2)}x)`,
            ok: ratio <= 2,
        },
    ];
}

export function table(r: ReleaseBench): string {
    const header = ["scenario", "requests", "failed", "max latency ms", "release wall ms"];
    const rows = SCENARIOS.map((name) => {
        const s = r.scenarios[name];
        return [name, s.requests, s.failed, s.maxLatencyMs, s.wallMs].map(String);
    });
    const widths = header.map((h, i) =>
        Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)),
    );
    const line = (cells: string[]) =>
        cells
            .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
            .join("  ");
    return [
        `machine: ${r.machine}`,
        `constant load: ${r.rps} requests/s on /health (hey), from ${LEAD_MS / 1000} s before each release until ${LEAD_MS / 1000} s after`,
        "",
        line(header),
        ...rows.map(line),
    ].join("\n");
}

function splitTag(image: string): [string, string] {
    const colon = image.lastIndexOf(":");
    return [image.slice(0, colon), image.slice(colon + 1)];
}

/** Runs a command to its end; rejects with its output when it fails. */
function run(command: string, args: string[], cwd: string): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
        child.stderr.on("data", (c: Buffer) => (out += c.toString()));
        child.on("error", reject);
        child.on("close", (code) =>
            code === 0
                ? resolve()
                : reject(
                      new CommandError(
                          `${command} ${args.join(" ")} exited ${code}: ${out.trim()}`,
                      ),
                  ),
        );
    });
}

/** Debian's `hey`, installed with apt-get (as root) when it is not on the PATH. */
function ensureHey(): void {
    if (spawnSync("sh", ["-c", "command -v hey"]).status === 0) {
        return;
    }
    log("installing Debian's hey");
    const install = () =>
        spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "hey"], {
            stdio: "inherit",
            env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
        }).status === 0;
    if (!install()) {
        spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
        if (!install()) {
            throw new CommandError("could not install hey with apt-get (run as root)");
        }
    }
}

/**
 * The e2e set-up (`test/e2e/setup.sh`): packages, dockerd, the base images and a registry on
 * loopback. Returns its `E2E_*` variables (also set in this process's environment).
 */
export function e2eSetup(): Record<string, string> {
    log("e2e set-up (test/e2e/setup.sh)");
    const setup = spawnSync(
        "bash",
        // The registry's pid and folder are shell variables of setup.sh, not exported: export
        // them too, so that e2eTeardown can stop that registry and remove its folder.
        [
            "-c",
            '. test/e2e/setup.sh && e2e_setup "$PWD" >&2 && export E2E_REGISTRY_PID E2E_REGISTRY_DIR && env -0',
        ],
        {
            cwd: ROOT,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
            maxBuffer: 16 * 1024 * 1024,
        },
    );
    if (setup.status !== 0) {
        throw new CommandError("the e2e set-up (test/e2e/setup.sh) failed");
    }
    if (!/^E2E_REGISTRY_PID=\d+$/m.test(setup.stdout.replace(/\0/g, "\n"))) {
        throw new CommandError("the e2e set-up did not say which registry it started");
    }
    const vars = Object.fromEntries(
        setup.stdout
            .split("\0")
            .filter((entry) => entry.startsWith("E2E_"))
            .map((entry) => [
                entry.slice(0, entry.indexOf("=")),
                entry.slice(entry.indexOf("=") + 1),
            ]),
    );
    Object.assign(process.env, vars);
    return vars;
}

/** Stops the registry the set-up started (by its pid) and forgets its images (`e2e_teardown`). */
export function e2eTeardown(vars: Record<string, string>): void {
    spawnSync("bash", ["-c", ". test/e2e/setup.sh && e2e_teardown"], {
        cwd: ROOT,
        stdio: "inherit",
        env: { ...process.env, ...vars },
    });
}

async function describeMachine(): Promise<string> {
    const cpus = os.cpus();
    const version = (await docker.version()) as { Version?: string };
    return [
        `${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores`,
        `${Math.round(os.totalmem() / 2 ** 30)} GB RAM`,
        `Linux ${os.release()}`,
        `Node ${process.version}`,
        `Docker ${version.Version ?? "?"}`,
        `load average ${os.loadavg()[0]?.toFixed(1)} at start`,
    ].join(", ");
}

function log(line: string): void {
    process.stderr.write(`bench:release: ${line}\n`);
}

if (require.main === module) {
    let settled = false;
    // A bench that stops with nothing left to wait for has lost a promise: say so, and fail.
    process.on("beforeExit", () => {
        if (!settled) {
            process.stderr.write("bench:release: stopped before it finished\n");
            for (const cleanUp of atAbort) {
                cleanUp();
            }
            process.exit(1);
        }
    });
    // Ctrl-C or a CI timeout: stop the compose project, the stack and the registry before leaving.
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => {
            process.stderr.write(`bench:release: ${signal}, cleaning up\n`);
            for (const cleanUp of atAbort) {
                cleanUp();
            }
            process.exit(signal === "SIGINT" ? 130 : 143);
        });
    }
    exitWith(
        main(process.argv.slice(2)).finally(() => {
            settled = true;
        }),
    );
}
