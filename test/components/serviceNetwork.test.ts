/**
 * `ServiceNetwork` on its own, with plain `pulumi.runtime.setMocks`: the network it declares on
 * one host or across a swarm, and the outputs it registers.
 */
import * as pulumi from "@pulumi/pulumi";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}
const created: Registered[] = [];
const options: Record<string, pulumi.CustomResourceOptions> = {};
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

/** What each component registers as its outputs (`registerOutputs`), by URN. */
const registeredOutputs = new Map<string, Record<string, unknown>>();
interface OutputsRequest {
    getUrn(): string;
    getOutputs(): { toJavaScript(): Record<string, unknown> } | undefined;
}
type OutputsCall = (req: OutputsRequest, callback: (err: unknown, res: unknown) => void) => void;
const monitor = pulumi.runtime.getMonitor() as unknown as { registerResourceOutputs: OutputsCall };
const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
monitor.registerResourceOutputs = (req, callback) => {
    registeredOutputs.set(req.getUrn(), req.getOutputs()?.toJavaScript() ?? {});
    registerResourceOutputs(req, callback);
};

/** Records the options each child is declared with (transformations reach a component's children). */
const recordOptions: pulumi.ComponentResourceOptions = {
    transformations: [
        (a) => {
            options[a.name] = a.opts;
            return undefined;
        },
    ],
};

import { ServiceNetwork } from "../../components";

const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

/** The outputs `res` registered, once the registration has reached the engine. */
async function outputsOf(res: pulumi.Resource): Promise<Record<string, unknown> | undefined> {
    const urn = await value(res.urn);
    for (let i = 0; i < 200 && !registeredOutputs.has(urn); i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return registeredOutputs.get(urn);
}

beforeEach(() => {
    created.length = 0;
});

describe("ServiceNetwork", () => {
    test("a bridge network on one host by default, named as asked, without labels", async () => {
        const network = new ServiceNetwork("net", { networkName: "msa-dev" }, recordOptions);
        expect(await value(network.networkName)).toBe("msa-dev");
        expect(await outputsOf(network)).toEqual({ networkName: "msa-dev" });
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
        expect(await outputsOf(network)).toEqual({ networkName: "msa-prod" });
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
        await outputsOf(network);
        expect(created.find((r) => r.name === "local-network")?.inputs).toEqual({
            name: "msa-local",
            driver: "bridge",
            labels: [],
        });
    });
});
