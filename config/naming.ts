/** Names of images, containers, volumes and networks, and the labels every resource carries. */
import type { StackConfig } from "./validate";

/** GitLab's convention: `<server>/<namespace>/<project>/<image>`. */
export function imageRepository(
    server: string,
    namespace: string,
    project: string,
    image: string,
): string {
    return `${server}/${namespace}/${project}/${image}`;
}

export function serviceRepository(cfg: StackConfig, key: string): string {
    const svc = cfg.services[key];
    if (svc === undefined) {
        throw new Error(`unknown service ${key}`);
    }
    return imageRepository(
        cfg.registryServer,
        svc.namespace ?? cfg.registryNamespace,
        svc.project ?? cfg.registryProject,
        svc.image,
    );
}

export function dbRepository(cfg: StackConfig): string {
    return imageRepository(
        cfg.registryServer,
        cfg.registryNamespace,
        cfg.registryProject,
        cfg.dbImageName,
    );
}

export const containerName = (cfg: StackConfig, key: string): string =>
    cfg.services[key]?.containerName ?? `${cfg.namePrefix}-${key.toLowerCase()}`;
export const dbContainerName = (cfg: StackConfig): string =>
    cfg.dbContainerName ?? `${cfg.namePrefix}-db`;
export const dbVolumeName = (cfg: StackConfig): string =>
    cfg.dbVolumeName ?? `${cfg.namePrefix}-db-data`;
export const networkName = (cfg: StackConfig): string => `${cfg.namePrefix}-net`;

/** Label keys every container, volume and network carries (the policy pack checks them). */
export const LABEL_KEYS = {
    project: "msa.project",
    stack: "msa.stack",
    environment: "msa.environment",
    component: "msa.component",
    /** `"true"` on the DB container when `msa:dbPublicBindOverride` allows a public DB port. */
    dbPublicOverride: "msa.db-public-override",
} as const;

export function stackLabels(cfg: StackConfig, component: string): Record<string, string> {
    return {
        [LABEL_KEYS.project]: "msa",
        [LABEL_KEYS.stack]: cfg.stack,
        [LABEL_KEYS.environment]: cfg.environment,
        [LABEL_KEYS.component]: component,
        ...(component === "database" && cfg.dbPublicBindOverride === true
            ? { [LABEL_KEYS.dbPublicOverride]: "true" }
            : {}),
    };
}
