/**
 * The label helpers on their own, with plain `pulumi.runtime.setMocks`: the release label added to
 * the caller's labels, and the provider's label list sorted so plans are stable.
 */
import * as pulumi from "@pulumi/pulumi";
import { value } from "./harness";

void pulumi.runtime.setMocks(
    {
        newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
        call: (args) => args.inputs,
    },
    "msa",
    "test",
    false,
);

import { RELEASE_LABEL } from "../../components";
import { toLabels, withRelease } from "../../components/labels";

describe("withRelease", () => {
    test("adds msa.release to the caller's labels", async () => {
        expect(RELEASE_LABEL).toBe("msa.release");
        expect(await value(withRelease({ team: "sales" }, "create-first"))).toEqual({
            team: "sales",
            "msa.release": "create-first",
        });
    });

    test("takes labels that are an Output", async () => {
        expect(await value(withRelease(pulumi.output({ team: "sales" }), "x"))).toEqual({
            team: "sales",
            "msa.release": "x",
        });
    });

    test("without labels, the release label alone", async () => {
        expect(await value(withRelease(undefined, "delete-first: why"))).toEqual({
            "msa.release": "delete-first: why",
        });
    });
});

describe("toLabels", () => {
    test("lists each label with its value, sorted by name", async () => {
        expect(await value(toLabels({ zone: "b", app: "orders", "msa.release": "x" }))).toEqual([
            { label: "app", value: "orders" },
            { label: "msa.release", value: "x" },
            { label: "zone", value: "b" },
        ]);
    });

    test("without labels, an empty list", async () => {
        expect(await value(toLabels(undefined))).toEqual([]);
    });
});
