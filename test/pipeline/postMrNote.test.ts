/**
 * tools/post-mr-note.ts: the request for GitLab's notes API, the skip without a token, the
 * truncation within the note limit, and one real POST to a local HTTP server.
 */
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import {
    main,
    NOTE_LIMIT,
    NoteConfigError,
    planNoteRequest,
    renderNote,
    shareBudget,
    truncateMiddle,
    truncationMarker,
} from "../../tools/post-mr-note";

const TOKEN = "glpat-TESTTOKEN0123456789";
const CI_ENV = {
    CI_API_V4_URL: "https://gitlab.example.com/api/v4",
    CI_PROJECT_ID: "42",
    CI_MERGE_REQUEST_IID: "7",
    GITLAB_API_TOKEN: TOKEN,
};

describe("planNoteRequest", () => {
    it("builds POST /projects/:id/merge_requests/:iid/notes with PRIVATE-TOKEN and a JSON body", () => {
        expect(planNoteRequest(CI_ENV, "hello `world`")).toEqual({
            kind: "post",
            request: {
                url: "https://gitlab.example.com/api/v4/projects/42/merge_requests/7/notes",
                method: "POST",
                headers: { "PRIVATE-TOKEN": TOKEN, "Content-Type": "application/json" },
                body: '{"body":"hello `world`"}',
            },
        });
    });

    it("encodes a project path used as the id and drops a trailing slash of the API URL", () => {
        const plan = planNoteRequest(
            { ...CI_ENV, CI_PROJECT_ID: "my-group/msa", CI_API_V4_URL: "http://gl.local/api/v4/" },
            "x",
        );
        expect(plan.kind === "post" && plan.request.url).toBe(
            "http://gl.local/api/v4/projects/my-group%2Fmsa/merge_requests/7/notes",
        );
    });

    it.each([[{ ...CI_ENV, GITLAB_API_TOKEN: undefined }], [{ ...CI_ENV, GITLAB_API_TOKEN: "" }]])(
        "skips without a token (%#)",
        (env) => {
            expect(planNoteRequest(env, "x")).toEqual({
                kind: "skip",
                message:
                    "GITLAB_API_TOKEN is not set: merge request note not posted (the output is in the job artifacts)",
            });
        },
    );

    it("skips outside a merge request pipeline", () => {
        expect(planNoteRequest({ ...CI_ENV, CI_MERGE_REQUEST_IID: undefined }, "x")).toEqual({
            kind: "skip",
            message:
                "CI_MERGE_REQUEST_IID is not set (not a merge request pipeline): merge request note not posted",
        });
    });

    it("names the missing CI variables when the token is set", () => {
        expect(() => planNoteRequest({ ...CI_ENV, CI_PROJECT_ID: "" }, "x")).toThrow(
            new NoteConfigError("CI_PROJECT_ID is not set: cannot post the merge request note"),
        );
        expect(() =>
            planNoteRequest({ ...CI_ENV, CI_PROJECT_ID: "", CI_API_V4_URL: undefined }, "x"),
        ).toThrow(
            "CI_API_V4_URL and CI_PROJECT_ID are not set: cannot post the merge request note",
        );
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

describe("main", () => {
    let dir: string;
    let server: http.Server;
    let received: { method?: string; url?: string; token?: string; body: string }[];
    let answer: { status: number; body: string };

    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "mr-note-"));
        fs.writeFileSync(path.join(dir, "dev.preview.txt"), "+ msa:database:PostgresDatabase\n");
        fs.writeFileSync(path.join(dir, "dev.plan.txt"), "Stack dev: 6 resources\n");
        server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (chunk: Buffer) => (body += chunk.toString()));
            req.on("end", () => {
                received.push({
                    method: req.method,
                    url: req.url,
                    token: req.headers["private-token"] as string | undefined,
                    body,
                });
                res.writeHead(answer.status, { "Content-Type": "application/json" });
                res.end(answer.body);
            });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    });

    afterAll(async () => {
        await new Promise((resolve) => server.close(resolve));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    beforeEach(() => {
        received = [];
        answer = { status: 201, body: '{"id":314,"body":"..."}' };
    });

    const run = async (env: NodeJS.ProcessEnv, extra: string[] = []) => {
        const lines: string[] = [];
        const errors: string[] = [];
        const code = await main(
            [
                "--title",
                "Pulumi preview for abc123",
                ...extra,
                path.join(dir, "dev.preview.txt"),
                path.join(dir, "dev.plan.txt"),
            ],
            env,
            { log: (l) => lines.push(l), error: (l) => errors.push(l) },
        );
        return { code, lines, errors };
    };
    const apiEnv = () => ({
        ...CI_ENV,
        CI_API_V4_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v4`,
    });

    it("posts the rendered note and writes it to --out", async () => {
        const out = path.join(dir, "note.md");
        const result = await run(apiEnv(), ["--out", out]);
        const note = fs.readFileSync(out, "utf8");
        expect(result).toEqual({
            code: 0,
            lines: [`posted note 314 (${note.length} characters) on merge request !7`],
            errors: [],
        });
        expect(received).toEqual([
            {
                method: "POST",
                url: "/api/v4/projects/42/merge_requests/7/notes",
                token: TOKEN,
                body: JSON.stringify({ body: note }),
            },
        ]);
        expect(note).toContain("<details><summary>dev.preview.txt</summary>");
        expect(note).toContain("Stack dev: 6 resources");
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
        expect(received).toEqual([]);
        expect(fs.readFileSync(out, "utf8")).toContain("Stack dev: 6 resources");
    });

    it("fails on an API error without printing the token, even when the server echoes it", async () => {
        answer = { status: 401, body: `{"message":"401 Unauthorized: ${TOKEN}"}` };
        const result = await run(apiEnv());
        const port = (server.address() as AddressInfo).port;
        expect(result).toEqual({
            code: 1,
            lines: [],
            errors: [
                `GitLab answered 401 Unauthorized to POST http://127.0.0.1:${port}/api/v4/projects/42/merge_requests/7/notes: {"message":"401 Unauthorized: [masked]"}`,
            ],
        });
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
                `could not reach http://127.0.0.1:${port}/api/v4/projects/42/merge_requests/7/notes: fetch failed (connect ECONNREFUSED 127.0.0.1:${port})`,
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
            errors: ["usage: post-mr-note --title <text> [--out <file>] <file>..."],
        });
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
