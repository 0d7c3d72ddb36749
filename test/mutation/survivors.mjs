// `node test/mutation/survivors.mjs <part> [file-substring]`: the mutants that survived (or had no
// coverage) so far in a running or finished `npm run test:mutation` of <part>, read from its
// event log (reports/mutation/<part>/events/), one line each: file:line:column, mutator,
// replacement.
import fs from "fs";
import path from "path";

const [part, filter = ""] = process.argv.slice(2);
if (part === undefined) {
    console.error("usage: node test/mutation/survivors.mjs <part> [file-substring]");
    process.exit(2);
}
const dir = path.join("reports", "mutation", part, "events");
const counts = {};
for (const name of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith("-onMutantTested.json"))
    .sort()) {
    const m = JSON.parse(fs.readFileSync(path.join(dir, name), "utf8"));
    counts[m.status] = (counts[m.status] ?? 0) + 1;
    if ((m.status === "Survived" || m.status === "NoCoverage") && m.fileName.includes(filter)) {
        const { line, column } = m.location.start;
        const replacement = (m.replacement ?? "").replace(/\s+/g, " ").slice(0, 160);
        console.log(
            `${path.relative(process.cwd(), m.fileName)}:${line}:${column + 1} ${m.status} ${m.mutatorName}: ${replacement}`,
        );
    }
}
console.log(JSON.stringify(counts));
