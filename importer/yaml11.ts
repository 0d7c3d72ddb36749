/**
 * What compose passes for an unquoted number in `environment:`. docker-compose 1.29 reads YAML
 * with PyYAML, i.e. YAML 1.1: `0022` is the octal number 18, `1:30` the base-60 number 90,
 * `0x1F` is 31, `1_000` is 1000, `1.50` the float 1.5, while `1e3` (no dot) stays a string; the
 * container then gets Python's `str()` of the number. `yaml` (YAML 1.2) reads these differently
 * (`0022` → 22, `1e3` → 1000) and as JavaScript numbers, which lose digits past 2^53; so the import
 * takes the scalar's source text and applies PyYAML's rules, with integers of any length.
 */

const INT =
    /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const FLOAT =
    /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

/**
 * The text compose 1.29 passes for a plain (unquoted, untagged) scalar that YAML 1.1 reads as a
 * number, or undefined when it is not one.
 */
export function yaml11NumberText(source: string): string | undefined {
    const text = source.trim();
    if (INT.test(text)) {
        return intText(text);
    }
    if (FLOAT.test(text)) {
        return floatText(text);
    }
    return undefined;
}

/** PyYAML's `construct_yaml_int`, exact for any length. */
function intText(text: string): string {
    let value = text.replace(/_/g, "");
    let sign = 1n;
    if (value.startsWith("-") || value.startsWith("+")) {
        sign = value.startsWith("-") ? -1n : 1n;
        value = value.slice(1);
    }
    let n: bigint;
    if (value === "0") {
        n = 0n;
    } else if (value.startsWith("0b")) {
        n = BigInt(`0b${value.slice(2)}`);
    } else if (value.startsWith("0x")) {
        n = BigInt(`0x${value.slice(2)}`);
    } else if (value.startsWith("0")) {
        n = BigInt(`0o${value.slice(1)}`);
    } else if (value.includes(":")) {
        n = value.split(":").reduce((acc, digits) => acc * 60n + BigInt(Number(digits)), 0n);
    } else {
        n = BigInt(value);
    }
    return (sign * n).toString();
}

/** PyYAML's `construct_yaml_float`, then Python's `str()` of the float. */
function floatText(text: string): string {
    let value = text.replace(/_/g, "").toLowerCase();
    let sign = 1;
    if (value.startsWith("-") || value.startsWith("+")) {
        sign = value.startsWith("-") ? -1 : 1;
        value = value.slice(1);
    }
    if (value === ".inf") {
        return sign < 0 ? "-inf" : "inf";
    }
    if (value === ".nan") {
        return "nan";
    }
    if (value.includes(":")) {
        const n = value.split(":").reduce((acc, part) => acc * 60 + Number(part), 0);
        return pythonFloat(sign * n);
    }
    return pythonFloat(sign * Number(value));
}

/**
 * Python's `repr(float)`: the shortest digits that round-trip (as JavaScript's), written in fixed
 * notation with at least one decimal for 1e-4 <= |x| < 1e16, else as `1.5e+16` / `1e-05`.
 */
export function pythonFloat(x: number): string {
    if (Number.isNaN(x)) {
        return "nan";
    }
    if (!Number.isFinite(x)) {
        return x < 0 ? "-inf" : "inf";
    }
    if (x === 0) {
        return Object.is(x, -0) ? "-0.0" : "0.0";
    }
    const [mantissa = "", expText = "0"] = x.toExponential().split("e");
    const exp = Number(expText);
    const negative = mantissa.startsWith("-");
    const digits = mantissa.replace(/^-/, "").replace(".", "");
    const sign = negative ? "-" : "";
    if (exp >= -4 && exp < 16) {
        let fixed: string;
        if (exp < 0) {
            fixed = `0.${"0".repeat(-exp - 1)}${digits}`;
        } else if (digits.length > exp + 1) {
            fixed = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
        } else {
            fixed = `${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
        }
        return `${sign}${fixed}`;
    }
    const lead = digits.length > 1 ? `${digits[0] ?? ""}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp).toString().padStart(2, "0");
    return `${sign}${lead}e${exp < 0 ? "-" : "+"}${e}`;
}
