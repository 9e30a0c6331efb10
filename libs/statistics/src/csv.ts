/** RFC 4180 CSV: a header row, then one line per record; fields with a comma, quote or newline are quoted. */
export function toCsv(columns: string[], rows: Record<string, unknown>[]): string {
  const field = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => field(r[c])).join(','))].join('\r\n') + '\r\n';
}
