/**
 * The two readers the import shares with docker-compose 1.29: python-dotenv 0.21 for env files
 * and PyYAML's YAML 1.1 numbers. Every expectation here is what those libraries return for the
 * same input (checked with Debian's python3-dotenv 0.21.0 and python3-yaml 6.0).
 */
import { envFileFromText } from "../../importer/envFiles";
import { parseDotenv } from "../../importer/dotenv";
import { yaml11NumberText } from "../../importer/yaml11";

const ENV_FILE = [
    "A=abc#def",
    "B=abc #c",
    "",
    '  C = "x\\ty\\"z" # c',
    "D='a\\'b'",
    'E="multi',
    'line"',
    "F",
    "export G=1",
    "H=a b  ",
    'I="bad" junk',
    "J=${A}-${F}-${NOPE:-d}",
    "=bad",
    "K=$A",
    "L=${A:-x}",
    'M=""',
    "N=''",
    "O='${A}'",
    "#c",
    "P=v # c # d",
    "Q=€",
    "",
].join("\n");

test("env file values are python-dotenv's", () => {
    const env = envFileFromText(ENV_FILE, "t.env");
    expect(Object.fromEntries(env.entries.map((e) => [e.name, e.value]))).toEqual({
        A: "abc#def",
        B: "abc",
        C: 'x\ty"z',
        D: "a'b",
        E: "multi\nline",
        G: "1",
        H: "a b",
        J: "abc#def--d",
        K: "$A",
        L: "abc#def",
        M: "",
        N: "",
        O: "abc#def",
        P: "v",
        Q: "€",
    });
    // `F` has no value: compose takes it from its environment.
    expect(env.bare.map((b) => [b.name, b.line])).toEqual([["F", 8]]);
});

test("each entry keeps the line of its name, after blank lines and multi-line values", () => {
    expect(parseDotenv(ENV_FILE).map((b) => `${b.name}:${b.line}`)).toEqual([
        "A:1",
        "B:2",
        "C:4",
        "D:5",
        "E:6",
        "F:8",
        "G:9",
        "H:10",
        "J:12",
        "K:14",
        "L:15",
        "M:16",
        "N:17",
        "O:18",
        "P:20",
        "Q:21",
    ]);
});

test("a ${VAR} the file does not set earlier is an error naming the expression, not the value", () => {
    expect(() => envFileFromText("PASSWORD=pa55-${SUFFIX}\n", "db.env")).toThrow(
        "db.env:1: PASSWORD uses ${SUFFIX}, which is not set earlier in db.env (compose would substitute an empty string)",
    );
});

test.each([
    ["0022", "18"],
    ["12345678901234567890", "12345678901234567890"],
    ["1:20", "80"],
    ["0x1F", "31"],
    ["1.50", "1.5"],
    ["-07", "-7"],
    ["1_000", "1000"],
    ["1.0", "1.0"],
    ["100.0", "100.0"],
    ["1.0e+16", "1e+16"],
    ["0.00001", "1e-05"],
    ["123456789012345678.0", "1.2345678901234568e+17"],
    [".5", "0.5"],
    ["-.inf", "-inf"],
    ["190:20:30.15", "685230.15"],
    ["0b101", "5"],
])("YAML 1.1 reads the unquoted %s as %s", (source, text) => {
    expect(yaml11NumberText(source)).toBe(text);
});

test.each(["1e3", "0o22", "1e16", "08", "2024.06.01", "v1"])("%s is not a YAML 1.1 number", (s) => {
    expect(yaml11NumberText(s)).toBeUndefined();
});
