/** Durations as settings and request bodies write them: `250ms`, `30s`, `10m`, `1h`, `30d`. */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `250ms`, `30s`, `5m`, `1h`, `30d` (a bare number is milliseconds) into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']!;
  return Number.isFinite(value) ? Math.round(value) : undefined;
}
