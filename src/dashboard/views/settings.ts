/** A project's Settings: its API keys, its audit log, the erasure of a subscriber (and its confirmation). */
import type { ApiKeyRecord, AuditEntry, Project } from '../../store/store.js';
import { html, type SafeHtml } from '../html.js';
import { projectNav, time } from './format.js';

export interface SettingsPageData {
  project: Project;
  /** The forms' CSRF token; null for a read-only session, whose page then holds no form. */
  csrf: string | null;
  keys: readonly ApiKeyRecord[];
  /** The key this session signed in with (a project key's session), marked in the table. */
  sessionKeyId: string | null;
  /** Whether this session may create keys (operations' mayCreateApiKeys): the form is shown only then. */
  mayCreateKeys: boolean;
  /** A key created by the previous request: shown this once. */
  newKey: { id: string; value: string } | null;
  audit: { entries: readonly AuditEntry[]; nextCursor: number | null; cursor: number | null };
  erase: { error: string | null };
}

const csrfField = (csrf: string) => html`<input type="hidden" name="_csrf" value="${csrf}">`;

export const settingsPath = (appId: number) => `/projects/${appId}/settings`;

export function settingsHref(appId: number, auditCursor: number | null): string {
  return `${settingsPath(appId)}${auditCursor !== null ? `?cursor=${auditCursor}` : ''}`;
}

export function settingsView(d: SettingsPageData): SafeHtml {
  return html`<h1>Settings <span class="muted">· ${d.project.name} (app ${d.project.appId})</span></h1>
${projectNav(d.project.appId, 'settings')}
${keysSection(d)}
${auditSection(d)}
${d.csrf !== null && eraseSection(d, d.csrf)}`;
}

function keyStatus(k: ApiKeyRecord): SafeHtml {
  // One element per cell: on a phone the cell is a flex row of its label and this.
  return k.revokedAt === null
    ? html`<span class="badge badge-enabled">● active</span>`
    : html`<span><span class="badge badge-disabled">○ revoked</span> ${time(k.revokedAt)}</span>`;
}

function revokeControl(d: SettingsPageData, k: ApiKeyRecord): SafeHtml {
  if (k.revokedAt !== null || d.csrf === null) return html`<span class="muted">—</span>`;
  const own = k.id === d.sessionKeyId;
  return html`<details class="confirm">
<summary>Revoke…<span class="visually-hidden"> ${k.id}</span></summary>
<form method="post" action="${settingsPath(d.project.appId)}/api-keys/${k.id}/revoke">
${csrfField(d.csrf)}
<p>Every request with this key is refused from now on (401), and dashboard sessions signed in with it end.${own && html` <strong>It is the key you are signed in with: revoking it signs you out.</strong>`}</p>
<button type="submit" class="danger">Revoke key ${k.id}</button>
</form>
</details>`;
}

function keysSection(d: SettingsPageData): SafeHtml {
  const rows = d.keys.map(
    (k) => html`<tr>
<td data-label="Key"><code>${k.id}</code>${k.id === d.sessionKeyId && html` <span class="muted">(this session)</span>`}</td>
<td data-label="Starts with"><code>${k.prefix}…</code></td>
<td data-label="Created">${time(k.createdAt)}</td>
<td data-label="Status">${keyStatus(k)}</td>
<td data-label="Revoke">${revokeControl(d, k)}</td>
</tr>`,
  );
  return html`<section class="card" id="keys" aria-labelledby="keys-h">
<h2 id="keys-h">API keys</h2>
${
  d.newKey !== null &&
  html`<div class="notice notice-info" role="status" id="new-key">
<p><strong>New API key <code>${d.newKey.id}</code>.</strong> Copy it now: it is shown this once (only its hash is kept).</p>
<div class="secret"><code id="new-api-key" class="copyable">${d.newKey.value}</code><button type="button" data-copy="new-api-key" hidden>Copy</button></div>
</div>`
}
<p class="muted">A key signs in to the API (<code>Authorization: Bearer rhk_…</code>) and to this dashboard for this project only. The keys themselves are never shown again after creation.</p>
${
  rows.length === 0
    ? html`<p class="muted">This project has no API keys.</p>`
    : html`<div class="table-wrap"><table class="log">
<caption class="visually-hidden">API keys of this project, revoked ones included</caption>
<thead><tr><th scope="col">Key</th><th scope="col">Starts with</th><th scope="col">Created</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Revoke</span></th></tr></thead>
<tbody>${rows}</tbody></table></div>`
}
${
  d.csrf === null
    ? html`<p class="muted" id="create-key-note">This is a read-only session: it can neither create nor revoke keys.</p>`
    : d.mayCreateKeys
    ? html`<form method="post" action="${settingsPath(d.project.appId)}/api-keys" class="actions spaced" id="create-key">
${csrfField(d.csrf)}
<button type="submit" class="primary">Create API key</button>
<span class="muted">The new key is shown once, on the next page.</span>
</form>`
      : html`<p class="muted" id="create-key-note">Only the platform admin can create API keys. A project key may list and revoke them but never create one, so a leaked key cannot mint a successor that survives its revocation.</p>`
}
</section>`;
}

/** `apiKeyId: key_… · via: dashboard`: the details as recorded (they never hold a secret nor a person's data). */
export function auditDetailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' · ');
}

function auditSection(d: SettingsPageData): SafeHtml {
  const { appId } = d.project;
  const { entries, nextCursor, cursor } = d.audit;
  const rows = entries.map(
    (e) => html`<tr>
<td data-label="Time (UTC)">${time(e.at)}</td>
<td data-label="Actor"><code>${e.actor}</code></td>
<td data-label="Action"><code>${e.action}</code></td>
<td data-label="Details">${auditDetailsText(e.details) || html`<span class="muted">—</span>`}</td>
<td data-label="Source IP">${e.sourceIp ?? html`<span class="muted">—</span>`}</td>
</tr>`,
  );
  return html`<section class="card" id="audit" aria-labelledby="audit-h">
<h2 id="audit-h">Audit log</h2>
<p class="muted">Every change to keys, the endpoint and its secret, recoveries and erasures, newest first. Append-only; never a secret, never whom an erasure concerned.</p>
${
  rows.length === 0
    ? html`<p class="muted">No entries${cursor !== null ? ' on this page' : ' yet'}.</p>`
    : html`<div class="table-wrap"><table class="log audit">
<caption class="visually-hidden">Audit log, newest first</caption>
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Details</th><th scope="col">Source IP</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
}
<nav class="pager" aria-label="Audit log pages">
${cursor !== null && html`<a href="${settingsHref(appId, null)}#audit">← Newest</a>`}
${nextCursor !== null && html`<a href="${settingsHref(appId, nextCursor)}#audit">Older →</a>`}
</nav>
</section>`;
}

function eraseSection(d: SettingsPageData, csrf: string): SafeHtml {
  const { error } = d.erase;
  return html`<section class="card" id="erase" aria-labelledby="erase-h">
<h2 id="erase-h">Erase a subscriber</h2>
<p class="muted">For a person's request to be forgotten: removes their registrations, their events' payloads and response bodies, and cancels the webhooks still owed to them. You confirm on the next page.</p>
<form method="post" action="${settingsPath(d.project.appId)}/erase" novalidate autocomplete="off">
${csrfField(csrf)}
<div class="field">
<label for="subscriber-id">Subscriber id</label>
<input id="subscriber-id" name="subscriberId" type="text" autocomplete="off" spellcheck="false" ${
    error !== null ? html`aria-invalid="true" aria-describedby="subscriber-id-error subscriber-id-help"` : html`aria-describedby="subscriber-id-help"`
  }>
${error !== null && html`<p class="field-error" id="subscriber-id-error">${error}</p>`}
<p class="muted" id="subscriber-id-help">Exactly as the platform reported it (the <code>subscriberId</code> of the webhook).</p>
</div>
<button type="submit" class="danger">Erase subscriber…</button>
</form>
</section>`;
}

export interface EraseConfirmData {
  project: Project;
  csrf: string;
  /** The sealed subscriberId (see confirmation.ts): the only form of it this page holds. */
  confirmation: string;
  /** The subscriberId masked, so the person can check what they typed. */
  masked: string;
  validMinutes: number;
}

export function eraseConfirmView(d: EraseConfirmData): SafeHtml {
  const back = `${settingsPath(d.project.appId)}#erase`;
  return html`<h1>Erase subscriber <code>${d.masked}</code>?</h1>
<section class="card" aria-labelledby="confirm-h">
<h2 id="confirm-h">This cannot be undone</h2>
<p>In <strong>${d.project.name}</strong> (app ${d.project.appId}), erasing subscriber <code>${d.masked}</code>:</p>
<ul>
<li>deletes every registration of theirs;</li>
<li>removes the payloads of their events and the response bodies of those events' attempts (event ids, statuses and times stay, without personal data);</li>
<li>cancels every webhook still owed to them (status <em>erased</em>): it is never sent, and cannot be redelivered.</li>
</ul>
<p>The next page says how many registrations and events were erased. The audit log records that an erasure happened, never whom it concerned.</p>
<form method="post" action="${settingsPath(d.project.appId)}/erase/confirm">
${csrfField(d.csrf)}
<input type="hidden" name="confirmation" value="${d.confirmation}">
<div class="actions"><button type="submit" class="danger">Erase permanently</button><a href="${back}">Cancel</a></div>
</form>
<p class="muted">This confirmation is valid for ${d.validMinutes} minutes.</p>
</section>`;
}
