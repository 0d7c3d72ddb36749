/**
 * Helpers for the tests of module-level config constants (the schema's patterns, messages and
 * defaults, `read.ts`'s key lists): they load `config/` afresh inside the test that calls them
 * (`jest.isolateModules`), because mutation testing credits a change to a module-level constant
 * only to tests during which its module was evaluated. A test that imports `config/` at the top of
 * its file evaluates it once, outside every test.
 */
import type * as ReadModule from "../../config/read";
import type * as StackFilesModule from "../../config/stackFiles";
import type * as ValidateModule from "../../config/validate";
import { freshModules } from "../helpers";

export type Validate = typeof ValidateModule;
export type Read = typeof ReadModule;
export type StackFiles = typeof StackFilesModule;
export type Result = ReturnType<Validate["validateStackConfig"]>;

export const REGISTRY = { namespace: "team", project: "msa", username: "deployer" };
export const ORDERS = { image: "orders", tag: "1.0.0" };

/** `config/validate.ts` and `config/read.ts` (and what they import), loaded afresh. */
export function freshConfig(): { validate: Validate; read: Read } {
    return freshModules<{ validate: Validate; read: Read }>({
        validate: "config/validate",
        read: "config/read",
    });
}

/** `config/stackFiles.ts` (and the schema it imports), loaded afresh. */
export function freshStackFiles(): StackFiles {
    return freshModules<{ stackFiles: StackFiles }>({ stackFiles: "config/stackFiles" }).stackFiles;
}

/**
 * A fresh `validateStackConfig` over a valid stack (registry, container database, one pulled
 * service `orders`, both passwords set as secrets) with `raw` laid over it; `secretKeys` are
 * further keys Pulumi holds as secrets.
 */
export function validate(raw: Record<string, unknown>, secretKeys: string[] = []): Result {
    return freshConfig().validate.validateStackConfig({
        stack: "dev",
        raw: {
            registry: REGISTRY,
            database: { name: "app" },
            services: { orders: ORDERS },
            ...raw,
        },
        secrets: { present: { dbPassword: true, registryPassword: true } },
        secretKeys: new Set(["dbPassword", "registryPassword", ...secretKeys]),
    });
}

/** `raw` for `validate` whose service `orders` has `fields` besides its image and tag. */
export function withOrders(fields: Record<string, unknown>): Record<string, unknown> {
    return { services: { orders: { ...ORDERS, ...fields } } };
}

/** A value as a message shows it: its JSON, cut at 60 characters with the full length added. */
export function shownValue(value: unknown): string {
    const json = JSON.stringify(value);
    return json.length > 60 ? `${json.slice(0, 60)}…(${json.length} characters)` : json;
}

export function errorsOf(result: Result): string[] {
    if (result.ok) {
        throw new Error("expected the config to be rejected");
    }
    return result.errors;
}

export function configOf(result: Result) {
    if (!result.ok) {
        throw new Error(`expected a valid config, got:\n${result.errors.join("\n")}`);
    }
    return result.config;
}
