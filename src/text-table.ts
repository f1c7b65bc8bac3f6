/**
 * The plain-text tables of `tenant list`, `status` and `audit`: columns left-aligned, two spaces
 * apart, the last column unpadded (it may be long: details, tenant lists), no trailing spaces.
 */
export function formatRows(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/** A header and its rows as one table, newline-terminated. */
export function formatTable(header: readonly string[], cells: readonly (readonly string[])[]): string {
  return formatRows([header, ...cells]).join("\n") + "\n";
}
