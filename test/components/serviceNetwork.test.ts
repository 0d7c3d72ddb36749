/**
 * `ServiceNetwork` on its own, with plain `pulumi.runtime.setMocks`: the network it declares on
 * one host or across a swarm, and the outputs it registers.
 */
import * as pulumi from "@pulumi/pulumi";
import { optionsRecorder, registeredOutputs, value } from "./harness";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}
const created: Registered[] = [];
const { options, recordOptions } = optionsRecorder();
void pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            created.push({ type: args.type, name: args.name, inputs: args.inputs });
            return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => args.inputs,
    },
    "msa",
    "test",
    false,
);

import { ServiceNetwork } from "../../components";

beforeEach(() => {
    created.length = 0;
});

describe("ServiceNetwork", () => {
    test("a bridge network on one host by default, named as asked, without labels", async () => {
        const network = new ServiceNetwork("net", { networkName: "msa-dev" }, recordOptions);
        expect(await value(network.networkName)).toBe("msa-dev");
        expect(await registeredOutputs(network)).toEqual({ networkName: "msa-dev" });
        expect(created).toEqual([
            { type: "msa:network:ServiceNetwork", name: "net", inputs: {} },
            {
                type: "docker:index/network:Network",
                name: "net-network",
                inputs: { name: "msa-dev", driver: "bridge", labels: [] },
            },
        ]);
        expect(options["net-network"]?.parent).toBe(network);
    });

    test("an attachable overlay across a swarm, with its labels sorted", async () => {
        const network = new ServiceNetwork("swarm", {
            networkName: "msa-prod",
            overlay: true,
            labels: { "msa.stack": "prod", "msa.project": "msa" },
        });
        expect(await registeredOutputs(network)).toEqual({ networkName: "msa-prod" });
        expect(created.find((r) => r.name === "swarm-network")?.inputs).toEqual({
            name: "msa-prod",
            driver: "overlay",
            attachable: true,
            labels: [
                { label: "msa.project", value: "msa" },
                { label: "msa.stack", value: "prod" },
            ],
        });
    });

    test("overlay: false is a bridge, as when it is left out", async () => {
        const network = new ServiceNetwork("local", { networkName: "msa-local", overlay: false });
        await registeredOutputs(network);
        expect(created.find((r) => r.name === "local-network")?.inputs).toEqual({
            name: "msa-local",
            driver: "bridge",
            labels: [],
        });
    });
});
