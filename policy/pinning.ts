/**
 * Whether an image reference names one image for good. A tag is judged by what it is, not by a
 * list of words that move: `latest`, `stable`, `production`, `release`, `14` and `1.25` all name a
 * line of images that a push moves, while these name one build:
 *
 * - a full version, at least `major.minor.patch`, optionally `v`-prefixed and with a pre-release
 *   or variant suffix: `1.4.2`, `v2.0.1`, `1.4.2-rc.1`, `2024.01.15`, `14.10.2-alpine`. Not
 *   `14.10`: Postgres numbers its releases `major.minor`, but Docker's `postgres:14.10` is rebuilt
 *   for every Debian update; pin such a base image by digest. Not `…-SNAPSHOT`, Maven's word for a
 *   build that is replaced;
 * - a commit id, 7 to 64 lower-case hex digits (git's short ids up to SHA-256 ids), alone or after a
 *   prefix: `4f2a9c1`, `sha-4f2a9c1`, `src-0b7e1c2d3f4a` (the DB image's content tag).
 *
 * A digest (`@sha256:…`) pins a reference whatever its tag. But where the program resolves a tag
 * to a digest on every deploy (a service's `RemoteImage`), the tag must not move either, or the
 * next deploy silently runs another image.
 */
import { parseImageRef } from "../lib/imageRef";

const FULL_VERSION = /^v?[0-9]+\.[0-9]+\.[0-9]+(?:\.[0-9]+)*(?:[-_][0-9A-Za-z][0-9A-Za-z._-]*)?$/;
const COMMIT_ID = /^(?:[A-Za-z0-9][A-Za-z0-9._-]*[-_.])?[0-9a-f]{7,64}$/;
const MUTABLE_SUFFIX = /snapshot/i;

/** True for a tag that names one build: a full version or a commit id (see above). */
export function isImmutableTag(tag: string): boolean {
    return (FULL_VERSION.test(tag) && !MUTABLE_SUFFIX.test(tag)) || COMMIT_ID.test(tag);
}

/** What a reference pins, as the policies need it. */
export interface Pinning {
    /** The tag as written; undefined when there is none (Docker then takes `latest`). */
    tag?: string;
    digest?: string;
    /** The tag names one build (false when there is no tag). */
    immutableTag: boolean;
    /** Why the reference is not a valid one, if it is not. */
    invalid?: string;
}

export function pinningOf(reference: string): Pinning {
    const parsed = parseImageRef(reference);
    if (!parsed.ok) {
        const { tag, digest } = parsed.loose;
        return {
            tag,
            digest,
            immutableTag: tag !== undefined && isImmutableTag(tag),
            invalid: parsed.reason,
        };
    }
    const tag = parsed.ref.defaultTag ? undefined : parsed.ref.tag;
    return {
        tag,
        digest: parsed.ref.digest,
        immutableTag: tag !== undefined && isImmutableTag(tag),
    };
}

/** `which has no tag (so latest)` / `whose tag 14 moves`: why a tag does not pin. */
export function describeTag(tag: string | undefined): string {
    return tag === undefined ? "which has no tag (so latest)" : `whose tag ${tag} moves`;
}
