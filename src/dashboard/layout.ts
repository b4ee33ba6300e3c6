/**
 * The page shell every dashboard view renders into, and the security headers every dashboard
 * response carries. Inline CSS and JS run under a per-response CSP nonce; nothing else may run.
 * Framing: no one may frame the dashboard (`frame-ancestors 'none'`, `X-Frame-Options: DENY`)
 * unless REGHOOK_DASHBOARD_FRAME_ANCESTORS lists origins; then exactly those may (CSP only:
 * X-Frame-Options cannot name an origin, and DENY would win over the CSP in older browsers).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { Tone } from './flash.js';
import { html, raw, type HtmlValue, type SafeHtml } from './html.js';
import { isReadOnly, type Session } from './session.js';

/** Who may frame the dashboard: the origins of REGHOOK_DASHBOARD_FRAME_ANCESTORS (validated at start), or no one. */
const frameAncestors = (origins: readonly string[]) => `frame-ancestors ${origins.length === 0 ? "'none'" : origins.join(' ')}`;

/** Headers of every dashboard response, pages and redirects alike. */
export function securityHeaders(embeddableBy: readonly string[]): Record<string, string> {
  return {
    'cache-control': 'no-store',
    ...(embeddableBy.length === 0 ? { 'x-frame-options': 'DENY' } : {}),
    'referrer-policy': 'same-origin',
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
    'content-security-policy': `default-src 'none'; ${frameAncestors(embeddableBy)}; base-uri 'none'; form-action 'self'`,
  };
}

const cspFor = (nonce: string, embeddableBy: readonly string[]) =>
  `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src 'self' data:; connect-src 'self'; ` +
  `form-action 'self'; ${frameAncestors(embeddableBy)}; base-uri 'none'`;

export interface Notice {
  tone: Tone;
  text: HtmlValue;
}

export interface Shell {
  title: string;
  session: Session | null;
  /** Where the person is, outermost first (the last one is the current page). */
  crumbs?: { label: string; href?: string }[];
  notices?: Notice[];
  main: SafeHtml;
}

/** Answers a page (DashboardContext.sendPage passes the deployment's framing origins). */
export function sendPage(reply: FastifyReply, shell: Shell, status: number, embeddableBy: readonly string[]): FastifyReply {
  const nonce = randomBytes(16).toString('base64');
  return reply
    .code(status)
    .header('content-security-policy', cspFor(nonce, embeddableBy))
    .type('text/html; charset=utf-8')
    .send(renderShell(shell, nonce).value);
}

const TONE_LABEL: Record<Tone, string> = { success: 'Success', error: 'Error', info: 'Note' };

function renderShell(shell: Shell, nonce: string): SafeHtml {
  const { session } = shell;
  const who =
    session === null
      ? null
      : session.kind === 'admin'
        ? 'Signed in as the platform admin'
        : session.kind === 'project'
          ? `Signed in with a key of project ${session.appId}`
          : `Project ${session.appId}, opened from the platform${session.readOnly ? ' · read-only' : ''}`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>${shell.title} · reghook</title>
<style nonce="${nonce}">${raw(CSS)}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<div class="brand"><span class="logo" aria-hidden="true">⟲</span> reghook</div>
${
  session !== null &&
  html`<div class="who"><span>${who}</span>${
    // A read-only session gets no form at all (it has nothing to sign out of but the tab).
    !isReadOnly(session) &&
    html`
<form method="post" action="/sign-out" class="inline"><input type="hidden" name="_csrf" value="${session.csrf}"><button type="submit" class="link">Sign out</button></form>`
  }</div>`
}
</header>
${
  shell.crumbs &&
  html`<nav class="crumbs" aria-label="Breadcrumb"><ol>${shell.crumbs.map((c, i, all) =>
    c.href !== undefined && i < all.length - 1 ? html`<li><a href="${c.href}">${c.label}</a></li>` : html`<li aria-current="page">${c.label}</li>`,
  )}</ol></nav>`
}
<main id="main" tabindex="-1">
${
  shell.notices !== undefined &&
  shell.notices.length > 0 &&
  html`<div class="notices">${shell.notices.map(
    (n) => html`<div class="notice notice-${n.tone}" role="${n.tone === 'error' ? 'alert' : 'status'}"><strong>${TONE_LABEL[n.tone]}:</strong> ${n.text}</div>`,
  )}</div>`
}
${shell.main}
</main>
<footer class="foot">reghook · <a href="/docs">API reference</a></footer>
<script nonce="${nonce}">${raw(SCRIPT)}</script>
</body>
</html>`;
}

/** Progressive enhancement only: every form works without it. */
const SCRIPT = `
(function () {
  document.querySelectorAll('[data-copy]').forEach(function (button) {
    var target = document.getElementById(button.getAttribute('data-copy'));
    if (!target || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        button.textContent = 'Copied';
        button.setAttribute('data-copied', 'true');
        setTimeout(function () { button.textContent = 'Copy'; button.removeAttribute('data-copied'); }, 2000);
      }, function () {
        button.textContent = 'Copy failed: select the text';
      });
    });
  });
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
    });
  });
  // Times are UTC in the HTML; on request, the browser's zone (the choice is kept in localStorage).
  var TZ_KEY = 'reghook-time-zone';
  function readZone() { try { return window.localStorage.getItem(TZ_KEY); } catch (e) { return null; } }
  function writeZone(v) { try { window.localStorage.setItem(TZ_KEY, v); } catch (e) { /* private mode: this page only */ } }
  var zone = readZone() === 'local' ? 'local' : 'utc';
  function localText(iso) {
    return new Date(iso).toLocaleString(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZoneName: 'short' });
  }
  function applyZone(root) {
    var local = zone === 'local';
    root.querySelectorAll('time[datetime]').forEach(function (t) {
      if (!t.hasAttribute('data-utc')) t.setAttribute('data-utc', t.textContent);
      t.textContent = local ? localText(t.getAttribute('datetime')) : t.getAttribute('data-utc');
      if (local) t.title = t.getAttribute('data-utc'); else t.removeAttribute('title');
    });
    document.querySelectorAll('[data-tz-toggle]').forEach(function (b) {
      b.hidden = false;
      b.textContent = local ? 'Show UTC' : 'Show local time';
      b.setAttribute('aria-pressed', local ? 'true' : 'false');
    });
    document.querySelectorAll('[data-tz-label]').forEach(function (l) {
      l.textContent = local ? 'Times are in your browser\u2019s zone (' + Intl.DateTimeFormat().resolvedOptions().timeZone + ').' : 'Times are UTC.';
    });
  }
  document.querySelectorAll('[data-tz-toggle]').forEach(function (b) {
    b.addEventListener('click', function () {
      zone = zone === 'local' ? 'utc' : 'local';
      writeZone(zone);
      applyZone(document);
    });
  });
  applyZone(document);
  // Live regions: while something in one is pending (a log row, an event, an attempt in flight)
  // and the tab is visible, fetch this page again and swap every [data-live] region for the fresh
  // one of the same name (the Refresh link does the same without JavaScript).
  if (document.querySelector('[data-live]') && window.fetch && window.DOMParser) {
    var busy = false;
    setInterval(function () {
      if (busy || document.visibilityState !== 'visible' || !document.querySelector('[data-live] [data-status="pending"]')) return;
      busy = true;
      fetch(window.location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } }).then(function (r) {
        if (!r.ok || r.redirected) throw new Error('HTTP ' + r.status);
        return r.text();
      }).then(function (text) {
        var doc = new DOMParser().parseFromString(text, 'text/html');
        document.querySelectorAll('[data-live]').forEach(function (region) {
          var fresh = doc.querySelector('[data-live="' + region.getAttribute('data-live') + '"]');
          if (fresh) { region.innerHTML = fresh.innerHTML; applyZone(region); }
        });
      }).catch(function () { /* the next tick tries again */ }).then(function () { busy = false; });
    }, 2000);
  }
  document.querySelectorAll('form[data-busy]').forEach(function (form) {
    form.addEventListener('submit', function () {
      var button = form.querySelector('button[type=submit]');
      if (!button) return;
      setTimeout(function () { button.disabled = true; button.textContent = form.getAttribute('data-busy'); }, 0);
    });
  });
})();
`;

const CSS = `
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#fff; --soft:#f6f8fa; --accent:#0969da;
  --ok:#1a7f37; --ok-bg:#dafbe1; --bad:#cf222e; --bad-bg:#ffebe9; --warn:#9a6700; --warn-bg:#fff8c5; --off:#59636e; --off-bg:#eff2f5; }
* { box-sizing: border-box; }
[hidden] { display:none !important; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline:3px solid var(--accent); outline-offset:2px; }
.skip { position:absolute; left:-999px; top:0; background:#fff; padding:.5rem; }
.skip:focus { left:.5rem; z-index:10; }
.top { display:flex; flex-wrap:wrap; gap:.5rem 1rem; align-items:center; justify-content:space-between; padding:.75rem 1.25rem; border-bottom:1px solid var(--line); background:var(--soft); }
.brand { font-weight:700; font-size:1.1rem; }
.logo { color:var(--accent); }
.who { display:flex; flex-wrap:wrap; gap:.75rem; align-items:center; color:var(--muted); font-size:.9rem; }
.crumbs ol { list-style:none; display:flex; flex-wrap:wrap; gap:.25rem; margin:0; padding:.75rem 1.25rem 0; font-size:.9rem; color:var(--muted); }
.crumbs li + li::before { content:"→"; margin-right:.25rem; }
main { max-width:1040px; margin:0 auto; padding:1rem 1.25rem 2rem; }
main:focus { outline:none; }
h1 { font-size:1.5rem; margin:.5rem 0 1rem; }
h2 { font-size:1.15rem; margin:0 0 .75rem; }
section.card { border:1px solid var(--line); border-radius:8px; padding:1rem 1.25rem; margin:0 0 1.25rem; }
.muted { color:var(--muted); font-size:.9rem; }
label { display:block; font-weight:600; margin:0 0 .25rem; }
label.check { display:flex; gap:.5rem; align-items:center; font-weight:400; }
input[type=text], input[type=search], input[type=url], input[type=password], input[type=datetime-local], select, textarea {
  font:inherit; padding:.45rem .6rem; border:1px solid var(--line); border-radius:6px; width:100%; max-width:100%; background:#fff; color:inherit; }
input[aria-invalid=true] { border-color:var(--bad); }
.field { margin:0 0 .85rem; }
.field-error { color:var(--bad); font-size:.9rem; margin:.25rem 0 0; }
.row { display:flex; flex-wrap:wrap; gap:.5rem; align-items:flex-end; }
.row > .grow { flex:1 1 16rem; }
button, .button { font:inherit; display:inline-block; padding:.45rem .9rem; border-radius:6px; border:1px solid var(--line); background:var(--soft); color:var(--fg); cursor:pointer; text-decoration:none; }
button.primary { background:var(--ok); border-color:var(--ok); color:#fff; }
button.danger { color:var(--bad); }
button.link { border:0; background:none; padding:0; color:var(--accent); text-decoration:underline; }
button:disabled { opacity:.6; cursor:progress; }
form.inline { display:inline; }
.actions { display:flex; flex-wrap:wrap; gap:.5rem; align-items:center; }
.notice { padding:.6rem .9rem; border-radius:6px; margin:0 0 .75rem; border:1px solid; }
.notice-success { background:var(--ok-bg); border-color:var(--ok); }
.notice-error { background:var(--bad-bg); border-color:var(--bad); }
.notice-info { background:#ddf4ff; border-color:var(--accent); }
.badge { display:inline-block; padding:.05rem .5rem; border-radius:999px; font-size:.8rem; font-weight:600; border:1px solid; white-space:nowrap; }
.badge-delivered, .badge-succeeded { color:var(--ok); background:var(--ok-bg); }
.badge-failed { color:var(--bad); background:var(--bad-bg); }
.badge-pending, .badge-in-flight { color:var(--warn); background:var(--warn-bg); }
.badge-skipped, .badge-interrupted, .badge-disabled { color:var(--off); background:var(--off-bg); }
.badge-enabled { color:var(--ok); background:var(--ok-bg); }
code, pre { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:.85rem; }
pre { background:var(--soft); border:1px solid var(--line); border-radius:6px; padding:.75rem; overflow:auto; max-height:24rem; white-space:pre-wrap; word-break:break-word; }
.secret { display:flex; flex-wrap:wrap; gap:.5rem; align-items:center; }
.secret code { background:var(--soft); border:1px solid var(--line); border-radius:6px; padding:.35rem .5rem; word-break:break-all; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:.45rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:.85rem; color:var(--muted); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.table-wrap { overflow-x:auto; }
.pager { display:flex; gap:1rem; margin-top:.75rem; }
form.search { display:flex; flex-wrap:wrap; gap:0 .75rem; align-items:flex-end; margin:0 0 .5rem; }
form.search .field { flex:1 1 12rem; margin-bottom:.5rem; }
form.search .field:last-child { flex:0 0 auto; }
.health-banner { font-size:1.05rem; }
.summary { margin:0 0 .5rem; }
.tabs { display:flex; flex-wrap:wrap; gap:.25rem .75rem; margin:0 0 .5rem; }
.tabs a[aria-current=true], .tabs a[aria-current=page] { font-weight:700; color:var(--fg); text-decoration:none; }
.project-nav { margin:-.5rem 0 1rem; padding-bottom:.5rem; border-bottom:1px solid var(--line); }
.copyable { user-select:all; }
.spaced { margin-top:.75rem; }
h1 button { font-size:.9rem; font-weight:400; }
table.audit td:first-child { white-space:nowrap; }
details.confirm summary { cursor:pointer; color:var(--accent); }
details.confirm[open] { max-width:22rem; }
details.confirm form { margin-top:.5rem; }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:.3rem 1rem; margin:0; }
dl.facts dt { color:var(--muted); }
dl.facts dd { margin:0; word-break:break-word; }
.chart svg { width:100%; height:auto; display:block; }
.chart .bar-ok { fill:var(--ok); }
.chart .bar-fail { fill:url(#hatch); }
.chart .hatch-bg { fill:var(--bad); }
.chart .hatch-line { stroke:#fff; stroke-width:2; stroke-opacity:.55; }
.chart .grid { stroke:var(--line); stroke-width:1; }
.chart .axis-line { stroke:var(--muted); stroke-width:1; }
.chart .axis, .chart .empty { fill:var(--muted); font-size:12px; }
.chart figcaption { display:flex; flex-wrap:wrap; gap:.5rem 1rem; align-items:center; margin:.5rem 0; font-size:.9rem; }
.chart figure, figure.chart { margin:0; }
.legend { display:inline-flex; gap:.35rem; align-items:center; }
.swatch { display:inline-block; width:.9rem; height:.9rem; border-radius:2px; }
.swatch-ok { background:var(--ok); }
.swatch-fail { background:repeating-linear-gradient(45deg,var(--bad) 0 3px,#f3a6ab 3px 5px); }
table.attempts-table td.explain { min-width:16rem; }
table.attempts-table .fix { display:block; margin-top:.2rem; }
table.attempts-table details.body summary { cursor:pointer; color:var(--accent); font-size:.9rem; margin-top:.25rem; }
table.attempts-table details.body pre { margin:.35rem 0 0; max-height:16rem; }
code.url { word-break:break-all; }
.tz { margin:0 0 .5rem; }
fieldset.statuses { border:0; padding:0; margin:0 0 .85rem; display:flex; flex-wrap:wrap; gap:.25rem 1rem; }
fieldset.statuses legend { font-weight:600; padding:0; margin-bottom:.25rem; width:100%; }
.chart .bar-delivered { fill:var(--ok); }
.chart .bar-pending { fill:#d4a72c; }
.chart .bar-skipped { fill:#8c959f; }
.swatch-pending { background:#d4a72c; }
.swatch-skipped { background:#8c959f; }
.chart .latency-line { fill:none; stroke:#0550ae; stroke-width:2.5; stroke-linejoin:round; }
.chart .latency-dot { fill:#fff; stroke:#0550ae; stroke-width:2; }
.chart .axis-latency { fill:#0550ae; }
.swatch-latency { height:.2rem; background:#0550ae; border-radius:0; }
.visually-hidden { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); white-space:nowrap; }
.foot { text-align:center; color:var(--muted); font-size:.85rem; padding:1rem; }
.signin { max-width:28rem; margin:2rem auto; }
@media (max-width: 640px) {
  main { padding:.75rem; }
  section.card { padding:.75rem; }
  .opt { display:none; }
  /* The log becomes one block per event, each cell labelled. */
  table.log thead { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); }
  table.log tr { display:block; padding:.5rem 0; border-bottom:1px solid var(--line); }
  table.log td { display:flex; gap:1rem; justify-content:space-between; border:0; padding:.15rem 0; text-align:right; }
  table.log td::before { content:attr(data-label); color:var(--muted); font-size:.85rem; text-align:left; }
  table.log td.num { text-align:right; }
  table.attempts-table td.explain { display:block; text-align:left; min-width:0; }
  table.attempts-table td.explain::before { display:block; }
  .chart .axis, .chart .empty { font-size:24px; }
  .chart .minor { display:none; }
  .chart .latency-line { stroke-width:5; }
  .chart .latency-dot { r:7px; stroke-width:3.5; }
  dl.facts { grid-template-columns:1fr; }
  dl.facts dd { margin-bottom:.4rem; }
}
`;
