export { GitlabRegistry, GitlabRegistryArgs } from "./gitlabRegistry";
export { Microservice, MicroserviceArgs, MicroservicePort } from "./microservice";
export {
    PostgresDatabase,
    PostgresDatabaseArgs,
    HealthcheckArgs,
    PGDATA,
} from "./postgresDatabase";
export { ServiceNetwork, ServiceNetworkArgs } from "./serviceNetwork";
