/** RFC 3339 in UTC without fractional seconds, e.g. `2026-03-01T12:00:00Z`: trailers, annotations, PR bodies. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}
