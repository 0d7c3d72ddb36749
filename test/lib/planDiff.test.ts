/** The plan's data-volume check: every change that replaces or orphans the data is named. */
import { dataVolumeFindings, PlannedResource, releaseFindings } from "../../lib/planDiff";

const volume = (over: Partial<PlannedResource> & { inputs?: object } = {}): PlannedResource => ({
    type: "docker:index/volume:Volume",
    name: "database-volume",
    protect: false,
    retainOnDelete: true,
    ...over,
    inputs: { name: "msa-dev-db-data", driver: "local", ...over.inputs },
});

describe("data volume findings", () => {
    test("an unchanged volume is no finding, a label change neither", () => {
        expect(
            dataVolumeFindings([volume()], [volume({ inputs: { labels: [{ label: "a" }] } })]),
        ).toEqual([]);
    });

    test("a renamed volume is a replacement that starts the database empty", () => {
        expect(
            dataVolumeFindings([volume()], [volume({ inputs: { name: "shop-db-data" } })]),
        ).toEqual([
            'data volume msa-dev-db-data (database-volume) would be replaced (name "msa-dev-db-data" → "shop-db-data"): the database starts empty on the new volume; the old one is kept (retainOnDelete)',
        ]);
    });

    test("a protected volume's replacement is refused by the engine", () => {
        expect(
            dataVolumeFindings(
                [volume({ protect: true })],
                [volume({ inputs: { driver: "nfs" } })],
            ),
        ).toEqual([
            'data volume msa-dev-db-data (database-volume) would be replaced (driver "local" → "nfs"); it is protected, so pulumi up will refuse',
        ]);
    });

    test("a volume no longer declared is orphaned, or deleted when it was not retained", () => {
        expect(dataVolumeFindings([volume()], [])).toEqual([
            "data volume msa-dev-db-data (database-volume) is no longer declared: it is kept (retainOnDelete) but no longer managed; its data stays there until you remove it",
        ]);
        expect(dataVolumeFindings([volume({ retainOnDelete: false })], [])).toEqual([
            "data volume msa-dev-db-data (database-volume) is no longer declared and would be DELETED with its data",
        ]);
    });
});

describe("release findings", () => {
    const container = (
        name: string,
        release: string,
        over: { inputs?: object; parent?: string } = {},
    ): PlannedResource => ({
        type: "docker:index/container:Container",
        name,
        parent: over.parent ?? null,
        protect: false,
        retainOnDelete: false,
        inputs: { labels: [{ label: "msa.release", value: release }], ...over.inputs },
    });
    const image = (tag: string): PlannedResource => ({
        type: "msa:registry:RegistryImage",
        name: "orders",
        parent: "orders",
        protect: false,
        retainOnDelete: false,
        inputs: { repository: "r/orders", tag },
    });

    test("a new tag replaces a health-gated create-first container with zero downtime", () => {
        const c = container("orders-container", "create-first", {
            parent: "orders",
            inputs: { wait: true, image: { __unknown: true } },
        });
        expect(releaseFindings([image("1.0.0"), c], [image("1.0.1"), c])).toEqual([
            "orders-container is replaced with zero downtime: the new container starts and passes its check before the old one stops",
        ]);
    });

    test("create-first without a health check is said to be so", () => {
        const before = container("orders-container", "create-first", { inputs: { envs: ["A=1"] } });
        const after = container("orders-container", "create-first", { inputs: { envs: ["A=2"] } });
        expect(releaseFindings([before], [after])).toEqual([
            "orders-container is replaced create-first, but without a health check the old container stops as soon as the new one runs",
        ]);
    });

    test("the database's replacement is announced as downtime", () => {
        const release = "delete-first: database restart (one data directory)";
        const before = container("database-container", release, { inputs: { memory: 512 } });
        const after = container("database-container", release, { inputs: { memory: 1024 } });
        expect(releaseFindings([before], [after])).toEqual([
            "database-container is replaced with downtime: database restart (one data directory)",
        ]);
    });

    test("an unchanged container is no finding", () => {
        const c = container("orders-container", "create-first");
        expect(releaseFindings([c], [c])).toEqual([]);
    });
});
