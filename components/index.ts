export { externalDatabase } from "./databaseEndpoint";
export type {
    DatabaseClientSettings,
    DatabaseEndpoint,
    ExternalDatabaseArgs,
} from "./databaseEndpoint";
export { EdgeProxy, haproxyConfig, HAPROXY_CONFIG } from "./edgeProxy";
export type { EdgeProxyArgs, EdgeProxyRoute } from "./edgeProxy";
export { RELEASE_LABEL } from "./labels";
export { Microservice } from "./microservice";
export type {
    MicroserviceArgs,
    MicroserviceImage,
    MicroservicePort,
    ReleaseStrategy,
    ServiceHealthcheck,
} from "./microservice";
export { PostgresDatabase, PGDATA } from "./postgresDatabase";
export type { HealthcheckArgs, PostgresDatabaseArgs } from "./postgresDatabase";
export { RegistryImage, RegistryImages } from "./registryImage";
export type { RegistryImageArgs, RegistryImagesArgs, RegistryImagesEntry } from "./registryImage";
export { ServiceNetwork } from "./serviceNetwork";
export type { ServiceNetworkArgs } from "./serviceNetwork";
export type { ServiceImage, ServicePort, ServiceSpec } from "./serviceSpec";
export { SwarmService } from "./swarmService";
export type { SwarmServiceArgs } from "./swarmService";
