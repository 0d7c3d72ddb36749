export { externalDatabase } from "./databaseEndpoint";
export type {
    DatabaseClientSettings,
    DatabaseEndpoint,
    ExternalDatabaseArgs,
} from "./databaseEndpoint";
export { Microservice } from "./microservice";
export type { MicroserviceArgs, MicroservicePort } from "./microservice";
export { PostgresDatabase, PGDATA } from "./postgresDatabase";
export type { HealthcheckArgs, PostgresDatabaseArgs } from "./postgresDatabase";
export { RegistryImage } from "./registryImage";
export type { RegistryImageArgs } from "./registryImage";
export { ServiceNetwork } from "./serviceNetwork";
export type { ServiceNetworkArgs } from "./serviceNetwork";
