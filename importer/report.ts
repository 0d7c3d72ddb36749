/**
 * What an import tells the operator: every setting it changed on purpose, could not map, or that
 * needs the operator's hand, each with the file and line it came from. Values of secrets never
 * reach a finding: callers pass names, and `shown` hides secret values.
 */

export type FindingKind = "action" | "changed" | "latest" | "unmapped" | "note";

export interface Origin {
    /** File name relative to the compose file's folder, e.g. `docker-compose.yml`. */
    file: string;
    line?: number;
}

export interface Finding extends Origin {
    kind: FindingKind;
    /** Where in the source: `services.database.ports[0]`, or an env name. */
    at: string;
    message: string;
}

/** Thrown for bad input: the CLI prints the message, exits non-zero and writes nothing. */
export class ImportError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ImportError";
    }
}

const HEADINGS: Record<FindingKind, string> = {
    action: "Needs your action before `pulumi up`",
    changed: "Changed on purpose",
    latest: "`latest` tags (pin a version, at least for prod)",
    unmapped: "Not mapped (no stack key for it)",
    note: "Notes",
};

export const KIND_ORDER: FindingKind[] = ["action", "changed", "latest", "unmapped", "note"];

export function where(o: Origin): string {
    return o.line === undefined ? o.file : `${o.file}:${o.line}`;
}

/** The report as text: one block per kind, in a fixed order, findings in source order. */
export function renderFindings(findings: readonly Finding[]): string[] {
    const files = [...new Set(findings.map((f) => f.file))];
    const fileRank = (file: string) => files.indexOf(file);
    const lines: string[] = [];
    for (const kind of KIND_ORDER) {
        const list = findings
            .filter((f) => f.kind === kind)
            .sort(
                (a, b) => fileRank(a.file) - fileRank(b.file) || (a.line ?? 1e9) - (b.line ?? 1e9),
            );
        if (list.length === 0) {
            continue;
        }
        lines.push(`${HEADINGS[kind]}:`);
        for (const f of list) {
            lines.push(`  ${where(f)} ${f.at}: ${f.message}`);
        }
    }
    return lines;
}
