/** The one image-reference parser (import, policy, e2e driver): Docker's grammar, case by case. */
import {
    formatImageRef,
    gitlabRepository,
    isDigest,
    isPostgresImage,
    normalizedImageRef,
    normalizedName,
    parseImageRef,
    registryImage,
} from "../../lib/imageRef";

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

function ok(text: string) {
    const parsed = parseImageRef(text);
    if (!parsed.ok) {
        throw new Error(`${text}: ${parsed.reason}`);
    }
    return parsed.ref;
}

describe("valid references", () => {
    test.each([
        [
            "postgres",
            { components: ["postgres"], repository: "postgres", tag: "latest", defaultTag: true },
            "docker.io/library/postgres:latest",
        ],
        [
            "postgres:18",
            { components: ["postgres"], repository: "postgres", tag: "18", defaultTag: false },
            "docker.io/library/postgres:18",
        ],
        [
            "bitnami/postgresql:16.4.0",
            {
                components: ["bitnami", "postgresql"],
                repository: "bitnami/postgresql",
                tag: "16.4.0",
                defaultTag: false,
            },
            "docker.io/bitnami/postgresql:16.4.0",
        ],
        [
            "docker.io/library/postgres:18",
            {
                server: "docker.io",
                components: ["library", "postgres"],
                repository: "docker.io/library/postgres",
                tag: "18",
                defaultTag: false,
            },
            "docker.io/library/postgres:18",
        ],
        [
            "index.docker.io/postgres",
            {
                server: "index.docker.io",
                components: ["postgres"],
                repository: "index.docker.io/postgres",
                tag: "latest",
                defaultTag: true,
            },
            "docker.io/library/postgres:latest",
        ],
        [
            "localhost/app",
            {
                server: "localhost",
                components: ["app"],
                repository: "localhost/app",
                tag: "latest",
                defaultTag: true,
            },
            "localhost/app:latest",
        ],
        [
            "localhost:5000/a/b",
            {
                server: "localhost:5000",
                components: ["a", "b"],
                repository: "localhost:5000/a/b",
                tag: "latest",
                defaultTag: true,
            },
            "localhost:5000/a/b:latest",
        ],
        [
            `host:5000/a/b:v1@${DIGEST}`,
            {
                server: "host:5000",
                components: ["a", "b"],
                repository: "host:5000/a/b",
                tag: "v1",
                defaultTag: false,
                digest: DIGEST,
            },
            `host:5000/a/b:v1@${DIGEST}`,
        ],
        [
            `registry.gitlab.com/team/sub/msa/orders@${DIGEST}`,
            {
                server: "registry.gitlab.com",
                components: ["team", "sub", "msa", "orders"],
                repository: "registry.gitlab.com/team/sub/msa/orders",
                tag: "latest",
                defaultTag: true,
                digest: DIGEST,
            },
            `registry.gitlab.com/team/sub/msa/orders@${DIGEST}`,
        ],
        [
            `postgres@${DIGEST}`,
            {
                components: ["postgres"],
                repository: "postgres",
                tag: "latest",
                defaultTag: true,
                digest: DIGEST,
            },
            `docker.io/library/postgres@${DIGEST}`,
        ],
        [
            "127.0.0.1:5000/msa/db:src-0b7e1c2d3f4a",
            {
                server: "127.0.0.1:5000",
                components: ["msa", "db"],
                repository: "127.0.0.1:5000/msa/db",
                tag: "src-0b7e1c2d3f4a",
                defaultTag: false,
            },
            "127.0.0.1:5000/msa/db:src-0b7e1c2d3f4a",
        ],
        [
            "[::1]:5000/a:1",
            {
                server: "[::1]:5000",
                components: ["a"],
                repository: "[::1]:5000/a",
                tag: "1",
                defaultTag: false,
            },
            "[::1]:5000/a:1",
        ],
        [
            // An upper-case first component is a registry host: path components never are.
            "Registry.Example/a__b/c-d.e:Tag_1",
            {
                server: "Registry.Example",
                components: ["a__b", "c-d.e"],
                repository: "Registry.Example/a__b/c-d.e",
                tag: "Tag_1",
                defaultTag: false,
            },
            "Registry.Example/a__b/c-d.e:Tag_1",
        ],
        [
            "MyHost/app",
            {
                server: "MyHost",
                components: ["app"],
                repository: "MyHost/app",
                tag: "latest",
                defaultTag: true,
            },
            "MyHost/app:latest",
        ],
    ])("%s", (text, ref, normalized) => {
        const parsed = ok(text);
        expect(parsed).toEqual({ server: undefined, digest: undefined, ...ref });
        expect(formatImageRef(parsed)).toBe(text);
        expect(normalizedImageRef(parsed)).toBe(normalized);
    });

    test("host:5000 alone is the image host with tag 5000, as Docker reads it", () => {
        expect(ok("host:5000")).toEqual({
            server: undefined,
            components: ["host"],
            repository: "host",
            tag: "5000",
            defaultTag: false,
            digest: undefined,
        });
    });

    test("the registry API's server and path: Docker Hub's official images are under library/", () => {
        expect(normalizedName(ok("postgres:14"))).toEqual({
            server: "docker.io",
            path: "library/postgres",
        });
        expect(normalizedName(ok("127.0.0.1:5000/my-group/msa/db:1.0.0"))).toEqual({
            server: "127.0.0.1:5000",
            path: "my-group/msa/db",
        });
    });
});

describe("invalid references", () => {
    test.each([
        [
            "Postgres:14",
            '"Postgres" is not a valid image path component (lower-case letters, digits and . _ -)',
            { tag: "14" },
        ],
        [
            "registry.gitlab.com/Team/app:1.0.0",
            '"Team" is not a valid image path component (lower-case letters, digits and . _ -)',
            { server: "registry.gitlab.com", tag: "1.0.0" },
        ],
        [
            "registry.gitlab.com/..SERVICE_B..:latest",
            '"..SERVICE_B.." is not a valid image path component (lower-case letters, digits and . _ -)',
            { server: "registry.gitlab.com", tag: "latest" },
        ],
        [
            "registry.gitlab.com/group/${IMAGE}:${TAG}",
            '"${IMAGE}" is not a valid image path component (lower-case letters, digits and . _ -)',
            { server: "registry.gitlab.com" },
        ],
        ["", "the image name is empty", {}],
        [":1.0", "the image name is empty", { tag: "1.0" }],
        ["app:", '"" is not a valid tag', {}],
        ["app:-x", '"-x" is not a valid tag', {}],
        [`app:${"t".repeat(129)}`, `"${"t".repeat(129)}" is not a valid tag`, {}],
        [
            "app@sha256:abc",
            '"sha256:abc" is not a valid digest (sha256: and 64 lower-case hex digits)',
            {},
        ],
        [
            `app@${DIGEST.toUpperCase().replace("SHA256", "sha256")}`,
            `"${DIGEST.toUpperCase().replace("SHA256", "sha256")}" is not a valid digest (sha256: and 64 lower-case hex digits)`,
            {},
        ],
        [
            "bad_host:5000/app",
            '"bad_host:5000" is not a valid registry host',
            { server: undefined },
        ],
        [
            `registry.example/${"a".repeat(260)}`,
            "the image name is longer than 255 characters",
            { server: "registry.example" },
        ],
    ])("%s", (text, reason, loose) => {
        expect(parseImageRef(text)).toEqual({
            ok: false,
            reason,
            loose: { server: undefined, tag: undefined, digest: undefined, ...loose },
        });
    });

    test("the loose reading keeps a valid digest of an invalid reference", () => {
        expect(parseImageRef(`Bad@${DIGEST}`)).toEqual({
            ok: false,
            reason: '"Bad" is not a valid image path component (lower-case letters, digits and . _ -)',
            loose: { server: undefined, tag: undefined, digest: DIGEST },
        });
    });
});

test("digests: sha256/384/512 with their lengths, lower-case hex only", () => {
    expect(
        [
            DIGEST,
            `sha384:${"a".repeat(96)}`,
            `sha512:${"a".repeat(128)}`,
            `sha256:${"a".repeat(63)}`,
            `sha256:${"A".repeat(64)}`,
            `md5:${"a".repeat(32)}`,
            `sha256:${"a".repeat(64)}:x`,
        ].map(isDigest),
    ).toEqual([true, true, true, false, false, false, false]);
});

describe("GitLab's registry naming", () => {
    test("<server>/<namespace>/<project>/<image>, the namespace possibly nested", () => {
        expect(registryImage(ok("registry.gitlab.com/team/sub/msa/orders:1.2.3"))).toEqual({
            server: "registry.gitlab.com",
            namespace: "team/sub",
            project: "msa",
            image: "orders",
        });
        expect(registryImage(ok("localhost:5000/g/p/api"))).toEqual({
            server: "localhost:5000",
            namespace: "g",
            project: "p",
            image: "api",
        });
    });
    test("fewer than three components or no server is not a registry image", () => {
        expect(registryImage(ok("registry.gitlab.com/team/app"))).toBeUndefined();
        expect(registryImage(ok("team/sub/app"))).toBeUndefined();
    });
    test("and back", () => {
        expect(
            gitlabRepository({
                server: "registry.gitlab.com",
                namespace: "my-group/sub",
                project: "msa",
                image: "service-b",
            }),
        ).toBe("registry.gitlab.com/my-group/sub/msa/service-b");
    });
});

test.each([
    ["postgres:14", true],
    ["docker.io/library/postgres:18", true],
    ["postgresql", true],
    ["bitnami/postgresql:16", true],
    ["timescale/timescaledb-postgres:2", true],
    ["registry.gitlab.com/g/p/db:1", false],
    ["Postgres:14", false],
    ["mysql:8", false],
])("isPostgresImage(%s) is %s", (text, expected) => {
    expect(isPostgresImage(text)).toBe(expected);
});
