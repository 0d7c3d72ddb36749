/**
 * `ts-node tools/post-mr-note.ts --title <text> [--out <file>] <file>...`: posts the files (the
 * preview job's `pulumi preview` and offline plan outputs) as one merge request note through
 * GitLab's notes API, `POST /projects/:id/merge_requests/:iid/notes`, authenticated with
 * `GITLAB_API_TOKEN` (a CI/CD variable: project access token with the `api` scope).
 *
 * Without the token (or outside a merge request pipeline) it prints one line and exits 0: the
 * outputs stay in the job artifacts either way. Output longer than GitLab's note limit is cut in
 * the middle of each section with a marker. The token never reaches a log line or a message.
 * Exit 0 posted or skipped, 1 API or CI-variable error, 2 usage error.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";

/** GitLab rejects note bodies longer than 1,000,000 characters. */
export const NOTE_LIMIT = 1_000_000;

const USAGE = "usage: post-mr-note --title <text> [--out <file>] <file>...";

export interface NoteSection {
    title: string;
    content: string;
}

export interface NoteRequest {
    url: string;
    method: "POST";
    headers: Record<string, string>;
    body: string;
}

/** What to do with a note: post it, or skip with a one-line reason. */
export type NotePlan = { kind: "post"; request: NoteRequest } | { kind: "skip"; message: string };

/** A CI variable the API call needs is missing while the token is set. */
export class NoteConfigError extends Error {}

/**
 * The request for the notes API, from the CI environment: CI_API_V4_URL, CI_PROJECT_ID,
 * CI_MERGE_REQUEST_IID (all predefined in merge request pipelines) and GITLAB_API_TOKEN.
 */
export function planNoteRequest(env: NodeJS.ProcessEnv, note: string): NotePlan {
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
        kind: "post",
        request: {
            url: `${api}/projects/${project}/merge_requests/${encodeURIComponent(iid)}/notes`,
            method: "POST",
            headers: { "PRIVATE-TOKEN": token, "Content-Type": "application/json" },
            body: JSON.stringify({ body: note }),
        },
    };
}

/**
 * The note's Markdown: a heading, then each section as a collapsed code block. When the whole
 * would exceed `limit` characters, the longest sections are cut in the middle (head and tail
 * kept: a preview's summary is at its end) so that the note fits.
 */
export function renderNote(
    title: string,
    sections: NoteSection[],
    options: { limit?: number; artifactsUrl?: string } = {},
): string {
    const limit = options.limit ?? NOTE_LIMIT;
    const footer =
        options.artifactsUrl !== undefined ? `\nFull output: ${options.artifactsUrl}\n` : "";
    // A file's final newline would show as an empty line at the end of its code block.
    sections = sections.map((s) => ({ title: s.title, content: s.content.replace(/\n+$/, "") }));
    const fences = sections.map((s) => fence(s.content));
    const frame = (contents: string[]) =>
        `### ${title}\n\n` +
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
    // Only a limit smaller than the frame itself gets here.
    return note.length <= limit ? note : truncateMiddle(note, limit);
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

/** Sends the request; returns the new note's id. Errors never include the token. */
export async function postNote(
    request: NoteRequest,
    fetchImpl: typeof fetch = fetch,
): Promise<number | undefined> {
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
        throw new Error(
            mask(
                `GitLab answered ${response.status} ${response.statusText} to POST ${request.url}: ${text.slice(0, 300)}`,
                token,
            ),
        );
    }
    try {
        const id = (JSON.parse(text) as { id?: unknown }).id;
        return typeof id === "number" ? id : undefined;
    } catch {
        return undefined; // posted; the answer just is not the documented JSON
    }
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
    let values: { title?: string; out?: string };
    let files: string[];
    try {
        const parsed = parseArgs({
            args: argv,
            options: { title: { type: "string" }, out: { type: "string" } },
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
    const unreadable = files.filter((f) => !fs.existsSync(f));
    if (unreadable.length > 0) {
        io.error(`no such file: ${unreadable.join(", ")}`);
        return 2;
    }
    const note = renderNote(
        values.title,
        files.map((f) => ({ title: path.basename(f), content: fs.readFileSync(f, "utf8") })),
        { artifactsUrl: env.CI_JOB_URL ? `${env.CI_JOB_URL}/artifacts/browse` : undefined },
    );
    if (values.out !== undefined) {
        fs.writeFileSync(values.out, note);
    }
    try {
        const plan = planNoteRequest(env, note);
        if (plan.kind === "skip") {
            io.log(plan.message);
            return 0;
        }
        const id = await postNote(plan.request, fetchImpl);
        io.log(
            `posted note ${id ?? "(no id in the answer)"} (${note.length} characters) on merge request !${env.CI_MERGE_REQUEST_IID}`,
        );
        return 0;
    } catch (err) {
        io.error(mask((err as Error).message, env.GITLAB_API_TOKEN ?? ""));
        return 1;
    }
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
