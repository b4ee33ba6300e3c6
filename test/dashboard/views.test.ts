import { describe, expect, it } from 'vitest';
import { chartWindow, eventBuckets, eventsChart } from '../../src/dashboard/chart.js';
import { escapeHtml, html, raw } from '../../src/dashboard/html.js';
import { maskIp, maskName, maskPayload, maskSubscriberId } from '../../src/dashboard/personal-data.js';
import { parseUtcDatetimeLocal } from '../../src/dashboard/routes/webhooks.js';

describe('html``', () => {
  it('escapes every interpolated text, in bodies and quoted attributes', () => {
    const name = `"><script>alert('x')</script>&`;
    expect(html`<a title="${name}">${name}</a>`.value).toBe(
      '<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</a>',
    );
    expect(escapeHtml('<>&"\'')).toBe('&lt;&gt;&amp;&quot;&#39;');
  });

  it('nests html, joins arrays, and renders false, null and undefined as nothing', () => {
    const items = ['<a>', 'b'].map((t) => html`<li>${t}</li>`);
    expect(html`<ul>${items}</ul>${false}${null}${undefined}${0}`.value).toBe('<ul><li>&lt;a&gt;</li><li>b</li></ul>0');
    expect(html`${raw('<br>')}`.value).toBe('<br>');
  });
});

describe('personal data masks', () => {
  it('mask subscriber ids, names and IP addresses', () => {
    expect(maskSubscriberId('905555555555')).toBe('9055****5555');
    expect(maskSubscriberId('12345')).toBe('1****5');
    expect(maskSubscriberId('12')).toBe('****');
    expect(maskName('John Doe')).toBe('J*** D**');
    expect(maskName('Ayşe  Çelik')).toBe('A***  Ç****');
    expect(maskIp('203.0.113.7')).toBe('203.0.113.*');
    expect(maskIp('2001:db8:85a3::8a2e:370:7334')).toBe('2001:db8:85a3:*');
    expect(maskIp('::ffff:198.51.100.9')).toBe('::ffff:198.51.100.*');
  });

  it('leave the other payload fields alone', () => {
    const masked = maskPayload({ subscriberId: '905555555555', subscriberName: null, clientIp: '203.0.113.7', country: 'TR', appId: 1 });
    expect(masked).toEqual({ subscriberId: '9055****5555', subscriberName: null, clientIp: '203.0.113.*', country: 'TR', appId: 1 });
  });
});

describe('the deliveries chart', () => {
  const now = Date.UTC(2024, 4, 1, 12, 30);

  it('asks for 24 hourly or 7 daily buckets aligned like the store groups them', () => {
    expect(chartWindow('24h', now)).toEqual({ range: '24h', bucketMs: 3_600_000, since: Date.UTC(2024, 3, 30, 13), count: 24 });
    expect(chartWindow('7d', now)).toEqual({ range: '7d', bucketMs: 86_400_000, since: Date.UTC(2024, 3, 25), count: 7 });
  });

  it('draws stacked bars of events (not attempts) with a title, a description and a table of the same numbers', () => {
    const w = chartWindow('24h', now);
    const hour = { start: Date.UTC(2024, 4, 1, 12), delivered: 3, failed: 2, pending: 1, skipped: 0, p50Ms: 20, p95Ms: 42 };
    const svg = eventsChart([hour, { start: w.since, delivered: 0, failed: 1, pending: 0, skipped: 4, p50Ms: null, p95Ms: null }], w).value;
    expect(svg).toContain('role="img"');
    expect(svg).toContain('<title id="chart-title">Events by outcome, the last 24 hours, by hour</title>');
    expect(svg).toContain('3 delivered, 3 failed, 1 pending and 4 skipped events created in the last 24 hours');
    expect(svg.match(/class="bar-ok"/g)).toHaveLength(1);
    expect(svg.match(/class="bar-fail"/g)).toHaveLength(2);
    expect(svg.match(/class="bar-pending"/g)).toHaveLength(1);
    expect(svg.match(/class="bar-skipped"/g)).toHaveLength(1);
    expect(svg).toContain(
      '<tr><td>2024-05-01 12:00–13:00 UTC</td><td class="num">3</td><td class="num">2</td><td class="num">1</td><td class="num">0</td><td class="num">20 ms</td><td class="num">42 ms</td></tr>',
    );
    expect(svg.match(/<tr><td>/g)).toHaveLength(24);
    expect(eventsChart([], w).value).toContain('No events in this period');
  });

  it('takes the store’s buckets as they are, latency included', () => {
    const w = chartWindow('7d', now);
    const none = { pending: 0, delivered: 0, failed: 0, skipped: 0 };
    expect(eventBuckets([{ start: w.since, events: { ...none, delivered: 3 }, latencyMs: { p50: 10, p95: 90 } }, { start: w.since + w.bucketMs, events: none, latencyMs: null }])).toEqual([
      { start: w.since, pending: 0, delivered: 3, failed: 0, skipped: 0, p50Ms: 10, p95Ms: 90 },
      { start: w.since + w.bucketMs, pending: 0, delivered: 0, failed: 0, skipped: 0, p50Ms: null, p95Ms: null },
    ]);
  });

  it('draws the p95 latency over the bars on an axis of its own, broken where a bucket has none, and says so in the description', () => {
    const w = chartWindow('24h', now);
    const at = (i: number, p95Ms: number | null) => ({ start: w.since + i * w.bucketMs, delivered: 1, failed: 0, pending: 0, skipped: 0, p50Ms: p95Ms, p95Ms });
    const svg = eventsChart([at(0, 120), at(1, 480), at(3, 60), at(23, 3_000)], w).value;
    // Two joined buckets make a segment; lone ones are dots.
    expect(svg.match(/<polyline class="latency-line"/g)).toHaveLength(1);
    expect(svg.match(/<circle class="latency-dot"/g)).toHaveLength(4);
    expect(svg).toContain('p95 s</text>');
    expect(svg).toContain('The line is the p95 latency of successful attempts, from 60 ms to 3.00 s (right axis).');
    expect(svg).toContain('p95 latency of successful attempts (line, right axis)');
    const without = eventsChart([at(0, null)], w).value;
    expect(without).not.toContain('latency-line');
    expect(without).not.toContain('latency-dot');
    expect(without).toContain('No successful attempts, so no latency line.');
  });
});

describe('the "failed since" input', () => {
  it('reads a datetime-local value as UTC and refuses impossible dates', () => {
    expect(parseUtcDatetimeLocal('2024-05-01T12:00')).toBe(Date.UTC(2024, 4, 1, 12));
    expect(parseUtcDatetimeLocal('2024-05-01T12:00:30')).toBe(Date.UTC(2024, 4, 1, 12, 0, 30));
    expect(parseUtcDatetimeLocal('2024-02-31T12:00')).toBeNull();
    expect(parseUtcDatetimeLocal('2024-05-01T24:00')).toBeNull();
    expect(parseUtcDatetimeLocal('2024-05-01 12:00')).toBeNull();
    expect(parseUtcDatetimeLocal('yesterday')).toBeNull();
  });
});
