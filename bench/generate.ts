/**
 * Stack configs of any size for the bench: N services with published ports, links to earlier
 * services, extra plain env and, for every fifth service, one secret env var. The result is the
 * `msa:key → value` map `captureStack({config})` takes (structured keys as objects);
 * `checkGenerated` validates it with the program's own validation so the bench fails loudly
 * instead of timing an error path.
 */
import { readConfigMap } from "../config/read";
import { PROJECT } from "../config/schema";
import { flattenStackConfig, projectDefaults } from "../config/stackFiles";
import { validateStackConfig } from "../config/validate";

export const BENCH_STACK = "bench";
/** Host ports of the services start here: clear of the DB's 5432 and of each other. */
const FIRST_HOST_PORT = 20000;
/** Each service links to up to this many earlier services. */
const MAX_LINKS = 3;

export interface GeneratedService {
    image: string;
    tag: string;
    ports: { container: number; host?: number; bindAddress?: string }[];
    env: Record<string, string | number | boolean>;
    links: string[];
    restart: string;
    memoryMb: number;
}

export const serviceKey = (i: number): string => `svc${String(i).padStart(4, "0")}`;

function service(i: number): GeneratedService {
    const links = [i - 1, i - 2, Math.floor(i / 2)]
        .filter((j, at, all) => j >= 0 && j !== i && all.indexOf(j) === at)
        .slice(0, MAX_LINKS)
        .map(serviceKey);
    return {
        image: `team-${i % 7}/${serviceKey(i)}`,
        tag: `1.${i % 10}.${i}`,
        ports: [
            { container: 8080, host: FIRST_HOST_PORT + i },
            ...(i % 4 === 0 ? [{ container: 9090 }] : []),
        ],
        env: {
            LOG_LEVEL: "info",
            JAVA_OPTS: "-Xms64m -Xmx256m",
            FEATURE_FLAGS: "search,checkout,recommendations",
            SERVICE_INDEX: i,
            CACHE_ENABLED: i % 2 === 0,
        },
        links,
        restart: "unless-stopped",
        memoryMb: 256,
    };
}

/** The config of a stack with `n` services, as `msa:key → value` (secrets as `{secure}`). */
export function generateConfig(n: number): Record<string, unknown> {
    if (!Number.isInteger(n) || n < 1) {
        throw new Error(`service count must be a positive integer, got ${n}`);
    }
    const services: Record<string, GeneratedService> = {};
    const secretEnv: Record<string, Record<string, { secure: string }>> = {};
    for (let i = 0; i < n; i++) {
        services[serviceKey(i)] = service(i);
        if (i % 5 === 0) {
            secretEnv[serviceKey(i)] = { API_TOKEN: { secure: "bench-ciphertext" } };
        }
    }
    return {
        [`${PROJECT}:environment`]: "bench",
        [`${PROJECT}:production`]: false,
        [`${PROJECT}:registry`]: {
            namespace: "bench-group",
            project: "bench",
            username: "bench-deploy-token",
        },
        [`${PROJECT}:registryPassword`]: { secure: "bench-ciphertext" },
        [`${PROJECT}:dbPassword`]: { secure: "bench-ciphertext" },
        [`${PROJECT}:database`]: { name: "bench_db", hostPort: 15432 },
        [`${PROJECT}:services`]: services,
        [`${PROJECT}:secretEnv`]: secretEnv,
    };
}

/**
 * Validates a generated config exactly as the program would see it (project defaults first, then
 * the CLI's flat string map). Throws with every problem listed.
 */
export function checkGenerated(n: number, config: Record<string, unknown>, root: string): void {
    const flat = flattenStackConfig(BENCH_STACK, { ...projectDefaults(root), ...config });
    const secret = new Set(flat.secretKeys);
    const result = validateStackConfig(
        readConfigMap(BENCH_STACK, flat.values, (key) => secret.has(key)),
    );
    if (!result.ok) {
        throw new Error(
            `generated config for ${n} services is invalid:\n  - ${result.errors.join("\n  - ")}`,
        );
    }
    const count = Object.keys(result.config.services).length;
    if (count !== n) {
        throw new Error(`generated config for ${n} services validated to ${count} services`);
    }
}
