// Calls: the call records, searchable, and one call's journey: every webhook with what the
// caller heard and how they answered, and its path on the graph of the version it ran.

import {h, field, clear, fmtTime, localInput} from './dom.js';
import {api} from './api.js';
import {Graph} from './graph.js';
import {nodePath} from './simulator.js';

const OUTCOMES = [['', 'any'], ['self_service', 'self-service'], ['handoff', 'handed off'], ['caller_hung_up', 'hung up'], ['error', 'error'], ['none', 'in progress']];
const RECOGNIZED = [['', 'any'], ['yes', 'recognized by number'], ['no', 'not recognized'], ['member', 'one member'], ['household', 'a household'],
  ['unknown', 'unknown number'], ['anonymous', 'withheld number'], ['error', 'look-up failed']];
const OUTCOME_WORDS = Object.fromEntries(OUTCOMES.filter(([k]) => k));

// TRUST_WORDS say what a call's trust level means: "verified" is the carrier's word for
// the number, not a caller who proved who they are.
const TRUST_WORDS = {
  verified: 'attested by the carrier (the number is the caller\'s; it does not say who is calling)',
  unverified: 'not attested by the carrier',
  suspicious: 'the carrier\'s attestation failed: the number may be spoofed',
  verified_pin: 'the caller entered the member\'s PIN',
};

// outcomeWords is how a call ended, in words; a call with no outcome yet is in progress
// (the filter's "any" is not an outcome).
const outcomeWords = (o) => (o ? OUTCOME_WORDS[o] || o : 'in progress');

// showCalls lists calls; params (from the URL fragment) prefill the filters.
export async function showCalls(main, params) {
  const day = new Date(); day.setHours(0, 0, 0, 0);
  const from = h('input', {type: 'datetime-local', id: 'calls-from', value: params.get('from') || localInput(new Date(day.getTime() - 6 * 86400000))});
  const to = h('input', {type: 'datetime-local', id: 'calls-to', value: params.get('to') || localInput(new Date(day.getTime() + 86400000))});
  const opts = (id, list, v) => h('select', {id}, list.map(([k, l]) => h('option', {value: k, selected: k === v}, l)));
  const outcome = opts('calls-outcome', OUTCOMES, params.get('outcome') || '');
  const recognized = opts('calls-recognized', RECOGNIZED, params.get('recognized') || '');
  const member = h('input', {type: 'text', id: 'calls-member', value: params.get('member') || '', autocomplete: 'off', placeholder: '1001'});
  const called = h('input', {type: 'tel', id: 'calls-called', value: params.get('called') || '', autocomplete: 'off', placeholder: '+18005550100'});
  const flow = h('select', {id: 'calls-flow'}, h('option', {value: ''}, 'any'));
  const version = h('input', {type: 'number', id: 'calls-version', min: '1', value: params.get('version') || '', placeholder: 'any'});
  const list = h('div', {'aria-live': 'polite'});
  const form = h('form', {class: 'filters', 'aria-label': 'Find calls'},
    h('div', {class: 'row end'}, field('From', from), field('To', to), field('Outcome', outcome), field('Recognized', recognized)),
    h('div', {class: 'row end'}, field('Member id', member), field('Called number', called), field('Flow', flow), field('Version', version),
      h('button', {type: 'submit', class: 'btn primary', id: 'calls-search'}, 'Search')));
  clear(main).append(h('section', {class: 'page', 'aria-labelledby': 'calls-title'},
    h('h1', {id: 'calls-title'}, 'Calls'),
    h('p', {class: 'muted'}, 'Every call the line answered. Callers appear masked; what they typed as a member number or PIN is never kept.'),
    form, list));
  api.flows().then((fs) => {
    for (const f of fs) flow.append(h('option', {value: f.id, selected: f.id === params.get('flow')}, f.name ? `${f.name} (${f.id})` : f.id));
  }).catch(() => {});
  flow.value = params.get('flow') || '';

  const query = () => {
    const q = new URLSearchParams();
    const t = (v) => (v ? new Date(v).toISOString() : '');
    for (const [k, v] of [['from', t(from.value)], ['to', t(to.value)], ['outcome', outcome.value], ['recognized', recognized.value],
      ['member', member.value.trim()], ['called', called.value.trim()], ['flow', flow.value || params.get('flow') || ''], ['version', version.value]]) {
      if (v) q.set(k, v);
    }
    if (!q.get('flow')) q.delete('version');
    return q;
  };
  const search = async (cursor) => {
    const q = query();
    if (cursor) q.set('cursor', cursor); else clear(list).append(h('p', {class: 'muted'}, 'Searching…'));
    let page;
    try {
      page = await api.calls(q.toString());
    } catch (e) {
      clear(list).append(h('p', {class: 'error'}, `✖ ${e.field ? e.field + ': ' : ''}${e.message}`));
      return;
    }
    if (!cursor) clear(list);
    let tbody = list.querySelector('tbody');
    if (!tbody) {
      if (!page.calls.length) { list.append(h('p', {}, 'No call matches.')); return; }
      const table = h('table', {class: 'table calls'},
        h('caption', {class: 'sr-only'}, 'Calls, newest first'),
        h('thead', {}, h('tr', {}, ['Started', 'Caller', 'Called', 'Recognized', 'Member', 'Flow', 'Outcome', 'Length', ''].map((c) => h('th', {scope: 'col'}, c)))));
      tbody = h('tbody', {});
      table.append(tbody);
      list.append(table);
    }
    list.querySelector('.more')?.remove();
    for (const c of page.calls) {
      tbody.append(h('tr', {'data-call': c.call_sid},
        h('td', {}, fmtTime(c.started_at)), h('td', {}, c.caller || 'withheld'), h('td', {}, c.called || '—'),
        h('td', {}, c.recognized || '—'), h('td', {}, c.member_id || '—'), h('td', {}, c.flow ? `${c.flow} v${c.flow_version}` : '—'),
        h('td', {class: 'outcome'}, outcomeWords(c.outcome)), h('td', {class: 'length'}, c.duration_s !== undefined ? `${c.duration_s} s` : '—'),
        h('td', {}, h('a', {href: `#/calls/${encodeURIComponent(c.call_sid)}`}, 'Journey'))));
    }
    if (page.next) list.append(h('button', {type: 'button', class: 'btn more', onclick: () => search(page.next)}, 'More calls'));
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = query();
    history.replaceState(null, '', `#/calls?${q.toString()}`);
    search();
  });
  search();
}

const heardWords = (input) => {
  if (!input) return null;
  if (input === 'none') return 'stayed silent';
  if (input === 'unmatched') return 'answered something no option has';
  if (input === 'member_number') return 'keyed a member number (not kept)';
  if (input === 'name') return 'said a household member\'s name (not kept)';
  if (input === 'recording') return 'left a recording';
  return /^[0-9*#]+$/.test(input) ? `pressed ${input}` : `said “${input}”`;
};

// showJourney shows one call: its facts, every webhook, and its path on its version's graph.
export async function showJourney(main, sid) {
  const box = h('section', {class: 'page journey', 'aria-labelledby': 'journey-title'}, h('p', {class: 'muted'}, 'Loading the call…'));
  clear(main).append(box);
  let j; let version = null;
  try {
    j = await api.journey(sid);
    if (j.call.flow && j.call.flow_version) version = await api.version(j.call.flow, j.call.flow_version).catch(() => null);
  } catch (e) {
    clear(box).append(h('p', {class: 'error'}, `✖ ${e.status === 404 ? `There is no record of call ${sid}.` : e.message}`));
    return;
  }
  const c = j.call;
  const steps = h('ol', {class: 'turns', 'aria-label': 'The call, webhook by webhook'});
  j.steps.forEach((st, i) => {
    const answered = heardWords(st.input);
    steps.append(h('li', {class: 'turn', 'data-turn': String(i)},
      h('p', {class: 'when muted'}, `${i === 0 ? 'The call starts' : `Webhook ${i}`} · ${fmtTime(st.at)}`),
      answered ? h('p', {class: 'caller'}, h('span', {class: 'who'}, 'Caller'), ` ${answered}`) : null,
      st.said.length ? h('ul', {class: 'said'}, st.said.map((line) => h('li', {}, h('span', {class: 'who'}, 'IVR'), ' ', line))) : null,
      h('p', {class: 'path'}, h('span', {class: 'muted'}, 'Path: '), st.nodes.join(' → ') || '—'),
      (st.fetches || []).map((f) => h('p', {class: 'fetch'}, h('span', {class: 'muted'}, `Fetch ${f.node}: `),
        `${f.connection} ${f.path} → ${f.outcome}${f.status ? ` ${f.status}` : ''} in ${f.duration_ms} ms`,
        f.saved && f.saved.length ? ` · saved ${f.saved.join(', ')}` : '')),
      st.outcome ? h('p', {class: 'end'}, `☎ ${outcomeWords(st.outcome)}`) : null));
  });
  const graphBox = h('div', {class: 'journey-graph'});
  clear(box).append(
    h('a', {href: '#/calls', class: 'back'}, '← All calls'),
    h('h1', {id: 'journey-title'}, 'Call ', h('code', {}, c.call_sid)),
    h('dl', {class: 'facts'},
      h('dt', {}, 'Started'), h('dd', {}, fmtTime(c.started_at)),
      h('dt', {}, 'Caller'), h('dd', {}, `${c.caller || 'withheld'} → ${c.called || '—'}`),
      h('dt', {}, 'Recognized'), h('dd', {}, `${c.recognized || '—'}${c.member_id ? ` · member ${c.member_id}` : ''}`),
      c.trust ? [h('dt', {}, 'Caller ID'), h('dd', {class: 'trust'}, TRUST_WORDS[c.trust] || c.trust)] : null,
      h('dt', {}, 'Flow'), h('dd', {}, c.flow ? h('a', {href: `#/flows/${encodeURIComponent(c.flow)}`}, `${c.flow} v${c.flow_version}`) : '—'),
      h('dt', {}, 'Ended'), h('dd', {}, `${outcomeWords(c.outcome)}${c.duration_s !== undefined ? ` after ${c.duration_s} s` : ''}`),
      (j.messages || []).length ? [h('dt', {}, 'Messages'), h('dd', {class: 'messages'}, j.messages.map((m) =>
        h('div', {}, `${m.channel} from node ${m.node}: ${m.status}${m.error_code ? ` (Twilio ${m.error_code})` : ''}${m.template_sid ? ` · template ${m.template_sid}` : ''}`)))] : null,
      j.callback ? [h('dt', {}, 'Callback'), h('dd', {class: 'callback'}, h('a', {href: '#/callbacks'}, `#${j.callback.id}`),
        ` ${j.callback.status}, due ${fmtTime(j.callback.due_at)}`,
        j.callback.tries.length ? ` · ${j.callback.tries.map((t) => `${t.outcome}${t.call_sid ? ` (${t.call_sid})` : ''}`).join(', ')}` : '')] : null),
    h('p', {class: 'muted heard'}, j.heard ? `What the caller heard is ${j.heard}.` : '', j.reason ? ` ${j.reason}.` : ''),
    h('div', {class: 'journey-cols'}, steps, graphBox));
  if (!version) {
    graphBox.append(h('p', {class: 'muted'}, 'The flow version this call ran is not available to draw.'));
    return;
  }
  const graph = new Graph({onSelect: () => {}, onConnect: () => {}, onDelete: () => {}});
  graphBox.append(h('h2', {}, `Its path on ${c.flow} v${c.flow_version}`), graph.el);
  const nodes = c.nodes.filter((n, i) => n !== c.nodes[i - 1]);
  const path = nodePath(nodes);
  graph.firstView = {ids: nodes}; // the call's path, whole
  graph.render(version.document, new Map(), {...path, current: nodes[nodes.length - 1] || null});
}
