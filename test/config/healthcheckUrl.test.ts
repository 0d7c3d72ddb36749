/**
 * The URL an `http` health check probes: the first container port and the configured path.
 * Validation refuses an `http` check without a port and a check with neither `http` nor
 * `command`, but `healthcheckTest` takes any `ServiceConfig`, and for one built in code it falls
 * back to port 80 and the path "/".
 */
import { healthcheckTest } from "../../config/env";
import { ServiceConfig } from "../../config/schema";
import { validateStackConfig } from "../../config/validate";

/** A validated service `svc` (pulled image, registry and secrets set) with `fields` laid over it. */
function serviceOf(fields: Record<string, unknown>): ServiceConfig {
    const result = validateStackConfig({
        stack: "dev",
        raw: {
            registry: { namespace: "team", project: "msa", username: "deployer" },
            database: { name: "app" },
            services: { svc: { image: "svc", tag: "1.0.0", ...fields } },
        },
        secrets: { present: { dbPassword: true, registryPassword: true } },
        secretKeys: new Set(["dbPassword", "registryPassword"]),
    });
    if (!result.ok) {
        throw new Error(`expected a valid config, got:\n${result.errors.join("\n")}`);
    }
    return result.config.services.svc as ServiceConfig;
}

/** The Docker test that probes `url` with whichever of curl, wget and python3 the image has. */
function probeOf(url: string): string[] {
    return [
        "CMD-SHELL",
        `if command -v curl >/dev/null; then curl -fsS -o /dev/null '${url}'; exit $?; fi; ` +
            `if command -v wget >/dev/null; then wget -q -O /dev/null '${url}'; exit $?; fi; ` +
            `if command -v python3 >/dev/null; then python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' '${url}'; exit $?; fi; ` +
            "exit 1",
    ];
}

test("a hand-built service without ports is probed on port 80", () => {
    const svc = serviceOf({ ports: [{ container: 8080 }], healthcheck: { http: "/healthz" } });
    expect(healthcheckTest({ ...svc, ports: [] })).toEqual(probeOf("http://127.0.0.1:80/healthz"));
});

test("the path is kept as given, query included", () => {
    const svc = serviceOf({ ports: [{ container: 3000 }], healthcheck: { http: "/ready?deep=1" } });
    expect(healthcheckTest(svc)).toEqual(probeOf("http://127.0.0.1:3000/ready?deep=1"));
});

test("a hand-built health check without path or command probes /", () => {
    const svc = serviceOf({ ports: [{ container: 8080 }], healthcheck: { http: "/x" } });
    const bare: ServiceConfig = {
        ...svc,
        healthcheck: { interval: "2s", timeout: "2s", retries: 3, startPeriod: "30s" },
    };
    expect(healthcheckTest(bare)).toEqual(probeOf("http://127.0.0.1:8080/"));
});
