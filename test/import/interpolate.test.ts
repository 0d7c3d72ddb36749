/** Compose's variable substitution, and the reference: docker-compose 1.29's own rendering. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { readComposeFile } from "../../importer/compose";
import { envLookup, readEnvFile } from "../../importer/envFiles";
import { interpolate, references } from "../../importer/interpolate";
import { parseImageRef, splitRegistryImage } from "../../lib/imageRef";
import { parsePort } from "../../importer/mapping";
import { FIXTURES, LEGACY } from "./helpers";

const vars: Record<string, string> = { SET: "v", EMPTY: "" };
const lookup = (name: string) => vars[name];

test.each([
    ["${SET}", "v"],
    ["$SET/x", "v/x"],
    ["${SET:-d}", "v"],
    ["${EMPTY:-d}", "d"],
    ["${UNSET:-d}", "d"],
    ["${EMPTY-d}", ""],
    ["${UNSET-d}", "d"],
    ["${UNSET:-}", ""],
    ["$$SET", "$SET"],
    ["a$${SET}b", "a${SET}b"],
    ["${SET}:${SET:-x}", "v:v"],
])("%s → %s", (text, expected) => {
    expect(interpolate(text, lookup)).toBe(expected);
});

test.each([
    ["${UNSET}", "${UNSET} is not set"],
    ["$UNSET", "$UNSET is not set"],
    ["${EMPTY:?needed}", "${EMPTY:?needed}: needed"],
    ["${UNSET?}", "${UNSET?}: UNSET is required"],
    ["${1BAD}", "invalid interpolation ${1BAD}; write $$ for a literal $"],
    ["pa$-word", 'invalid interpolation: a "$" that starts no variable; write $$ for a literal $'],
])("%s fails: %s", (text, message) => {
    expect(() => interpolate(text, lookup)).toThrow(message);
});

test("references name the variables a value expands from", () => {
    expect(references("postgres://u:${DB_PASSWORD}@$HOST/${DB:-x}$$NOT")).toEqual([
        "DB_PASSWORD",
        "HOST",
        "DB",
    ]);
});

test.each([
    ["8080:80", [{ container: 80, host: 8080, bindAddress: "0.0.0.0", protocol: "tcp" }]],
    [
        "127.0.0.1:5432:5432",
        [{ container: 5432, host: 5432, bindAddress: "127.0.0.1", protocol: "tcp" }],
    ],
    ["9000", [{ container: 9000, host: undefined, bindAddress: "0.0.0.0", protocol: "tcp" }]],
    ["53:53/udp", [{ container: 53, host: 53, bindAddress: "0.0.0.0", protocol: "udp" }]],
    [
        "8000-8001:9000-9001",
        [
            { container: 9000, host: 8000, bindAddress: "0.0.0.0", protocol: "tcp" },
            { container: 9001, host: 8001, bindAddress: "0.0.0.0", protocol: "tcp" },
        ],
    ],
    [
        { target: 80, published: 8080, host_ip: "10.0.0.1", protocol: "tcp" },
        [{ container: 80, host: 8080, bindAddress: "10.0.0.1", protocol: "tcp" }],
    ],
    [
        "[::1]:80:80",
        "not a port mapping the stack can express (IPv4 [IP:][HOST:]CONTAINER[/tcp|udp])",
    ],
])("port %j", (spec, expected) => {
    expect(parsePort(spec)).toEqual(expected);
});

test("image references split into the registry convention", () => {
    const ref = parseImageRef("registry.gitlab.com/team/sub/msa/orders:1.2.3");
    expect(ref.ok && splitRegistryImage(ref.ref)).toEqual({
        server: "registry.gitlab.com",
        namespace: "team/sub",
        project: "msa",
        image: "orders",
    });
    expect(parseImageRef("localhost:5000/g/p/api")).toEqual({
        ok: true,
        ref: {
            server: "localhost:5000",
            components: ["g", "p", "api"],
            repository: "localhost:5000/g/p/api",
            tag: "latest",
            defaultTag: true,
            digest: undefined,
        },
    });
    expect(parseImageRef("registry.gitlab.com/..SERVICE_B..:latest")).toEqual({
        ok: false,
        reason: '"..SERVICE_B.." is not a valid image path component (lower-case letters, digits and . _ -)',
        loose: { server: "registry.gitlab.com", tag: "latest", digest: undefined },
    });
});

/**
 * docker-compose 1.29 renders the legacy files with every variable, default and env_file
 * resolved. The fixtures the plan tests compare against are that rendering; this checks them
 * against the real tool, and the importer's own reading against both.
 */
describe.each(["docker-compose.yml", "docker-compose.external-db.yml"])(
    "%s as docker-compose config renders it",
    (file) => {
        const hasCompose =
            spawnSync("docker-compose", ["version"], { encoding: "utf8" }).status === 0;
        const fixture = parse(
            fs.readFileSync(path.join(FIXTURES, file.replace(/\.yml$/, ".config.yml")), "utf8"),
        ) as { services: Record<string, Record<string, unknown>> };

        const live = hasCompose
            ? "the fixture is what docker-compose config prints"
            : "SKIPPED: docker-compose is not installed, so the fixture is not compared with it";
        (hasCompose ? test : test.skip)(live, () => {
            const r = spawnSync("docker-compose", ["--env-file", ".env", "-f", file, "config"], {
                cwd: LEGACY,
                encoding: "utf8",
                env: { PATH: process.env.PATH ?? "" },
            });
            expect(r.status).toBe(0);
            expect(parse(r.stdout)).toEqual(fixture);
        });

        test("the importer interpolates image, ports and env exactly as compose does", () => {
            const dotenv = readEnvFile(path.join(LEGACY, ".env"), ".env");
            const compose = readComposeFile(path.join(LEGACY, file), envLookup(dotenv), ".env");
            const services = compose.data.services as Record<string, Record<string, unknown>>;
            for (const [key, ref] of Object.entries(fixture.services)) {
                const svc = services[key] ?? {};
                expect([key, svc.image]).toEqual([key, ref.image]);
                expect([key, svc.container_name]).toEqual([key, ref.container_name]);
                const ports = (svc.ports as string[]).map((p) => {
                    const [host, container] = p.split(":");
                    return { published: Number(host), target: Number(container) };
                });
                expect([key, ports]).toEqual([key, ref.ports]);
                const env: Record<string, string> = {};
                const files = svc.env_file === undefined ? [] : [String(svc.env_file)];
                for (const f of files) {
                    for (const e of readEnvFile(path.join(LEGACY, f), f).entries) {
                        env[e.name] = e.value;
                    }
                }
                for (const [name, value] of Object.entries(
                    (svc.environment ?? {}) as Record<string, unknown>,
                )) {
                    env[name] = String(value);
                }
                expect([key, env]).toEqual([key, ref.environment]);
            }
        });
    },
);
