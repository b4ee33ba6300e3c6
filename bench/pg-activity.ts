/**
 * What reghook's PostgreSQL sessions are doing, sampled: every few milliseconds a separate
 * connection reads pg_stat_activity for the active sessions named `reghook` (application_name,
 * src/store/postgres/connection.ts) and counts each one's state. A share of the samples per state
 * tells whether the database work of a run is running (on CPU, or waiting for it: the view cannot
 * tell these apart), waiting on locks (and which), or waiting for its commit's WAL flush.
 */
import pg from 'pg';

export interface ActivityShares {
  /** Active session samples taken. */
  samples: number;
  /** Sampling passes (each reads every active session once). */
  passes: number;
  /** Share of the samples per state, largest first: `running`, `Lock:advisory`, `IO:WALSync`… */
  shares: [state: string, share: number][];
}

const ACTIVE = `
SELECT coalesce(wait_event_type || ':' || wait_event, 'running') AS state
FROM pg_stat_activity
WHERE application_name = 'reghook' AND state = 'active' AND pid <> pg_backend_pid()`;

/** Starts sampling; the function it answers stops and gives the shares (null if nothing was sampled). */
export async function sampleActivity(url: string, everyMs = 10): Promise<() => Promise<ActivityShares | null>> {
  const client = new pg.Client({ connectionString: url, application_name: 'reghook-bench-sampler' });
  client.on('error', () => {});
  await client.connect();
  const counts = new Map<string, number>();
  let passes = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const { rows } = await client.query<{ state: string }>(ACTIVE);
        passes++;
        for (const { state } of rows) counts.set(state, (counts.get(state) ?? 0) + 1);
      } catch {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    await client.end().catch(() => {});
    const samples = [...counts.values()].reduce((a, b) => a + b, 0);
    if (samples === 0) return null;
    const shares = [...counts.entries()].map(([state, n]) => [state, n / samples] as [string, number]).sort((a, b) => b[1] - a[1]);
    return { samples, passes, shares };
  };
}

/** `running 31 %, Lock:advisory 40 %, IO:WALSync 12 %, …` (states under 2 % folded into "other"). */
export function sharesText(a: ActivityShares): string {
  const shown = a.shares.filter(([, s]) => s >= 0.02);
  const other = a.shares.filter(([, s]) => s < 0.02).reduce((sum, [, s]) => sum + s, 0);
  const pct = (s: number) => `${Math.round(s * 100)} %`;
  return [...shown.map(([state, s]) => `${state} ${pct(s)}`), ...(other > 0 ? [`other ${pct(other)}`] : [])].join(', ');
}

/** The share of the samples spent waiting on heavyweight locks (row, transaction, advisory, tuple). */
export function lockShare(a: ActivityShares): number {
  return a.shares.filter(([state]) => state.startsWith('Lock:')).reduce((sum, [, s]) => sum + s, 0);
}
