/** Durations as Docker writes them (`1m30s`, `500ms`): one parser for config, components and tools. */

export const DURATION_PATTERN = /^([0-9]{1,6}(ms|s|m|h))+$/;

/** `1m30s` → 90; `500ms` → 0.5. Callers validate the format first (`DURATION_PATTERN`). */
export function durationSeconds(text: string): number {
    const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
    let total = 0;
    for (const [, amount, unit] of text.matchAll(/([0-9]+)(ms|s|m|h)/g)) {
        total += Number(amount) * (units[unit ?? "s"] ?? 1);
    }
    return total;
}
