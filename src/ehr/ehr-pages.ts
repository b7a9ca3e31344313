import type { ServerResponse } from 'node:http';
import { escapeHtml, type InteractionPages } from './authorization-server';
import type { EhrClient } from './ehr-clients';
import type { PatientSummary } from './ehr-patients';
import { ADMISSION_DIAGNOSES, type RecommendationView } from './chart-changes';

/** The style an app may apply (`smart_style_url`, SMART App Launch "Styling"). */
export const SMART_STYLE = {
  color_background: '#f6f7f9', color_error: '#b3261e', color_highlight: '#1f5fa8', color_modal_backdrop: '',
  color_success: '#2e7d32', color_text: '#1c1f23', dim_border_radius: '6px', dim_font_size: '15px', dim_spacing_size: '16px',
  font_family_body: 'system-ui, sans-serif', font_family_heading: 'system-ui, sans-serif',
};

const STYLE = `body{font-family:system-ui,sans-serif;background:#f6f7f9;color:#1c1f23;margin:0}
header{background:#1f5fa8;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;font-size:13px;opacity:.9}
main{padding:16px 24px;max-width:1200px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e6ea;font-size:14px}th{background:#eef1f5}
.btn{display:inline-block;padding:4px 10px;margin:2px;border-radius:4px;border:1px solid #1f5fa8;background:#fff;color:#1f5fa8;text-decoration:none;font-size:13px;cursor:pointer}
.btn.primary{background:#1f5fa8;color:#fff}.note{background:#fff8e1;border:1px solid #f0d58a;padding:8px 12px;border-radius:4px;font-size:13px}
#cards{margin-top:16px}.card{background:#fff;border-left:6px solid #1f5fa8;padding:10px 14px;margin:8px 0;border-radius:4px;box-shadow:0 1px 2px #0002}
.card.warning{border-color:#e0a100}.card.critical{border-color:#b3261e}.card h3{margin:0 0 4px;font-size:15px}.card pre{white-space:pre-wrap;font:13px system-ui,sans-serif;margin:4px 0}
.card .src{font-size:12px;color:#555}code{background:#eef1f5;padding:1px 4px;border-radius:3px}
form.inline{display:inline}select{font-size:13px;padding:2px}.rec{background:#fff;border-left:6px solid #2e7d32;padding:10px 14px;margin:12px 0;border-radius:4px;box-shadow:0 1px 2px #0002}
.rec.revoked{border-color:#9aa0a6;color:#555}.rec h3{margin:0 0 4px;font-size:16px}.meta{font-size:12px;color:#555}.tag{display:inline-block;padding:1px 6px;border-radius:3px;font-size:12px;background:#e8f5e9;color:#1b5e20}
.rec.revoked .tag{background:#eceff1;color:#455a64}.issue{background:#fff8e1;border:1px solid #f0d58a;padding:6px 10px;margin:6px 0;border-radius:4px;font-size:13px}.rec table{margin:6px 0}
pre.why{white-space:pre-wrap;font:13px system-ui,sans-serif;margin:4px 0 8px;color:#333}.rec h4{margin:10px 0 4px;font-size:15px}`;

function page(title: string, body: string, script = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}${script ? `<script>${script}</script>` : ''}</body></html>`;
}

const BANNER = '<header><h1>leader ehr: local test EHR</h1><p>For development, demos and tests only. Not a clinical data store: data lives in memory and is lost when the process stops.</p></header>';

export interface LauncherView {
  patients: PatientSummary[];
  apps: EhrClient[];
  fhirBase: string;
  cdsServices?: string;
  open: boolean;
}

/** `/`: the loaded patients, a launch button per registered SMART app, and an order-select call to the CDS service. */
export function launcherPage(v: LauncherView): string {
  const appButtons = (p: PatientSummary) => v.apps.map((a) =>
    `<a class="btn primary" target="_blank" rel="noopener" href="/ehr/launch?patient=${encodeURIComponent(p.id)}&app=${encodeURIComponent(a.launch_url ?? '')}">Launch ${escapeHtml(a.name)}</a>`).join('');
  const cdsButton = (p: PatientSummary) => v.cdsServices ? `<button class="btn" data-cds="${escapeHtml(p.id)}" data-label="${escapeHtml(p.label)}">order-select → CDS</button>` : '';
  const rows = v.patients.map((p) => `<tr><td>${escapeHtml(p.label)}</td><td>${escapeHtml(p.identifier ?? '')}</td><td>${escapeHtml(p.gender ?? '')}</td><td>${escapeHtml(p.birthDate ?? '')}</td><td>${p.visits}</td><td><code>${escapeHtml(p.id)}</code></td><td>${appButtons(p)}${cdsButton(p)}${admitForm(p.id)}<a class="btn" href="/ehr/chart?patient=${encodeURIComponent(p.id)}">Write-backs</a></td></tr>`).join('');
  const body = `${BANNER}<main>
<p>FHIR R4 base: <code>${escapeHtml(v.fhirBase)}</code> · <a href="/fhir/metadata">CapabilityStatement</a> · <a href="/fhir/.well-known/smart-configuration">SMART configuration</a>
${v.open ? ' · <b>open mode: FHIR answers without a token</b>' : ' · every FHIR request needs a SMART access token'}${v.cdsServices ? ` · CDS service: <code>${escapeHtml(v.cdsServices)}</code>` : ''}</p>
${v.apps.length === 0 ? '<p class="note">No SMART app with a <code>launch_url</code> is registered (<code>--clients FILE</code>), so there is nothing to launch.</p>' : ''}
<table><thead><tr><th>Patient</th><th>Identifier</th><th>Gender</th><th>Born</th><th>Visits</th><th>Id</th><th></th></tr></thead><tbody>${rows}</tbody></table>
<p>${v.patients.length} patients loaded.</p>
<section id="cards" aria-live="polite"></section></main>`;
  return page('leader ehr: local test EHR', body, CARDS_SCRIPT);
}

/** Records a new admission with a diagnosis: two chart changes the EHR's Subscriptions notify. */
function admitForm(patientId: string): string {
  const options = ADMISSION_DIAGNOSES.map((d) => `<option value="${escapeHtml(d.code)}">${escapeHtml(d.display)} (${escapeHtml(d.code)})</option>`).join('');
  return `<form class="inline" method="post" action="/ehr/chart/admit?patient=${encodeURIComponent(patientId)}"><select name="diagnosis" aria-label="Admission diagnosis">${options}</select><button class="btn" type="submit">Admit</button></form>`;
}

export interface ChartView {
  patient: PatientSummary;
  recommendations: RecommendationView[];
  /** Active Subscriptions on this EHR (0: nothing will be written back). */
  activeSubscriptions: number;
  /** The admission diagnosis (Condition id) just recorded: the page refreshes itself until its write-back arrives. */
  admitted?: string;
}

/** `/ehr/chart?patient=`: record a chart change, and read the recommendations a subscribed CDS service wrote back. */
export function chartPage(v: ChartView): string {
  const p = v.patient;
  // The write-back names the change it answers in its reason ("Chart change: Condition/<id> (event n)").
  const awaiting = v.admitted !== undefined && !v.recommendations.some((r) => `${r.reason ?? ''} `.includes(`Condition/${v.admitted} `));
  const status = v.activeSubscriptions === 0
    ? '<p class="note">No active Subscription on this EHR, so no CDS service is told of chart changes. Start the demo with <code>bash scripts/demo.sh</code> (it runs <code>leader subscribe create</code>) to see write-backs.</p>'
    : `<p class="meta">${v.activeSubscriptions} active Subscription(s): a chart change is sent to the CDS service, which writes its recommendations back to this chart as <b>draft proposals</b> (nothing is ordered).</p>`;
  const waiting = awaiting ? '<p class="note" id="waiting">Admission recorded. Waiting for the CDS service\'s recommendation for this visit (about a minute for a MIMIC-IV patient); this page refreshes every 5 seconds.</p>' : '';
  const recs = v.recommendations.length === 0
    ? '<p>No recommendations have been written back to this chart yet.</p>'
    : v.recommendations.map(recommendationHtml).join('');
  const body = `${BANNER}<main>
<p><a href="/">← All patients</a></p>
<h2>${escapeHtml(p.label)}</h2>
<p class="meta">Identifier ${escapeHtml(p.identifier ?? '–')} · ${escapeHtml(p.gender ?? '')} · born ${escapeHtml(p.birthDate ?? '–')} · ${p.visits} visit(s) · <code>Patient/${escapeHtml(p.id)}</code></p>
<p>Record a chart change: a new inpatient admission with its diagnosis ${admitForm(p.id)}</p>
${status}${waiting}
<h2>Recommendations written back to the chart</h2>
${recs}</main>`;
  return page(`Write-backs: ${p.label}`, body, awaiting ? 'setTimeout(() => location.reload(), 5000);' : '');
}

/** Drug-interaction alerts shown open per recommendation (the cards show three interacting pairs too). */
const ALERTS_SHOWN = 3;

function recommendationHtml(r: RecommendationView): string {
  const active = r.status === 'active';
  const state = active ? 'Active recommendation' : r.status === 'revoked' ? 'Revoked: replaced by a later chart change' : `Status ${r.status}`;
  const cards = r.cards.map((c) => `<h4>${escapeHtml(c.summary)}</h4>${c.detail ? `<details><summary class="meta">Why these classes (the model's explanation)</summary><pre class="why">${escapeHtml(plainText(c.detail))}</pre></details>` : ''}
<table><thead><tr><th>Proposed medication class</th><th>Example product</th><th>ATC class</th><th>Order status</th></tr></thead><tbody>${c.proposals.map((m) =>
    `<tr><td>${escapeHtml(m.label)}</td><td>${escapeHtml(m.product ?? '–')}</td><td>${m.atc ? `<code>${escapeHtml(m.atc)}</code> ` : ''}${escapeHtml(m.atcName ?? '')}</td><td>${m.status === 'draft' ? 'draft proposal, not ordered' : escapeHtml(m.status ?? '–')}</td></tr>`).join('')}</tbody></table>`).join('');
  // The detail names every implicated drug pair already; the implicated references are for systems, not for reading.
  const issueHtml = (d: RecommendationView['issues'][number]) =>
    `<div class="issue"><b>${escapeHtml(d.code ?? 'Detected issue')}</b>${d.severity ? ` (${escapeHtml(d.severity)})` : ''}: ${escapeHtml(d.detail ?? d.implicated.join('; '))}</div>`;
  // As on the cards: the first few alerts open, the rest one click away (a wall of alerts is read by no one).
  const shown = r.issues.slice(0, ALERTS_SHOWN).map(issueHtml).join('');
  const folded = r.issues.length > ALERTS_SHOWN ? `<details><summary>${r.issues.length - ALERTS_SHOWN} more drug-interaction alert(s)</summary>${r.issues.slice(ALERTS_SHOWN).map(issueHtml).join('')}</details>` : '';
  const issues = r.issues.length === 0 ? '' : `<h4>Drug-interaction alerts on these proposals (${r.issues.length})</h4>${shown}${folded}`;
  const notes = r.notes.map((n) => `<pre class="why">${escapeHtml(plainText(n))}</pre>`).join('');
  const inner = `${cards}${issues}${notes}${!cards && !issues && !notes ? '<p>No medication proposed for this visit.</p>' : ''}`;
  const written = r.authoredOn ? `written ${r.authoredOn.slice(0, 16).replace('T', ' ')} UTC` : '';
  const head = `<span class="tag">${escapeHtml(state)}</span> <span class="meta">${escapeHtml(written)}${r.encounter ? ` · ${escapeHtml(r.encounter)}` : ''}${r.reason ? ` · ${escapeHtml(r.reason)}` : ''}${r.author ? ` · by ${escapeHtml(r.author)}` : ''}</span>`;
  return active
    ? `<section class="rec" data-status="active">${head}${inner}</section>`
    : `<details class="rec revoked" data-status="${escapeHtml(r.status)}"><summary>${head}</summary>${inner}</details>`;
}

/** Card text is CDS Hooks markdown; shown as plain text, without its emphasis marks. */
function plainText(markdown: string): string {
  return markdown.replace(/\*\*([^*]+)\*\*/g, '$1').replace(/(^|\s)\*([^*\n]+)\*/g, '$1$2');
}

/** Sends order-select for a patient and shows the cards; a SMART link is launched through /_services/smart/Launch. */
const CARDS_SCRIPT = `
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
async function launchSmart(link, patient) {
  const r = await fetch('/_services/smart/Launch', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ launchUrl: link.url, parameters: { patient, appContext: link.appContext } }) });
  const { launch_id } = await r.json();
  const u = new URL(link.url); u.searchParams.set('launch', launch_id); u.searchParams.set('iss', location.origin + '/fhir');
  window.open(u.toString(), '_blank');
}
document.addEventListener('click', async (ev) => {
  const b = ev.target.closest('[data-cds]'); if (!b) return;
  const out = document.getElementById('cards'); out.replaceChildren(el('p', '', 'Calling order-select for ' + b.dataset.label + '…'));
  try {
    const r = await fetch('/ehr/cds/order-select?patient=' + encodeURIComponent(b.dataset.cds), { method: 'POST' });
    const body = await r.json();
    if (!r.ok) throw new Error((body.issue && body.issue[0].details && body.issue[0].details.text) || r.statusText);
    const cards = body.response.cards || [];
    out.replaceChildren(el('h2', '', cards.length + ' card(s) from ' + body.service + ' for ' + b.dataset.label));
    for (const c of cards) {
      const card = el('div', 'card ' + (c.indicator || 'info'));
      card.append(el('h3', '', c.summary));
      if (c.detail) card.append(el('pre', '', c.detail));
      if (c.suggestions && c.suggestions.length) { const ul = el('ul'); for (const s of c.suggestions) ul.append(el('li', '', s.label)); card.append(ul); }
      for (const l of c.links || []) {
        const a = el('a', 'btn', l.label); a.href = l.url; a.target = '_blank';
        if (l.type === 'smart') a.addEventListener('click', (e) => { e.preventDefault(); launchSmart(l, b.dataset.cds); });
        card.append(a);
      }
      if (c.source) card.append(el('div', 'src', 'Source: ' + c.source.label));
      out.append(card);
    }
  } catch (e) { out.replaceChildren(el('p', 'note', 'order-select failed: ' + e.message)); }
});`;

/** The authorization server's login page and patient picker. */
export function interactionPages(patients: () => Promise<PatientSummary[]>): InteractionPages {
  const send = (res: ServerResponse, html: string) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(html);
  };
  return {
    async login(res, v) {
      send(res, page('Sign in: local test EHR', `${BANNER}<main><h2>Sign in to the local test EHR</h2>
<p><b>${escapeHtml(v.clientName)}</b> asks you to sign in. This is a local test EHR: there is one demo user and no password.</p>
<form method="post" action="/oauth/interaction/${encodeURIComponent(v.uid)}/login"><button class="btn primary" type="submit" id="sign-in">Sign in as ${escapeHtml(v.practitioner)}</button></form></main>`));
    },
    async patientPicker(res, v) {
      const list = await patients();
      const rows = list.map((p) => `<tr><td><label><input type="radio" name="patient" value="${escapeHtml(p.id)}" required> ${escapeHtml(p.label)}</label></td><td>${escapeHtml(p.identifier ?? '')}</td><td>${escapeHtml(p.birthDate ?? '')}</td><td>${p.visits}</td></tr>`).join('');
      send(res, page('Choose a patient: local test EHR', `${BANNER}<main><h2>Choose the patient for ${escapeHtml(v.clientName)}</h2>
<form method="post" action="/oauth/interaction/${encodeURIComponent(v.uid)}/patient"><table><thead><tr><th>Patient</th><th>Identifier</th><th>Born</th><th>Visits</th></tr></thead><tbody>${rows}</tbody></table>
<p><button class="btn primary" type="submit" id="choose-patient">Open with this patient</button></p></form></main>`));
    },
  };
}
