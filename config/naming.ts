/** Names of images, containers and networks, and the labels every resource carries. */
import { gitlabRepository } from "../lib/imageRef";
import { ownValue } from "../lib/ownKey";
import { PROJECT, type StackConfig } from "./schema";

/**
 * `<server>/<namespace>/<project>/<image>` in the registry; a stack without one (everything built
 * and kept on the Docker host) names its images `<prefix>/<image>`.
 */
export function serviceRepository(cfg: StackConfig, key: string): string {
    const svc = ownValue(cfg.services, key);
    if (svc === undefined) {
        throw new Error(`unknown service ${key}`);
    }
    const image = svc.image ?? key.toLowerCase().replace(/_/g, "-");
    return cfg.registry === undefined
        ? `${cfg.namePrefix}/${image}`
        : gitlabRepository({
              server: cfg.registry.server,
              namespace: svc.namespace ?? cfg.registry.namespace,
              project: svc.project ?? cfg.registry.project,
              image,
          });
}

export function dbRepository(cfg: StackConfig, image: string): string {
    return cfg.registry === undefined
        ? `${cfg.namePrefix}/${image}`
        : gitlabRepository({ ...cfg.registry, image });
}

/** A service's fixed container name, if the stack insists on one (releases then have downtime). */
export const containerName = (cfg: StackConfig, key: string): string | undefined =>
    ownValue(cfg.services, key)?.containerName;
export const networkName = (cfg: StackConfig): string => `${cfg.namePrefix}-net`;

/** Label keys every container, volume and network carries (the policy pack checks them). */
export const LABEL_KEYS = {
    project: "msa.project",
    stack: "msa.stack",
    environment: "msa.environment",
    /** `"false"` on a stack that opted out of the production rules (`msa:production: false`). */
    production: "msa.production",
    component: "msa.component",
    /** `"true"` on the DB container when `msa:database.publicBindOverride` allows a public port. */
    dbPublicOverride: "msa.db-public-override",
} as const;

export function stackLabels(cfg: StackConfig, component: string): Record<string, string> {
    const db = cfg.database;
    return {
        [LABEL_KEYS.project]: PROJECT,
        [LABEL_KEYS.stack]: cfg.stack,
        [LABEL_KEYS.environment]: cfg.environment,
        // Only where it differs from the default, so a production stack's resources are unchanged.
        ...(cfg.production ? {} : { [LABEL_KEYS.production]: "false" }),
        [LABEL_KEYS.component]: component,
        ...(component === "database" && db.mode === "container" && db.publicBindOverride === true
            ? { [LABEL_KEYS.dbPublicOverride]: "true" }
            : {}),
    };
}
