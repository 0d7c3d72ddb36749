/**
 * Image references, parsed once for the import, the policy pack and the e2e driver, by Docker's
 * reference grammar (github.com/distribution/reference):
 *
 *     reference := name [ ":" tag ] [ "@" digest ]
 *     name      := [ domain "/" ] path-component [ "/" path-component ]*
 *
 * The first component is a registry domain, as Docker decides it, when it holds a `.` or a `:`,
 * is `localhost`, or holds an upper-case letter (path components never do); otherwise the image
 * is on Docker Hub (`postgres:18` is `docker.io/library/postgres:18`). Path components are
 * lower-case letters and digits with `.`, `_`, `__` or dashes between them; a tag is up to 128 of
 * `[A-Za-z0-9_.-]`, not starting with `.` or `-`; a digest is `sha256:` and 64 lower-case hex
 * digits (or sha384/sha512 with 96/128). A name is at most 255 characters.
 *
 * GitLab's registry names images `<server>/<namespace>/<project>/<image>`, where the namespace
 * may be a nested group (`registryImage` splits a reference, `gitlabRepository` builds one). Plain module: no resources, no
 * config.
 */

/** Docker Hub, where a reference without a domain points. */
export const DOCKER_HUB = "docker.io";
const LEGACY_DOCKER_HUB = "index.docker.io";
const OFFICIAL_PREFIX = "library";
const NAME_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DOMAIN_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
const DOMAIN = new RegExp(
    `^(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]+)?$`,
);
const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export interface ImageRef {
    /** The registry as written (`registry.gitlab.com`, `localhost:5000`); undefined for Docker Hub. */
    server?: string;
    /** Path components after the server, e.g. `["my-group", "msa", "orders"]`. */
    components: string[];
    /** `server/components…`, as written: the repository without tag and digest. */
    repository: string;
    /** The tag; Docker (and compose) take `latest` when there is none, see `defaultTag`. */
    tag: string;
    /** True when the reference names no tag (`postgres`, `repo@sha256:…`). */
    defaultTag: boolean;
    /** `sha256:<64 hex>`, when the reference is pinned by digest. */
    digest?: string;
}

/** What can still be read from an invalid reference: the parts that look right on their own. */
export interface LooseRef {
    server?: string;
    tag?: string;
    digest?: string;
}

export type ParsedRef =
    { ok: true; ref: ImageRef } | { ok: false; reason: string; loose: LooseRef };

export function parseImageRef(text: string): ParsedRef {
    const at = text.indexOf("@");
    const nameTag = at < 0 ? text : text.slice(0, at);
    const digestText = at < 0 ? undefined : text.slice(at + 1);
    const slash = nameTag.lastIndexOf("/");
    const colon = nameTag.lastIndexOf(":");
    const hasTag = colon > slash;
    const name = hasTag ? nameTag.slice(0, colon) : nameTag;
    const tagText = hasTag ? nameTag.slice(colon + 1) : undefined;
    const { server, components } = splitDomain(name);
    const loose: LooseRef = {
        server: server !== undefined && DOMAIN.test(server) ? server : undefined,
        tag: tagText !== undefined && TAG.test(tagText) ? tagText : undefined,
        digest: digestText !== undefined && isDigest(digestText) ? digestText : undefined,
    };
    const fail = (reason: string): ParsedRef => ({ ok: false, reason, loose });
    if (name === "") {
        return fail("the image name is empty");
    }
    if (server !== undefined && !DOMAIN.test(server)) {
        return fail(`${JSON.stringify(server)} is not a valid registry host`);
    }
    const bad = components.find((c) => !PATH_COMPONENT.test(c));
    if (bad !== undefined) {
        return fail(
            `${JSON.stringify(bad)} is not a valid image path component (lower-case letters, digits and . _ -)`,
        );
    }
    if (name.length > NAME_MAX) {
        return fail(`the image name is longer than ${NAME_MAX} characters`);
    }
    if (tagText !== undefined && !TAG.test(tagText)) {
        return fail(`${JSON.stringify(tagText)} is not a valid tag`);
    }
    if (digestText !== undefined && !isDigest(digestText)) {
        return fail(
            `${JSON.stringify(digestText)} is not a valid digest (sha256: and 64 lower-case hex digits)`,
        );
    }
    return {
        ok: true,
        ref: {
            server,
            components,
            repository: name,
            tag: tagText ?? "latest",
            defaultTag: tagText === undefined,
            digest: digestText,
        },
    };
}

/** The reference as Docker writes it back: `repository[:tag][@digest]`, no tag if none was given. */
export function formatImageRef(
    ref: Pick<ImageRef, "repository" | "tag" | "defaultTag" | "digest">,
): string {
    return `${ref.repository}${ref.defaultTag ? "" : `:${ref.tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/**
 * Docker's normalized name: a reference without a server is Docker Hub's (`docker.io`, also for
 * the legacy `index.docker.io`), where a one-component name is an official image under `library/`.
 * The registry API addresses the repository by this server and path.
 */
export function normalizedName(ref: ImageRef): { server: string; path: string } {
    const server =
        ref.server === undefined || ref.server === LEGACY_DOCKER_HUB ? DOCKER_HUB : ref.server;
    const components =
        server === DOCKER_HUB && ref.components.length === 1
            ? [OFFICIAL_PREFIX, ...ref.components]
            : ref.components;
    return { server, path: components.join("/") };
}

/**
 * Docker's fully qualified form: `postgres` is `docker.io/library/postgres:latest`; with a digest
 * and no tag, no tag is added (`docker.io/library/postgres@sha256:…`).
 */
export function normalizedImageRef(ref: ImageRef): string {
    const { server, path } = normalizedName(ref);
    const tag = ref.defaultTag && ref.digest !== undefined ? "" : `:${ref.tag}`;
    return `${server}/${path}${tag}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/** A digest Docker accepts: `sha256:` and 64 lower-case hex digits (sha384, sha512 likewise). */
export function isDigest(text: string): boolean {
    const [algorithm = "", hex, ...rest] = text.split(":");
    const length = DIGEST_LENGTHS[algorithm];
    return (
        length !== undefined &&
        rest.length === 0 &&
        hex !== undefined &&
        hex.length === length &&
        /^[0-9a-f]+$/.test(hex)
    );
}

/** One image in GitLab's registry: `<server>/<namespace>/<project>/<image>`. */
export interface RegistryImage {
    server: string;
    /** The group, possibly nested (`team/sub`). */
    namespace: string;
    project: string;
    image: string;
}

/** `registry.gitlab.com/a/b/c/img` → server, namespace `a/b`, project `c`, image `img`. */
export function registryImage(ref: ImageRef): RegistryImage | undefined {
    const c = ref.components;
    if (ref.server === undefined || c.length < 3) {
        return undefined;
    }
    return {
        server: ref.server,
        namespace: c.slice(0, -2).join("/"),
        project: c[c.length - 2] ?? "",
        image: c[c.length - 1] ?? "",
    };
}

/** The importer's name for `registryImage`. */
export const splitRegistryImage = registryImage;

/** `<server>/<namespace>/<project>/<image>`: the repository GitLab's registry holds an image as. */
export function gitlabRepository(reg: RegistryImage): string {
    return `${reg.server}/${reg.namespace}/${reg.project}/${reg.image}`;
}

/** An official Postgres image (`postgres`, `library/postgres`, `docker.io/library/postgres`). */
export function isPostgresImage(text: string): boolean {
    const parsed = parseImageRef(text);
    if (!parsed.ok) {
        return false;
    }
    const last = parsed.ref.components[parsed.ref.components.length - 1] ?? "";
    return /^postgres(ql)?$/.test(last) || /(^|[-_])postgres(ql)?([-_]|$)/.test(last);
}

/** Docker's `splitDockerDomain`: whether the first component names a registry. */
function splitDomain(name: string): { server?: string; components: string[] } {
    const parts = name.split("/");
    const first = parts[0] ?? "";
    const isDomain =
        parts.length > 1 &&
        (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
    return isDomain ? { server: first, components: parts.slice(1) } : { components: parts };
}
