/**
 * Which scalar keys `readConfigMap` keeps as text and which it reads as booleans: a value of the
 * wrong form must reach validation as the operator wrote it (`"1"`, not `1`), so its message shows
 * that text. The two key lists are module-level sets, so every case loads `config/` afresh
 * (`./freshConfig`).
 */
import { freshConfig } from "./freshConfig";

function rawOf(key: string, text: string): Record<string, unknown> {
    return freshConfig().read.readConfigMap("dev", { [`msa:${key}`]: text }, () => false).raw;
}

describe("string keys are text whatever they look like", () => {
    test.each([
        ["environment", "123"],
        ["environment", "true"],
        ["namePrefix", "null"],
        ["namePrefix", "7"],
        ["timezone", "1"],
        ["timezone", "false"],
    ])("msa:%s %s stays the text", (key, text) => {
        expect(rawOf(key, text)).toEqual({ [key]: text });
    });
});

describe("boolean keys are true, false, or the text as written", () => {
    test.each([
        ["production", "true", true],
        ["production", "false", false],
        ["protect", "true", true],
        ["protect", "false", false],
        ["production", "1", "1"],
        ["production", "null", "null"],
        ["protect", "null", "null"],
        ["protect", "0", "0"],
    ])("msa:%s %s is %p", (key, text, value) => {
        expect(rawOf(key, text)).toEqual({ [key]: value });
    });
});

test("a scalar of the wrong form is shown as written in the message", () => {
    const { read, validate } = freshConfig();
    const input = read.readConfigMap(
        "dev",
        {
            "msa:production": "1",
            "msa:protect": "null",
            "msa:environment": "123",
            "msa:namePrefix": "null",
            "msa:timezone": "1",
            "msa:database": '{"name":"app","image":{"push":false}}',
            "msa:dbPassword": "hunter2",
        },
        (k) => k === "msa:dbPassword",
    );
    const result = validate.validateStackConfig(input);
    expect(result.ok ? [] : result.errors).toEqual([
        'msa:environment must be lower-case letters, digits and -, got "123"',
        'msa:production must be true or false, got "1"',
        'msa:protect must be true or false, got "null"',
        'msa:timezone must be a time zone in the tz database, like Asia/Seoul, got "1"',
    ]);
});
