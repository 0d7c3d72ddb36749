/**
 * `ts-node tools/post-mr-note.ts --title <text> [--key <text>] [--out <file>] <file>...`: posts
 * the files (the preview job's `pulumi preview` and offline plan outputs) as one merge request
 * note through GitLab's notes API, authenticated with `GITLAB_API_TOKEN` (a CI/CD variable:
 * project access token with the `api` scope), and keeps that note up to date instead of adding
 * one per pipeline:
 *
 * 1. `GET /user`: the token's own user, the only author whose note may be overwritten;
 * 2. `GET /projects/:id/merge_requests/:iid/notes`, newest first, 100 a page, at most
 *    `MAX_PAGES` pages: the newest note by that user whose first line is the key's marker,
 *    `<!-- msa-preview-note: <key> -->` (an HTML comment: hidden in the rendered note);
 * 3. `PUT .../notes/:note_id` with the new body if there is one, else `POST .../notes`.
 *
 * The key (`--key`, default the title) tells apart notes that must not overwrite each other; the
 * pipeline passes the job name, since its title names the commit. Any failed call fails the
 * command, a failed look-up included: posting a new note then would leave a duplicate behind once
 * the API is back, and the output is in the job artifacts either way.
 *
 * Without the token (or outside a merge request pipeline) it prints one line and exits 0. Output
 * longer than GitLab's note limit is cut in the middle of each section with a marker; the key's
 * marker is kept. The token never reaches a log line or a message.
 * Exit 0 posted, updated or skipped, 1 API or CI-variable error, 2 usage error.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { z } from "zod";

/** GitLab rejects note bodies longer than 1,000,000 characters. */
export const NOTE_LIMIT = 1_000_000;
/** GitLab's largest page of notes. */
export const PER_PAGE = 100;
/**
 * How many pages of notes, newest first, are searched for the previous note. Past them (5,000
 * newer notes) a new note is posted: the merge request is unusual, or the server loops.
 */
export const MAX_PAGES = 50;
/** A longer key is refused: the marker must stay a negligible part of the note. */
export const KEY_MAX = 200;
/** How much of an error answer's body a message quotes. */
const EXCERPT_MAX = 200;

const USAGE = "usage: post-mr-note --title <text> [--key <text>] [--out <file>] <file>...";

export interface NoteSection {
    title: string;
    content: string;
}

/** The merge request's notes endpoint, the current-user endpoint and the token for both. */
export interface NotesApi {
    notesUrl: string;
    userUrl: string;
    token: string;
}

export interface ApiRequest {
    method: "GET" | "POST" | "PUT";
    url: string;
    headers: Record<string, string>;
    body?: string;
}

/** Whether to talk to the notes API, or skip with a one-line reason. */
export type NotePlan = { kind: "send"; api: NotesApi } | { kind: "skip"; message: string };

/** What was done: the note updated in place or a new one posted, and its id. */
export interface NoteResult {
    action: "updated" | "posted";
    id: number | undefined;
    /** False when MAX_PAGES pages were read without reaching the oldest note. */
    searchedAll: boolean;
}

/** A CI variable the API call needs is missing while the token is set. */
export class NoteConfigError extends Error {}

/**
 * The notes API of the merge request, from the CI environment: CI_API_V4_URL, CI_PROJECT_ID,
 * CI_MERGE_REQUEST_IID (all predefined in merge request pipelines) and GITLAB_API_TOKEN.
 */
export function planNotesApi(env: NodeJS.ProcessEnv): NotePlan {
    const token = env.GITLAB_API_TOKEN;
    if (token === undefined || token === "") {
        return {
            kind: "skip",
            message:
                "GITLAB_API_TOKEN is not set: merge request note not posted (the output is in the job artifacts)",
        };
    }
    const iid = env.CI_MERGE_REQUEST_IID;
    if (iid === undefined || iid === "") {
        return {
            kind: "skip",
            message:
                "CI_MERGE_REQUEST_IID is not set (not a merge request pipeline): merge request note not posted",
        };
    }
    const missing = ["CI_API_V4_URL", "CI_PROJECT_ID"].filter((k) => (env[k] ?? "") === "");
    if (missing.length > 0) {
        throw new NoteConfigError(
            `${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} not set: cannot post the merge request note`,
        );
    }
    const api = (env.CI_API_V4_URL ?? "").replace(/\/+$/, "");
    const project = encodeURIComponent(env.CI_PROJECT_ID ?? "");
    return {
        kind: "send",
        api: {
            notesUrl: `${api}/projects/${project}/merge_requests/${encodeURIComponent(iid)}/notes`,
            userUrl: `${api}/user`,
            token,
        },
    };
}

/** `GET /user`: who the token is, so that only its own notes are overwritten. */
export function userRequest(api: NotesApi): ApiRequest {
    return { method: "GET", url: api.userUrl, headers: { "PRIVATE-TOKEN": api.token } };
}

/** One page of the merge request's notes, newest first. */
export function listRequest(api: NotesApi, page: number): ApiRequest {
    const query = new URLSearchParams({
        sort: "desc",
        order_by: "created_at",
        per_page: String(PER_PAGE),
        page: String(page),
    });
    return {
        method: "GET",
        url: `${api.notesUrl}?${query.toString()}`,
        headers: { "PRIVATE-TOKEN": api.token },
    };
}

/** `PUT .../notes/:note_id` over the previous note if there is one, else `POST .../notes`. */
export function writeRequest(api: NotesApi, body: string, previous?: number): ApiRequest {
    return {
        method: previous === undefined ? "POST" : "PUT",
        url: previous === undefined ? api.notesUrl : `${api.notesUrl}/${previous}`,
        headers: { "PRIVATE-TOKEN": api.token, "Content-Type": "application/json" },
        body: JSON.stringify({ body }),
    };
}

/**
 * The hidden first line of the notes of one key. The key is percent-encoded, so that no key can
 * end the comment early (`-->`) or span lines, and no key's marker is a prefix of another's.
 */
export function noteMarker(key: string): string {
    return `<!-- msa-preview-note: ${encodeURIComponent(key)} -->`;
}

/** The fields of GitLab's user and note objects that are used here. */
const WithId = z.object({ id: z.number() });
const ListedNote = z.object({
    id: z.number(),
    body: z.string(),
    system: z.boolean().optional(),
    author: z.object({ id: z.number() }),
});

/**
 * The newest of `notes` (one page of the list) that `authorId` wrote with `marker` as its first
 * line; entries of another shape are passed over. Only the first line counts: a reply quoting
 * the note has the marker after `> `.
 */
export function findPreviousNote(
    notes: unknown[],
    marker: string,
    authorId: number,
): number | undefined {
    const ids = notes.flatMap((entry) => {
        const note = ListedNote.safeParse(entry);
        return note.success &&
            note.data.system !== true &&
            note.data.author.id === authorId &&
            (note.data.body.split("\n", 1)[0] ?? "").trim() === marker
            ? [note.data.id]
            : [];
    });
    return ids.length > 0 ? Math.max(...ids) : undefined;
}

/**
 * The page after `current` that GitLab announces: `x-next-page` (empty on the last page), else
 * the `page` of the `Link` header's `rel="next"` URL. Only the number is taken, never the URL: the
 * token goes to CI_API_V4_URL and nowhere a header names. A page that does not come after
 * `current` ends the search, so a confused server cannot make it loop.
 */
export function nextPage(headers: Pick<Headers, "get">, current: number): number | undefined {
    const announced = headers.get("x-next-page") ?? linkNextPage(headers.get("link") ?? "");
    const page = Number(announced);
    return announced !== null && announced !== "" && Number.isInteger(page) && page > current
        ? page
        : undefined;
}

/**
 * The note's Markdown: `marker` (if given) on the first line, a heading, then each section as a
 * collapsed code block. When the whole would exceed `limit` characters, the longest sections are
 * cut in the middle (head and tail kept: a preview's summary is at its end) so that the note
 * fits; the marker is never cut, or the next run could not find the note.
 */
export function renderNote(
    title: string,
    sections: NoteSection[],
    options: { limit?: number; artifactsUrl?: string; marker?: string } = {},
): string {
    const limit = options.limit ?? NOTE_LIMIT;
    const markerLine = options.marker !== undefined ? `${options.marker}\n` : "";
    const footer =
        options.artifactsUrl !== undefined ? `\nFull output: ${options.artifactsUrl}\n` : "";
    // A file's final newline would show as an empty line at the end of its code block.
    sections = sections.map((s) => ({ title: s.title, content: s.content.replace(/\n+$/, "") }));
    const fences = sections.map((s) => fence(s.content));
    const frame = (contents: string[]) =>
        `${markerLine}### ${title}\n\n` +
        sections
            .map(
                (s, i) =>
                    `<details><summary>${escapeHtml(s.title)}</summary>\n\n${fences[i]}text\n${contents[i]}\n${fences[i]}\n\n</details>\n`,
            )
            .join("\n") +
        footer;
    const full = frame(sections.map((s) => s.content));
    if (full.length <= limit) {
        return full;
    }
    const overhead = frame(sections.map(() => "")).length;
    const budgets = shareBudget(
        sections.map((s) => s.content.length),
        Math.max(0, limit - overhead),
    );
    const note = frame(sections.map((s, i) => truncateMiddle(s.content, budgets[i] ?? 0)));
    if (note.length <= limit) {
        return note;
    }
    // Only a limit smaller than the frame itself gets here. The limit is GitLab's: it wins over
    // the marker in the (unused) case of a limit smaller than the marker.
    return markerLine.length < limit
        ? markerLine + truncateMiddle(note.slice(markerLine.length), limit - markerLine.length)
        : truncateMiddle(note, limit);
}

/** Cuts `text` to at most `max` characters, replacing its middle with a marker. */
export function truncateMiddle(text: string, max: number): string {
    if (text.length <= max) {
        return text;
    }
    // The marker that states the largest possible count is the longest one: reserving its length
    // keeps the result within `max` whatever the final count.
    const keep = max - truncationMarker(text.length).length;
    if (keep <= 0) {
        return safeSlice(text, 0, max);
    }
    const head = safeSlice(text, 0, Math.ceil(keep / 2));
    const tail = safeSlice(text, text.length - (keep - head.length), text.length);
    return `${head}${truncationMarker(text.length - head.length - tail.length)}${tail}`;
}

/** The line that replaces the cut part of a section. */
export function truncationMarker(removed: number): string {
    return `\n… [${removed} characters truncated: full output in the job artifacts] …\n`;
}

/**
 * Splits `budget` among sections of the given lengths: short sections keep everything, the
 * rest share what remains equally (water-filling).
 */
export function shareBudget(lengths: number[], budget: number): number[] {
    const result = lengths.map(() => 0);
    const order = lengths.map((len, i) => ({ len, i })).sort((a, b) => a.len - b.len);
    let left = budget;
    order.forEach(({ len, i }, k) => {
        const share = Math.floor(left / (order.length - k));
        result[i] = Math.min(len, share);
        left -= result[i] ?? 0;
    });
    return result;
}

/**
 * Overwrites the newest note that the token's user wrote with `marker` as its first line, or
 * posts a new one if there is none. Errors name the request and GitLab's answer, never the token.
 */
export async function publishNote(
    api: NotesApi,
    body: string,
    marker: string,
    fetchImpl: typeof fetch = fetch,
): Promise<NoteResult> {
    const user = WithId.safeParse((await callApi(userRequest(api), fetchImpl)).json);
    if (!user.success) {
        throw new Error(`GitLab answered GET ${api.userUrl} without a user id`);
    }
    let previous: { id: number | undefined; searchedAll: boolean };
    try {
        previous = await searchNotes(api, marker, user.data.id, fetchImpl);
    } catch (err) {
        throw new Error(
            `${(err as Error).message} (no note posted: the previous one could not be looked up; the output is in the job artifacts)`,
        );
    }
    const answer = await callApi(writeRequest(api, body, previous.id), fetchImpl);
    const written = WithId.safeParse(answer.json);
    return {
        action: previous.id === undefined ? "posted" : "updated",
        id: previous.id ?? (written.success ? written.data.id : undefined),
        searchedAll: previous.searchedAll,
    };
}

export interface Io {
    log(line: string): void;
    error(line: string): void;
}

/** The command line; returns the exit code. */
export async function main(
    argv: string[],
    env: NodeJS.ProcessEnv,
    io: Io,
    fetchImpl: typeof fetch = fetch,
): Promise<number> {
    let values: { title?: string; key?: string; out?: string };
    let files: string[];
    try {
        const parsed = parseArgs({
            args: argv,
            options: {
                title: { type: "string" },
                key: { type: "string" },
                out: { type: "string" },
            },
            allowPositionals: true,
        });
        values = parsed.values;
        files = parsed.positionals;
    } catch (err) {
        io.error(`${(err as Error).message}\n${USAGE}`);
        return 2;
    }
    if (values.title === undefined || files.length === 0) {
        io.error(USAGE);
        return 2;
    }
    const key = values.key ?? values.title;
    if (key === "" || key.length > KEY_MAX) {
        io.error(
            `the note key (--key, default the title) must be 1-${KEY_MAX} characters, got ${key.length}\n${USAGE}`,
        );
        return 2;
    }
    const unreadable = files.filter((f) => !fs.existsSync(f));
    if (unreadable.length > 0) {
        io.error(`no such file: ${unreadable.join(", ")}`);
        return 2;
    }
    const marker = noteMarker(key);
    const note = renderNote(
        values.title,
        files.map((f) => ({ title: path.basename(f), content: fs.readFileSync(f, "utf8") })),
        {
            artifactsUrl: env.CI_JOB_URL ? `${env.CI_JOB_URL}/artifacts/browse` : undefined,
            marker,
        },
    );
    if (values.out !== undefined) {
        fs.writeFileSync(values.out, note);
    }
    try {
        const plan = planNotesApi(env);
        if (plan.kind === "skip") {
            io.log(plan.message);
            return 0;
        }
        const result = await publishNote(plan.api, note, marker, fetchImpl);
        const unsearched = result.searchedAll
            ? ""
            : ` (no earlier note among the newest ${MAX_PAGES * PER_PAGE} notes; older ones not searched)`;
        io.log(
            `${result.action} note ${result.id ?? "(no id in the answer)"} (${note.length} characters) on merge request !${env.CI_MERGE_REQUEST_IID}${unsearched}`,
        );
        return 0;
    } catch (err) {
        io.error(mask((err as Error).message, env.GITLAB_API_TOKEN ?? ""));
        return 1;
    }
}

/** Pages through the notes, newest first, until the marker's note, the last page or MAX_PAGES. */
async function searchNotes(
    api: NotesApi,
    marker: string,
    authorId: number,
    fetchImpl: typeof fetch,
): Promise<{ id: number | undefined; searchedAll: boolean }> {
    let page: number | undefined = 1;
    for (let read = 0; read < MAX_PAGES && page !== undefined; read++) {
        const request = listRequest(api, page);
        const answer = await callApi(request, fetchImpl);
        if (!Array.isArray(answer.json)) {
            throw new Error(`GitLab answered GET ${request.url} with something other than a list`);
        }
        const id = findPreviousNote(answer.json, marker, authorId);
        if (id !== undefined) {
            return { id, searchedAll: true };
        }
        page = nextPage(answer.headers, page);
    }
    return { id: undefined, searchedAll: page === undefined };
}

/** Sends one request; an answer other than 2xx is an error with its status and an excerpt. */
async function callApi(
    request: ApiRequest,
    fetchImpl: typeof fetch,
): Promise<{ headers: Headers; json: unknown }> {
    const token = request.headers["PRIVATE-TOKEN"] ?? "";
    let response: Response;
    try {
        response = await fetchImpl(request.url, {
            method: request.method,
            headers: request.headers,
            body: request.body,
        });
    } catch (err) {
        throw new Error(mask(`could not reach ${request.url}: ${describe(err)}`, token));
    }
    const text = await response.text();
    if (!response.ok) {
        // Masked before it is cut: a cut could leave the start of the token unmasked.
        throw new Error(
            `GitLab answered ${response.status} ${response.statusText} to ${request.method} ${request.url}: ${excerpt(mask(text, token))}`,
        );
    }
    try {
        return { headers: response.headers, json: JSON.parse(text) as unknown };
    } catch {
        return { headers: response.headers, json: undefined }; // not the documented JSON
    }
}

/** The `page` of the `rel="next"` link of an RFC 8288 `Link` header, or null. */
function linkNextPage(link: string): string | null {
    // `<url>; rel="next", <url>; rel="last"`: GitLab's URLs hold no commas or angle brackets.
    for (const part of link.split(",")) {
        const match = /^\s*<([^>]*)>(.*)$/.exec(part);
        if (match?.[1] !== undefined && /;\s*rel="?next"?\s*(;|$)/.test(match[2] ?? "")) {
            return new URL(match[1], "http://relative.invalid").searchParams.get("page");
        }
    }
    return null;
}

/** One line of at most EXCERPT_MAX characters: error pages are often whole HTML documents. */
function excerpt(text: string): string {
    const line = text.replace(/\s+/g, " ").trim();
    return line.length <= EXCERPT_MAX ? line : `${line.slice(0, EXCERPT_MAX)}…`;
}

/** A fence longer than any backtick run in the content, so the content cannot close it. */
function fence(content: string): string {
    const longest = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
    return "`".repeat(Math.max(3, longest + 1));
}

/** fetch's "fetch failed" says little; the cause names the refused connection or DNS error. */
function describe(err: unknown): string {
    const e = err as Error & { cause?: { message?: string } };
    return e.cause?.message !== undefined ? `${e.message} (${e.cause.message})` : String(e.message);
}

function escapeHtml(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function mask(message: string, token: string): string {
    return token === "" ? message : message.split(token).join("[masked]");
}

/** `slice` that never splits a surrogate pair (it gives up one character instead). */
function safeSlice(text: string, start: number, end: number): string {
    const isLow = (i: number) => {
        const c = text.charCodeAt(i);
        return c >= 0xdc00 && c <= 0xdfff;
    };
    const s = start > 0 && start < text.length && isLow(start) ? start + 1 : start;
    const e = end > 0 && end < text.length && isLow(end) ? end - 1 : end;
    return text.slice(s, Math.max(s, e));
}

if (require.main === module) {
    main(process.argv.slice(2), process.env, {
        log: (line) => console.log(line),
        error: (line) => console.error(line),
    }).then(
        (code) => process.exit(code),
        (err: unknown) => {
            console.error(mask(String(err), process.env.GITLAB_API_TOKEN ?? ""));
            process.exit(1);
        },
    );
}
