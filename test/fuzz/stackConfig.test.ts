/**
 * Config fuzzing: mutations of the real stack files (wrong types, out-of-range ports, duplicate host
 * ports, unknown keys, empty strings, huge values, unicode, shell and SQL metacharacters in names)
 * are either rejected with errors that each name a key (`msa:…`), or give a plan that passes every
 * mandatory policy. Nothing throws. Config goes the program's own way: stack-file values → the flat
 * string map the CLI hands over → `readConfigMap` → `validateStackConfig`.
 *
 * Every case is validated (pure, fast); the valid ones are also captured and checked against the
 * pack, up to a budget, since a capture evaluates the whole program (~0.1-0.3 s).
 * `FUZZ_RUNS` and `FUZZ_SEED` change the number of cases (default 1,000) and the seed (fixed, so CI
 * is reproducible; fast-check prints the seed and the shrunk case of a failure).
 */
import fc from "fast-check";
import { captureStack, reveal, stackFileConfig } from "../../capture";
import { readConfigMap } from "../../config/read";
import { serviceSchema, stackConfigSchema } from "../../config/schema";
import { readStackFile } from "../../config/stackFiles";
import { validateStackConfig, ValidationResult } from "../../config/validate";
import { checkCapture, formatViolation, isMandatory } from "../../policy/offline";

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
/** Valid cases that are also captured and checked against the pack. */
const CAPTURE_BUDGET = Number(process.env.FUZZ_CAPTURES ?? 60);

type Raw = Record<string, unknown>;
type Path = (string | number)[];
type Stack = "dev" | "prod";

/** The plain values of a stack file as the program decodes them (project defaults applied). */
function decoded(stack: Stack): Raw {
    return readConfigMap(readStackFile(stack).values).raw;
}
const BASES: Record<Stack, Raw> = { dev: decoded("dev"), prod: decoded("prod") };
const SERVICES = ["SERVICE_B", "SERVICE_D"];

/** What the program validates for this config, going the CLI's way (everything a string). */
function validate(stack: Stack, raw: Raw): ValidationResult {
    const { values } = stackFileConfig({ stack, config: namespaced(raw) });
    const { raw: plain, secrets } = readConfigMap(values);
    return validateStackConfig(stack, plain, secrets);
}

const namespaced = (raw: Raw): Raw =>
    Object.fromEntries(Object.entries(raw).map(([k, v]) => [`msa:${k}`, v]));

// --- values ---------------------------------------------------------------------------------

const META = [
    "'",
    '"',
    ";",
    "`",
    "$(",
    ")",
    "|",
    "&&",
    "--",
    "/*",
    "*/",
    "\\",
    "\n",
    "\u0000",
    "%s",
    "${HOME}",
    "' OR '1'='1",
    "; DROP TABLE users; --",
    " ",
    "<",
    ">",
    "*",
    "..",
    "/",
    ":",
    "@",
];
const metachars = fc
    .tuple(
        fc.constantFrom("", "orders", "sf1_db", "a"),
        fc.array(fc.constantFrom(...META), { minLength: 1, maxLength: 6 }),
    )
    .map(([word, parts]) => word + parts.join(""));
const unicode = fc.oneof(
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 24 }),
    fc.string({ unit: "binary", minLength: 1, maxLength: 24 }),
    fc.constantFrom("서비스", "ｏｒｄｅｒｓ", "🚀", "orders\u202e", "a\u0301", "İ"),
);
const huge = fc.oneof(
    fc.integer({ min: 256, max: 100_000 }).map((n) => "x".repeat(n)),
    fc.constantFrom(Number.MAX_VALUE, 1e21, -1e21, Number.MAX_SAFE_INTEGER + 2),
);
const wrongType = fc.oneof(
    fc.integer({ min: -1000, max: 100_000 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
    fc.double({ noNaN: true }),
);
const badPort = fc.oneof(
    fc.integer({ min: -100_000, max: 0 }),
    fc.integer({ min: 65_536, max: 2 ** 31 }),
    fc.integer({ min: 1, max: 65_534 }).map((n) => n + 0.5),
);
const anyBad = fc.oneof(wrongType, badPort, fc.constant(""), huge, unicode, metachars);

// --- where ----------------------------------------------------------------------------------

/** Every plain key the schema knows. */
const TOP_FIELDS = Object.keys(stackConfigSchema.shape);
/** Every service field the schema knows: the fuzz follows the schema as it grows. */
const SERVICE_FIELDS = Object.keys(serviceSchema.shape);
const svc = fc.constantFrom(...SERVICES);
const fieldPath: fc.Arbitrary<Path> = fc.oneof(
    fc.constantFrom(...TOP_FIELDS).map((k) => [k]),
    fc.tuple(svc, fc.constantFrom(...SERVICE_FIELDS)).map(([s, f]) => ["services", s, f]),
    fc
        .tuple(svc, fc.constantFrom("container", "host", "bindAddress", "protocol"))
        .map(([s, f]) => ["services", s, "ports", 0, f]),
    fc
        .constantFrom("interval", "timeout", "retries", "startPeriod")
        .map((f) => ["dbHealthcheck", f]),
);
const portPath: fc.Arbitrary<Path> = fc.oneof(
    fc.constantFrom("dbPort", "dbHostPort").map((k): Path => [k]),
    fc
        .tuple(svc, fc.constantFrom("container", "host"))
        .map(([s, f]) => ["services", s, "ports", 0, f]),
);
const keyName = fc.oneof(fc.string({ maxLength: 12 }), unicode, metachars);

type Mutation =
    | { kind: "set"; path: Path; value: unknown }
    | { kind: "delete"; path: Path }
    | { kind: "renameService"; from: string; to: string }
    | { kind: "duplicateHostPort" }
    | { kind: "unknownLink"; service: string; link: string };

/** Fields that take free text: hostile text there is valid config and must plan safely. */
const freeTextPath: fc.Arbitrary<Path> = fc.oneof(
    fc
        .constantFrom(
            "dbName",
            "dbSchema",
            "dbUser",
            "dbKind",
            "dbDialect",
            "dbDriverClassName",
            "dbType",
        )
        .map((k): Path => [k]),
    svc.map((s): Path => ["services", s, "nodeName"]),
    fc
        .tuple(svc, fc.constantFrom("JAVA_OPTS", "GREETING"))
        .map(([s, k]) => ["services", s, "env", k]),
    svc.map((s): Path => ["services", s, "command", 0]),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    {
        weight: 4,
        arbitrary: fc.record({
            kind: fc.constant("set" as const),
            path: freeTextPath,
            value: fc.oneof(metachars, unicode),
        }),
    },
    fc.record({ kind: fc.constant("set" as const), path: fieldPath, value: anyBad }),
    fc.record({ kind: fc.constant("set" as const), path: portPath, value: badPort }),
    fc.record({
        kind: fc.constant("set" as const),
        path: fc.oneof(
            keyName.map((k) => [k]),
            fc.tuple(svc, keyName).map(([s, k]) => ["services", s, k]),
            fc.tuple(svc, keyName).map(([s, k]) => ["services", s, "ports", 0, k]),
        ),
        value: fc.oneof(anyBad, fc.string()),
    }),
    fc.record({
        kind: fc.constant("set" as const),
        path: fc.tuple(svc, keyName).map(([s, k]) => ["services", s, "env", k]),
        value: fc.oneof(metachars, unicode, huge, fc.integer(), fc.boolean()),
    }),
    fc.record({ kind: fc.constant("delete" as const), path: fieldPath }),
    fc.record({
        kind: fc.constant("renameService" as const),
        from: svc,
        to: fc.oneof(unicode, metachars, fc.constant(""), huge.map(String)),
    }),
    fc.constant({ kind: "duplicateHostPort" as const }),
    fc.record({
        kind: fc.constant("unknownLink" as const),
        service: svc,
        link: fc.oneof(keyName, fc.constantFrom("payments", "service_b", "database")),
    }),
);

function setPath(root: Raw, path: Path, value: unknown): void {
    let node: Record<string | number, unknown> = root;
    path.slice(0, -1).forEach((seg, i) => {
        const next = node[seg];
        if (typeof next !== "object" || next === null) {
            node[seg] = typeof path[i + 1] === "number" ? [] : {};
        }
        node = node[seg] as Record<string | number, unknown>;
    });
    node[path[path.length - 1] as string | number] = value;
}

function deletePath(root: Raw, path: Path): void {
    let node: unknown = root;
    for (const seg of path.slice(0, -1)) {
        node = typeof node === "object" && node !== null ? (node as Raw)[seg] : undefined;
    }
    if (typeof node === "object" && node !== null) {
        delete (node as Raw)[path[path.length - 1] as string];
    }
}

function apply(base: Raw, mutations: Mutation[]): Raw {
    const raw = structuredClone(base);
    for (const m of mutations) {
        const services = (
            typeof raw.services === "object" && raw.services !== null ? raw.services : {}
        ) as Record<string, unknown>;
        switch (m.kind) {
            case "set":
                setPath(raw, m.path, m.value);
                break;
            case "delete":
                deletePath(raw, m.path);
                break;
            case "renameService":
                if (m.from in services && !(m.to in services)) {
                    services[m.to] = services[m.from];
                    delete services[m.from];
                }
                break;
            case "duplicateHostPort":
                // SERVICE_D's first port takes the host port SERVICE_B publishes on 0.0.0.0.
                setPath(raw, ["services", "SERVICE_D", "ports", 0, "host"], 8080);
                break;
            case "unknownLink":
                setPath(raw, ["services", m.service, "links"], [m.link]);
                break;
        }
    }
    return raw;
}

// --- the property ---------------------------------------------------------------------------

interface Stats {
    rejected: number;
    valid: { stack: Stack; raw: Raw }[];
}

function leavesServicesAlone(m: Mutation): boolean {
    return (
        m.kind === "duplicateHostPort" ||
        ((m.kind === "set" || m.kind === "delete") && m.path[0] !== "services")
    );
}

/** A validation error names a key, is one line of bounded length, and is never a stack trace. */
function checkError(e: string): void {
    expect(e.startsWith("msa:")).toBe(true);
    expect(e).not.toMatch(/\n\s+at /);
    expect(e.length).toBeLessThan(1000);
}

describe(`config fuzzing (${RUNS} cases, seed ${SEED})`, () => {
    const stats: Stats = { rejected: 0, valid: [] };

    test("every mutated config is rejected naming keys, or valid; validation never throws", () => {
        fc.assert(
            fc.property(
                fc.constantFrom<Stack>("dev", "prod"),
                fc.array(mutation, { minLength: 1, maxLength: 3 }),
                (stack, mutations) => {
                    const raw = apply(BASES[stack], mutations);
                    const result = validate(stack, raw);
                    if (!result.ok) {
                        expect(result.errors.length).toBeGreaterThan(0);
                        result.errors.forEach(checkError);
                        // The clash is reported whenever both services are otherwise well-formed
                        // (a malformed service is left out of the cross-key checks).
                        if (
                            mutations.some((m) => m.kind === "duplicateHostPort") &&
                            mutations.every(leavesServicesAlone)
                        ) {
                            expect(
                                result.errors.some((e) => e.includes("must be a free host port")),
                            ).toBe(true);
                        }
                        stats.rejected++;
                    } else {
                        expect(
                            mutations.some((m) => m.kind === "duplicateHostPort") &&
                                mutations.every(leavesServicesAlone),
                        ).toBe(false);
                        stats.valid.push({ stack, raw });
                    }
                },
            ),
            { numRuns: RUNS, seed: SEED },
        );
        // Not vacuous: most mutations are rejected, and some survive to be planned.
        expect(stats.rejected).toBeGreaterThan(RUNS / 2);
        expect(stats.valid.length).toBeGreaterThan(10);
    });

    test("the valid ones plan without throwing and pass every mandatory policy", async () => {
        const sample = stats.valid.slice(0, CAPTURE_BUDGET);
        expect(sample.length).toBeGreaterThan(10);
        for (const { stack, raw } of sample) {
            const capture = await captureStack({ stack, config: namespaced(raw) });
            const mandatory = (await checkCapture(capture)).filter(isMandatory);
            expect(mandatory.map(formatViolation)).toEqual([]);
            // Docker takes env, labels and commands as C strings: a NUL byte cannot reach it.
            const withNul = capture.resources.filter((r) =>
                JSON.stringify(reveal(r.inputs)).includes("\\u0000"),
            );
            expect(withNul.map((r) => r.name)).toEqual([]);
        }
    }, 120_000);
});

describe("the cross-key checks the fuzz relies on, exactly", () => {
    test("a duplicate host port across services", () => {
        const result = validate("prod", apply(BASES.prod, [{ kind: "duplicateHostPort" }]));
        expect(result).toEqual({
            ok: false,
            errors: [
                "msa:services.SERVICE_D.ports[0].host must be a free host port, got 8080, which msa:services.SERVICE_B.ports[0].host already publishes",
            ],
        });
    });

    test("a service port on the DB's host port", () => {
        const raw = apply(BASES.dev, [
            { kind: "set", path: ["services", "SERVICE_B", "ports", 0, "host"], value: 5432 },
        ]);
        expect(validate("dev", raw)).toEqual({
            ok: false,
            errors: [
                "msa:services.SERVICE_B.ports[0].host must be a free host port, got 5432, which msa:dbHostPort already publishes",
            ],
        });
    });

    test("a link to an unknown service", () => {
        const raw = apply(BASES.dev, [
            { kind: "unknownLink", service: "SERVICE_D", link: "payments; DROP TABLE x" },
        ]);
        expect(validate("dev", raw)).toEqual({
            ok: false,
            errors: [
                'msa:services.SERVICE_D.links[0] names unknown service "payments; DROP TABLE x"; known: SERVICE_B, SERVICE_D',
            ],
        });
    });
});

describe("regressions the fuzz found", () => {
    const errors = (mutate: (raw: Raw) => void): string[] => {
        const raw = structuredClone(BASES.dev);
        mutate(raw);
        const result = validate("dev", raw);
        return result.ok ? [] : result.errors;
    };
    const services = (raw: Raw) => raw.services as Record<string, Record<string, unknown>>;

    test("a NUL byte in free text is rejected (it reached the container's env before)", () => {
        expect(
            errors((raw) => {
                (services(raw).SERVICE_D as Raw).nodeName = "kit1\u0000";
                (services(raw).SERVICE_D as Raw).env = { GREETING: "hi\u0000" };
                (services(raw).SERVICE_D as Raw).command = ["run", "\u0000"];
                raw.dbKind = "pg\u0000";
            }),
        ).toEqual([
            'msa:dbKind must not contain NUL bytes, got "pg\\u0000"',
            'msa:services.SERVICE_D.nodeName must not contain NUL bytes, got "kit1\\u0000"',
            'msa:services.SERVICE_D.env.GREETING must not contain NUL bytes, got "hi\\u0000"',
            'msa:services.SERVICE_D.command[1] must not contain NUL bytes, got "\\u0000"',
        ]);
    });

    test("huge keys are cut short in messages (the known-services list echoed them whole)", () => {
        const long = "x".repeat(100);
        expect(
            errors((raw) => {
                services(raw)[long] = services(raw).SERVICE_B as Record<string, unknown>;
                (services(raw).SERVICE_D as Raw).links = ["payments"];
                raw["y".repeat(100)] = 1;
                raw["a\nb"] = 2;
            }),
        ).toEqual([
            `msa:services has a bad key "${"x".repeat(59)}…(102 characters): must start with a letter and hold only letters, digits, _ and - (at most 63)`,
            `msa:"${"y".repeat(59)}…(102 characters) is not a known key`,
            'msa:"a\\nb" is not a known key',
            `msa:services.SERVICE_D.links[0] names unknown service "payments"; known: SERVICE_B, SERVICE_D, ${"x".repeat(60)}…(100 characters)`,
        ]);
    });
});
