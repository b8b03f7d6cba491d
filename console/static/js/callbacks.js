// Callbacks: what waiting callers asked for instead of waiting. What is pending and when
// it is due, each try's outcome (with Twilio's error code), and for editors: dial one now
// or cancel it.

import {h, clear, toast, fmtTime} from './dom.js';
import {api} from './api.js';

const STATUSES = ['pending', 'dialing', 'done', 'failed', 'cancelled'];

export async function showCallbacks(main) {
  const status = h('select', {id: 'cb-status', 'aria-label': 'Status'},
    h('option', {value: ''}, 'Any status'), STATUSES.map((s) => h('option', {value: s, selected: s === 'pending'}, s)));
  const list = h('div', {'aria-live': 'polite'});
  const box = h('section', {class: 'page callbacks', 'aria-labelledby': 'cb-title'},
    h('h1', {id: 'cb-title'}, 'Callbacks'),
    h('p', {class: 'muted'}, 'Callers who asked to be called back instead of waiting keep their place: each is due when the wait estimated then has passed.'),
    h('div', {class: 'row'}, h('label', {for: 'cb-status'}, 'Status '), status),
    list);
  clear(main).append(box);
  const reload = async () => {
    let cbs;
    try {
      cbs = await api.callbacks(status.value);
    } catch (e) {
      clear(list).append(h('p', {class: 'error'}, `✖ ${e.message}`));
      return;
    }
    if (!cbs.length) {
      clear(list).append(h('p', {class: 'empty'}, status.value ? `No ${status.value} callback.` : 'No callback yet.'));
      return;
    }
    const act = (label, fn, c) => h('button', {type: 'button', class: 'btn small', 'data-needs': 'editor', onclick: async () => {
      try {
        await fn(c.id);
        toast(`${label}: callback ${c.id}`);
        reload();
      } catch (e) { toast(`✖ ${e.message}`); }
    }}, label);
    clear(list).append(h('table', {class: 'table data', 'aria-label': 'Callbacks'},
      h('thead', {}, h('tr', {}, ['Due', 'Number', 'Member', 'Queue', 'Priority', 'Status', 'Tries', 'Asked', ''].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', {}, cbs.map((c) => h('tr', {'data-callback': c.id},
        h('td', {}, fmtTime(c.due_at)), h('td', {}, c.number), h('td', {}, c.member_id || '—'),
        h('td', {}, c.queue || c.workflow || '—'), h('td', {}, String(c.priority)),
        h('td', {}, c.status + (c.error_code ? ` (Twilio ${c.error_code})` : '')),
        h('td', {}, c.tries.length ? h('ol', {class: 'tries'}, c.tries.map((t) => h('li', {}, `${fmtTime(t.at)}: ${t.outcome}${t.error_code ? ` ${t.error_code}` : ''}`))) : `${c.attempts} of ${c.max_attempts}`),
        h('td', {}, [fmtTime(c.requested_at), ' · ', h('a', {href: `#/calls/${encodeURIComponent(c.call_sid)}`}, 'the call')]),
        h('td', {}, c.status === 'pending' ? [act('Dial now', api.dialCallback, c), ' ', act('Cancel', api.cancelCallback, c)] : null))))));
  };
  status.addEventListener('change', reload);
  reload();
}
