/**
 * The same stack through the real Pulumi engine and docker provider: `pulumi up` / `pulumi
 * destroy` via the Automation API with a local file backend. Runs only where a `pulumi` CLI is on
 * the PATH (an operator's machine, GitLab CI); otherwise it is skipped with one line saying why.
 */
import { LocalWorkspace, type ConfigMap, type Stack } from "@pulumi/pulumi/automation";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { projectRoot } from "../../config/stackFiles";
import {
    containerOf,
    DB,
    docker,
    e2eEnv,
    ORDERS_COMMAND,
    ORDERS_UDP_PORT,
    psql,
    publishServices,
    removeStackLeftovers,
    serviceReport,
    stackConfig,
    stackIds,
    stackLeftovers,
    stackSecrets,
    type StackIds,
} from "./fixtures";

const cli = onPath("pulumi");
if (cli === undefined) {
    process.stdout.write(
        "automation driver skipped: no pulumi CLI on PATH, so pulumi up/destroy cannot run here (the dockerode driver covers the same stack)\n",
    );
}
const describeWithCli = cli === undefined ? describe.skip : describe;

describeWithCli("pulumi up / destroy through the Automation API", () => {
    const env = cli === undefined ? undefined : e2eEnv();
    let ids: StackIds;
    let backend: string;
    let stack: Stack;

    beforeAll(async () => {
        if (env === undefined) {
            return;
        }
        ids = await stackIds("auto");
        await publishServices(env);
        backend = fs.mkdtempSync(path.join(os.tmpdir(), "msa-e2e-backend-"));
        // `pulumi destroy` refuses protected resources; this stack is unprotected so that it can
        // be destroyed completely (the dockerode driver covers protect and retainOnDelete).
        const config = stackConfig(env, ids, { "msa:protect": false });
        stack = await LocalWorkspace.createStack(
            { stackName: ids.stack, workDir: projectRoot() },
            {
                envVars: {
                    PULUMI_BACKEND_URL: `file://${backend}`,
                    PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(16).toString("hex"),
                },
            },
        );
        await stack.setAllConfig(toConfigMap(config, stackSecrets(env, ids)));
        await stack.up({ onOutput: (line) => process.stdout.write(line) });
    });

    afterAll(async () => {
        if (env === undefined) {
            return;
        }
        await removeStackLeftovers(ids.stack);
        await stack?.workspace.removeStack(ids.stack, { force: true }).catch(() => undefined);
        fs.rmSync(path.join(projectRoot(), `Pulumi.${ids.stack}.yaml`), { force: true });
        fs.rmSync(backend, { recursive: true, force: true });
    });

    test("the DB container is healthy and the init step created the database and schema", async () => {
        const db = `${ids.prefix}-db`;
        const info = await docker.getContainer(db).inspect();
        expect(info.State.Health?.Status).toBe("healthy");
        expect(info.HostConfig.Memory).toBe(DB.memoryMb * 1024 * 1024);
        expect(
            await psql(
                db,
                DB.name,
                `SELECT count(*) FROM pg_namespace WHERE nspname = '${DB.schema}'`,
            ),
        ).toBe("1");
    });

    test("the services reach the database and resolve their links", async () => {
        const orders = await serviceReport(`http://127.0.0.1:${ids.ordersPort}/`);
        const billing = await serviceReport(`http://127.0.0.1:${ids.billingPort}/`);
        expect(orders.db.server).toEqual({ database: DB.name, user: DB.user, schemaExists: true });
        expect(billing.db.server).toEqual({ database: DB.name, user: DB.user, schemaExists: true });
        expect(billing.links.ORDERS?.http).toEqual({ status: 200, body: "ok" });
    });

    test("published ports bind the declared addresses and protocols; orders runs its command", async () => {
        const orders = await docker.getContainer(await containerOf(ids.stack, "orders")).inspect();
        expect(orders.HostConfig.PortBindings).toEqual({
            "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: String(ids.ordersPort) }],
            [`${ORDERS_UDP_PORT}/udp`]: [
                { HostIp: "127.0.0.1", HostPort: String(ids.ordersUdpPort) },
            ],
        });
        expect(orders.Config.Cmd).toEqual(ORDERS_COMMAND);
    });

    test("pulumi destroy leaves only the data volume, which is always retained", async () => {
        await stack.destroy({ onOutput: (line) => process.stdout.write(line) });
        // The stack's name, not its prefix, names the volume by default.
        const volume = `msa-${ids.stack}-db-data`;
        expect(await stackLeftovers(ids.stack)).toEqual({
            containers: [],
            networks: [],
            volumes: [volume],
        });
        await docker.getVolume(volume).remove();
    });
});

/** Stack config as the CLI stores it: strings, objects as JSON, the secrets as secrets. */
function toConfigMap(config: Record<string, unknown>, secrets: Record<string, unknown>): ConfigMap {
    const entry = (value: unknown, secret: boolean) => ({
        value: typeof value === "string" ? value : JSON.stringify(value),
        secret,
    });
    return Object.fromEntries([
        ...Object.entries(config).map(([key, value]) => [key, entry(value, false)]),
        ...Object.entries(secrets).map(([key, value]) => [key, entry(value, true)]),
    ]);
}

function onPath(command: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        const file = path.join(dir, command);
        try {
            fs.accessSync(file, fs.constants.X_OK);
            return file;
        } catch {
            // not in this directory
        }
    }
    return undefined;
}
