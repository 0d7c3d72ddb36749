/**
 * `ts-node tools/post-mr-note.ts --title <text> [--key <text>] [--out <file>] <file>...`: posts
 * the files (the preview job's `pulumi preview` and offline plan outputs) as one merge request
 * note, through @gitbeaker/rest with `GITLAB_API_TOKEN` (project access token, `api` scope), and
 * keeps that note up to date instead of adding one per pipeline.
 *
 * The note's first line is `<!-- msa-preview-note: <key> -->` (hidden when rendered). The key
 * (`--key`, default the title) tells apart notes that must not overwrite each other; the pipeline
 * passes the job name, since its title names the commit. The newest note with that first line by
 * the token's own user is edited; anyone else's is never touched, even if it copies the marker.
 * Any failed call fails the command, a failed look-up included: posting a new note then would
 * leave a duplicate behind once the API is back, and the output is in the job artifacts anyway.
 *
 * Without the token (or outside a merge request pipeline) it prints one line and exits 0. The
 * token never reaches a log line or a message. Exit 0 posted, updated or skipped, 1 API or
 * CI-variable error, 2 usage error (tools/cli.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { GitbeakerRequestError, MergeRequestNotes, Users } from "@gitbeaker/rest";
import { z } from "zod";
import { CliIo, CliSpec, CommandError, exitWith, processIo, runCli, UsageError } from "./cli";

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
/** How much of an error answer a message quotes: error pages are often whole HTML documents. */
const EXCERPT_MAX = 200;

const OPTIONS = {
    title: { type: "string" },
    key: { type: "string" },
    out: { type: "string" },
} as const;

const CLI: CliSpec<typeof OPTIONS> = {
    name: "post-mr-note",
    usage: "usage: post-mr-note --title <text> [--key <text>] [--out <file>] <file>...",
    options: OPTIONS,
    required: ["title"],
    positionals: true,
};

export interface NoteSection {
    title: string;
    content: string;
}

/** The merge request to write on, or why no note is posted. */
export type NoteTarget =
    | { kind: "send"; host: string; projectId: string; mrIid: number; token: string }
    | { kind: "skip"; message: string };

/** The command line; returns the exit code. */
export function main(argv: string[], env: NodeJS.ProcessEnv, io = processIo): Promise<number> {
    return runCli(
        CLI,
        argv,
        ({ values, positionals }, out) => run(values, positionals, env, out),
        io,
    );
}

async function run(
    { title = "", key = title, out }: { title?: string; key?: string; out?: string },
    files: string[],
    env: NodeJS.ProcessEnv,
    io: CliIo,
): Promise<number> {
    if (files.length === 0) {
        throw new UsageError("no file to post");
    }
    if (key === "" || key.length > KEY_MAX) {
        throw new UsageError(
            `the note key (--key, default the title) must be 1-${KEY_MAX} characters, got ${key.length}`,
        );
    }
    const missing = files.filter((f) => !fs.existsSync(f));
    if (missing.length > 0) {
        throw new UsageError(`no such file: ${missing.join(", ")}`);
    }
    const marker = noteMarker(key);
    const sections = files.map((f) => ({
        title: path.basename(f),
        content: fs.readFileSync(f, "utf8"),
    }));
    const artifactsUrl = env.CI_JOB_URL && `${env.CI_JOB_URL}/artifacts/browse`;
    const note = renderNote(title, sections, { artifactsUrl, marker });
    if (out !== undefined) {
        fs.writeFileSync(out, note);
    }
    const target = noteTarget(env);
    if (target.kind === "skip") {
        io.stdout(`${target.message}\n`);
        return 0;
    }
    const result = await publishNote(target, note, marker);
    const unsearched = result.searchedAll
        ? ""
        : ` (no earlier note among the newest ${MAX_PAGES * PER_PAGE} notes; older ones not searched)`;
    io.stdout(
        `${result.action} note ${result.id ?? "(no id in the answer)"} (${note.length} characters) on merge request !${target.mrIid}${unsearched}\n`,
    );
    return 0;
}

/**
 * The merge request from the CI environment: CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID
 * (predefined in merge request pipelines) and GITLAB_API_TOKEN.
 */
export function noteTarget(env: NodeJS.ProcessEnv): NoteTarget {
    const token = env.GITLAB_API_TOKEN ?? "";
    const iid = env.CI_MERGE_REQUEST_IID ?? "";
    if (token === "" || iid === "") {
        const message =
            token === ""
                ? "GITLAB_API_TOKEN is not set: merge request note not posted (the output is in the job artifacts)"
                : "CI_MERGE_REQUEST_IID is not set (not a merge request pipeline): merge request note not posted";
        return { kind: "skip", message };
    }
    const missing = ["CI_API_V4_URL", "CI_PROJECT_ID"].filter((k) => (env[k] ?? "") === "");
    if (missing.length > 0) {
        throw new CommandError(
            `${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} not set: cannot post the merge request note`,
        );
    }
    // gitbeaker takes the server's URL and appends /api/v4 itself.
    const api = (env.CI_API_V4_URL ?? "").replace(/\/+$/, "");
    if (!api.endsWith("/api/v4")) {
        throw new CommandError(`CI_API_V4_URL must end with /api/v4, got ${api}`);
    }
    return {
        kind: "send",
        host: api.slice(0, -"/api/v4".length),
        projectId: env.CI_PROJECT_ID ?? "",
        mrIid: Number(iid),
        token,
    };
}

/**
 * The hidden first line of the notes of one key. The key is percent-encoded, so that no key can
 * end the comment early (`-->`) or span lines, and no key's marker is a prefix of another's.
 */
export function noteMarker(key: string): string {
    return `<!-- msa-preview-note: ${encodeURIComponent(key)} -->`;
}

/** The fields of GitLab's answers that are used here; anything else is not trusted blindly. */
const WithId = z.object({ id: z.number() });
const ListedNote = z.object({
    id: z.number(),
    body: z.string(),
    system: z.boolean().optional(),
    author: z.object({ id: z.number() }),
});
const NotesPage = z.object({
    data: z.array(z.unknown()),
    paginationInfo: z.object({ next: z.number().nullable() }),
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

/** Edits the token user's newest note that starts with `marker`, or posts a new one. */
export async function publishNote(
    target: Extract<NoteTarget, { kind: "send" }>,
    body: string,
    marker: string,
): Promise<{ action: "updated" | "posted"; id: number | undefined; searchedAll: boolean }> {
    const { host, token, projectId, mrIid } = target;
    const call = <T>(what: string, request: () => Promise<T>) => callGitLab(target, what, request);
    const users = new Users({ host, token });
    const notes = new MergeRequestNotes({ host, token });

    const user = WithId.safeParse(
        await call("read the token's user", () => users.showCurrentUser()),
    );
    if (!user.success) {
        throw new CommandError("GitLab answered GET /user without a user id");
    }
    // Page by page rather than gitbeaker's `maxPages`: that reads every page before returning,
    // and bounds the notes read, not the pages, so a server announcing empty pages never ends.
    let page: number | null = 1;
    let previous: number | undefined;
    try {
        for (let read = 0; read < MAX_PAGES && page !== null && previous === undefined; read++) {
            const current: number = page;
            const answer = NotesPage.safeParse(
                await call(`list the notes of merge request !${mrIid} (page ${current})`, () =>
                    notes.all(projectId, mrIid, {
                        sort: "desc",
                        orderBy: "created_at",
                        perPage: PER_PAGE,
                        page: current,
                        showExpanded: true,
                    }),
                ),
            );
            if (!answer.success) {
                throw new CommandError(
                    `GitLab answered GET .../merge_requests/${mrIid}/notes?page=${current} with something other than a list`,
                );
            }
            previous = findPreviousNote(answer.data.data, marker, user.data.id);
            // A page that does not come after this one ends the search: no loop on a confused server.
            const next = answer.data.paginationInfo.next;
            page = next !== null && next > current ? next : null;
        }
    } catch (err) {
        throw new CommandError(
            `${(err as Error).message} (no note posted: the previous one could not be looked up; the output is in the job artifacts)`,
        );
    }
    if (previous !== undefined) {
        const id = previous;
        await call(`update note ${id}`, () => notes.edit(projectId, mrIid, id, { body }));
        return { action: "updated", id, searchedAll: true };
    }
    const written = WithId.safeParse(
        await call("post the note", () => notes.create(projectId, mrIid, body)),
    );
    return {
        action: "posted",
        id: written.success ? written.data.id : undefined,
        searchedAll: page === null,
    };
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
    const footer = options.artifactsUrl ? `\nFull output: ${options.artifactsUrl}\n` : "";
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
 * One API call. Its failure becomes one line naming the request and GitLab's answer (status and
 * an excerpt), or why GitLab could not be reached; the token is masked before the excerpt is cut,
 * since a cut could leave the start of the token unmasked.
 */
async function callGitLab<T>(
    target: { host: string; token: string },
    what: string,
    request: () => Promise<T>,
): Promise<T> {
    try {
        return await request();
    } catch (err) {
        if (err instanceof GitbeakerRequestError && err.cause !== undefined) {
            const { request: sent, response, description } = err.cause;
            const answer = mask(description, target.token).replace(/\s+/g, " ").trim();
            throw new CommandError(
                `GitLab answered ${response.status} ${response.statusText} to ${sent.method} ${sent.url}: ${answer.length <= EXCERPT_MAX ? answer : `${answer.slice(0, EXCERPT_MAX)}…`}`,
            );
        }
        // fetch's "fetch failed" says little; its cause names the refused connection or DNS error.
        const e = err as Error & { cause?: { message?: string } };
        const reason =
            e.cause?.message !== undefined ? `${e.message} (${e.cause.message})` : e.message;
        throw new CommandError(
            mask(`could not ${what} at ${target.host}: ${reason}`, target.token),
        );
    }
}

/** A fence longer than any backtick run in the content, so the content cannot close it. */
function fence(content: string): string {
    const longest = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
    return "`".repeat(Math.max(3, longest + 1));
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
    exitWith(main(process.argv.slice(2), process.env));
}
