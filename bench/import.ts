/**
 * `npx ts-node --transpile-only bench/import.ts [-- --services 2000 --runs 5 --mb 10]`: what
 * `npm run import` costs on large compose files. Generates a compose file with N services (each
 * with an env_file, env that names other services and carries secrets, ports, a healthcheck),
 * a `.env` and a shared env file, then times the whole import in this process (read, map, merge,
 * validate, render the report) and prints the median. With `--mb`, also a compose file of about
 * that many megabytes (long env values), once. Target: 2,000 services under 3 s.
 *
 * The schema caps a stack at `LIMITS.services`; past it the import ends in that one validation
 * error after all the work, which is what is timed then (the line says so).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planImport } from "../importer";
import { renderFindings } from "../importer/report";
import { CliSpec, exitWith, runCli, UsageError } from "../tools/cli";

const TARGET_MS = 3000;

const OPTIONS = {
    services: { type: "string" },
    runs: { type: "string" },
    mb: { type: "string" },
} as const;

const CLI: CliSpec<typeof OPTIONS> = {
    name: "bench:import",
    usage: "usage: npx ts-node --transpile-only bench/import.ts [--services 2000] [--runs 5] [--mb 10]",
    options: OPTIONS,
};

export interface GeneratedCompose {
    dir: string;
    compose: string;
    bytes: number;
}

/** A compose setup with `services` services (and a DB), `padding` extra bytes of env per service. */
export function generateCompose(services: number, padding = 0): GeneratedCompose {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msa-bench-import-"));
    const pad = "x".repeat(padding);
    const lines = [
        "services:",
        "  db:",
        "    image: postgres:16.4",
        "    environment:",
        "      POSTGRES_DB: app",
        "      POSTGRES_USER: app",
        "      POSTGRES_PASSWORD: ${DB_PASSWORD}",
        "    volumes:",
        "      - pgdata:/var/lib/postgresql/data",
    ];
    for (let i = 0; i < services; i++) {
        const next = (i + 1) % services;
        lines.push(
            `  svc${i}:`,
            `    image: registry.gitlab.com/acme/platform/svc${i}:1.${i % 10}.${i}`,
            "    env_file: shared.env",
            "    restart: unless-stopped",
            "    ports:",
            `      - "${20000 + i}:8080"`,
            "    environment:",
            "      DB_HOST: db",
            "      DB_PASSWORD: ${DB_PASSWORD}",
            `      NODENAME: node-${i}`,
            `      PEER_URL: http://svc${next}:8080/api`,
            `      SVC${next}_URL: http://10.0.0.${i % 250}:${20000 + next}`,
            `      API_TOKEN: tok-${i}-${"0123456789abcdef".repeat(2)}`,
            `      DATABASE_URL: postgres://app:\${DB_PASSWORD}@db:5432/app?app=svc${i}`,
            `      FEATURE_FLAGS: a,b,c,${i}`,
            ...(padding > 0 ? [`      PADDING: ${pad}`] : []),
            "    healthcheck:",
            `      test: ["CMD", "curl", "-fsS", "http://localhost:8080/health"]`,
            "      interval: 10s",
        );
    }
    lines.push("volumes:", "  pgdata: {}", "");
    const compose = path.join(dir, "docker-compose.yml");
    fs.writeFileSync(compose, lines.join("\n"));
    fs.writeFileSync(path.join(dir, ".env"), "DB_PASSWORD=bench-db-password-1\n");
    fs.writeFileSync(path.join(dir, "shared.env"), "TZ=UTC\nLOG_LEVEL=info\nSALT=abc#def\n");
    return { dir, compose, bytes: fs.statSync(compose).size };
}

/** One whole import, as the CLI runs it minus the write: milliseconds, and how it ended. */
export function timeImport(g: GeneratedCompose): { ms: number; cpuMs: number; ended: string } {
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    let ended: string;
    try {
        const plan = planImport({ compose: g.compose, stack: "bench", dir: g.dir });
        renderFindings(plan.findings).forEach((l) => plan.redact(l));
        plan.redact(plan.text);
        ended = `${plan.services.length} services imported`;
    } catch (e) {
        const message = (e as Error).message;
        const limit = /msa:services must have at most ([0-9]+) services/.exec(message);
        if (limit === null || !message.includes("(1 problem)")) {
            throw e;
        }
        ended = `ended in the one validation error "msa:services must have at most ${limit[1]} services" after all the work`;
    }
    const used = process.cpuUsage(cpu);
    return {
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        cpuMs: (used.user + used.system) / 1000,
        ended,
    };
}

function positive(text: string | undefined, fallback: number, what: string): number {
    if (text === undefined) {
        return fallback;
    }
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) {
        throw new UsageError(`--${what} must be a positive number, got ${JSON.stringify(text)}`);
    }
    return n;
}

export function main(argv: string[]): Promise<number> {
    return runCli(CLI, argv, ({ values }, io) => {
        const services = positive(values.services, 2000, "services");
        const runs = positive(values.runs, 5, "runs");
        const mb = values.mb === undefined ? undefined : positive(values.mb, 10, "mb");
        const g = generateCompose(services);
        // One run first, so module loading and JIT warm-up are not in the figure.
        timeImport(g);
        const times: number[] = [];
        const cpus: number[] = [];
        let ended = "";
        for (let i = 0; i < runs; i++) {
            const r = timeImport(g);
            times.push(r.ms);
            cpus.push(r.cpuMs);
            ended = r.ended;
        }
        times.sort((a, b) => a - b);
        cpus.sort((a, b) => a - b);
        const median = times[Math.floor(times.length / 2)] ?? 0;
        const cpuMedian = cpus[Math.floor(cpus.length / 2)] ?? 0;
        io.stdout(
            `machine: ${os.cpus().length} cores, load average ${os
                .loadavg()
                .map((l) => l.toFixed(2))
                .join(" ")} (other work shares these cores)\n`,
        );
        io.stdout(
            `import of ${services} services (${(g.bytes / 1024).toFixed(0)} KiB compose file): median ${median.toFixed(0)} ms wall, ${cpuMedian.toFixed(0)} ms CPU, of ${runs} runs (wall min ${(times[0] ?? 0).toFixed(0)}, max ${(times[times.length - 1] ?? 0).toFixed(0)}); ${ended}\n`,
        );
        io.stdout(
            services === 2000
                ? `target: under ${TARGET_MS} ms: ${median < TARGET_MS ? "met" : "MISSED"}\n`
                : "",
        );
        if (mb !== undefined) {
            // About 1 KiB of env per service on top of what a service takes anyway.
            const perService = g.bytes / services + 1024;
            const count = Math.max(1, Math.round((mb * 1024 * 1024) / perService));
            const big = generateCompose(count, 1024);
            const r = timeImport(big);
            io.stdout(
                `import of a ${(big.bytes / 1024 / 1024).toFixed(1)} MB compose file (${count} services): ${r.ms.toFixed(0)} ms wall, ${r.cpuMs.toFixed(0)} ms CPU; ${r.ended}\n`,
            );
            fs.rmSync(big.dir, { recursive: true, force: true });
        }
        fs.rmSync(g.dir, { recursive: true, force: true });
        return 0;
    });
}

if (require.main === module) {
    exitWith(main(process.argv.slice(2)));
}
