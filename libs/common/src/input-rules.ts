/**
 * The rules every client-supplied value obeys, whatever the DTO (HTTP bodies, queries, paths and
 * socket payloads all pass through one pipe that applies them): strings are valid Unicode without
 * U+0000 (PostgreSQL cannot store it in text) and without unpaired surrogates (PostgreSQL would
 * store U+FFFD instead, so what a client was told would differ from what is stored), and
 * structures nest at most MAX_INPUT_DEPTH levels.
 */
export const MAX_INPUT_DEPTH = 32;

const BAD_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isCleanText(value: string): boolean {
  return !BAD_TEXT.test(value);
}

/** The first problem with `value` as a message naming the field, or null when it is acceptable. */
export function findInputProblem(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') {
    return isCleanText(value) ? null : `${path || 'value'} must be valid Unicode text without U+0000 or unpaired surrogates`;
  }
  if (value === null || typeof value !== 'object') return null;
  if (depth >= MAX_INPUT_DEPTH) return `${path || 'value'} is nested deeper than ${MAX_INPUT_DEPTH} levels`;
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  for (const [key, inner] of entries) {
    const at = path ? `${path}.${key}` : key;
    if (!isCleanText(key)) return `${at} is not a valid field name`;
    const problem = findInputProblem(inner, at, depth + 1);
    if (problem) return problem;
  }
  return null;
}
