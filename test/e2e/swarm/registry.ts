/**
 * Publishing the local e2e images into the swarm's registry, as the services' own pipelines
 * would, through the registry's HTTP API with its credentials (htpasswd basic auth).
 *
 * `docker push` would gzip every layer first: 84 s for the 700 MB sample image on two cores, on
 * every cold run. The registry takes a layer as it is, so the layers go up uncompressed (their
 * digest is then the layer's own diff id) under the schema 2 media type for an uncompressed layer;
 * the nodes' engines pull them like any other, and no time goes into compression. An image that
 * differs only in its configuration (a label, its command) shares every layer with the original:
 * that is how the tests make a release (a new tag and digest) and an image that never becomes
 * healthy without building anything.
 *
 * With an index folder (kept next to the registry's kept storage), what `docker save` found in an
 * image (its configuration and layer digests) is remembered by image id: a warm run finds every
 * layer in the registry already and saves nothing.
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import type Docker from "dockerode";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pipeline } from "stream/promises";

export interface RegistryAccess {
    /** `host` (port 80) of the registry. */
    server: string;
    username: string;
    password: string;
}

const MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json";
const CONFIG_TYPE = "application/vnd.docker.container.image.v1+json";
/** docker/distribution's schema 2 type for a layer stored as a plain tar. */
const UNCOMPRESSED_LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar";

/** An image's configuration and layers (plain tars, named by their digest). */
interface ImageLayout {
    config: Record<string, unknown>;
    layers: { digest: string; size: number }[];
}

export interface ImagePatch {
    /** Labels to add to the image configuration (a new digest, the same layers). */
    labels?: Record<string, string>;
    /** Replaces the image's `CMD`. */
    cmd?: string[];
}

export class RegistryPublisher {
    /** Layouts by image id; `files` are the unpacked layers, once an image had to be saved. */
    private readonly layouts = new Map<string, Promise<ImageLayout>>();
    private readonly files = new Map<string, Promise<Map<string, string>>>();
    /** Repositories already holding each blob, for cross-repository mounts. */
    private readonly blobHomes = new Map<string, string>();
    private readonly workDir = fs.mkdtempSync(path.join(os.tmpdir(), "msa-e2e-swarm-images-"));

    constructor(
        private readonly engine: Docker,
        private readonly registry: RegistryAccess,
        private readonly log: (line: string) => void = () => undefined,
        /** Where image layouts are remembered between runs; none: every run saves. */
        private readonly indexDir?: string,
    ) {}

    /**
     * Publishes the local image `image` (on `engine`) as `<server>/<repository>:<tag>`, with its
     * configuration patched when asked. Returns the manifest digest the registry answered.
     */
    public async publish(
        image: string,
        repository: string,
        tag: string,
        patch: ImagePatch = {},
    ): Promise<string> {
        const id = String((await this.engine.getImage(image).inspect()).Id);
        const layout = await this.layout(image, id);
        for (const layer of layout.layers) {
            await this.uploadBlob(repository, layer.digest, layer.size, async () => {
                const file = (await this.unpacked(image, id)).get(layer.digest);
                if (file === undefined) {
                    throw new Error(`docker save of ${image} holds no layer ${layer.digest}`);
                }
                return fs.createReadStream(file);
            });
        }
        const config = Buffer.from(JSON.stringify(patchConfig(layout.config, patch)));
        const configDigest = sha256(config);
        await this.uploadBlob(repository, configDigest, config.length, async () => config);
        const manifest = JSON.stringify({
            schemaVersion: 2,
            mediaType: MANIFEST_TYPE,
            config: { mediaType: CONFIG_TYPE, size: config.length, digest: configDigest },
            layers: layout.layers.map((l) => ({
                mediaType: UNCOMPRESSED_LAYER_TYPE,
                size: l.size,
                digest: l.digest,
            })),
        });
        const res = await this.request("PUT", `/v2/${repository}/manifests/${tag}`, {
            body: manifest,
            headers: { "Content-Type": MANIFEST_TYPE },
        });
        const digest = res.headers.get("docker-content-digest");
        if (res.status !== 201 || digest === null) {
            throw new Error(
                `registry ${this.registry.server} refused the manifest of ${repository}:${tag}: HTTP ${res.status} ${await res.text()}`,
            );
        }
        this.log(`published ${image} as ${this.registry.server}/${repository}:${tag}`);
        return digest;
    }

    /** Removes the unpacked images. */
    public dispose(): void {
        fs.rmSync(this.workDir, { recursive: true, force: true });
    }

    /** The image's layout: remembered in the index, else read from `docker save`. */
    private layout(image: string, id: string): Promise<ImageLayout> {
        let layout = this.layouts.get(id);
        if (layout === undefined) {
            const file =
                this.indexDir && path.join(this.indexDir, `${id.replace(/^sha256:/, "")}.json`);
            if (file && fs.existsSync(file)) {
                layout = Promise.resolve(JSON.parse(fs.readFileSync(file, "utf8")) as ImageLayout);
            } else {
                layout = this.unpack(image, id).then(({ layout: l }) => {
                    if (file) {
                        fs.mkdirSync(path.dirname(file), { recursive: true });
                        fs.writeFileSync(file, JSON.stringify(l));
                    }
                    return l;
                });
            }
            this.layouts.set(id, layout);
        }
        return layout;
    }

    /** The layer files of the image, by digest: saved and unpacked once, when a layer is needed. */
    private unpacked(image: string, id: string): Promise<Map<string, string>> {
        let files = this.files.get(id);
        if (files === undefined) {
            files = this.unpack(image, id).then(({ files: f }) => f);
            this.files.set(id, files);
        }
        return files;
    }

    /** `docker save`, unpacked by the system's tar; the layers' digests as the registry sees them. */
    private async unpack(
        image: string,
        id: string,
    ): Promise<{ layout: ImageLayout; files: Map<string, string> }> {
        const dir = fs.mkdtempSync(path.join(this.workDir, "image-"));
        const tar = spawn("tar", ["-x", "-C", dir], { stdio: ["pipe", "ignore", "pipe"] });
        const stderr: Buffer[] = [];
        tar.stderr.on("data", (c: Buffer) => stderr.push(c));
        const exited = new Promise<number>((resolve) => tar.on("close", resolve));
        // By id: the name may have moved on since.
        await pipeline(await this.engine.getImage(id).get(), tar.stdin);
        const code = await exited;
        if (code !== 0) {
            throw new Error(`unpacking ${image} failed: ${Buffer.concat(stderr).toString()}`);
        }
        const [entry] = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as {
            Config: string;
            Layers: string[];
        }[];
        if (entry === undefined) {
            throw new Error(`docker save of ${image} wrote no manifest entry`);
        }
        const config = JSON.parse(fs.readFileSync(path.join(dir, entry.Config), "utf8")) as Record<
            string,
            unknown
        >;
        const diffIds = (config.rootfs as { diff_ids: string[] }).diff_ids;
        if (diffIds.length !== entry.Layers.length) {
            throw new Error(
                `${image}: its configuration names ${diffIds.length} layers, it has ${entry.Layers.length}`,
            );
        }
        const files = new Map<string, string>();
        const layers = entry.Layers.map((file, i) => {
            const full = path.join(dir, file);
            // A plain layer's digest is its diff id: the configuration already names it.
            const digest = diffIds[i] as string;
            files.set(digest, full);
            return { digest, size: fs.statSync(full).size };
        });
        return { layout: { config, layers }, files };
    }

    /** Skips a blob the repository has, mounts one another repository has, else uploads it. */
    private async uploadBlob(
        repository: string,
        digest: string,
        size: number,
        body: () => Promise<fs.ReadStream | Buffer>,
    ): Promise<void> {
        const head = await this.request("HEAD", `/v2/${repository}/blobs/${digest}`);
        if (head.status === 200) {
            this.blobHomes.set(digest, repository);
            return;
        }
        const home = this.blobHomes.get(digest);
        if (home !== undefined && home !== repository) {
            const mount = await this.request(
                "POST",
                `/v2/${repository}/blobs/uploads/?mount=${digest}&from=${home}`,
            );
            if (mount.status === 201) {
                return;
            }
        }
        const start = await this.request("POST", `/v2/${repository}/blobs/uploads/`);
        const location = start.headers.get("location");
        if (start.status !== 202 || location === null) {
            throw new Error(
                `registry ${this.registry.server} refused an upload to ${repository}: HTTP ${start.status}`,
            );
        }
        const url = new URL(location, `http://${this.registry.server}`);
        url.searchParams.set("digest", digest);
        const put = await this.request("PUT", url.pathname + url.search, {
            body: await body(),
            headers: {
                "Content-Type": "application/octet-stream",
                "Content-Length": String(size),
            },
        });
        if (put.status !== 201) {
            throw new Error(
                `registry ${this.registry.server} refused blob ${digest} of ${repository}: HTTP ${put.status} ${await put.text()}`,
            );
        }
        this.blobHomes.set(digest, repository);
    }

    private async request(
        method: string,
        pathAndQuery: string,
        init: { body?: string | fs.ReadStream | Buffer; headers?: Record<string, string> } = {},
    ): Promise<Response> {
        const { username, password, server } = this.registry;
        const auth = Buffer.from(`${username}:${password}`).toString("base64");
        return fetch(`http://${server}${pathAndQuery}`, {
            method,
            headers: { Authorization: `Basic ${auth}`, ...init.headers },
            // A stream body needs half-duplex mode (Node's fetch).
            ...(init.body === undefined ? {} : { body: init.body, duplex: "half" }),
        } as RequestInit);
    }
}

function patchConfig(
    original: Record<string, unknown>,
    patch: ImagePatch,
): Record<string, unknown> {
    if (patch.labels === undefined && patch.cmd === undefined) {
        return original;
    }
    const config = { ...((original.config ?? {}) as Record<string, unknown>) };
    if (patch.labels !== undefined) {
        config.Labels = { ...((config.Labels ?? {}) as Record<string, string>), ...patch.labels };
    }
    if (patch.cmd !== undefined) {
        config.Cmd = patch.cmd;
    }
    return { ...original, config };
}

function sha256(data: Buffer): string {
    return `sha256:${crypto.createHash("sha256").update(data).digest("hex")}`;
}
