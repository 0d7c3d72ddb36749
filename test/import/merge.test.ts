/**
 * Merging into an existing stack file: keys, services and comments the import does not own stay;
 * a file that still holds v1 keys is brought to the v2 shape, each move reported.
 */
import * as fs from "fs";
import * as path from "path";
import { V1_KEYS } from "../../config/schema";
import { ImportPlan, planImport } from "../../importer";
import { renderFindings } from "../../importer/report";
import { ROOT } from "../helpers";
import { LEGACY, tempDir } from "./helpers";

/** Plans the import of a legacy compose file into `Pulumi.<stack>.yaml` holding `existing`. */
function mergeInto(existing: string, stack: string, compose = "docker-compose.yml") {
    const dir = tempDir();
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    fs.writeFileSync(file, existing);
    const plan = planImport({ compose: path.join(LEGACY, compose), stack, dir });
    return { plan, file };
}

/** The report's lines about the stack file itself (all under "Changed on purpose"). */
function stackFileFindings(plan: ImportPlan): string[] {
    const changes = plan.findings.filter((f) => f.at !== "msa:production");
    expect(changes.filter((f) => f.file === plan.stackLabel && f.kind !== "changed")).toEqual([]);
    return renderFindings(changes)
        .filter((l) => l.startsWith(`  ${plan.stackLabel}`))
        .map((l) => l.slice(2));
}

const SERVICE_D = {
    image: "service-d",
    containerName: "SERVICE_D",
    links: ["SERVICE_B"],
    tag: "latest",
    nodeName: "kit1",
    ports: [
        { container: 8888, host: 8888, bindAddress: "0.0.0.0" },
        { container: 8900, host: 8900, bindAddress: "0.0.0.0" },
    ],
    env: { SERVICE_B_IP: "0.0.0.0" },
    restart: "always",
};

const EXISTING = `# Team notes: this stack runs on the staging host.
config:
  docker:host: ssh://deploy@staging # the Docker engine
  # Keep the data when the stack goes away.
  msa:protect: true
  msa:registry:
    namespace: my-group # set by hand
    project: msa
    username: gitlab+deploy-token-7
  msa:dbPassword:
    secure: v1:abc123
  msa:database:
    mode: container
    # Replaced by the import:
    name: old_db
    image:
      push: false # built on the Docker host only
  msa:services:
    SERVICE_D:
      image: old-image
      memoryMb: 512
      containerName: old-name
      # Replaces SERVICE_B_IP on the stack's network.
      links:
        - SERVICE_B
    legacy-worker:
      image: worker
      tag: 1.0.0
`;

describe("merging into an existing Pulumi.<stack>.yaml (v2)", () => {
    const { plan, file } = mergeInto(EXISTING, "staging");

    test("keeps comments and keys it does not own", () => {
        expect(plan.merged).toBe(true);
        for (const line of [
            "# Team notes: this stack runs on the staging host.",
            "  docker:host: ssh://deploy@staging # the Docker engine",
            "  # Keep the data when the stack goes away.",
            "  msa:protect: true",
            "    namespace: my-group # set by hand",
            "    username: gitlab+deploy-token-7",
            "  msa:dbPassword:\n    secure: v1:abc123",
            "    # Replaced by the import:\n    name: sf1_db\n",
            "      push: false # built on the Docker host only",
            "      # Replaces SERVICE_B_IP on the stack's network.\n      links:\n        - SERVICE_B",
            "    legacy-worker:\n      image: worker\n      tag: 1.0.0",
        ]) {
            expect(plan.text).toContain(line);
        }
    });

    test("replaces the values it owns; placeholders never overwrite what the file sets", () => {
        expect(plan.config["msa:registry"]).toEqual({
            server: "registry.gitlab.com",
            namespace: "my-group",
            project: "msa",
            username: "gitlab+deploy-token-7",
        });
        expect(plan.config["msa:database"]).toMatchObject({
            mode: "container",
            alias: "db_instance",
            name: "sf1_db",
            image: { push: false },
        });
        const services = plan.config["msa:services"] as Record<string, Record<string, unknown>>;
        expect(services.SERVICE_D).toEqual(SERVICE_D);
        expect(Object.keys(services)).toEqual(["SERVICE_D", "legacy-worker", "SERVICE_B"]);
    });

    test("keys new to a map go among their neighbours, in the order a new file has them", () => {
        const keys = (text: string, indent: string) =>
            [...text.matchAll(new RegExp(`^${indent}([A-Za-z:]+):`, "gm"))].map((m) => m[1]);
        expect(keys(plan.text, "  ")).toEqual([
            "docker:host",
            "msa:protect",
            "msa:timezone",
            "msa:registry",
            "msa:dbPassword",
            "msa:database",
            "msa:services",
        ]);
        const database = plan.text.slice(
            plan.text.indexOf("  msa:database:\n"),
            plan.text.indexOf("  msa:services:"),
        );
        expect(keys(database, "    ")).toEqual([
            "mode",
            "alias",
            "containerName",
            "volumeName",
            "port",
            "hostPort",
            "bindAddress",
            "name",
            "schema",
            "user",
            "client",
            "healthcheck",
            "image",
        ]);
    });

    test("the placeholder findings for keys the file already sets are dropped", () => {
        expect(plan.findings.filter((f) => f.at.startsWith("msa:registry"))).toEqual([]);
        expect(stackFileFindings(plan)).toEqual([]);
    });

    test("the stack file on disk is untouched until the CLI writes it", () => {
        expect(fs.readFileSync(file, "utf8")).toBe(EXISTING);
    });
});

test("importing the legacy set into the shipped dev stack changes only what compose says", () => {
    const dev = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
    const { plan } = mergeInto(dev, "dev");
    expect(stackFileFindings(plan)).toEqual([]);
    for (const line of [
        "  msa:environment: dev\n",
        "  # Not production: moving tags such as `latest` are allowed and the data is not protected.\n  msa:production: false\n",
        "      # Replaces SERVICE_B_IP: SERVICE_D gets SERVICE_B_HOST/_PORT/_URL on the stack's network.\n      links:\n        - SERVICE_B\n",
    ]) {
        expect(plan.text).toContain(line);
    }
    // Compose's healthcheck timings are the import's; compose's DB tag (latest) is not carried
    // over, so the tag the file sets by hand stays.
    expect(plan.config["msa:database"]).toMatchObject({
        mode: "container",
        alias: "db_instance",
        image: { tag: "dev" },
        healthcheck: { interval: "10s", timeout: "3s", retries: 3 },
    });
    expect(plan.config["msa:registry"]).toEqual({
        server: "registry.gitlab.com",
        namespace: "my-group",
        project: "msa",
        username: "gitlab-deploy-token",
    });
});

/** The same stack as `EXISTING`, as the v1 shape had it. */
const EXISTING_V1 = `# Team notes: this stack runs on the staging host.
config:
  docker:host: ssh://deploy@staging # the Docker engine
  # Keep the data when the stack goes away.
  msa:protect: true
  msa:registryNamespace: my-group # set by hand
  msa:registryProject: msa
  msa:registryUsername: gitlab+deploy-token-7
  msa:dbPassword:
    secure: v1:abc123
  # Replaced by the import:
  msa:dbName: old_db
  msa:dbPushImage: false # built on the Docker host only
  msa:dbHealthcheck:
    startPeriod: 2m
  msa:services:
    SERVICE_D:
      image: old-image
      memoryMb: 512
      containerName: old-name
      # Replaces SERVICE_B_IP on the stack's network.
      links:
        - SERVICE_B
    legacy-worker:
      image: worker
      tag: 1.0.0
`;

describe("merging into a stack file that still holds v1 keys", () => {
    const { plan } = mergeInto(EXISTING_V1, "staging");

    test("each v1 key moves to its v2 place and is reported, with its line", () => {
        expect(stackFileFindings(plan)).toEqual([
            "Pulumi.staging.yaml:6 msa:registryNamespace: a v1 key: its value moved to msa:registry.namespace, the v2 shape the program reads",
            "Pulumi.staging.yaml:7 msa:registryProject: a v1 key: its value moved to msa:registry.project, the v2 shape the program reads",
            "Pulumi.staging.yaml:8 msa:registryUsername: a v1 key: its value moved to msa:registry.username, the v2 shape the program reads",
            "Pulumi.staging.yaml:12 msa:dbName: a v1 key: its value moved to msa:database.name, the v2 shape the program reads",
            "Pulumi.staging.yaml:13 msa:dbPushImage: a v1 key: its value moved to msa:database.image.push, the v2 shape the program reads",
            "Pulumi.staging.yaml:14 msa:dbHealthcheck: a v1 key: its value moved to msa:database.healthcheck, the v2 shape the program reads",
        ]);
        expect(Object.keys(plan.config).filter((k) => k.slice("msa:".length) in V1_KEYS)).toEqual(
            [],
        );
    });

    test("moved values keep their comments; the import's values replace the ones it owns", () => {
        for (const line of [
            "  msa:registry:\n    server: registry.gitlab.com\n    namespace: my-group # set by hand\n",
            "    # Replaced by the import:\n    name: sf1_db\n",
            "    image:\n      push: false # built on the Docker host only\n",
        ]) {
            expect(plan.text).toContain(line);
        }
        expect(plan.config["msa:registry"]).toEqual({
            server: "registry.gitlab.com",
            namespace: "my-group",
            project: "msa",
            username: "gitlab+deploy-token-7",
        });
        // Fields compose does not set stay; those it sets are the import's.
        expect((plan.config["msa:database"] as Record<string, unknown>).healthcheck).toEqual({
            startPeriod: "2m",
            interval: "10s",
            timeout: "3s",
            retries: 3,
        });
        const services = plan.config["msa:services"] as Record<string, Record<string, unknown>>;
        expect(services.SERVICE_D).toEqual(SERVICE_D);
    });

    test("the placeholder findings for keys the file set as v1 keys are dropped", () => {
        expect(plan.findings.filter((f) => f.at.startsWith("msa:registry."))).toEqual([]);
    });
});

test("a v1 key whose v2 place is set too: the v2 value stays, the v1 key goes, reported", () => {
    const { plan } = mergeInto(
        [
            "config:",
            "  msa:registry:",
            "    namespace: v2-group",
            "  msa:registryNamespace: v1-group",
            "",
        ].join("\n"),
        "both",
    );
    expect(stackFileFindings(plan)).toEqual([
        "Pulumi.both.yaml:4 msa:registryNamespace: a v1 key, and msa:registry.namespace is set too: msa:registry.namespace stays, the v1 value is dropped",
    ]);
    expect(plan.config["msa:registry"]).toMatchObject({ namespace: "v2-group" });
    expect(plan.text).not.toContain("v1-group");
});

describe("a stack file whose database is in the other mode", () => {
    test("v1 external → the compose file's container mode: the external host goes, reported", () => {
        const { plan } = mergeInto(
            [
                "config:",
                "  msa:dbMode: external",
                "  msa:dbHost: db.prod.internal # the managed server",
                "  msa:registryNamespace: my-group",
                "",
            ].join("\n"),
            "moved",
        );
        expect(stackFileFindings(plan)).toEqual([
            "Pulumi.moved.yaml:2 msa:dbMode: a v1 key: its value moved to msa:database.mode, the v2 shape the program reads",
            "Pulumi.moved.yaml:2 msa:database.mode: was external; the import makes it container, and removes msa:database.host (external-mode keys)",
            "Pulumi.moved.yaml:3 msa:dbHost: a v1 key: its value moved to msa:database.host (msa:database.mode is external), the v2 shape the program reads",
            "Pulumi.moved.yaml:4 msa:registryNamespace: a v1 key: its value moved to msa:registry.namespace, the v2 shape the program reads",
        ]);
        expect(plan.config["msa:database"]).toMatchObject({
            mode: "container",
            alias: "db_instance",
        });
        expect(plan.text).not.toContain("db.prod.internal");
    });

    test("v2 container → the compose file's external mode: the container-mode keys go", () => {
        const { plan } = mergeInto(
            [
                "config:",
                "  msa:database:",
                "    mode: container # a managed server soon",
                "    alias: db_instance",
                "    volumeName: sf1_db_storage",
                "    name: sf1_db",
                "    image:",
                "      push: false",
                "",
            ].join("\n"),
            "moved",
            "docker-compose.external-db.yml",
        );
        expect(stackFileFindings(plan)).toEqual([
            "Pulumi.moved.yaml:3 msa:database.mode: was container; the import makes it external, and removes msa:database.alias, msa:database.volumeName, msa:database.image (container-mode keys)",
        ]);
        expect(plan.text).toContain("    mode: external # a managed server soon\n");
        expect(Object.keys(plan.config["msa:database"] as object)).toEqual([
            "mode",
            "host",
            "port",
            "name",
            "schema",
            "user",
            "client",
        ]);
    });
});

test("a secret the file holds in plain text, and the import sets, is removed and reported", () => {
    const password = "hunter22-plain";
    const { plan } = mergeInto(
        [
            "config:",
            `  msa:dbPassword: ${password}`,
            "  msa:secretEnv:",
            "    SERVICE_B:",
            `      POSTGRES_PASSWORD: ${password}`,
            "",
        ].join("\n"),
        "plain",
    );
    expect(stackFileFindings(plan)).toEqual([
        "Pulumi.plain.yaml:2 msa:dbPassword: was in plain text in Pulumi.plain.yaml: removed; the import sets it with pulumi config set --secret",
        "Pulumi.plain.yaml:5 msa:secretEnv.SERVICE_B.POSTGRES_PASSWORD: was in plain text in Pulumi.plain.yaml: removed; the import sets it with pulumi config set --secret",
    ]);
    expect(plan.text).not.toContain(password);
    expect(JSON.stringify(plan.findings)).not.toContain(password);
});
