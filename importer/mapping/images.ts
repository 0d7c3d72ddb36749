/**
 * Images and the registry: each `image:` reference → a service's `image`/`tag`, each `build:` → its
 * `build` (or, for the database, `msa:database.image` `name`/`base`/`context`), and the registry
 * most images come from → `msa:registry` `server`/`namespace`/`project`, with per-service
 * overrides where one differs. The stack pulls every image from one registry, so a reference it
 * cannot use gets a placeholder and a finding that says what to set.
 */
import * as fs from "fs";
import * as path from "path";
import { PROJECT } from "../../config/schema";
import { ImageRef, parseImageRef, RegistryImage, splitRegistryImage } from "../../lib/imageRef";
import { carriesCredentials, looksSecret } from "../../lib/secretNames";
import type { Path } from "../compose";
import { pathText } from "../compose";
import { yaml11NumberText } from "../yaml11";
import { isObj, MapContext, Obj } from "./context";

/** What the import writes where the compose files do not say (namespace, project, user). */
export const PLACEHOLDER = "change-me";

/**
 * A service's image → `image`/`tag`, or with compose's `build:` → `build` (and `image` naming the
 * repository it is pushed to, when compose names one); a reference the stack cannot pull gets a
 * placeholder.
 */
export function serviceImage(ctx: MapContext, key: string, svc: Obj): Obj {
    const at: Path = ["services", key, "image"];
    const origin = ctx.origin(at, ["services", key]);
    const slug = imageSlug(key);
    if (svc.build !== undefined) {
        const build = buildConfig(ctx, key, svc.build, ["services", key, "build"], false);
        if (build !== undefined) {
            return { ...builtImage(ctx, key, svc), build };
        }
    }
    if (typeof svc.image !== "string") {
        if (svc.build === undefined) {
            ctx.finding(
                "action",
                origin,
                `services.${key}`,
                `has neither image nor build; the stack needs one: set msa:services.${key}.image (placeholder ${slug})`,
            );
        }
        return { image: slug, tag: "latest" };
    }
    const parsed = parseImageRef(svc.image);
    const tag = (parsed.ok ? parsed.ref.tag : parsed.loose.tag) ?? "latest";
    if (tag === "latest") {
        ctx.finding(
            "latest",
            origin,
            pathText(at),
            `${svc.image}${parsed.ok && parsed.ref.defaultTag ? " (no tag: latest)" : ""} → msa:services.${key}.tag latest; pin a version`,
        );
    }
    if (parsed.ok && parsed.ref.digest !== undefined) {
        ctx.finding(
            "changed",
            origin,
            pathText(at),
            `the digest is dropped: the stack resolves ${tag} and pins the digest itself`,
        );
    }
    const reg = parsed.ok ? splitRegistryImage(parsed.ref) : undefined;
    if (reg !== undefined) {
        ctx.registries.push({ reg, key });
        return { image: reg.image, tag, __registry: reg };
    }
    const placeholder = parsed.ok ? (hubImage(parsed.ref) ?? slug) : slug;
    ctx.finding(
        "action",
        origin,
        pathText(at),
        parsed.ok
            ? `${JSON.stringify(svc.image)} is not in a <registry>/<namespace>/<project>/<image> registry; the stack pulls every service from msa:registry.server: mirror it there and check msa:services.${key}.image (now ${placeholder})`
            : `${JSON.stringify(svc.image)} is not a valid image reference (${parsed.reason}); wrote the placeholder image ${placeholder}:${tag}: set msa:services.${key}.image (and msa:registry.namespace/msa:registry.project) to the real one`,
    );
    if (!parsed.ok && parsed.loose.server !== undefined) {
        ctx.looseServers.push(parsed.loose.server);
    }
    return { image: placeholder, tag };
}

/** With `build:`, compose's `image:` names the repository the built image is pushed to. */
function builtImage(ctx: MapContext, key: string, svc: Obj): Obj {
    const at: Path = ["services", key, "image"];
    if (typeof svc.image !== "string") {
        return {};
    }
    const parsed = parseImageRef(svc.image);
    const origin = ctx.origin(at);
    const tagNote = (tag: string | undefined) =>
        tag === undefined
            ? ""
            : `; compose tags it ${tag}, the stack tags it with a hash of the build context (msa:services.${key}.tag overrides that)`;
    if (!parsed.ok) {
        ctx.finding(
            "action",
            origin,
            pathText(at),
            `${JSON.stringify(svc.image)} is not a valid image reference (${parsed.reason}); the built image is named after the service: set msa:services.${key}.image to name its repository`,
        );
        return {};
    }
    const tag = parsed.ref.defaultTag ? undefined : parsed.ref.tag;
    const reg = splitRegistryImage(parsed.ref);
    if (reg !== undefined) {
        ctx.registries.push({ reg, key });
        ctx.finding(
            "note",
            origin,
            pathText(at),
            `the stack builds the image and pushes it as <msa:registry.server>/<namespace>/<project>/${reg.image}${tagNote(tag)}`,
        );
        return { image: reg.image, __registry: reg };
    }
    const local = hubImage(parsed.ref) ?? imageSlug(key);
    ctx.finding(
        "note",
        origin,
        pathText(at),
        `${JSON.stringify(svc.image)} names no registry; the stack builds the image and pushes it as <msa:registry.server>/<msa:registry.namespace>/<msa:registry.project>/${local}${tagNote(tag)}`,
    );
    return { image: local };
}

/**
 * compose's `build:` → `{context, dockerfile?, args?, target?}` with `context` relative to the
 * project folder (the program resolves it from there); undefined when it cannot be carried over
 * (a remote context, a folder outside the project), which is reported.
 */
export function buildConfig(
    ctx: MapContext,
    key: string,
    value: unknown,
    base: Path,
    forDb: boolean,
): Obj | undefined {
    const b: Obj = typeof value === "string" ? { context: value } : isObj(value) ? value : {};
    const origin = ctx.origin(base);
    const target = forDb ? "msa:database.image.context" : `msa:services.${key}.build.context`;
    const context = typeof b.context === "string" ? b.context : ".";
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(context) || context.startsWith("git@")) {
        ctx.finding(
            "action",
            origin,
            pathText(base),
            `builds from a remote context (a URL), and the stack builds from folders of the project only: check it out into the project and set ${target}${forDb ? "" : `, or push the image and set msa:services.${key}.image and .tag`}${forDb ? "" : ` (until then the placeholder image ${imageSlug(key)} is written)`}`,
        );
        return undefined;
    }
    const abs = path.resolve(ctx.compose.dir, context);
    const rel = path.relative(ctx.input.projectDir, abs).split(path.sep).join("/");
    if (rel.startsWith("..") || path.isAbsolute(rel)) {
        ctx.finding(
            "action",
            origin,
            pathText(base),
            `builds from ${abs}, outside the project folder ${ctx.input.projectDir}, and the stack builds from folders of the project only: move it into the project and set ${target}${forDb ? "" : ` (until then the placeholder image ${imageSlug(key)} is written)`}`,
        );
        return undefined;
    }
    const out: Obj = { context: rel === "" ? "." : rel };
    for (const k of Object.keys(b)) {
        if (!["context", "dockerfile", "args", "target"].includes(k)) {
            ctx.finding(
                "unmapped",
                ctx.origin([...base, k], base),
                pathText([...base, k]),
                `no stack key for it: the stack builds without it`,
            );
        }
    }
    if (forDb) {
        for (const k of ["dockerfile", "args", "target"]) {
            if (b[k] !== undefined && !(k === "dockerfile" && b[k] === "Dockerfile")) {
                ctx.finding(
                    "action",
                    ctx.origin([...base, k], base),
                    pathText([...base, k]),
                    `the stack builds ${out.context as string}/Dockerfile with the build args BASE_IMAGE (msa:database.image.base) and TZ only; ${k} is not carried over: make the Dockerfile there build what compose built`,
                );
            }
        }
        return out;
    }
    if (typeof b.dockerfile === "string" && b.dockerfile !== "Dockerfile") {
        out.dockerfile = b.dockerfile;
    }
    const args = buildArgs(ctx, key, b.args, [...base, "args"]);
    if (Object.keys(args).length > 0) {
        out.args = args;
    }
    if (typeof b.target === "string") {
        out.target = b.target;
    }
    return out;
}

/** Build args as text; a secret one is dropped and reported (they are plain config). */
function buildArgs(
    ctx: MapContext,
    key: string,
    value: unknown,
    base: Path,
): Record<string, string> {
    const out: Record<string, string> = {};
    const entries: [string, unknown, Path][] = Array.isArray(value)
        ? value.map((item, i) => {
              const text = String(item);
              const eq = text.indexOf("=");
              return eq < 0
                  ? [text, null, [...base, i]]
                  : [text.slice(0, eq), text.slice(eq + 1), [...base, i]];
          })
        : Object.entries(isObj(value) ? value : {}).map(([k, v]) => [k, v, [...base, k]]);
    const dotenv = new Map((ctx.input.dotenv?.entries ?? []).map((e) => [e.name, e.value]));
    for (const [name, v, p] of entries) {
        const plain = ctx.compose.plainOf(p);
        const text =
            v === null || v === undefined
                ? dotenv.get(name)
                : ((plain === undefined ? undefined : yaml11NumberText(plain)) ?? String(v));
        if (text === undefined) {
            ctx.finding(
                "unmapped",
                ctx.origin(p),
                `${pathText(base)}.${name}`,
                "takes its value from the shell that runs compose (.env does not set it); the stack builds without it",
            );
            continue;
        }
        if (
            looksSecret(name) ||
            carriesCredentials(text) ||
            ctx.secretValues.find(text) !== undefined
        ) {
            ctx.finding(
                "action",
                ctx.origin(p),
                `${pathText(base)}.${name}`,
                `a secret as a build argument: it is not written (build args are plain config, and Docker keeps them in the image's history); msa:services.${key}.build.args.${name} is not set: give the build the secret another way`,
            );
            continue;
        }
        out[name] = text;
    }
    return out;
}

/**
 * The DB image. The stack builds its DB image from a folder (`msa:database.image.context`, default
 * docker/db) on top of a Postgres base image (`msa:database.image.base`):
 * - a Postgres image (official, PostGIS, pgvector, TimescaleDB, … from any registry) becomes
 *   the base, the reference kept whole: its major version and extensions carry over;
 * - a custom image in a `<registry>/<namespace>/<project>/<image>` registry names the image the
 *   stack pushes (`msa:database.image.name`); its base is not known, and said so;
 * - compose's `build:` becomes `msa:database.image.context`.
 * Compose's tag is never carried over: the program tags the image with a hash of the build context.
 */
export function dbImage(
    ctx: MapContext,
    key: string,
    svc: Obj,
): { major?: number; majorKnown: boolean } {
    const at: Path = ["services", key, "image"];
    const origin = ctx.origin(at, ["services", key]);
    let context = "docker/db";
    if (svc.build !== undefined) {
        const build = buildConfig(ctx, key, svc.build, ["services", key, "build"], true);
        if (build !== undefined) {
            context = String(build.context);
            ctx.setStack("database.image.context", context, ctx.origin(["services", key, "build"]));
            ctx.finding(
                "note",
                ctx.origin(["services", key, "build"]),
                `services.${key}.build`,
                `the stack builds the DB image from ${context} (msa:database.image.context), passing the build args BASE_IMAGE (msa:database.image.base, default postgres:14) and TZ`,
            );
            dockerfileBase(ctx, key, context);
        }
    }
    if (typeof svc.image !== "string") {
        if (svc.build === undefined) {
            ctx.finding(
                "note",
                origin,
                `services.${key}`,
                "no image: the stack builds its DB image from docker/db on postgres:14 (msa:database.image.base)",
            );
        }
        return { majorKnown: false };
    }
    const parsed = parseImageRef(svc.image);
    if (parsed.ok && isPostgresFamily(parsed.ref)) {
        const major = postgresMajor(parsed.ref.tag);
        ctx.setStack("database.image.base", svc.image, origin);
        if (svc.build === undefined) {
            ctx.finding(
                "changed",
                origin,
                pathText(at),
                `the stack builds its DB image from docker/db on top of ${svc.image} (msa:database.image.base) and pushes it to msa:registry.server as msa:database.image.name, tagged with a hash of the build context`,
            );
        }
        if (parsed.ref.tag === "latest" || major === undefined) {
            ctx.finding(
                "latest",
                origin,
                pathText(at),
                `${svc.image}${parsed.ref.defaultTag ? " (no tag: latest)" : ""} → msa:database.image.base ${svc.image}; pin the major version the data was written with: Postgres refuses a data directory from another major`,
            );
        }
        return { major, majorKnown: major !== undefined };
    }
    const tag = parsed.ok ? parsed.ref.tag : parsed.loose.tag;
    const reg = parsed.ok ? splitRegistryImage(parsed.ref) : undefined;
    if (reg !== undefined) {
        ctx.setStack("database.image.name", reg.image, origin);
        ctx.registries.push({ reg, key });
        ctx.finding(
            "changed",
            origin,
            pathText(at),
            `compose runs ${svc.image}; the stack builds this image from ${context} and pushes it as <server>/<namespace>/<project>/${reg.image}, tagged with a hash of the build context: compose's tag is not carried over (msa:database.image.tag is left unset)`,
        );
    } else {
        ctx.finding(
            "action",
            origin,
            pathText(at),
            `${JSON.stringify(svc.image)} is not an image reference of the form <registry>/<namespace>/<project>/<image>${parsed.ok ? "" : ` (${parsed.reason})`}; the stack builds the DB image from ${context} and pushes it as <msa:registry.server>/<msa:registry.namespace>/<msa:registry.project>/db (msa:database.image.name), tagged with a hash of the build context${tag === undefined ? "" : `: compose's tag ${tag} is not carried over (msa:database.image.tag is left unset)`}`,
        );
    }
    if (svc.build === undefined) {
        ctx.finding(
            "action",
            origin,
            `${PROJECT}:database.image.base`,
            `the Postgres version ${JSON.stringify(svc.image)} runs is not known; the stack builds on postgres:14 unless msa:database.image.base says otherwise: set it to the image compose's DB image was built from (Postgres refuses a data directory from another major): pulumi config set --stack ${ctx.input.stack} --path ${PROJECT}:database.image.base <postgres image>`,
        );
    }
    return { majorKnown: false };
}

/**
 * The stack passes `BASE_IMAGE` to the DB image's build, `postgres:14` unless
 * `msa:database.image.base` says otherwise, which would override the Dockerfile's own default (and
 * Postgres refuses a data directory from another major): the Dockerfile's default becomes
 * `msa:database.image.base`.
 */
function dockerfileBase(ctx: MapContext, key: string, context: string): void {
    const origin = ctx.origin(["services", key, "build"]);
    const file = path.join(ctx.input.projectDir, context, "Dockerfile");
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        ctx.finding(
            "action",
            origin,
            `services.${key}.build`,
            `${context}/Dockerfile cannot be read: the stack builds that file; check msa:database.image.context`,
        );
        return;
    }
    const from = /^\s*FROM\s+(\S+)/im.exec(text)?.[1] ?? "";
    const arg = /^\s*ARG\s+BASE_IMAGE(?:=(\S+))?\s*$/im.exec(text);
    if (!/\$\{?BASE_IMAGE\}?/.test(from)) {
        ctx.finding(
            "note",
            origin,
            `services.${key}.build`,
            `${context}/Dockerfile builds FROM ${from || "?"}, not from the BASE_IMAGE build arg: msa:database.image.base does not change it`,
        );
        return;
    }
    const fallback = arg?.[1];
    if (fallback === undefined) {
        ctx.finding(
            "action",
            origin,
            `${PROJECT}:database.image.base`,
            `${context}/Dockerfile builds FROM the BASE_IMAGE build arg without a default; the stack passes postgres:14 unless msa:database.image.base says otherwise: set it to the Postgres image the data was written with`,
        );
        return;
    }
    if (ctx.value("database.image.base") === undefined) {
        ctx.setStack("database.image.base", fallback, origin);
        ctx.finding(
            "note",
            origin,
            `${PROJECT}:database.image.base`,
            `set to ${fallback}, the default BASE_IMAGE of ${context}/Dockerfile: the stack passes msa:database.image.base as BASE_IMAGE, so without it the build would take postgres:14 instead`,
        );
    }
}

/** Postgres and the images built on it: official, PostGIS, pgvector, TimescaleDB, Citus, … */
const POSTGRES_FAMILY =
    /(^|[-_.])(postgres|postgresql|postgis|pgvector|pgvecto-rs|timescaledb|timescaledb-ha|timescaledb-postgis|paradedb|citus)([-_.]|$)/;

export function isPostgresFamily(ref: ImageRef): boolean {
    const last = ref.components[ref.components.length - 1] ?? "";
    return POSTGRES_FAMILY.test(last);
}

export function isPostgresFamilyText(text: string): boolean {
    const parsed = parseImageRef(text);
    return parsed.ok && isPostgresFamily(parsed.ref);
}

/** The Postgres major of a tag: `16-alpine`, `16.4`, `pg17`, `0.8.0-pg18`, `latest-pg16`, `16-3.4`. */
export function postgresMajor(tag: string): number | undefined {
    const m = /(?:^|[-_])pg(\d+)(?:[-_.]|$)/.exec(tag) ?? /^(\d+)(?:[-_.]|$)/.exec(tag);
    const n = m?.[1] === undefined ? undefined : Number(m[1]);
    return n !== undefined && n >= 9 && n < 100 ? n : undefined;
}

/**
 * `msa:registry` (server, namespace, project): the most common among the images, with overrides
 * per service; the username is a placeholder, as compose files hold no login.
 */
export function chooseRegistry(ctx: MapContext, services: Obj): Obj {
    const counts = new Map<string, { reg: RegistryImage; n: number }>();
    for (const { reg } of ctx.registries) {
        const id = `${reg.server}/${reg.namespace}/${reg.project}`;
        const c = counts.get(id) ?? { reg, n: 0 };
        c.n++;
        counts.set(id, c);
    }
    const best = [...counts.values()].sort((a, b) => b.n - a.n)[0]?.reg;
    for (const [key, svc] of Object.entries(services)) {
        const s = svc as Obj;
        const reg = s.__registry as RegistryImage | undefined;
        delete s.__registry;
        if (reg === undefined || best === undefined) {
            continue;
        }
        const at: Path = ["services", key, "image"];
        if (reg.server !== best.server) {
            ctx.finding(
                "action",
                ctx.origin(at),
                pathText(at),
                `is on ${reg.server}, but the stack pulls every image from one registry, msa:registry.server ${best.server}: mirror it there`,
            );
        }
        const ordered: Obj = { image: s.image };
        if (reg.namespace !== best.namespace) {
            ordered.namespace = reg.namespace;
        }
        if (reg.project !== best.project) {
            ordered.project = reg.project;
        }
        for (const [k, v] of Object.entries(s)) {
            if (!(k in ordered)) {
                ordered[k] = v;
            }
        }
        services[key] = ordered;
    }
    const db = ctx.registries.find((r) => r.key === ctx.dbKey)?.reg;
    if (
        db !== undefined &&
        best !== undefined &&
        (db.namespace !== best.namespace || db.project !== best.project)
    ) {
        ctx.finding(
            "changed",
            ctx.origin(["services", ctx.dbKey ?? "", "image"]),
            `services.${ctx.dbKey ?? ""}.image`,
            `the DB image moves to ${best.namespace}/${best.project} (the stack pushes it under msa:registry.namespace/msa:registry.project)`,
        );
    }
    if (best !== undefined) {
        return {
            server: best.server,
            namespace: best.namespace,
            project: best.project,
            username: weakKey(ctx, "username"),
        };
    }
    const server = ctx.looseServers[0];
    const set = (field: string, value: string) =>
        `pulumi config set --stack ${ctx.input.stack} --path ${PROJECT}:registry.${field} ${value}`;
    ctx.finding(
        "action",
        { file: ctx.compose.label },
        `${PROJECT}:registry.namespace, ${PROJECT}:registry.project`,
        `no image reference names a namespace and project; the import writes ${PLACEHOLDER} for them unless the stack file already sets them: ${set("namespace", "<group>")}; ${set("project", "<project>")}`,
    );
    return {
        ...(server === undefined ? {} : { server }),
        namespace: weakKey(ctx, "namespace"),
        project: weakKey(ctx, "project"),
        username: weakKey(ctx, "username"),
    };
}

/** A placeholder under `msa:registry`, written only where the stack file sets no value. */
function weakKey(ctx: MapContext, field: "namespace" | "project" | "username"): string {
    ctx.weak.push(`registry.${field}`);
    if (field === "username") {
        ctx.finding(
            "action",
            { file: ctx.compose.label },
            `${PROJECT}:registry.username`,
            `the compose files hold no registry login; the import writes ${PLACEHOLDER} unless the stack file already sets it: pulumi config set --stack ${ctx.input.stack} --path ${PROJECT}:registry.username <deploy-token user>`,
        );
    }
    return PLACEHOLDER;
}

/** `SERVICE_B` → `service-b`: a valid image path to stand in for an unusable reference. */
function imageSlug(key: string): string {
    return (
        key
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, "-")
            .replace(/^-+|-+$/g, "") || "service"
    );
}

function hubImage(ref: ImageRef): string | undefined {
    const path = ref.components.filter((c) => c !== "library").join("/");
    return path === "" ? undefined : path;
}
