/**
 * Latency percentiles from a histogram (the stats' `latencyMs`): the stores keep counts of
 * successful attempts per hour and per latency bucket, so a 30-day window adds up at most 720
 * hours of buckets instead of sorting every attempt's duration.
 *
 * Buckets are log-linear over whole milliseconds: 0-15 ms exactly, then each power of two split in
 * 8 equal parts (a bucket spans at most 12.5 % of its values), up to 2^24 ms (4.7 h) where the
 * last bucket takes everything longer. A percentile is nearest-rank (the smallest duration that at
 * least p of the durations do not exceed), reported as the upper bound of its bucket: exact below
 * 16 ms, at most 12.5 % high above. The SQL form of `latencyBucket` (migration 0005, filling the
 * buckets from the attempts recorded before it) must stay equal to this one.
 */

const EXACT = 16;
const SUB_BITS = 3; // 8 buckets per power of two
const MAX_EXPONENT = 24;

/** How many buckets there are: 0 … LATENCY_BUCKETS - 1. */
export const LATENCY_BUCKETS = EXACT + (MAX_EXPONENT - 4) * (1 << SUB_BITS);

/** The bucket of a duration in milliseconds (rounded to a whole one; negative counts as 0). */
export function latencyBucket(durationMs: number): number {
  const d = Math.min(Math.max(0, Math.round(durationMs)), 2 ** MAX_EXPONENT - 1);
  if (d < EXACT) return d;
  const k = 31 - Math.clz32(d); // the highest bit set: 2^k <= d < 2^(k+1)
  return EXACT + (k - 4) * (1 << SUB_BITS) + ((d >> (k - SUB_BITS)) - (1 << SUB_BITS));
}

/** The largest duration (ms) in a bucket. */
export function bucketUpperBound(bucket: number): number {
  if (bucket < EXACT) return bucket;
  const k = 4 + Math.floor((bucket - EXACT) / (1 << SUB_BITS));
  const sub = (bucket - EXACT) % (1 << SUB_BITS);
  return 2 ** k + (sub + 1) * 2 ** (k - SUB_BITS) - 1;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** Nearest-rank percentiles of a histogram (bucket -> count); null when it counts nothing. */
export function percentilesOf(counts: ReadonlyMap<number, number>): Percentiles | null {
  const buckets = [...counts].filter(([, n]) => n > 0).sort(([a], [b]) => a - b);
  const total = buckets.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return null;
  // p in whole percent: integer arithmetic, so 95 % of 100 is rank 95, not 96 (0.95 * 100 > 95 in floating point).
  const at = (percent: number) => {
    const rank = Math.max(1, Math.ceil((percent * total) / 100));
    let seen = 0;
    for (const [bucket, n] of buckets) {
      seen += n;
      if (seen >= rank) return bucketUpperBound(bucket);
    }
    return bucketUpperBound(buckets.at(-1)![0]);
  };
  return { p50: at(50), p95: at(95), p99: at(99) };
}
