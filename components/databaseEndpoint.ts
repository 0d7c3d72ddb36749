import * as pulumi from "@pulumi/pulumi";

/**
 * What a service needs to reach its database, and the contract between `PostgresDatabase` (or an
 * external server) and `Microservice`: the service builds its `DB_*` env from exactly this.
 */
export interface DatabaseEndpoint {
    /** Host the services connect to: the DB's network alias, or the external server. */
    host: pulumi.Input<string>;
    port: pulumi.Input<number>;
    /** Database and schema the applications use. */
    name: pulumi.Input<string>;
    schema: pulumi.Input<string>;
    user: pulumi.Input<string>;
    /** Must be a secret Output. */
    password: pulumi.Input<string>;
    /** What the legacy applications are told about the database (`DB_KIND`, `DB_DIALECT`, …). */
    client: DatabaseClientSettings;
    /** Resources a service starts after: the DB container, which is created once healthy. */
    readyAfter: pulumi.Resource[];
}

export interface DatabaseClientSettings {
    kind: string;
    dialect: string;
    driverClassName: string;
    type: string;
}

export type ExternalDatabaseArgs = Omit<DatabaseEndpoint, "readyAfter">;

/** An existing Postgres outside the stack: the same endpoint shape, nothing to wait for. */
export function externalDatabase(args: ExternalDatabaseArgs): DatabaseEndpoint {
    return { ...args, password: pulumi.secret(args.password), readyAfter: [] };
}
