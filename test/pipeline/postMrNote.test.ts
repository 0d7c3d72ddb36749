/**
 * tools/post-mr-note.ts: where the note goes (CI variables, skips), the marker that finds the
 * previous note, the truncation within the note limit, the command line (tools/cli.ts exit codes)
 * and the whole flow through @gitbeaker/rest (update in place, post, paging, failures) against a
 * fake GitLab on a local HTTP server.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { CommandError } from "../../tools/cli";
import {
    findPreviousNote,
    main,
    MAX_PAGES,
    NOTE_LIMIT,
    noteMarker,
    noteTarget,
    renderNote,
    shareBudget,
    truncateMiddle,
    truncationMarker,
} from "../../tools/post-mr-note";
import { FakeGitLab } from "./fakeGitLab";
import { ROOT } from "./gitlabCiLocal";

const TOKEN = "glpat-TESTTOKEN0123456789";
const CI_ENV = {
    CI_API_V4_URL: "https://gitlab.example.com/api/v4",
    CI_PROJECT_ID: "42",
    CI_MERGE_REQUEST_IID: "7",
    GITLAB_API_TOKEN: TOKEN,
};
const MARKER = "<!-- msa-preview-note: preview -->";
const USAGE = "usage: post-mr-note --title <text> [--key <text>] [--out <file>] <file>...";

describe("noteTarget", () => {
    it("takes gitbeaker's host from CI_API_V4_URL, with the project, merge request and token", () => {
        expect(noteTarget(CI_ENV)).toEqual({
            kind: "send",
            host: "https://gitlab.example.com",
            projectId: "42",
            mrIid: 7,
            token: TOKEN,
        });
    });

    it("keeps a relative URL root and a project path, and drops a trailing slash", () => {
        expect(
            noteTarget({
                ...CI_ENV,
                CI_PROJECT_ID: "my-group/msa",
                CI_API_V4_URL: "http://gl.local/gitlab/api/v4/",
            }),
        ).toMatchObject({ host: "http://gl.local/gitlab", projectId: "my-group/msa" });
    });

    it.each([[{ ...CI_ENV, GITLAB_API_TOKEN: undefined }], [{ ...CI_ENV, GITLAB_API_TOKEN: "" }]])(
        "skips without a token (%#)",
        (env) => {
            expect(noteTarget(env)).toEqual({
                kind: "skip",
                message:
                    "GITLAB_API_TOKEN is not set: merge request note not posted (the output is in the job artifacts)",
            });
        },
    );

    it("skips outside a merge request pipeline", () => {
        expect(noteTarget({ ...CI_ENV, CI_MERGE_REQUEST_IID: undefined })).toEqual({
            kind: "skip",
            message:
                "CI_MERGE_REQUEST_IID is not set (not a merge request pipeline): merge request note not posted",
        });
    });

    it("names the missing CI variables when the token is set", () => {
        expect(() => noteTarget({ ...CI_ENV, CI_PROJECT_ID: "" })).toThrow(
            new CommandError("CI_PROJECT_ID is not set: cannot post the merge request note"),
        );
        expect(() =>
            noteTarget({ ...CI_ENV, CI_PROJECT_ID: "", CI_API_V4_URL: undefined }),
        ).toThrow(
            new CommandError(
                "CI_API_V4_URL and CI_PROJECT_ID are not set: cannot post the merge request note",
            ),
        );
    });

    it("refuses an API URL that is not GitLab's /api/v4", () => {
        expect(() =>
            noteTarget({ ...CI_ENV, CI_API_V4_URL: "https://gitlab.example.com" }),
        ).toThrow(
            new CommandError("CI_API_V4_URL must end with /api/v4, got https://gitlab.example.com"),
        );
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

describe("ci/preview.sh", () => {
    // previewJob.test.ts runs the job and checks that the note of a previous push is updated.
    it("calls the tool with a key that stays the same from push to push: the job name", () => {
        const call = fs
            .readFileSync(path.join(ROOT, "ci/preview.sh"), "utf8")
            .replace(/\\\n\s*/g, "")
            .split("\n")
            .filter(
                (line) => !line.trim().startsWith("#") && line.includes("tools/post-mr-note.ts"),
            );
        expect(call).toHaveLength(1);
        expect(call[0]).toContain('--title "Pulumi preview for ${CI_COMMIT_SHORT_SHA:-HEAD}"');
        expect(call[0]).toContain('--key "${CI_JOB_NAME:-preview}"');
    });
});

describe("main, through @gitbeaker/rest against a fake GitLab", () => {
    const gitlab = new FakeGitLab(TOKEN);
    const BOT = gitlab.user;
    const ALICE = { id: 7, username: "alice" };
    const NOTES = "/api/v4/projects/42/merge_requests/7/notes";
    const list = (page: number) =>
        `${NOTES}?sort=desc&order_by=created_at&per_page=100&page=${page}`;
    const NOT_POSTED =
        "(no note posted: the previous one could not be looked up; the output is in the job artifacts)";
    let dir: string;
    let files: string[];

    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "mr-note-"));
        files = [path.join(dir, "dev.preview.txt"), path.join(dir, "dev.plan.txt")];
        fs.writeFileSync(files[0] ?? "", "+ msa:database:PostgresDatabase\n");
        fs.writeFileSync(files[1] ?? "", "Stack dev: 6 resources\n");
        await gitlab.start();
    });

    afterAll(async () => {
        await gitlab.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    beforeEach(() => gitlab.reset());

    /** Runs the command; whatever happens, the token is in none of its output. */
    const cli = async (argv: string[], env: NodeJS.ProcessEnv) => {
        let stdout = "";
        let stderr = "";
        const code = await main(argv, env, {
            stdout: (t) => (stdout += t),
            stderr: (t) => (stderr += t),
        });
        expect(stdout + stderr).not.toContain(TOKEN);
        return { code, stdout, stderr };
    };
    const run = (env: NodeJS.ProcessEnv, extra: string[] = []) =>
        cli(["--title", "Pulumi preview for abc123", "--key", "preview", ...extra, ...files], env);
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
            stdout: `posted note 1003 (${note.length} characters) on merge request !7\n`,
            stderr: "",
        });
        expect(gitlab.requests).toEqual([
            { method: "GET", url: "/api/v4/user", token: TOKEN, body: "" },
            { method: "GET", url: list(1), token: TOKEN, body: "" },
            { method: "POST", url: NOTES, token: TOKEN, body: JSON.stringify({ body: note }) },
        ]);
        expect(gitlab.notes.map((n) => [n.id, n.author.id])).toEqual([
            [1000, ALICE.id],
            [1001, BOT.id],
            [1002, BOT.id],
            [1003, BOT.id],
        ]);
        expect(note.startsWith(`${MARKER}\n### Pulumi preview for abc123\n`)).toBe(true);
        expect(note).toContain("<details><summary>dev.preview.txt</summary>");
        expect(note).toContain("Stack dev: 6 resources");
    });

    it("updates the note a previous run posted instead of adding one", async () => {
        await run(apiEnv());
        chatter(3);
        const result = await run(apiEnv());
        expect(result).toEqual({
            code: 0,
            stdout: `updated note 1000 (${gitlab.notes[0]?.body.length} characters) on merge request !7\n`,
            stderr: "",
        });
        expect(gitlab.notes.filter((n) => n.body.startsWith(MARKER)).map((n) => n.id)).toEqual([
            1000,
        ]);
        expect(gitlab.requests.slice(3)).toEqual([
            { method: "GET", url: "/api/v4/user", token: TOKEN, body: "" },
            { method: "GET", url: list(1), token: TOKEN, body: "" },
            {
                method: "PUT",
                url: `${NOTES}/1000`,
                token: TOKEN,
                body: JSON.stringify({ body: gitlab.notes[0]?.body }),
            },
        ]);
    });

    it("pages by x-next-page to the newest own marker note on page 2, on the job's API URL only", async () => {
        const older = gitlab.addNote(`${MARKER}\n### Pulumi preview for 0ld0ld`, BOT);
        const newest = gitlab.addNote(`${MARKER}\n### Pulumi preview for 111111`, BOT);
        chatter(150);
        const out = path.join(dir, "paged.md");
        const result = await run(apiEnv(), ["--out", out]);
        const note = fs.readFileSync(out, "utf8");
        expect(result).toEqual({
            code: 0,
            stdout: `updated note ${newest} (${note.length} characters) on merge request !7\n`,
            stderr: "",
        });
        // The fake's Link headers name https://gitlab.example.com: every request came here anyway.
        expect(calls()).toEqual([
            "GET /api/v4/user",
            `GET ${list(1)}`,
            `GET ${list(2)}`,
            `PUT ${NOTES}/${newest}`,
        ]);
        expect(gitlab.notes.find((n) => n.id === newest)?.body).toBe(note);
        expect(gitlab.notes.find((n) => n.id === older)?.body).toBe(
            `${MARKER}\n### Pulumi preview for 0ld0ld`,
        );
        expect(gitlab.notes).toHaveLength(152);
    });

    it("stops paging at the last page and posts a new note", async () => {
        chatter(250);
        const result = await run(apiEnv());
        expect(result.stdout).toMatch(
            /^posted note 1250 \(\d+ characters\) on merge request !7\n$/,
        );
        expect(calls()).toEqual([
            "GET /api/v4/user",
            `GET ${list(1)}`,
            `GET ${list(2)}`,
            `GET ${list(3)}`,
            `POST ${NOTES}`,
        ]);
    });

    it(`stops after ${MAX_PAGES} pages when the server always announces another, then posts and says so`, async () => {
        gitlab.paging = "endless";
        const out = path.join(dir, "endless.md");
        const result = await run(apiEnv(), ["--out", out]);
        expect(result).toEqual({
            code: 0,
            stdout: `posted note 1000 (${fs.readFileSync(out, "utf8").length} characters) on merge request !7 (no earlier note among the newest 5000 notes; older ones not searched)\n`,
            stderr: "",
        });
        expect(calls()).toEqual([
            "GET /api/v4/user",
            ...Array.from({ length: MAX_PAGES }, (_, i) => `GET ${list(i + 1)}`),
            `POST ${NOTES}`,
        ]);
    });

    it("ends the search on a next page that does not come after the current one", async () => {
        gitlab.paging = "stuck";
        const result = await run(apiEnv());
        expect(result.stdout).toMatch(
            /^posted note 1000 \(\d+ characters\) on merge request !7\n$/,
        );
        expect(calls()).toEqual(["GET /api/v4/user", `GET ${list(1)}`, `POST ${NOTES}`]);
    });

    it("says so when GitLab answers the post without an id", async () => {
        gitlab.canned.post = { status: 201, body: "{}" };
        const result = await run(apiEnv());
        expect(result.stdout).toMatch(
            /^posted note \(no id in the answer\) \(\d+ characters\) on merge request !7\n$/,
        );
    });

    it("skips with one line and exit 0 without a token, still writing --out", async () => {
        const out = path.join(dir, "skipped.md");
        const result = await run({ ...apiEnv(), GITLAB_API_TOKEN: undefined }, ["--out", out]);
        expect(result).toEqual({
            code: 0,
            stdout: "GITLAB_API_TOKEN is not set: merge request note not posted (the output is in the job artifacts)\n",
            stderr: "",
        });
        expect(gitlab.requests).toEqual([]);
        expect(fs.readFileSync(out, "utf8")).toContain("Stack dev: 6 resources");
    });

    it("skips with one line and exit 0 outside a merge request pipeline", async () => {
        const result = await run({ ...apiEnv(), CI_MERGE_REQUEST_IID: undefined });
        expect(result).toEqual({
            code: 0,
            stdout: "CI_MERGE_REQUEST_IID is not set (not a merge request pipeline): merge request note not posted\n",
            stderr: "",
        });
        expect(gitlab.requests).toEqual([]);
    });

    it.each([
        [{ CI_PROJECT_ID: undefined }, "CI_PROJECT_ID is not set"],
        [{ CI_API_V4_URL: "" }, "CI_API_V4_URL is not set"],
        [
            { CI_API_V4_URL: undefined, CI_PROJECT_ID: "" },
            "CI_API_V4_URL and CI_PROJECT_ID are not set",
        ],
    ])("fails with exit 1 when the token is set and %j", async (unset, message) => {
        const result = await run({ ...apiEnv(), ...unset });
        expect(result).toEqual({
            code: 1,
            stdout: "",
            stderr: `post-mr-note: ${message}: cannot post the merge request note\n`,
        });
        expect(gitlab.requests).toEqual([]);
    });

    it("fails on a 401 without printing the token, even when the server echoes it", async () => {
        gitlab.canned.user = { status: 401, body: `{"message":"401 Unauthorized: ${TOKEN}"}` };
        const result = await run(apiEnv());
        expect(result).toEqual({
            code: 1,
            stdout: "",
            stderr: `post-mr-note: GitLab answered 401 Unauthorized to GET ${gitlab.apiUrl}/user: 401 Unauthorized: [masked]\n`,
        });
        expect(calls()).toEqual(["GET /api/v4/user"]);
    });

    it("fails on a revoked token with GitLab's own 401", async () => {
        const result = await run({ ...apiEnv(), GITLAB_API_TOKEN: "glpat-REVOKED" });
        expect(result).toEqual({
            code: 1,
            stdout: "",
            stderr: `post-mr-note: GitLab answered 401 Unauthorized to GET ${gitlab.apiUrl}/user: 401 Unauthorized\n`,
        });
        expect(gitlab.requests.map((r) => r.token)).toEqual(["glpat-REVOKED"]);
    });

    it("fails without posting a new note when listing the notes answers 500", async () => {
        gitlab.canned.list = {
            status: 500,
            contentType: "text/html; charset=utf-8",
            body: "<html>\n  <body>\n    <h1>We're sorry, but something went wrong.</h1>\n  </body>\n</html>\n",
        };
        const result = await run(apiEnv());
        expect(result).toEqual({
            code: 1,
            stdout: "",
            stderr: `post-mr-note: GitLab answered 500 Internal Server Error to GET ${gitlab.host}${list(1)}: <html> <body> <h1>We're sorry, but something went wrong.</h1> </body> </html> ${NOT_POSTED}\n`,
        });
        expect(calls()).toEqual(["GET /api/v4/user", `GET ${list(1)}`]);
    });

    it("fails without posting when a later page of the list fails", async () => {
        chatter(150);
        gitlab.canned.list = {
            status: 503,
            body: '{"message":"503 Service Unavailable"}',
            fromPage: 2,
        };
        const result = await run(apiEnv());
        expect(result).toEqual({
            code: 1,
            stdout: "",
            stderr: `post-mr-note: GitLab answered 503 Service Unavailable to GET ${gitlab.host}${list(2)}: 503 Service Unavailable ${NOT_POSTED}\n`,
        });
        expect(calls()).toEqual(["GET /api/v4/user", `GET ${list(1)}`, `GET ${list(2)}`]);
    });

    it("never prints the start of a token that the excerpt would cut through", async () => {
        gitlab.canned.list = {
            status: 500,
            contentType: "text/plain",
            body: "x".repeat(190) + TOKEN + "y".repeat(100),
        };
        const result = await run(apiEnv());
        expect(result).toEqual({
            code: 1,
            stdout: "",
            stderr: `post-mr-note: GitLab answered 500 Internal Server Error to GET ${gitlab.host}${list(1)}: ${"x".repeat(190)}[masked]yy… ${NOT_POSTED}\n`,
        });
        expect(result.stderr).not.toContain("glpat-");
    });

    it.each([
        [
            "GET /user without a user id",
            "user" as const,
            "GitLab answered GET /user without a user id",
        ],
        [
            "a list of notes that is no list",
            "list" as const,
            `GitLab answered GET .../merge_requests/7/notes?page=1 with something other than a list ${NOT_POSTED}`,
        ],
    ])("fails on %s, without posting", async (_label, route, message) => {
        gitlab.canned[route] = { status: 200, body: '{"message":"200 OK"}' };
        const result = await run(apiEnv());
        expect(result).toEqual({ code: 1, stdout: "", stderr: `post-mr-note: ${message}\n` });
        expect(gitlab.requests.filter((r) => r.method !== "GET")).toEqual([]);
    });

    it("fails when the update is refused, without posting a duplicate", async () => {
        const previous = gitlab.addNote(`${MARKER}\n### old`, BOT);
        gitlab.canned.put = { status: 403, body: '{"message":"403 Forbidden"}' };
        const result = await run(apiEnv());
        expect(result).toEqual({
            code: 1,
            stdout: "",
            stderr: `post-mr-note: GitLab answered 403 Forbidden to PUT ${gitlab.host}${NOTES}/${previous}: 403 Forbidden\n`,
        });
        expect(calls()).toEqual(["GET /api/v4/user", `GET ${list(1)}`, `PUT ${NOTES}/${previous}`]);
    });

    it("rides out a 502 (gitbeaker retries it) and fails once it keeps coming", async () => {
        gitlab.canned.user = { status: 502, body: '{"message":"502 Bad Gateway"}', times: 2 };
        expect((await run(apiEnv())).stdout).toMatch(/^posted note 1000 /);
        expect(calls().slice(0, 3)).toEqual(Array(3).fill("GET /api/v4/user"));

        gitlab.reset();
        gitlab.canned.user = { status: 502, body: '{"message":"502 Bad Gateway"}' };
        expect(await run(apiEnv())).toEqual({
            code: 1,
            stdout: "",
            stderr: `post-mr-note: could not read the token's user at ${gitlab.host}: Could not successfully complete this request after 10 retries, last status code: 502. Verify the status of the endpoint.\n`,
        });
        expect(calls()).toEqual(Array(10).fill("GET /api/v4/user"));
    });

    it("names the refused connection when the API is unreachable", async () => {
        const closed = http.createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const port = (closed.address() as AddressInfo).port;
        await new Promise((resolve) => closed.close(resolve));
        const result = await run({ ...CI_ENV, CI_API_V4_URL: `http://127.0.0.1:${port}/api/v4` });
        expect(result).toEqual({
            code: 1,
            stdout: "",
            stderr: `post-mr-note: could not read the token's user at http://127.0.0.1:${port}: fetch failed (connect ECONNREFUSED 127.0.0.1:${port})\n`,
        });
    });

    it.each([
        ["no --title", ["--key", "k", "FILE"], "--title is required"],
        [
            "a repeated option",
            ["--title", "a", "--title", "b", "FILE"],
            "option --title is given more than once",
        ],
        [
            "an unknown option",
            ["--title", "t", "--bogus", "FILE"],
            "Unknown option '--bogus'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--bogus\"",
        ],
        ["no file", ["--title", "t"], "no file to post"],
        [
            "an empty --key",
            ["--title", "t", "--key", "", "FILE"],
            "the note key (--key, default the title) must be 1-200 characters, got 0",
        ],
        [
            "a --key over 200 characters",
            ["--title", "t", "--key", "k".repeat(201), "FILE"],
            "the note key (--key, default the title) must be 1-200 characters, got 201",
        ],
        [
            "a title over 200 characters and no --key",
            ["--title", "t".repeat(201), "FILE"],
            "the note key (--key, default the title) must be 1-200 characters, got 201",
        ],
        ["a missing input file", ["--title", "t", "NOPE"], "no such file: NOPE"],
    ])(
        "rejects %s with exit 2 and the usage, before any request",
        async (_label, argv, message) => {
            const nope = path.join(dir, "nope.txt");
            const args = argv.map((a) =>
                a === "FILE" ? (files[1] ?? "") : a === "NOPE" ? nope : a,
            );
            expect(await cli(args, apiEnv())).toEqual({
                code: 2,
                stdout: "",
                stderr: `post-mr-note: ${message.replace("NOPE", nope)}\n${USAGE}\n`,
            });
            expect(gitlab.requests).toEqual([]);
        },
    );

    it("prints the usage on --help", async () => {
        expect(await cli(["--help"], apiEnv())).toEqual({
            code: 0,
            stdout: `${USAGE}\n`,
            stderr: "",
        });
    });

    it("uses the title as the key without --key", async () => {
        const out = path.join(dir, "titled.md");
        const result = await cli(["--title", "Plan", "--out", out, files[1] ?? ""], apiEnv());
        expect(result.code).toBe(0);
        expect(fs.readFileSync(out, "utf8").split("\n")[0]).toBe("<!-- msa-preview-note: Plan -->");
    });

    it("runs as the pipeline calls it (ts-node), with the process's exit code", async () => {
        const tool = (env: NodeJS.ProcessEnv) =>
            new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
                const child = execFile(
                    path.join(ROOT, "node_modules/.bin/ts-node"),
                    [
                        "--transpile-only",
                        "tools/post-mr-note.ts",
                        "--title",
                        "t",
                        "--key",
                        "preview",
                        ...files,
                    ],
                    { cwd: ROOT, env: { PATH: process.env.PATH, ...env } },
                    (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
                );
            });
        expect(await tool(apiEnv())).toEqual({
            code: 0,
            stdout: expect.stringMatching(
                /^posted note 1000 \(\d+ characters\) on merge request !7\n$/,
            ),
            stderr: "",
        });
        gitlab.canned.list = { status: 500, body: '{"message":"500 Internal Server Error"}' };
        expect(await tool(apiEnv())).toEqual({
            code: 1,
            stdout: "",
            stderr: `post-mr-note: GitLab answered 500 Internal Server Error to GET ${gitlab.host}${list(1)}: 500 Internal Server Error ${NOT_POSTED}\n`,
        });
    }, 60000);
});
