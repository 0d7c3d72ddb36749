export { GitlabRegistry } from "./gitlabRegistry";
export type { GitlabRegistryArgs } from "./gitlabRegistry";
export { Microservice } from "./microservice";
export type { MicroserviceArgs, MicroservicePort } from "./microservice";
export { PostgresDatabase, PGDATA } from "./postgresDatabase";
export type { HealthcheckArgs, PostgresDatabaseArgs } from "./postgresDatabase";
export { ServiceNetwork } from "./serviceNetwork";
export type { ServiceNetworkArgs } from "./serviceNetwork";
