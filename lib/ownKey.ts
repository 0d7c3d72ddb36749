/**
 * Lookups in maps keyed by names an operator chose. Service keys, env names and compose service
 * names may be `toString`, `constructor` or `hasOwnProperty`: `record[name]` and `name in record`
 * would then find `Object.prototype`'s member, not the operator's entry. Plain module.
 */

/** `record[key]` when the record has `key` itself; `undefined` otherwise. */
export function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
    return Object.hasOwn(record, key) ? record[key] : undefined;
}
