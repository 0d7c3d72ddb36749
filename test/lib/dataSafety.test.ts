/** The plan's data-volume check: every change that replaces or orphans the data is named. */
import { dataVolumeFindings, PlannedResource } from "../../lib/dataSafety";

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
