/** Merging into an existing stack file: keys, services and comments the import does not own stay. */
import * as fs from "fs";
import * as path from "path";
import { planImport } from "../../importer";
import { LEGACY, tempDir } from "./helpers";

const EXISTING = `# Team notes: this stack runs on the staging host.
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

describe("merging into an existing Pulumi.<stack>.yaml", () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), EXISTING);
    const plan = planImport({
        compose: path.join(LEGACY, "docker-compose.yml"),
        stack: "staging",
        dir,
    });

    test("keeps comments and keys it does not own", () => {
        expect(plan.merged).toBe(true);
        for (const line of [
            "# Team notes: this stack runs on the staging host.",
            "  docker:host: ssh://deploy@staging # the Docker engine",
            "  # Keep the data when the stack goes away.",
            "  msa:protect: true",
            "  msa:registryNamespace: my-group # set by hand",
            "  msa:registryUsername: gitlab+deploy-token-7",
            "  msa:dbPassword:\n    secure: v1:abc123",
            "  # Replaced by the import:",
            "      # Replaces SERVICE_B_IP on the stack's network.\n      links:\n        - SERVICE_B",
            "    legacy-worker:\n      image: worker\n      tag: 1.0.0",
        ]) {
            expect(plan.text).toContain(line);
        }
    });

    test("replaces the values it owns; placeholders never overwrite what the file sets", () => {
        expect(plan.config["msa:dbName"]).toBe("sf1_db");
        expect(plan.config["msa:registryNamespace"]).toBe("my-group");
        expect(plan.config["msa:registryProject"]).toBe("msa");
        const services = plan.config["msa:services"] as Record<string, Record<string, unknown>>;
        expect(services.SERVICE_D).toEqual({
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
        });
        expect(Object.keys(services)).toEqual(["SERVICE_D", "legacy-worker", "SERVICE_B"]);
    });

    test("the placeholder findings for keys the file already sets are dropped", () => {
        expect(plan.findings.filter((f) => f.at.startsWith("msa:registry"))).toEqual([]);
    });

    test("the stack file on disk is untouched until the CLI writes it", () => {
        expect(fs.readFileSync(path.join(dir, "Pulumi.staging.yaml"), "utf8")).toBe(EXISTING);
    });
});
