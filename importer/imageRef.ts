/**
 * Image references in the registry convention `<server>/<namespace>/<project>/<image>:<tag>`
 * (GitLab's; the namespace may be a nested group). Docker's reference grammar decides what is
 * valid, so a placeholder like `registry.gitlab.com/..SERVICE_B..` is reported, not guessed at.
 */

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DOMAIN = /^(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[A-Za-z0-9.-]+:[0-9]+)$/;

export interface ImageRef {
    /** Registry host, or undefined for Docker Hub (`postgres:14`). */
    server?: string;
    /** Path components after the server, e.g. `["my-group", "msa", "orders"]`. */
    components: string[];
    /** The tag; compose (and Docker) default to `latest` when there is none. */
    tag: string;
    /** True when the reference had no tag. */
    defaultTag: boolean;
    digest?: string;
}

export type ParsedRef =
    { ok: true; ref: ImageRef } | { ok: false; reason: string; loose: LooseRef };

/** What can still be read from an invalid reference: its server and tag, if they look right. */
export interface LooseRef {
    server?: string;
    tag?: string;
}

export function parseImageRef(text: string): ParsedRef {
    const [nameTag = "", digest] = text.split("@", 2);
    const slash = nameTag.lastIndexOf("/");
    const colon = nameTag.lastIndexOf(":");
    const hasTag = colon > slash;
    const name = hasTag ? nameTag.slice(0, colon) : nameTag;
    const tag = hasTag ? nameTag.slice(colon + 1) : "latest";
    const parts = name.split("/");
    const server = parts.length > 1 && DOMAIN.test(parts[0] ?? "") ? parts[0] : undefined;
    const components = server === undefined ? parts : parts.slice(1);
    const loose: LooseRef = { server, tag: TAG.test(tag) ? tag : undefined };
    const bad = components.find((c) => !COMPONENT.test(c));
    if (name === "" || bad !== undefined) {
        return {
            ok: false,
            reason: `${JSON.stringify(bad ?? "")} is not a valid image path component (lower-case letters, digits and . _ -)`,
            loose,
        };
    }
    if (!TAG.test(tag)) {
        return { ok: false, reason: `${JSON.stringify(tag)} is not a valid tag`, loose };
    }
    return { ok: true, ref: { server, components, tag, defaultTag: !hasTag, digest } };
}

export interface RegistryImage {
    server: string;
    namespace: string;
    project: string;
    image: string;
}

/** `registry.gitlab.com/a/b/c/img` → server, namespace `a/b`, project `c`, image `img`. */
export function splitRegistryImage(ref: ImageRef): RegistryImage | undefined {
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

/** An official Postgres image (`postgres`, `library/postgres`, `docker.io/library/postgres`). */
export function isPostgresImage(text: string): boolean {
    const parsed = parseImageRef(text);
    if (!parsed.ok) {
        return false;
    }
    const last = parsed.ref.components[parsed.ref.components.length - 1] ?? "";
    return /^postgres(ql)?$/.test(last) || /(^|[-_])postgres(ql)?([-_]|$)/.test(last);
}
