// The console's entry point: sign-in, the sections (#/flows, #/flows/{id}, #/calls,
// #/calls/{sid}, #/reports, #/lookup) and the member look-up. Routes live in the fragment, which never carries the token.

import {h, field, clear, toast, fmtTime, fmtTimeIn} from './dom.js';
import {api, call, session, whenUnauthorized, APIError, signInConfig} from './api.js';
import {Editor, statusChips} from './editor.js';
import {showCalls, showJourney} from './calls.js';
import {showReports} from './reports.js';
import {showExperiments} from './experiments.js';
import {showConnections} from './connections.js';
import {showCallbacks} from './callbacks.js';
import {clone, DEFAULT_DISCLOSURE} from './model.js';

const main = document.getElementById('main');
let editor = null;
let pendingSimulation = null; // a phone number to simulate as, handed from the look-up

// signedIn shows who is signed in and with what role; actions the role may not take are
// hidden (body[data-role] and [data-needs] in app.css); the API enforces them anyway.
function signedIn(on) {
  document.getElementById('nav').hidden = !on;
  document.getElementById('who').hidden = !on;
  const w = session.who;
  const name = w && w.via === 'oidc' ? w.name || w.email : session.actor || (w && w.name);
  document.getElementById('who-name').textContent = on && w ? `Signed in as ${name} · ${w.role}` : '';
  if (on && w) document.body.dataset.role = w.role; else delete document.body.dataset.role;
}

async function showSignIn(message) {
  signedIn(false);
  if (editor) { editor.destroy(); editor = null; }
  const methods = await signInConfig();
  const provider = methods.oidc ? h('p', {class: 'provider'},
    h('a', {class: 'btn primary', id: 'sign-in-provider', href: methods.oidc.login_url}, `Sign in with ${methods.oidc.name}`)) : null;
  if (!methods.token) {
    clear(main).append(h('section', {class: 'signin panel', 'aria-labelledby': 'signin-title'},
      h('h1', {id: 'signin-title'}, 'Sign in'),
      h('p', {class: 'muted'}, 'Sign in with your company account.'),
      message ? h('p', {class: 'error', role: 'alert'}, `✖ ${message}`) : null, provider));
    return;
  }
  const token = h('input', {type: 'password', id: 'token', autocomplete: 'current-password', required: true, spellcheck: 'false'});
  const actor = h('input', {type: 'text', id: 'actor', autocomplete: 'username', placeholder: 'ana'});
  const err = h('p', {class: 'error', id: 'signin-error', role: 'alert'}, message ? `✖ ${message}` : '');
  const form = h('form', {class: 'signin panel', 'aria-labelledby': 'signin-title'},
    h('h1', {id: 'signin-title'}, 'Sign in'),
    provider, provider ? h('p', {class: 'muted'}, 'Or with an admin token:') : null,
    h('p', {class: 'muted'}, 'Use an admin token. It is kept for this browser tab only and sent only to this service.'),
    field('Admin token', token),
    field('Your name (for the audit log, optional)', actor),
    err,
    h('button', {type: 'submit', class: 'btn primary'}, 'Sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      await call('GET', '/flows', {token: token.value.trim()});
    } catch (ex) {
      err.textContent = ex.status === 401 ? '✖ That token is not accepted.' : `✖ ${ex.message}`;
      token.focus();
      return;
    }
    session.signIn(token.value.trim(), actor.value.trim());
    session.who = await api.session().catch(() => null);
    if (!location.hash || location.hash === '#/') location.hash = '#/flows'; else route();
  });
  clear(main).append(form);
  token.focus();
}

whenUnauthorized(() => {
  session.signOut();
  showSignIn('Your session is no longer accepted; sign in again.');
});

async function showFlows() {
  const box = h('section', {class: 'page', 'aria-labelledby': 'flows-title'}, h('h1', {id: 'flows-title'}, 'Call flows'));
  clear(main).append(box);
  let flows;
  try {
    flows = await api.flows();
  } catch (e) {
    box.append(h('p', {class: 'error'}, `✖ ${e.message}`));
    return;
  }
  const table = h('table', {class: 'table flows'},
    h('caption', {class: 'sr-only'}, 'Flows with their status'),
    h('thead', {}, h('tr', {}, ['Flow', 'Status', 'Published', 'Numbers', 'Draft saved'].map((t) => h('th', {scope: 'col'}, t)))));
  const tb = h('tbody', {});
  for (const f of flows) {
    tb.append(h('tr', {},
      h('th', {scope: 'row'}, h('a', {href: `#/flows/${encodeURIComponent(f.id)}`, class: 'flowlink'}, f.name || f.id), h('div', {class: 'muted'}, h('code', {}, f.id))),
      h('td', {}, h('div', {class: 'chips'}, statusChips(f).filter((c) => !/^(Published|Never)/.test(c.textContent) && !c.textContent.startsWith('☎')))),
      h('td', {}, f.latest ? [`v${f.latest.version}`, h('div', {class: 'muted'}, `${fmtTime(f.latest.created_at)} · ${f.latest.author}${f.latest.message ? ' · “' + f.latest.message + '”' : ''}`)] : 'never'),
      h('td', {}, f.numbers.length ? f.numbers.join(', ') : f.default ? 'every number without a binding' : '—'),
      h('td', {}, `${fmtTime(f.updated_at)} · ${f.updated_by}`)));
  }
  table.append(tb);
  box.append(table);

  const id = h('input', {type: 'text', id: 'new-id', pattern: '[A-Za-z][A-Za-z0-9_\\-]{0,63}', required: true, autocomplete: 'off', spellcheck: 'false'});
  const name = h('input', {type: 'text', id: 'new-name', autocomplete: 'off'});
  const form = h('form', {class: 'row end newflow', 'aria-label': 'New flow'},
    field('New flow id', id), field('Name', name), h('button', {type: 'submit', class: 'btn'}, '+ Create flow'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const doc = {schema: 'memberline.flow/v1', id: id.value.trim(), name: name.value.trim() || id.value.trim(),
      default_language: 'en-US', languages: {'en-US': {}}, disclosure: clone(DEFAULT_DISCLOSURE), start: 'hello',
      nodes: [{id: 'hello', type: 'hangup', say: {'en-US': 'Hello. Goodbye.'}}]};
    try {
      await api.create(doc.id, doc);
      location.hash = `#/flows/${encodeURIComponent(doc.id)}`;
    } catch (ex) {
      toast(`Not created: ${ex.message}`, 'error');
    }
  });
  box.append(h('div', {'data-needs': 'editor'}, h('h2', {}, 'New flow'), form));
}

async function showEditor(id) {
  editor = new Editor(id, {simulatePhone: pendingSimulation});
  pendingSimulation = null;
  clear(main).append(editor.el);
  try {
    await editor.load();
  } catch (e) {
    clear(editor.el).append(h('p', {class: 'error pad'}, `✖ ${e instanceof APIError && e.status === 404 ? `There is no flow ${id}.` : e.message}`));
  }
}

function showLookup() {
  const phone = h('input', {type: 'tel', id: 'lookup-phone', placeholder: '+14045550123', autocomplete: 'off'});
  const out = h('div', {class: 'lookup-out', 'aria-live': 'polite'});
  // The hint goes under the row, not under its field, so that the box and the button line up.
  phone.setAttribute('aria-describedby', 'lookup-phone-hint');
  const form = h('form', {class: 'lookup-form'},
    h('div', {class: 'row end'}, field('Phone number', phone), h('button', {type: 'submit', class: 'btn primary', id: 'lookup-go'}, 'Look up')),
    h('p', {class: 'hint', id: 'lookup-phone-hint'}, 'Any format; numbers without a country code are read in the default region.'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(out).append(h('p', {class: 'muted'}, 'Looking up…'));
    let r; let flows = [];
    try {
      [r, flows] = await Promise.all([api.lookup(phone.value.trim()), api.flows().catch(() => [])]);
    } catch (ex) {
      clear(out).append(h('p', {class: 'error'}, `✖ ${ex.message}`));
      return;
    }
    clear(out);
    out.append(h('p', {}, 'The IVR sees ', h('strong', {}, r.phone), ': ',
      r.members.length === 0 ? 'no member — the caller is unknown and is asked for a member number.'
        : r.members.length === 1 ? 'one member.' : `${r.members.length} members sharing the number — the caller is asked who is calling.`));
    const consent = r.message_consent;
    out.append(h('p', {class: 'consent muted'}, 'Messages: ', consent && consent.status
      ? `${{opted_out: 'opted out', opted_in: 'opted in', not_mobile: 'not a mobile number', invalid: 'not a number messages reach'}[consent.status] || consent.status} (${consent.source}, ${fmtTime(consent.changed_at)})`
      : 'the number never opted out.'));
    for (const m of r.members) {
      const a = m.activity;
      out.append(h('article', {class: 'card'},
        h('h2', {}, `${m.first_name} ${m.last_name}`, h('span', {class: 'muted'}, ` · member ${m.id}`)),
        h('dl', {class: 'facts'},
          h('dt', {}, 'Tier'), h('dd', {}, m.tier || '—'),
          h('dt', {}, 'Language'), h('dd', {}, m.language || '—'),
          h('dt', {}, 'Time zone'), h('dd', {}, m.time_zone || '—'),
          h('dt', {}, 'Phones'), h('dd', {}, (m.phones || []).join(', '))),
        h('h3', {}, 'Chosen activity'),
        a ? h('dl', {class: 'facts'},
          h('dt', {}, 'What'), h('dd', {}, `${a.summary} (${a.kind})`),
          h('dt', {}, 'Relation'), h('dd', {}, a.relation),
          h('dt', {}, 'Place'), h('dd', {}, a.place || '—'),
          h('dt', {}, 'When'), h('dd', {class: 'when'}, `${fmtTimeIn(a.starts_at, m.time_zone)} – ${fmtTimeIn(a.ends_at, m.time_zone)}`,
            h('span', {class: 'muted'}, m.time_zone ? ` (${m.time_zone}, the member's time zone, in which the IVR says dates)` : ' (your browser\'s time zone: the member has none)')),
          h('dt', {}, 'Status'), h('dd', {}, a.status || '—'),
          h('dt', {}, 'Reference'), h('dd', {}, a.reference || '—'))
          : h('p', {class: 'muted'}, 'None in progress, coming up or just ended.')));
    }
    const sel = h('select', {id: 'lookup-flow'}, flows.map((f) => h('option', {value: f.id, selected: f.default}, f.name ? `${f.name} (${f.id})` : f.id)));
    out.append(h('div', {class: 'row end'}, field('Flow to simulate (its draft)', sel),
      h('button', {type: 'button', class: 'btn primary', id: 'simulate-as', onclick: () => {
        pendingSimulation = r.phone;
        location.hash = `#/flows/${encodeURIComponent(sel.value)}`;
      }}, '▶ Simulate a call from this number')));
  });
  clear(main).append(h('section', {class: 'page', 'aria-labelledby': 'lookup-title'},
    h('h1', {id: 'lookup-title'}, 'Member look-up'),
    h('p', {class: 'muted'}, 'Exactly what the IVR sees for a calling number, through the same cache a call uses.'),
    form, out));
  phone.focus();
}

async function route() {
  if (!session.who) session.who = await api.session().catch(() => null); // a token, or the session cookie
  if (!session.who) { session.signOut(); showSignIn(); return; }
  signedIn(true);
  if (editor) { editor.destroy(); editor = null; }
  const hash = location.hash || '#/flows';
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (hash.startsWith('#/' + a.dataset.nav)) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const m = /^#\/flows\/([^/]+)$/.exec(hash);
  const callMatch = /^#\/calls\/([^/?]+)$/.exec(hash);
  if (m) showEditor(decodeURIComponent(m[1]));
  else if (callMatch) showJourney(main, decodeURIComponent(callMatch[1]));
  else if (hash === '#/calls' || hash.startsWith('#/calls?')) showCalls(main, new URLSearchParams(hash.split('?')[1] || ''));
  else if (hash.startsWith('#/reports')) showReports(main);
  else if (hash.startsWith('#/experiments')) showExperiments(main);
  else if (hash === '#/lookup') showLookup();
  else if (hash === '#/connections') showConnections(main);
  else if (hash === '#/callbacks') showCallbacks(main);
  else showFlows();
}

let shownHash = location.hash;
window.addEventListener('hashchange', () => {
  if (editor && editor.dirty && !confirm('You have unsaved changes in this flow. Leave without saving?')) {
    history.replaceState(null, '', shownHash || '#/flows'); // stay, and say so in the address bar
    return;
  }
  shownHash = location.hash;
  route();
});
document.getElementById('sign-out').addEventListener('click', async () => {
  const viaProvider = session.who && session.who.via === 'oidc';
  let next = '';
  if (viaProvider) next = (await api.signOut().catch(() => ({next: ''}))).next;
  session.signOut();
  if (next) { location.href = next; return; } // the provider's sign-out, then back here
  location.hash = '';
  showSignIn();
});
route();
