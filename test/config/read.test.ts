/**
 * `readConfigMap`: from the flat `msa:key → string` map Pulumi hands the program to the input of
 * validation. Values are parsed by what the key holds, secret-ness is Pulumi's word, and secrets
 * reach validation only as presence (and, for `msa:secretEnv`, names).
 */
import { readConfigMap } from "../../config/read";

const NONE = () => false;

describe("plain values", () => {
    test("only the msa: namespace, keyed without it", () => {
        const { raw } = readConfigMap(
            "dev",
            {
                "docker:host": "ssh://deploy@host",
                "other:msa:timezone": "UTC",
                "msa:timezone": "Asia/Seoul",
            },
            NONE,
        );
        expect(raw).toEqual({ timezone: "Asia/Seoul" });
    });

    test("the stack is passed on", () => {
        expect(readConfigMap("prod-eu", {}, NONE).stack).toBe("prod-eu");
    });

    test.each([
        ["environment", "123", "123"],
        ["namePrefix", "null", "null"],
        ["timezone", "1", "1"],
        ["environment", '"quoted"', '"quoted"'],
    ])("msa:%s is a string whatever it looks like: %s", (key, text, value) => {
        expect(readConfigMap("dev", { [`msa:${key}`]: text }, NONE).raw).toEqual({ [key]: value });
    });

    test.each([
        ["production", "true", true],
        ["production", "false", false],
        ["protect", "true", true],
        ["protect", "false", false],
        // Anything else is kept as written, so validation shows it as the operator wrote it.
        ["production", "1", "1"],
        ["protect", "null", "null"],
        ["protect", '"true"', '"true"'],
        ["production", "yes", "yes"],
    ])("msa:%s %s is %p", (key, text, value) => {
        expect(readConfigMap("dev", { [`msa:${key}`]: text }, NONE).raw).toEqual({ [key]: value });
    });

    test("structured and numeric keys are JSON; one that does not parse is kept as text", () => {
        const { raw } = readConfigMap(
            "dev",
            {
                "msa:services": '{"a":{"image":"a","tag":"1"}}',
                "msa:registry": "[1,2]",
                "msa:database": "{not json",
                "msa:runtime": '"swarm"',
            },
            NONE,
        );
        expect(raw).toEqual({
            services: { a: { image: "a", tag: "1" } },
            registry: [1, 2],
            database: "{not json",
            runtime: "swarm",
        });
    });

    test("unknown and v1 keys are kept as given, so their message can name them", () => {
        const { raw } = readConfigMap("dev", { "msa:dbPort": "5432", "msa:colour": "[1]" }, NONE);
        expect(raw).toEqual({ dbPort: "5432", colour: "[1]" });
    });

    test("a key named __proto__ is an own, ordinary key of the map", () => {
        const { raw } = readConfigMap(
            "dev",
            { "msa:__proto__": '{"a":1}', "msa:timezone": "UTC" },
            NONE,
        );
        expect(Object.keys(raw)).toEqual(["__proto__", "timezone"]);
        expect(Object.getPrototypeOf(raw)).toBe(Object.prototype);
        for (const key of Object.keys(raw)) {
            expect(Object.getOwnPropertyDescriptor(raw, key)).toEqual({
                value: raw[key],
                enumerable: true,
                writable: true,
                configurable: true,
            });
        }
        // Not a key of the schema: kept as text, so the message can name it.
        expect(Object.getOwnPropertyDescriptor(raw, "__proto__")?.value).toBe('{"a":1}');
    });
});

describe("secrets", () => {
    test("secret keys are Pulumi's word, for any key of the namespace, without it", () => {
        const secret = new Set(["msa:database", "msa:dbPassword", "docker:host"]);
        const input = readConfigMap(
            "dev",
            {
                "msa:database": '{"name":"app"}',
                "msa:dbPassword": "hunter2",
                "msa:timezone": "UTC",
                "docker:host": "ssh://x",
            },
            (k) => secret.has(k),
        );
        expect([...(input.secretKeys ?? [])]).toEqual(["database", "dbPassword"]);
    });

    test("a secret key is present when set to anything but the empty string; its value stays out", () => {
        const input = readConfigMap(
            "dev",
            { "msa:dbPassword": "hunter2", "msa:registryPassword": "" },
            NONE,
        );
        expect(input.raw).toEqual({});
        expect(input.secrets).toEqual({
            present: { dbPassword: true, registryPassword: false },
            secretEnvNames: undefined,
        });
        expect(JSON.stringify(input)).not.toContain("hunter2");
    });

    test("msa:secretEnv: the names per service, never the values", () => {
        const input = readConfigMap(
            "dev",
            {
                "msa:secretEnv": '{"orders":{"API_TOKEN":"t0ken","DB_KEY":"k3y"},"billing":{}}',
                "msa:dbPassword": "hunter2",
            },
            NONE,
        );
        expect(input.secrets).toEqual({
            present: { secretEnv: true, dbPassword: true },
            secretEnvNames: { orders: ["API_TOKEN", "DB_KEY"], billing: [] },
        });
        expect(JSON.stringify(input)).not.toMatch(/t0ken|k3y|hunter2/);
    });

    test.each([
        ["not JSON", "{API_TOKEN: t0ken"],
        ["a list", '["API_TOKEN"]'],
        ["null", "null"],
        ["a string", '"API_TOKEN=t0ken"'],
        ["a number", "42"],
    ])("msa:secretEnv that is %s is (not a map), never its text", (_what, text) => {
        expect(readConfigMap("dev", { "msa:secretEnv": text }, NONE).secrets.secretEnvNames).toBe(
            "(not a map)",
        );
    });

    test("a service's secret env that is not a map is (not a map), the others keep their names", () => {
        const input = readConfigMap(
            "dev",
            {
                "msa:secretEnv": JSON.stringify({
                    list: ["API_TOKEN"],
                    nothing: null,
                    text: "API_TOKEN=t0ken",
                    ok: { API_TOKEN: "t0ken" },
                }),
            },
            NONE,
        );
        expect(input.secrets.secretEnvNames).toEqual({
            list: "(not a map)",
            nothing: "(not a map)",
            text: "(not a map)",
            ok: ["API_TOKEN"],
        });
    });
});
