/**
 * The pack over real plans: both stack files pass, a hostile config fails `plan --policy` with one
 * message per violation, the documented override of the DB-port policy works end to end, and
 * `msa:production` (not the environment's name) decides where the production rules apply.
 */
import { createHash } from "crypto";
import { spawnSync } from "child_process";
import {
    Capture,
    CaptureOptions,
    captureStack,
    CapturedResource,
    type MockHooks,
} from "../../capture";
import {
    checkCapture,
    formatViolation,
    isMandatory,
    stackResources,
    validationArgs,
} from "../../policy/offline";
import { POLICIES, resourceValidations } from "../../policy/policies";
import { main } from "../../tools/plan";
import { byName, ROOT, stackConfig } from "../helpers";

/**
 * Under the CLI a preview asks the registry for each service's digest (the invoke runs), so a
 * RemoteImage's `name` is known; the capture alone never makes a digest up.
 */
const REGISTRY: MockHooks = {
    call: (args) =>
        args.token === "docker:index/getRegistryImage:getRegistryImage"
            ? {
                  name: args.inputs.name,
                  sha256Digest: `sha256:${createHash("sha256").update(String(args.inputs.name)).digest("hex")}`,
              }
            : undefined,
};

const MEMORY_ADVICE = [
    '[advisory] memory-limits: Container "database-container" has no memory limit; set msa:database.memoryMb',
    '[advisory] memory-limits: Container "SERVICE_B-container" has no memory limit; set msa:services.SERVICE_B.memoryMb',
    '[advisory] memory-limits: Container "SERVICE_D-container" has no memory limit; set msa:services.SERVICE_D.memoryMb',
];

describe("the real stack files", () => {
    test("dev (msa:production: false) passes every mandatory policy; only memory limits are advised", async () => {
        const violations = await checkCapture(
            await captureStack({ stack: "dev", hooks: REGISTRY }),
        );
        expect(violations.map(formatViolation)).toEqual(MEMORY_ADVICE);
    });

    test("prod passes every policy", async () => {
        expect(
            (await checkCapture(await captureStack({ stack: "prod", hooks: REGISTRY }))).map(
                formatViolation,
            ),
        ).toEqual([]);
    });

    test("npm run plan -- --stack prod --policy exits 0 with the verdict", () => {
        const r = spawnSync(
            "npm",
            ["run", "--silent", "plan", "--", "--stack", "prod", "--policy"],
            { cwd: ROOT, encoding: "utf8" },
        );
        expect(r.status).toBe(0);
        expect(r.stdout.trimEnd().split("\n").slice(-1)).toEqual([
            "Policy pack msa-guardrails: 0 mandatory, 0 advisory violations",
        ]);
    });
});

describe("msa:production decides, not the environment's name", () => {
    const devWith = (change: (cfg: Record<string, unknown>) => void) => {
        const cfg = stackConfig("dev");
        change(cfg);
        return cfg;
    };
    const mandatory = async (config: Record<string, unknown>) =>
        (await checkCapture(await captureStack({ stack: "dev", config, hooks: REGISTRY })))
            .filter(isMandatory)
            .map((v) => `${v.policy} ${v.resource}`);
    const DEV_IN_PRODUCTION = [
        "prod-images-pinned database-image",
        "prod-images-pinned database-image",
        "prod-images-pinned SERVICE_B-image",
        "prod-images-pinned SERVICE_D-image",
    ];

    test("without msa:production the dev stack is production: latest and dev tags fail", async () => {
        expect(await mandatory(devWith((cfg) => delete cfg["msa:production"]))).toEqual(
            DEV_IN_PRODUCTION,
        );
    });

    test("msa:environment spelled production (or prod) switches nothing on or off", async () => {
        const production = devWith((cfg) => {
            cfg["msa:environment"] = "production";
        });
        expect(await mandatory(production)).toEqual([]);
        const prodNamed = devWith((cfg) => {
            cfg["msa:environment"] = "prod";
            delete cfg["msa:production"];
        });
        expect(await mandatory(prodNamed)).toEqual(DEV_IN_PRODUCTION);
    });
});

/**
 * Privileged containers and socket mounts cannot be expressed in stack config (the schema has no
 * such keys and the components set neither), so the hostile plan is the hostile config's capture
 * plus the container a hand edit of `index.ts` would declare, added through `plan`'s capture hook.
 */
describe("a hostile prod config", () => {
    const hostileConfig = (): Record<string, unknown> => {
        const cfg = stackConfig("prod");
        cfg["msa:database"] = {
            mode: "container",
            name: "sf1_db",
            bindAddress: "0.0.0.0",
            image: { tag: "latest" },
        };
        const services = cfg["msa:services"] as Record<string, Record<string, unknown>>;
        (services.SERVICE_B as Record<string, unknown>).tag = "latest";
        return cfg;
    };
    const intruder: CapturedResource = {
        urn: "urn:pulumi:prod::msa::docker:index/container:Container::intruder",
        type: "docker:index/container:Container",
        name: "intruder",
        parent: null,
        parentUrn: null,
        custom: true,
        provider: "docker",
        inputs: {
            name: "intruder",
            image: `docker@sha256:${"cd".repeat(32)}`,
            privileged: true,
            volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }],
            restart: "always",
            memory: 128,
            labels: [
                { label: "msa.environment", value: "prod" },
                { label: "msa.project", value: "msa" },
                { label: "msa.stack", value: "prod" },
            ],
        },
        outputs: {},
        protect: false,
        retainOnDelete: false,
        dependsOn: [],
        dependsOnUrns: [],
    };
    let code: number;
    let stdout = "";
    let capture: Capture | undefined;

    beforeAll(async () => {
        code = await main(["--stack", "prod", "--policy"], {
            capture: async (opts: CaptureOptions) => {
                capture = await captureStack({
                    ...opts,
                    config: hostileConfig(),
                    hooks: REGISTRY,
                });
                capture.resources.push(intruder);
                return capture;
            },
            stdout: (t) => {
                stdout += t;
            },
            stderr: () => undefined,
        });
    });

    test("plan --policy exits 1", () => {
        expect(code).toBe(1);
    });

    test("one line per violation, naming policy, resource and fix", () => {
        const image = (name: string) =>
            (byName(capture as Capture, name).inputs as { name: string }).name;
        const lines = stdout.split("\n").filter((l) => l.startsWith("[mandatory]"));
        expect(lines).toEqual([
            '[mandatory] prod-images-pinned: Image "database-image" builds registry.gitlab.com/my-group/msa/db:latest, whose tag latest moves in prod; set msa:database.image.tag to a release or commit tag',
            '[mandatory] prod-images-pinned: Image "database-image" builds on postgres:14 (build arg BASE_IMAGE) without a digest in prod, so a rebuild may start from another base; set msa:database.image.base to <image>:<tag>@sha256:<digest>',
            `[mandatory] prod-images-pinned: RemoteImage "SERVICE_B-image" pulls ${image("SERVICE_B-image")}, whose tag latest moves in prod, so the next deploy may run another image; set the service's tag (msa:services.<key>.tag) to a release tag`,
            '[mandatory] db-port-private: Container "database-container" publishes the database port 5432 on 0.0.0.0, reachable from outside the host; set msa:database.bindAddress to 127.0.0.1 or a private address (or set msa:database.publicBindOverride: true on purpose)',
            '[mandatory] no-privileged-containers: Container "intruder" runs privileged, which hands it the host; remove privileged: true',
            '[mandatory] no-docker-socket-mount: Container "intruder" bind-mounts /var/run/docker.sock from the host, which exposes the Docker socket /var/run/docker.sock and with it the host; remove the mount',
        ]);
        expect(image("SERVICE_B-image")).toMatch(
            /^registry\.gitlab\.com\/my-group\/msa\/service-b:latest@sha256:[0-9a-f]{64}$/,
        );
        // The advisory count follows the stack file's memory limits, not this test's subject.
        expect(stdout).toMatch(
            /^Policy pack msa-guardrails: 6 mandatory, \d+ advisory violations$/m,
        );
    });
});

describe("msa:database.publicBindOverride", () => {
    const withBind = (override: boolean | undefined): Record<string, unknown> => {
        const cfg = stackConfig("dev");
        const db = cfg["msa:database"] as Record<string, unknown>;
        db.bindAddress = "0.0.0.0";
        if (override !== undefined) {
            db.publicBindOverride = override;
        }
        return cfg;
    };
    const mandatory = async (config: Record<string, unknown>) =>
        (await checkCapture(await captureStack({ stack: "dev", config })))
            .filter(isMandatory)
            .map((v) => v.policy);

    test("unset or false: a DB on 0.0.0.0 violates db-port-private", async () => {
        expect(await mandatory(withBind(undefined))).toEqual(["db-port-private"]);
        expect(await mandatory(withBind(false))).toEqual(["db-port-private"]);
    });

    test("true: the DB container carries the override label and passes", async () => {
        const c = await captureStack({ stack: "dev", config: withBind(true) });
        expect(byName(c, "database-container").inputs.labels).toContainEqual({
            label: "msa.db-public-override",
            value: "true",
        });
        expect((await checkCapture(c)).filter(isMandatory)).toEqual([]);
    });
});

describe("plan --json --policy", () => {
    test("adds the violations to the JSON plan; advisory ones do not fail it", async () => {
        let out = "";
        const code = await main(["--stack", "dev", "--json", "--policy"], {
            capture: captureStack,
            stdout: (t) => {
                out += t;
            },
            stderr: () => undefined,
        });
        expect(code).toBe(0);
        const json = JSON.parse(out) as { violations: { policy: string; resource: string }[] };
        expect(Object.keys(json)).toEqual([
            "stack",
            "resources",
            "outputs",
            "warnings",
            "violations",
        ]);
        expect(json.violations.map((v) => `${v.policy} ${v.resource}`)).toEqual([
            "memory-limits database-container",
            "memory-limits SERVICE_B-container",
            "memory-limits SERVICE_D-container",
        ]);
    });
});

/**
 * As under the CLI: props behind `@pulumi/policy`'s own unknown-checking proxy (the offline
 * arguments use the same proxy), no secret paths and no `retainOnDelete`; resource validations per
 * resource, stack validations once. The policies must not trip over the proxy, and a value unknown
 * in a preview (an image digest) is skipped, not an error.
 */
describe("the pack as the CLI calls it", () => {
    async function online(resources: CapturedResource[]): Promise<string[]> {
        const out: string[] = [];
        for (const p of POLICIES) {
            for (const r of resources) {
                const args = validationArgs(r);
                delete args.secretPaths;
                delete args.retainOnDelete;
                for (const validate of resourceValidations(p)) {
                    try {
                        await validate(args, (m) => out.push(`${p.name}: ${m}`));
                    } catch (e) {
                        // `notApplicable` for another type throws; anything else is a failure.
                        if (!String(e).includes("Policy only applies")) {
                            throw e;
                        }
                    }
                }
            }
            if ("validateStack" in p) {
                await p.validateStack(
                    {
                        resources: stackResources(resources),
                        stackTags: new Map(),
                        getConfig: <T extends object>() => ({}) as T,
                        notApplicable: () => {
                            throw new Error("not applicable");
                        },
                    },
                    (m) => out.push(`${p.name}: ${m}`),
                );
            }
        }
        return out;
    }

    test("dev: only the memory limits are advised", async () => {
        const capture = await captureStack({ stack: "dev" });
        expect(await online(capture.resources)).toEqual([
            'memory-limits: Container "database-container" has no memory limit; set msa:database.memoryMb',
            'memory-limits: Container "SERVICE_B-container" has no memory limit; set msa:services.SERVICE_B.memoryMb',
            'memory-limits: Container "SERVICE_D-container" has no memory limit; set msa:services.SERVICE_D.memoryMb',
        ]);
    });

    test("an image unknown during the preview is skipped, in production too", async () => {
        const capture = await captureStack({ stack: "dev" });
        const db = byName(capture, "database-container");
        const labels = (db.inputs.labels as { label: string; value: string }[]).filter(
            (l) => l.label !== "msa.production",
        );
        const unknownImage = {
            ...db,
            inputs: { ...db.inputs, image: { __unknown: true }, labels, memory: 512 },
        };
        expect(await online([unknownImage])).toEqual([]);
    });
});
