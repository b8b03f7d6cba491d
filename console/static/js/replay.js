// The Replay panel: the recorded calls of a period run through the saved draft with their
// own inputs, caller and clock; the calls that would go another way, each with both paths
// on the graph. Replay writes nothing.

import {h, field, clear, fmtTime, localInput} from './dom.js';
import {api} from './api.js';
import {nodePath} from './simulator.js';

const OUTCOME = {handoff: 'handed off', self_service: 'ended in self-service', caller_hung_up: 'caller hung up', error: 'error'};
const ending = (e) => `${OUTCOME[e.outcome] || e.outcome || 'still in progress'}${e.node ? ` at ${e.node}` : ''}`;

export class ReplayPanel {
  // editor gives: flowId, ensureSaved(), highlight(), graph.reveal().
  constructor(editor) {
    this.editor = editor;
    this.el = h('section', {class: 'replay', 'aria-label': 'Replay recorded calls'});
    // The last seven days up to the end of today, so calls placed after opening are in it.
    const day = new Date(); day.setHours(0, 0, 0, 0);
    const from = new Date(day); from.setDate(from.getDate() - 7);
    const to = new Date(day); to.setDate(to.getDate() + 1);
    this.from = h('input', {type: 'datetime-local', id: 'replay-from', value: localInput(from)});
    this.to = h('input', {type: 'datetime-local', id: 'replay-to', value: localInput(to)});
    this.limit = h('input', {type: 'number', id: 'replay-limit', min: '1', max: '200', value: '50'});
    this.summary = h('p', {class: 'replay-summary', 'aria-live': 'polite'});
    this.results = h('div', {});
    this.detail = h('div', {class: 'replay-detail', 'aria-live': 'polite'});
    this.el.append(
      h('p', {class: 'muted'}, 'Replay plays the calls recorded in a period through the saved draft, each with its own keys and words, its caller as stored now and its own clock, and shows which would go another way. It writes no call record and changes no member.'),
      h('div', {class: 'row end'}, field('From', this.from), field('To', this.to), field('At most', this.limit)),
      h('div', {class: 'actions', 'data-needs': 'editor'}, h('button', {type: 'button', class: 'btn primary', id: 'replay-run', onclick: () => this.run()}, '▶ Replay against the draft')),
      this.summary, this.results, this.detail);
  }

  async run() {
    clear(this.results); clear(this.detail);
    const from = new Date(this.from.value); const to = new Date(this.to.value);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from >= to) {
      this.summary.textContent = '✖ Pick a period: a start before its end.';
      return;
    }
    this.summary.textContent = '… saving the draft';
    if (!(await this.editor.ensureSaved())) {
      this.summary.textContent = '✖ The draft could not be saved, so nothing was replayed.';
      return;
    }
    this.summary.textContent = '… replaying';
    let r;
    try {
      r = await api.replay(this.editor.flowId, {from: from.toISOString(), to: to.toISOString(), limit: Number(this.limit.value) || 50});
    } catch (e) {
      this.summary.textContent = e.status === 422 && e.body.errors
        ? `✖ The draft has ${e.body.errors.length} error(s): fix them (see Problems) to replay calls through it.`
        : `✖ ${e.message}`;
      return;
    }
    const n = r.summary;
    this.summary.textContent = n.calls
      ? `${n.calls} call${n.calls === 1 ? '' : 's'} replayed through the draft: ✔ ${n.same} the same, ≠ ${n.changed} changed, ○ ${n.not_replayed} not replayed.`
      : 'No call was recorded on this flow in that period.';
    const changed = r.calls.filter((c) => c.was_end && !c.same);
    if (changed.length) {
      this.results.append(h('h2', {}, 'Calls that would go another way'));
      const list = h('ul', {class: 'replaycalls', 'aria-label': 'Calls that would go another way'});
      for (const c of changed) {
        list.append(h('li', {'data-call': c.call_sid},
          h('p', {}, h('code', {}, c.call_sid), h('span', {class: 'muted'}, ` · ${fmtTime(c.started_at)}`)),
          h('p', {class: 'where'}, where(c)),
          h('dl', {class: 'ends'}, h('dt', {}, 'Was'), h('dd', {}, ending(c.was_end)), h('dt', {}, 'Now'), h('dd', {}, ending(c.now_end))),
          h('button', {type: 'button', class: 'btn small', onclick: () => this.open(c)}, 'Show both paths')));
      }
      this.results.append(list);
    }
    const skipped = r.calls.filter((c) => !c.was_end);
    if (skipped.length) {
      this.results.append(h('details', {}, h('summary', {}, `${skipped.length} not replayed, and why`),
        h('ul', {}, skipped.map((c) => h('li', {}, h('code', {}, c.call_sid), ` ${c.reason}`)))));
    }
  }

  // open draws a changed call's recorded path and its replay on the graph, and lists both.
  open(c) {
    const now = nodePath(c.now_path);
    this.editor.highlight({...now, current: null, was: nodePath(c.was_path), parts: c.before || null});
    if (c.before) this.editor.graph.reveal(c.before);
    clear(this.detail).append(
      h('h2', {}, `Call ${c.call_sid}`),
      h('p', {}, where(c)),
      h('dl', {class: 'paths'},
        h('dt', {}, '◌ As recorded'), h('dd', {class: 'was-path'}, c.was_path.join(' → ')),
        h('dt', {}, '● With this draft'), h('dd', {class: 'now-path'}, c.now_path.join(' → '))));
  }
}

// where says where a changed call parts from its recording.
function where(c) {
  const after = c.before ? ` after ${c.before}` : '';
  const went = c.was || c.now ? `: ${c.was || '(the turn ended)'} → ${c.now || '(the turn ends)'}` : ': the same nodes, another ending';
  return `At webhook ${c.turn || 0}${after}${went}`;
}
