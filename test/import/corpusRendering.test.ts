/**
 * The corpus's committed renderings are what docker-compose 1.29 prints today: when it is on the
 * PATH, every setup is rendered again and compared, as data, with its `compose-config.yml` (the
 * committed text is Prettier's formatting of compose's; regenerate with
 * `npx ts-node --transpile-only test/import/corpus/render.ts`). A setup rendered by hand must
 * still be one 1.29 refuses, or its rendering should come from compose.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    caseNames,
    caseSpec,
    CORPUS,
    hasDockerCompose,
    RENDERING,
    renderAsync,
    renderingData,
} from "./corpus/render";

const live = hasDockerCompose();
const CASES = caseNames();

(live ? describe : describe.skip)(
    live
        ? "docker-compose config renders each corpus setup as committed"
        : "SKIPPED: docker-compose is not on the PATH, so the committed renderings are not re-checked",
    () => {
        let rendered: Map<string, Awaited<ReturnType<typeof renderAsync>>>;
        beforeAll(async () => {
            // A few at a time: each docker-compose is a Python start-up, and many at once only
            // compete for the same cores.
            rendered = new Map();
            const queue = [...CASES];
            const worker = async () => {
                for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
                    rendered.set(name, await renderAsync(name));
                }
            };
            await Promise.all(Array.from({ length: Math.min(2, os.cpus().length) }, worker));
        }, 120000);

        test.each(CASES)("%s", (name) => {
            const r = rendered.get(name);
            if (caseSpec(name).rendering === "hand") {
                expect(r?.ok).toBe(false);
                return;
            }
            expect(r?.ok ? renderingData(r.text) : r?.error).toEqual(
                renderingData(fs.readFileSync(path.join(CORPUS, name, RENDERING), "utf8")),
            );
        });
    },
);
