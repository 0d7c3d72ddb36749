import { ownValue } from "../../lib/ownKey";

describe("ownValue", () => {
    const record: Record<string, number> = { orders: 1, toString: 2 };

    test("a key the record has", () => {
        expect(ownValue(record, "orders")).toBe(1);
        expect(ownValue(record, "toString")).toBe(2);
    });

    test.each(["constructor", "hasOwnProperty", "valueOf", "__proto__", "missing"])(
        "%s, which only Object.prototype has, or nothing",
        (key) => {
            expect(ownValue(record, key)).toBeUndefined();
        },
    );

    test("an own __proto__ key, as JSON.parse makes one", () => {
        const parsed = JSON.parse('{"__proto__": 3}') as Record<string, number>;
        expect(ownValue(parsed, "__proto__")).toBe(3);
    });
});
