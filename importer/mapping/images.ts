/**
 * Images and the registry: each `image:` reference → a service's `image`/`tag` (or, for the
 * database, `msa:database.image` `name`/`tag`/`base`), and the registry most images come from →
 * `msa:registry` `server`/`namespace`/`project`, with per-service overrides where one differs. The stack pulls every image from one registry, so a reference it
 * cannot use gets a placeholder and a finding that says what to set.
 */
import { PROJECT } from "../../config/schema";
import type { Path } from "../compose";
import { pathText } from "../compose";
import {
    ImageRef,
    isPostgresImage,
    parseImageRef,
    RegistryImage,
    splitRegistryImage,
} from "../../lib/imageRef";
import { MapContext, Obj } from "./context";

/** What the import writes where the compose files do not say (namespace, project, user). */
export const PLACEHOLDER = "change-me";

/** A service's image → `image`/`tag`; a reference the stack cannot pull gets a placeholder. */
export function serviceImage(ctx: MapContext, key: string, svc: Obj): Obj {
    const at: Path = ["services", key, "image"];
    const origin = ctx.origin(at, ["services", key]);
    const slug = imageSlug(key);
    if (typeof svc.image !== "string") {
        ctx.finding(
            "action",
            origin,
            `services.${key}`,
            `has no image (compose builds it); the stack pulls images: push it to the registry and set msa:services.${key}.image (placeholder ${slug})`,
        );
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

/** The DB image: the stack builds its own from docker/db, so only the tag and name carry over. */
export function dbImage(ctx: MapContext, key: string, svc: Obj): void {
    const at: Path = ["services", key, "image"];
    if (typeof svc.image !== "string") {
        ctx.finding(
            "note",
            ctx.origin(at, ["services", key]),
            `services.${key}`,
            "no image: the stack builds its DB image from docker/db",
        );
        return;
    }
    const parsed = parseImageRef(svc.image);
    const origin = ctx.origin(at);
    if (parsed.ok && isPostgresImage(svc.image) && parsed.ref.server === undefined) {
        ctx.setStack("database.image.base", svc.image, origin);
        ctx.finding(
            "changed",
            origin,
            pathText(at),
            `the stack builds its DB image from docker/db on top of ${svc.image} (msa:database.image.base) and pushes it to msa:registry.server as msa:database.image.name:msa:database.image.tag`,
        );
        return;
    }
    const tag = parsed.ok ? parsed.ref.tag : parsed.loose.tag;
    if (tag !== undefined) {
        ctx.setStack("database.image.tag", tag, origin);
        if (tag === "latest") {
            ctx.finding(
                "latest",
                origin,
                pathText(at),
                `${svc.image} → msa:database.image.tag latest; the pipeline sets the commit id, pin one for prod`,
            );
        }
    }
    const reg = parsed.ok ? splitRegistryImage(parsed.ref) : undefined;
    if (reg !== undefined) {
        ctx.setStack("database.image.name", reg.image, origin);
        ctx.registries.push({ reg, key });
        ctx.finding(
            "note",
            origin,
            pathText(at),
            `the stack builds this image from docker/db (the legacy db/Dockerfile) and pushes it as <server>/<namespace>/<project>/${reg.image}:${tag ?? "latest"}`,
        );
    } else {
        ctx.finding(
            "action",
            origin,
            pathText(at),
            `${JSON.stringify(svc.image)} is not an image reference of the form <registry>/<namespace>/<project>/<image>${parsed.ok ? "" : ` (${parsed.reason})`}; the stack builds the DB image from docker/db and pushes it as <msa:registry.server>/<msa:registry.namespace>/<msa:registry.project>/db (msa:database.image.name)`,
        );
    }
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
