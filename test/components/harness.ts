/**
 * What the component tests share: reading back from Pulumi's mock runtime, whatever mocks a test
 * file sets (each sets its own with plain `pulumi.runtime.setMocks`, before it imports the
 * components), and the database endpoint the service tests connect to.
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { DatabaseEndpoint, externalDatabase } from "../../components";

/** An output's value, once known. */
export const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

/**
 * Resource options that record the options each child is declared with, by name
 * (transformations reach a component's children).
 */
export function optionsRecorder<O extends pulumi.ResourceOptions = pulumi.CustomResourceOptions>() {
    const options: Record<string, O> = {};
    const recordOptions: pulumi.ComponentResourceOptions = {
        transformations: [
            (a) => {
                options[a.name] = a.opts as O;
                return undefined;
            },
        ],
    };
    return { options, recordOptions };
}

/**
 * The outputs a component registered (what the engine keeps in its state for it), read back from
 * the mock monitor once `registerOutputs` has reached it.
 */
export async function registeredOutputs(
    component: pulumi.Resource,
): Promise<Record<string, unknown>> {
    const urn = await value(component.urn);
    const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitor;
    for (let tries = 0; tries < 200; tries++) {
        // Registered, the state is the component's inputs; once its outputs arrive, the
        // protobuf Struct they were sent as.
        const state = monitor.getRegisteredResources().get(urn)?.state as
            { toJavaScript?: () => Record<string, unknown> } | undefined;
        if (typeof state?.toJavaScript === "function") {
            return state.toJavaScript();
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${urn} registered no outputs`);
}

/** An external database with every `DB_*` value distinct, its password a secret. */
export function exampleDatabase(): DatabaseEndpoint {
    return externalDatabase({
        host: "db.internal",
        port: 6432,
        name: "app",
        schema: "sales",
        user: "app_user",
        password: pulumi.secret("pw"),
        client: { kind: "pg", dialect: "D", driverClassName: "Drv", type: "T" },
    });
}
