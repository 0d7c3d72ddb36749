/**
 * One schema: `Pulumi.yaml`'s declared keys and defaults, and the README's key table, must say
 * what `config/schema.ts` says.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { readProjectFile } from "../config/stackFiles";
import {
    clientSchema,
    containerDatabaseSchema,
    dbImageSchema,
    externalDatabaseSchema,
    healthcheckSchema,
    registrySchema,
    SECRET_KEYS,
    stackConfigSchema,
} from "../config/schema";
import { ROOT } from "./helpers";

const shape = stackConfigSchema.shape as Record<string, z.ZodType>;
const ALL_KEYS = [...Object.keys(shape), ...Object.keys(SECRET_KEYS)].sort();

/** Every nested key an operator can set, as the README names it. */
const NESTED_KEYS = [
    ...Object.keys(registrySchema.shape).map((k) => `registry.${k}`),
    ...Object.keys(containerDatabaseSchema.shape).map((k) => `database.${k}`),
    ...Object.keys(externalDatabaseSchema.shape).map((k) => `database.${k}`),
    ...Object.keys(clientSchema.shape).map((k) => `database.client.${k}`),
    ...Object.keys(dbImageSchema.shape).map((k) => `database.image.${k}`),
    ...Object.keys(healthcheckSchema.shape).map((k) => `database.healthcheck.${k}`),
];

/** The schema's default for a key, or undefined when it has none. */
function schemaDefault(key: string): unknown {
    const r = shape[key]?.safeParse(undefined);
    return r?.success ? r.data : undefined;
}

describe("Pulumi.yaml", () => {
    const declared = readProjectFile(ROOT).config;

    test("declares only keys the schema knows", () => {
        expect(Object.keys(declared).filter((k) => !ALL_KEYS.includes(k))).toEqual([]);
    });

    test.each(Object.keys(stackConfigSchema.shape))("%s: same default as the schema", (key) => {
        const decl = declared[key];
        const def = schemaDefault(key);
        if (decl === undefined) {
            // Undeclared keys are the structured ones or optional ones without a default.
            const structured = typeof def === "object" && def !== null;
            expect(def === undefined || structured).toBe(true);
        } else {
            expect(decl.default).toEqual(def);
        }
    });

    test.each(
        Object.keys(SECRET_KEYS).filter((k) => SECRET_KEYS[k as keyof typeof SECRET_KEYS].required),
    )("%s is declared as a secret", (key) => {
        expect(declared[key]).toMatchObject({ secret: true });
    });

    test.each(Object.entries(declared).filter(([k]) => k in shape))(
        "%s: the declared type is the schema's",
        (key, decl) => {
            const type = (decl as { type: "string" | "integer" | "boolean" }).type;
            const wrong = { string: 1, integer: "x", boolean: "x" }[type];
            expect(shape[key]?.safeParse(wrong).success).toBe(false);
        },
    );
});

describe("README", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const documented = [...readme.matchAll(/^\| `msa:([A-Za-z.]+)[^`]*` \|/gm)].map((m) => m[1]);

    test("documents every top-level config key in its key table", () => {
        const top = [...new Set(documented.filter((k) => !k?.includes(".")))].sort();
        expect(top).toEqual(ALL_KEYS);
    });

    test("documents every nested key of registry and database", () => {
        const nested = new Set(documented.filter((k) => k?.includes(".")));
        expect(NESTED_KEYS.filter((k) => !nested.has(k))).toEqual([]);
        expect([...nested].filter((k) => !NESTED_KEYS.includes(k as string))).toEqual([]);
    });

    test("shows the set-up and test commands CI runs", () => {
        expect(readme).toContain("npm ci");
        expect(readme).toContain("npm test");
        const ci = fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8");
        expect(ci).toContain("npm ci");
        expect(ci).toMatch(/^npm test$/m);
    });
});
