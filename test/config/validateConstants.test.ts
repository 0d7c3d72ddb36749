/**
 * The rules `validateStackConfig` keeps in module-level constants: the keys that can never be
 * secrets and the ones that can carry one, how a key is written in a message (plain words as
 * `.key`, anything else quoted, a huge one cut at 60 characters) and which database keys belong
 * to which mode. Every case validates with a fresh load of `config/` (`./freshConfig`), since
 * mutation testing credits a change to a module-level constant only to tests that load it.
 */
import { configOf, errorsOf, validate, withOrders } from "./freshConfig";

describe("keys that name, label or switch things cannot be secrets", () => {
    test.each([
        ["environment", "dev"],
        ["production", false],
        ["namePrefix", "msa-dev"],
        ["protect", true],
        ["timezone", "UTC"],
    ])("msa:%s", (key, value) => {
        expect(errorsOf(validate({ [key]: value }, [key]))).toEqual([
            `msa:${key} is set as a secret, but it cannot be one (it names, labels or switches things); set it without --secret: pulumi config set msa:${key} <value>`,
        ]);
    });

    test("registry, database and services can carry a secret, and are passed on as such", () => {
        const cfg = configOf(validate({}, ["registry", "database", "services", "runtime"]));
        expect([...cfg.secretKeys].sort()).toEqual(["database", "registry", "services"]);
    });
});

describe("how a key is written in a message", () => {
    test.each([
        ["colour", "msa:colour is not a known key"],
        ["_x-9", "msa:_x-9 is not a known key"],
        ["my key", 'msa:"my key" is not a known key'],
        ["9x", 'msa:"9x" is not a known key'],
        ["x.y", 'msa:"x.y" is not a known key'],
        ["-x", 'msa:"-x" is not a known key'],
        ["a".repeat(60), `msa:${"a".repeat(60)} is not a known key`],
        ["a".repeat(61), `msa:"${"a".repeat(59)}…(63 characters) is not a known key`],
    ])("top-level key %p", (key, message) => {
        expect(errorsOf(validate({ [key]: 1 }))).toEqual([message]);
    });

    test.each([
        ["extra", "msa:services.orders.extra is not a known key"],
        ["_a-b9", "msa:services.orders._a-b9 is not a known key"],
        ["9lives", 'msa:services.orders["9lives"] is not a known key'],
        ["a.b", 'msa:services.orders["a.b"] is not a known key'],
        ["a b", 'msa:services.orders["a b"] is not a known key'],
        ["b".repeat(60), `msa:services.orders.${"b".repeat(60)} is not a known key`],
        [
            "b".repeat(61),
            `msa:services.orders["${"b".repeat(59)}…(63 characters)] is not a known key`,
        ],
    ])("a service's key %p", (key, message) => {
        expect(errorsOf(validate(withOrders({ [key]: 1 })))).toEqual([message]);
    });

    test("a list index is written [i]", () => {
        expect(
            errorsOf(validate(withOrders({ ports: [{ container: 80 }, { container: 80, x: 1 }] }))),
        ).toEqual(["msa:services.orders.ports[1].x is not a known key"]);
    });
});

describe("a database key of the other mode is named as such", () => {
    test("external-mode keys in container mode", () => {
        expect(errorsOf(validate({ database: { name: "app", host: "db", colour: 1 } }))).toEqual([
            "msa:database.host means nothing when msa:database.mode is container (it is an external-mode key); remove it",
            "msa:database.colour is not a known key",
        ]);
    });

    test("container-mode keys in external mode", () => {
        const database = {
            mode: "external",
            name: "app",
            host: "db",
            alias: "x",
            hostPort: 5433,
            bindAddress: "127.0.0.1",
            publicBindOverride: true,
            containerName: "c",
            volumeName: "v",
            memoryMb: 64,
            healthcheck: {},
            image: {},
        };
        const moved = Object.keys(database).slice(3);
        expect(errorsOf(validate({ database }))).toEqual(
            moved.map(
                (k) =>
                    `msa:database.${k} means nothing when msa:database.mode is external (it is a container-mode key); remove it`,
            ),
        );
    });
});
