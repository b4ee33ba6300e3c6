/** The sign-in page and the admin's project list. */
import type { Project } from '../../store/store.js';
import { html, type SafeHtml } from '../html.js';
import { time } from './format.js';

export function signInView(error: string | null): SafeHtml {
  return html`<div class="signin">
<h1>Sign in</h1>
<p class="muted">Open your project's <strong>Developer Tools → Webhooks</strong> with one of its API keys, or the platform admin token.</p>
<section class="card">
<form method="post" action="/sign-in" novalidate>
<div class="field">
<label for="token">Project API key or admin token</label>
<input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required autofocus
 ${error !== null ? html`aria-invalid="true" aria-describedby="token-error"` : html`aria-describedby="token-help"`}>
${
  error !== null
    ? html`<p class="field-error" id="token-error">${error}</p>`
    : html`<p class="muted" id="token-help">Keys start with <code>rhk_</code>. The key is checked, then forgotten: the session cookie holds only a hash of it.</p>`
}
</div>
<button type="submit" class="primary">Sign in</button>
</form>
</section>
</div>`;
}

export function projectsView(projects: readonly Project[], nextCursor: number | null, isFirstPage: boolean): SafeHtml {
  return html`<h1>Projects</h1>
<p class="muted">Choose a project to open its Developer Tools → Webhooks.</p>
${
  projects.length === 0
    ? html`<section class="card"><p>No projects yet. Create one with <code>POST /v1/projects</code> (see the <a href="/docs">API reference</a>).</p></section>`
    : html`<div class="table-wrap"><table>
<thead><tr><th scope="col">App id</th><th scope="col">Name</th><th scope="col" class="opt">Created</th></tr></thead>
<tbody>${projects.map(
        (p) => html`<tr><td>${p.appId}</td><td><a href="/projects/${p.appId}/webhooks">${p.name}</a></td><td class="opt">${time(p.createdAt)}</td></tr>`,
      )}</tbody></table></div>`
}
<nav class="pager" aria-label="Pages">
${!isFirstPage && html`<a href="/projects">← First page</a>`}
${nextCursor !== null && html`<a href="/projects?after=${nextCursor}">Next page →</a>`}
</nav>`;
}
