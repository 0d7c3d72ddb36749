/**
 * A stand-in for the part of GitLab's REST API that tools/post-mr-note.ts uses through
 * @gitbeaker/rest, served by node:http on 127.0.0.1 (random port): `GET /user`, `GET` and `POST
 * /projects/:id/merge_requests/:iid/notes` (sort, order_by, page, per_page up to 100, with the
 * `x-*` paging headers and `Link`, as GitLab's offset pagination sends them), and `PUT
 * .../notes/:note_id` (the author's own notes only). Requests without the right `PRIVATE-TOKEN`
 * get GitLab's 401.
 */
import * as http from "http";
import { AddressInfo } from "net";

export interface FakeNote {
    id: number;
    body: string;
    system: boolean;
    author: { id: number; username: string };
    created_at: string;
}

export interface RecordedRequest {
    method: string;
    url: string;
    token: string | undefined;
    body: string;
}

type Route = "user" | "list" | "post" | "put";

/**
 * How the list announces the next page: GitLab's `x-next-page` and `Link` headers, or a broken
 * server that announces another empty page forever, or page 1 again.
 */
export type Paging = "headers" | "endless" | "stuck";

/**
 * An answer given instead of the API's: `times` (default: always) limits how often, `fromPage`
 * (the list only) spares the pages before it.
 */
export interface Canned {
    status: number;
    body: string;
    contentType?: string;
    times?: number;
    fromPage?: number;
}

export class FakeGitLab {
    readonly user = { id: 99, username: "project_42_bot_5f1c" };
    /** Oldest first. */
    notes: FakeNote[] = [];
    requests: RecordedRequest[] = [];
    paging: Paging = "headers";
    /** A canned answer instead of the API's, by route. */
    canned: Partial<Record<Route, Canned>> = {};
    private nextId = 1000;
    private readonly server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (chunk: Buffer) => (body += chunk.toString()));
        req.on("end", () => {
            const token = req.headers["private-token"] as string | undefined;
            this.requests.push({ method: req.method ?? "", url: req.url ?? "", token, body });
            this.answer(req, token, body, res);
        });
    });

    constructor(
        private readonly token: string,
        private readonly notesPath = "/api/v4/projects/42/merge_requests/7/notes",
    ) {}

    async start(): Promise<void> {
        await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    }

    async stop(): Promise<void> {
        await new Promise((resolve) => this.server.close(resolve));
    }

    /** What CI_SERVER_URL would be (gitbeaker's `host`). */
    get host(): string {
        return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }

    /** What CI_API_V4_URL would be. */
    get apiUrl(): string {
        return `${this.host}/api/v4`;
    }

    reset(): void {
        this.notes = [];
        this.requests = [];
        this.paging = "headers";
        this.canned = {};
        this.nextId = 1000;
    }

    /** Adds a note as the newest one; returns its id. */
    addNote(body: string, author = { id: 7, username: "alice" }, system = false): number {
        const id = this.nextId++;
        const created_at = new Date(Date.UTC(2025, 0, 1, 0, 0, id)).toISOString();
        this.notes.push({ id, body, system, author, created_at });
        return id;
    }

    private answer(
        req: http.IncomingMessage,
        token: string | undefined,
        body: string,
        res: http.ServerResponse,
    ): void {
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        const putId = url.pathname.startsWith(`${this.notesPath}/`)
            ? Number(url.pathname.slice(this.notesPath.length + 1))
            : undefined;
        const route: Route | undefined =
            req.method === "GET" && url.pathname === "/api/v4/user"
                ? "user"
                : req.method === "GET" && url.pathname === this.notesPath
                  ? "list"
                  : req.method === "POST" && url.pathname === this.notesPath
                    ? "post"
                    : req.method === "PUT" && Number.isInteger(putId)
                      ? "put"
                      : undefined;
        const canned = route !== undefined ? this.canned[route] : undefined;
        const page = Number(url.searchParams.get("page") ?? 1);
        if (canned !== undefined && (canned.times ?? 1) > 0 && page >= (canned.fromPage ?? 1)) {
            if (canned.times !== undefined) {
                canned.times--;
            }
            return send(res, canned.status, canned.body, {
                "Content-Type": canned.contentType ?? "application/json",
            });
        }
        if (token !== this.token) {
            return send(res, 401, { message: "401 Unauthorized" });
        }
        switch (route) {
            case "user":
                return send(res, 200, { ...this.user, bot: true, state: "active" });
            case "list":
                return this.list(url, res);
            case "post": {
                const id = this.addNote(parseBody(body), this.user);
                return send(
                    res,
                    201,
                    this.notes.find((n) => n.id === id),
                );
            }
            case "put":
                return this.put(putId ?? 0, parseBody(body), res);
            default:
                return send(res, 404, { message: "404 Not Found" });
        }
    }

    private list(url: URL, res: http.ServerResponse): void {
        const perPage = Math.min(100, Number(url.searchParams.get("per_page") ?? 20));
        const page = Number(url.searchParams.get("page") ?? 1);
        if (this.paging !== "headers") {
            const next = this.paging === "endless" ? page + 1 : 1;
            return send(res, 200, [], { "x-page": String(page), "x-next-page": String(next) });
        }
        const sorted =
            url.searchParams.get("sort") === "asc" ? [...this.notes] : [...this.notes].reverse();
        const totalPages = Math.max(1, Math.ceil(sorted.length / perPage));
        const next = page < totalPages ? String(page + 1) : "";
        // GitLab builds these from its external URL, which need not be the one the job uses.
        const link = (p: number, rel: string) => {
            const target = new URL(`https://gitlab.example.com${url.pathname}${url.search}`);
            target.searchParams.set("page", String(p));
            return `<${target.toString()}>; rel="${rel}"`;
        };
        const links = [
            ...(next !== "" ? [link(page + 1, "next")] : []),
            link(1, "first"),
            link(totalPages, "last"),
        ].join(", ");
        send(res, 200, sorted.slice((page - 1) * perPage, page * perPage), {
            "x-page": String(page),
            "x-per-page": String(perPage),
            "x-next-page": next,
            "x-prev-page": page > 1 ? String(page - 1) : "",
            "x-total": String(sorted.length),
            "x-total-pages": String(totalPages),
            link: links,
        });
    }

    private put(id: number, body: string, res: http.ServerResponse): void {
        const note = this.notes.find((n) => n.id === id);
        if (note === undefined) {
            return send(res, 404, { message: "404 Not found" });
        }
        if (note.author.id !== this.user.id) {
            return send(res, 403, { message: "403 Forbidden" });
        }
        note.body = body;
        send(res, 200, note);
    }
}

function parseBody(body: string): string {
    return String((JSON.parse(body) as { body?: unknown }).body);
}

function send(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
): void {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
}
