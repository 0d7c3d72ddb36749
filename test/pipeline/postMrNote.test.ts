/**
 * tools/post-mr-note.ts: the requests for GitLab's notes API, the marker that finds the previous
 * note, paging, the skip without a token, the truncation within the note limit, and the whole
 * flow (update in place, post, failures) against a fake GitLab on a local HTTP server.
 */
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import {
    findPreviousNote,
    listRequest,
    main,
    MAX_PAGES,
    nextPage,
    NOTE_LIMIT,
    NoteConfigError,
    noteMarker,
    NotesApi,
    planNotesApi,
    renderNote,
    shareBudget,
    truncateMiddle,
    truncationMarker,
    userRequest,
    writeRequest,
} from "../../tools/post-mr-note";
import { parse } from "yaml";
import { FakeGitLab } from "./fakeGitLab";
import { CI_FILE } from "./gitlabCiLocal";

const TOKEN = "glpat-TESTTOKEN0123456789";
const CI_ENV = {
    CI_API_V4_URL: "https://gitlab.example.com/api/v4",
    CI_PROJECT_ID: "42",
    CI_MERGE_REQUEST_IID: "7",
    GITLAB_API_TOKEN: TOKEN,
};
const API: NotesApi = {
    notesUrl: "https://gitlab.example.com/api/v4/projects/42/merge_requests/7/notes",
    userUrl: "https://gitlab.example.com/api/v4/user",
    token: TOKEN,
};
const MARKER = "<!-- msa-preview-note: preview -->";

describe("planNotesApi", () => {
    it("names the merge request's notes endpoint and GET /user, with the token", () => {
        expect(planNotesApi(CI_ENV)).toEqual({ kind: "send", api: API });
    });

    it("encodes a project path used as the id and drops a trailing slash of the API URL", () => {
        const plan = planNotesApi({
            ...CI_ENV,
            CI_PROJECT_ID: "my-group/msa",
            CI_API_V4_URL: "http://gl.local/api/v4/",
        });
        expect(plan.kind === "send" && [plan.api.notesUrl, plan.api.userUrl]).toEqual([
            "http://gl.local/api/v4/projects/my-group%2Fmsa/merge_requests/7/notes",
            "http://gl.local/api/v4/user",
        ]);
    });

    it.each([[{ ...CI_ENV, GITLAB_API_TOKEN: undefined }], [{ ...CI_ENV, GITLAB_API_TOKEN: "" }]])(
        "skips without a token (%#)",
        (env) => {
            expect(planNotesApi(env)).toEqual({
                kind: "skip",
                message:
                    "GITLAB_API_TOKEN is not set: merge request note not posted (the output is in the job artifacts)",
            });
        },
    );

    it("skips outside a merge request pipeline", () => {
        expect(planNotesApi({ ...CI_ENV, CI_MERGE_REQUEST_IID: undefined })).toEqual({
            kind: "skip",
            message:
                "CI_MERGE_REQUEST_IID is not set (not a merge request pipeline): merge request note not posted",
        });
    });

    it("names the missing CI variables when the token is set", () => {
        expect(() => planNotesApi({ ...CI_ENV, CI_PROJECT_ID: "" })).toThrow(
            new NoteConfigError("CI_PROJECT_ID is not set: cannot post the merge request note"),
        );
        expect(() =>
            planNotesApi({ ...CI_ENV, CI_PROJECT_ID: "", CI_API_V4_URL: undefined }),
        ).toThrow(
            "CI_API_V4_URL and CI_PROJECT_ID are not set: cannot post the merge request note",
        );
    });
});

describe("requests", () => {
    it("asks GET /user who the token is", () => {
        expect(userRequest(API)).toEqual({
            method: "GET",
            url: "https://gitlab.example.com/api/v4/user",
            headers: { "PRIVATE-TOKEN": TOKEN },
        });
    });

    it("lists 100 notes a page, newest first", () => {
        expect(listRequest(API, 3)).toEqual({
            method: "GET",
            url: "https://gitlab.example.com/api/v4/projects/42/merge_requests/7/notes?sort=desc&order_by=created_at&per_page=100&page=3",
            headers: { "PRIVATE-TOKEN": TOKEN },
        });
    });

    it("PUTs over the previous note with a JSON body", () => {
        expect(writeRequest(API, "hello `world`", 123)).toEqual({
            method: "PUT",
            url: "https://gitlab.example.com/api/v4/projects/42/merge_requests/7/notes/123",
            headers: { "PRIVATE-TOKEN": TOKEN, "Content-Type": "application/json" },
            body: '{"body":"hello `world`"}',
        });
    });

    it("POSTs a new note when there is no previous one", () => {
        expect(writeRequest(API, "hello")).toEqual({
            method: "POST",
            url: "https://gitlab.example.com/api/v4/projects/42/merge_requests/7/notes",
            headers: { "PRIVATE-TOKEN": TOKEN, "Content-Type": "application/json" },
            body: '{"body":"hello"}',
        });
    });
});

describe("noteMarker", () => {
    it("is an HTML comment naming the key", () => {
        expect(noteMarker("preview")).toBe(MARKER);
    });

    it("percent-encodes the key, so that none ends the comment early or spans lines", () => {
        expect(noteMarker("preview: [dev]")).toBe(
            "<!-- msa-preview-note: preview%3A%20%5Bdev%5D -->",
        );
        expect(noteMarker("a --> b\nc")).toBe("<!-- msa-preview-note: a%20--%3E%20b%0Ac -->");
    });
});

describe("findPreviousNote", () => {
    const BOT = { id: 99, username: "project_42_bot" };
    const own = (id: number, body: string) => ({ id, body, system: false, author: BOT });

    it("picks the newest of the token user's notes that start with the marker", () => {
        const notes = [own(12, `${MARKER}\n### new`), own(30, `${MARKER}\r\n### newer`)];
        expect(findPreviousNote(notes, MARKER, 99)).toBe(30);
    });

    it.each([
        ["another author's note", { ...own(40, `${MARKER}\n`), author: { id: 7 } }],
        ["a system note", { ...own(40, `${MARKER}\n`), system: true }],
        ["another key's note", own(40, "<!-- msa-preview-note: preview%3A%20%5Bdev%5D -->\n")],
        ["a longer key that starts the same", own(40, "<!-- msa-preview-note: preview2 -->\n")],
        ["a reply quoting the note", own(40, `> ${MARKER}\n> ### old`)],
        ["a note with the marker further down", own(40, `thanks\n${MARKER}`)],
        ["a note without author", { id: 40, body: MARKER }],
        ["a note with a string id", { ...own(40, MARKER), id: "40" }],
        ["an entry that is no object", MARKER],
    ])("passes over %s", (_label, note) => {
        expect(findPreviousNote([own(12, `${MARKER}\n`), note], MARKER, 99)).toBe(12);
    });

    it("finds nothing on a page without the marker", () => {
        expect(findPreviousNote([own(12, "### Pulumi preview")], MARKER, 99)).toBeUndefined();
    });
});

describe("nextPage", () => {
    const link = (page: number, rel: string) =>
        `<https://gitlab.example.com/api/v4/projects/42/merge_requests/7/notes?page=${page}&per_page=100>; rel="${rel}"`;

    it.each<[string, Record<string, string>, number | undefined]>([
        ["takes x-next-page", { "x-next-page": "2" }, 2],
        [
            "ends on an empty x-next-page (the last page)",
            { "x-next-page": "", link: link(1, "first") },
            undefined,
        ],
        [
            "trusts an empty x-next-page over Link rel=next",
            { "x-next-page": "", link: link(2, "next") },
            undefined,
        ],
        [
            "takes the page of Link rel=next without x-next-page",
            { link: `${link(2, "next")}, ${link(1, "first")}, ${link(9, "last")}` },
            2,
        ],
        ["finds rel=next anywhere in Link", { link: `${link(1, "first")}, ${link(2, "next")}` }, 2],
        [
            "ends on a Link without rel=next",
            { link: `${link(1, "first")}, ${link(1, "last")}` },
            undefined,
        ],
        ["ends on a page not after the current one", { "x-next-page": "1" }, undefined],
        ["ends on a page that is no number", { "x-next-page": "two" }, undefined],
        ["ends without either header", {}, undefined],
    ])("%s", (_label, headers, expected) => {
        expect(nextPage(new Headers(headers), 1)).toBe(expected);
    });
});

describe("renderNote", () => {
    it("puts each section in a collapsed code block under the title", () => {
        expect(
            renderNote("Pulumi preview for abc123", [
                { title: "dev.preview.txt", content: "+ 3 to create" },
                { title: "dev.plan.txt", content: "Stack dev" },
            ]),
        ).toBe(
            "### Pulumi preview for abc123\n\n" +
                "<details><summary>dev.preview.txt</summary>\n\n```text\n+ 3 to create\n```\n\n</details>\n" +
                "\n" +
                "<details><summary>dev.plan.txt</summary>\n\n```text\nStack dev\n```\n\n</details>\n",
        );
    });

    it("uses a fence longer than any backtick run in the output, and links the artifacts", () => {
        const note = renderNote("t", [{ title: "a<b>", content: "x ```` y" }], {
            artifactsUrl: "https://gitlab.example.com/g/p/-/jobs/9/artifacts/browse",
        });
        expect(note).toBe(
            "### t\n\n<details><summary>a&lt;b&gt;</summary>\n\n`````text\nx ```` y\n`````\n\n</details>\n" +
                "\nFull output: https://gitlab.example.com/g/p/-/jobs/9/artifacts/browse\n",
        );
    });

    it("drops a file's final newlines inside the code block", () => {
        expect(renderNote("t", [{ title: "f", content: "line\n\n" }])).toBe(
            "### t\n\n<details><summary>f</summary>\n\n```text\nline\n```\n\n</details>\n",
        );
    });

    it("keeps output that fits unchanged", () => {
        const content = "a".repeat(1000);
        expect(renderNote("t", [{ title: "f", content }], { limit: 2000 })).toContain(content);
    });

    it("cuts long output to GitLab's limit of 1,000,000 characters, head and tail kept", () => {
        const head = "Previewing update (dev):\n";
        const tail = "Resources:\n    + 7 to create";
        const content = head + "x".repeat(1_500_000) + tail;
        const note = renderNote("Pulumi preview", [
            { title: "dev.preview.txt", content },
            { title: "prod.preview.txt", content: "short prod output" },
        ]);
        expect(NOTE_LIMIT).toBe(1_000_000);
        expect(note.length).toBeLessThanOrEqual(1_000_000);
        expect(note.length).toBeGreaterThan(999_800);
        expect(note.startsWith("### Pulumi preview\n\n<details><summary>dev.preview.txt")).toBe(
            true,
        );
        expect(note).toContain(`\`\`\`text\n${head}xxx`);
        expect(note).toContain(`xxx${tail}\n\`\`\`\n`);
        expect(note).toContain("short prod output");
        const marker =
            /\n… \[(\d+) characters truncated: full output in the job artifacts\] …\n/.exec(note);
        const removed = Number(marker?.[1]);
        // What was kept plus what was cut is the original section.
        const kept = note.split("```text\n")[1]?.split("\n```\n")[0] ?? "";
        expect(kept.length - (marker?.[0].length ?? 0) + removed).toBe(content.length);
    });
    it("puts the marker on the first line, before the heading", () => {
        expect(renderNote("t", [{ title: "f", content: "x" }], { marker: MARKER })).toBe(
            `${MARKER}\n### t\n\n<details><summary>f</summary>\n\n\`\`\`text\nx\n\`\`\`\n\n</details>\n`,
        );
    });

    it("keeps the marker when it cuts long output to the limit", () => {
        const note = renderNote("t", [{ title: "f", content: "x".repeat(1_500_000) }], {
            marker: MARKER,
        });
        expect(note.length).toBeLessThanOrEqual(NOTE_LIMIT);
        expect(note.startsWith(`${MARKER}\n### t\n\n<details>`)).toBe(true);
        expect(note).toContain(" characters truncated: full output in the job artifacts] …");
    });

    it("keeps the marker even when the limit is smaller than the frame", () => {
        const note = renderNote("t", [{ title: "f".repeat(300), content: "x" }], {
            limit: 150,
            marker: MARKER,
        });
        expect(note.length).toBeLessThanOrEqual(150);
        expect(note.startsWith(`${MARKER}\n### t`)).toBe(true);
    });
});

describe("truncateMiddle", () => {
    it("returns text within the limit as is", () => {
        expect(truncateMiddle("abcdef", 6)).toBe("abcdef");
    });

    it("replaces the middle with a marker stating the removed count, within max", () => {
        const text = "H".repeat(500) + "M".repeat(1000) + "T".repeat(500);
        const out = truncateMiddle(text, 300);
        const marker = truncationMarker(2000 - (300 - truncationMarker(2000).length));
        expect(out).toBe(
            "H".repeat(Math.ceil((300 - truncationMarker(2000).length) / 2)) +
                marker +
                "T".repeat(Math.floor((300 - truncationMarker(2000).length) / 2)),
        );
        expect(out.length).toBeLessThanOrEqual(300);
    });

    it("never splits a surrogate pair", () => {
        const out = truncateMiddle("😀".repeat(1000), 200);
        expect(out).not.toMatch(
            /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/,
        );
        expect(out.length).toBeLessThanOrEqual(200);
    });
});

describe("shareBudget", () => {
    it("lets short sections keep everything and splits the rest equally", () => {
        expect(shareBudget([10, 1000, 5000], 610)).toEqual([10, 300, 300]);
        expect(shareBudget([10, 20], 100)).toEqual([10, 20]);
    });
});

describe(".gitlab-ci.yml", () => {
    it("calls the tool with a key that stays the same from push to push: the job name", () => {
        const ci = parse(fs.readFileSync(CI_FILE, "utf8")) as { preview: { script: string[] } };
        const call = ci.preview.script
            .join("\n")
            .split("\n")
            .filter((line) => line.includes("tools/post-mr-note.ts"));
        expect(call).toHaveLength(1);
        expect(call[0]).toContain('--title "Pulumi preview for $CI_COMMIT_SHORT_SHA"');
        expect(call[0]).toContain('--key "$CI_JOB_NAME"');
    });
});

describe("main", () => {
    const gitlab = new FakeGitLab(TOKEN);
    const BOT = gitlab.user;
    const ALICE = { id: 7, username: "alice" };
    const NOTES = "/api/v4/projects/42/merge_requests/7/notes";
    const list = (page: number) =>
        `${NOTES}?sort=desc&order_by=created_at&per_page=100&page=${page}`;
    let dir: string;

    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "mr-note-"));
        fs.writeFileSync(path.join(dir, "dev.preview.txt"), "+ msa:database:PostgresDatabase\n");
        fs.writeFileSync(path.join(dir, "dev.plan.txt"), "Stack dev: 6 resources\n");
        await gitlab.start();
    });

    afterAll(async () => {
        await gitlab.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    beforeEach(() => gitlab.reset());

    const run = async (env: NodeJS.ProcessEnv, extra: string[] = []) => {
        const lines: string[] = [];
        const errors: string[] = [];
        const code = await main(
            [
                "--title",
                "Pulumi preview for abc123",
                "--key",
                "preview",
                ...extra,
                path.join(dir, "dev.preview.txt"),
                path.join(dir, "dev.plan.txt"),
            ],
            env,
            { log: (l) => lines.push(l), error: (l) => errors.push(l) },
        );
        return { code, lines, errors };
    };
    const apiEnv = () => ({ ...CI_ENV, CI_API_V4_URL: gitlab.apiUrl });
    const calls = () => gitlab.requests.map((r) => `${r.method} ${r.url}`);
    /** Notes by others, newer than anything added before. */
    const chatter = (count: number) => {
        for (let i = 0; i < count; i++) {
            gitlab.addNote(`LGTM ${i}`, ALICE);
        }
    };

    it("posts a new note with the marker when the merge request has none, and writes it to --out", async () => {
        gitlab.addNote(`${MARKER}\n### copied by hand`, ALICE);
        gitlab.addNote("<!-- msa-preview-note: other -->\n### other key", BOT);
        gitlab.addNote("added 1 commit", BOT, true);
        const out = path.join(dir, "note.md");
        const result = await run(apiEnv(), ["--out", out]);
        const note = fs.readFileSync(out, "utf8");
        expect(result).toEqual({
            code: 0,
            lines: [`posted note 1003 (${note.length} characters) on merge request !7`],
            errors: [],
        });
        expect(gitlab.requests).toEqual([
            { method: "GET", url: "/api/v4/user", token: TOKEN, body: "" },
            { method: "GET", url: list(1), token: TOKEN, body: "" },
            { method: "POST", url: NOTES, token: TOKEN, body: JSON.stringify({ body: note }) },
        ]);
        expect(note.startsWith(`${MARKER}\n### Pulumi preview for abc123\n`)).toBe(true);
        expect(note).toContain("<details><summary>dev.preview.txt</summary>");
        expect(note).toContain("Stack dev: 6 resources");
    });

    it("updates the note a previous run posted instead of adding one", async () => {
        await run(apiEnv());
        chatter(3);
        const result = await run(apiEnv());
        expect(result.lines).toEqual([
            `updated note 1000 (${gitlab.notes[0]?.body.length} characters) on merge request !7`,
        ]);
        expect(gitlab.notes.filter((n) => n.body.startsWith(MARKER)).map((n) => n.id)).toEqual([
            1000,
        ]);
        expect(calls().slice(3)).toEqual([
            "GET /api/v4/user",
            `GET ${list(1)}`,
            `PUT ${NOTES}/1000`,
        ]);
    });

    it("follows x-next-page to the newest own marker note on page 2 and PUTs the new body there", async () => {
        const older = gitlab.addNote(`${MARKER}\n### Pulumi preview for 0ld0ld`, BOT);
        const newest = gitlab.addNote(`${MARKER}\n### Pulumi preview for 111111`, BOT);
        chatter(150);
        const out = path.join(dir, "paged.md");
        const result = await run(apiEnv(), ["--out", out]);
        const note = fs.readFileSync(out, "utf8");
        expect(result).toEqual({
            code: 0,
            lines: [`updated note ${newest} (${note.length} characters) on merge request !7`],
            errors: [],
        });
        expect(calls()).toEqual([
            "GET /api/v4/user",
            `GET ${list(1)}`,
            `GET ${list(2)}`,
            `PUT ${NOTES}/${newest}`,
        ]);
        expect(gitlab.requests[3]?.body).toBe(JSON.stringify({ body: note }));
        expect(gitlab.notes.find((n) => n.id === newest)?.body).toBe(note);
        expect(gitlab.notes.find((n) => n.id === older)?.body).toBe(
            `${MARKER}\n### Pulumi preview for 0ld0ld`,
        );
        expect(gitlab.notes).toHaveLength(152);
    });

    it("follows the Link header when there is no x-next-page, on the job's API URL only", async () => {
        gitlab.paging = "link-only";
        const previous = gitlab.addNote(`${MARKER}\n### old`, BOT);
        chatter(100);
        const result = await run(apiEnv());
        expect(result.lines[0]).toMatch(new RegExp(`^updated note ${previous} `));
        // The Link URLs name https://gitlab.example.com: the pages came from this server anyway.
        expect(calls()).toEqual([
            "GET /api/v4/user",
            `GET ${list(1)}`,
            `GET ${list(2)}`,
            `PUT ${NOTES}/${previous}`,
        ]);
    });

    it(`stops after ${MAX_PAGES} pages when the server always announces another, then posts and says so`, async () => {
        gitlab.paging = "endless";
        const out = path.join(dir, "endless.md");
        const result = await run(apiEnv(), ["--out", out]);
        expect(result).toEqual({
            code: 0,
            lines: [
                `posted note 1000 (${fs.readFileSync(out, "utf8").length} characters) on merge request !7 (no earlier note among the newest 5000 notes; older ones not searched)`,
            ],
            errors: [],
        });
        expect(calls()).toEqual([
            "GET /api/v4/user",
            ...Array.from({ length: MAX_PAGES }, (_, i) => `GET ${list(i + 1)}`),
            `POST ${NOTES}`,
        ]);
    });

    it("skips with one line and exit 0 without a token, still writing --out", async () => {
        const out = path.join(dir, "skipped.md");
        const result = await run({ ...apiEnv(), GITLAB_API_TOKEN: undefined }, ["--out", out]);
        expect(result).toEqual({
            code: 0,
            lines: [
                "GITLAB_API_TOKEN is not set: merge request note not posted (the output is in the job artifacts)",
            ],
            errors: [],
        });
        expect(gitlab.requests).toEqual([]);
        expect(fs.readFileSync(out, "utf8")).toContain("Stack dev: 6 resources");
    });

    it("fails on a 401 without printing the token, even when the server echoes it", async () => {
        gitlab.canned.user = { status: 401, body: `{"message":"401 Unauthorized: ${TOKEN}"}` };
        const result = await run(apiEnv());
        expect(result).toEqual({
            code: 1,
            lines: [],
            errors: [
                `GitLab answered 401 Unauthorized to GET ${gitlab.apiUrl}/user: {"message":"401 Unauthorized: [masked]"}`,
            ],
        });
        expect(calls()).toEqual(["GET /api/v4/user"]);
    });

    it("fails on a revoked token with GitLab's own 401", async () => {
        const result = await run({ ...apiEnv(), GITLAB_API_TOKEN: "glpat-REVOKED" });
        expect(result).toEqual({
            code: 1,
            lines: [],
            errors: [
                `GitLab answered 401 Unauthorized to GET ${gitlab.apiUrl}/user: {"message":"401 Unauthorized"}`,
            ],
        });
    });

    it("fails without posting a new note when listing the notes answers 500", async () => {
        gitlab.canned.list = {
            status: 500,
            body: "<html>\n  <body>\n    <h1>We're sorry, but something went wrong.</h1>\n  </body>\n</html>\n",
        };
        const result = await run(apiEnv());
        expect(result).toEqual({
            code: 1,
            lines: [],
            errors: [
                `GitLab answered 500 Internal Server Error to GET ${gitlab.apiUrl}/projects/42/merge_requests/7/notes?sort=desc&order_by=created_at&per_page=100&page=1: <html> <body> <h1>We're sorry, but something went wrong.</h1> </body> </html> (no note posted: the previous one could not be looked up; the output is in the job artifacts)`,
            ],
        });
        expect(calls()).toEqual(["GET /api/v4/user", `GET ${list(1)}`]);
    });

    it("never prints the start of a token that the excerpt would cut through", async () => {
        gitlab.canned.list = { status: 500, body: "x".repeat(190) + TOKEN + "y".repeat(100) };
        const result = await run(apiEnv());
        expect(result.code).toBe(1);
        expect(result.errors).toHaveLength(1);
        expect(result.errors[0]).toContain(`: ${"x".repeat(190)}[masked]yy… (no note posted`);
        expect(result.errors[0]).not.toContain("glpat-");
    });

    it.each([
        [
            "GET /user without a user id",
            "user" as const,
            "GitLab answered GET {api}/user without a user id",
        ],
        [
            "a list of notes that is no list",
            "list" as const,
            "GitLab answered GET {api}/projects/42/merge_requests/7/notes?sort=desc&order_by=created_at&per_page=100&page=1 with something other than a list (no note posted: the previous one could not be looked up; the output is in the job artifacts)",
        ],
    ])("fails on %s, without posting", async (_label, route, message) => {
        gitlab.canned[route] = { status: 200, body: '{"message":"200 OK"}' };
        const result = await run(apiEnv());
        expect(result).toEqual({
            code: 1,
            lines: [],
            errors: [message.replace("{api}", gitlab.apiUrl)],
        });
        expect(gitlab.requests.filter((r) => r.method !== "GET")).toEqual([]);
    });

    it("fails when the update is refused, without posting a duplicate", async () => {
        const previous = gitlab.addNote(`${MARKER}\n### old`, BOT);
        gitlab.canned.put = { status: 403, body: '{"message":"403 Forbidden"}' };
        const result = await run(apiEnv());
        expect(result).toEqual({
            code: 1,
            lines: [],
            errors: [
                `GitLab answered 403 Forbidden to PUT ${gitlab.apiUrl}/projects/42/merge_requests/7/notes/${previous}: {"message":"403 Forbidden"}`,
            ],
        });
        expect(calls()).toEqual(["GET /api/v4/user", `GET ${list(1)}`, `PUT ${NOTES}/${previous}`]);
    });

    it("names the refused connection when the API is unreachable", async () => {
        const closed = http.createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const port = (closed.address() as AddressInfo).port;
        await new Promise((resolve) => closed.close(resolve));
        const result = await run({ ...CI_ENV, CI_API_V4_URL: `http://127.0.0.1:${port}/api/v4` });
        expect(result).toEqual({
            code: 1,
            lines: [],
            errors: [
                `could not reach http://127.0.0.1:${port}/api/v4/user: fetch failed (connect ECONNREFUSED 127.0.0.1:${port})`,
            ],
        });
    });

    it("rejects a usage error with exit 2", async () => {
        const errors: string[] = [];
        const code = await main([path.join(dir, "dev.plan.txt")], CI_ENV, {
            log: () => undefined,
            error: (l) => errors.push(l),
        });
        expect({ code, errors }).toEqual({
            code: 2,
            errors: ["usage: post-mr-note --title <text> [--key <text>] [--out <file>] <file>..."],
        });
    });

    it.each([
        ["an empty --key", ["--key", ""], 0],
        ["a --key over 200 characters", ["--key", "k".repeat(201)], 201],
        ["a title over 200 characters and no --key", [], 201],
    ])("rejects %s with exit 2", async (_label, key, length) => {
        const errors: string[] = [];
        const title = key.length > 0 ? "t" : "t".repeat(201);
        const code = await main(
            ["--title", title, ...key, path.join(dir, "dev.plan.txt")],
            apiEnv(),
            { log: () => undefined, error: (l) => errors.push(l) },
        );
        expect({ code, errors, requests: gitlab.requests }).toEqual({
            code: 2,
            errors: [
                `the note key (--key, default the title) must be 1-200 characters, got ${length}\nusage: post-mr-note --title <text> [--key <text>] [--out <file>] <file>...`,
            ],
            requests: [],
        });
    });

    it("uses the title as the key without --key", async () => {
        const out = path.join(dir, "titled.md");
        const code = await main(
            ["--title", "Plan", "--out", out, path.join(dir, "dev.plan.txt")],
            apiEnv(),
            { log: () => undefined, error: () => undefined },
        );
        expect(code).toBe(0);
        expect(fs.readFileSync(out, "utf8").split("\n")[0]).toBe("<!-- msa-preview-note: Plan -->");
    });

    it("names a missing input file", async () => {
        const errors: string[] = [];
        const code = await main(["--title", "t", path.join(dir, "nope.txt")], CI_ENV, {
            log: () => undefined,
            error: (l) => errors.push(l),
        });
        expect({ code, errors }).toEqual({
            code: 2,
            errors: [`no such file: ${path.join(dir, "nope.txt")}`],
        });
    });
});
