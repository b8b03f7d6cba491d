// The Traffic panel: how a period's calls on one published version went through the
// flow, drawn over the graph (calls per edge as thickness and a label, calls in per node,
// nodes where callers hung up marked with a dashed border and a count) and as a table.

import {h, field, clear, isoDay} from './dom.js';
import {api} from './api.js';

export class TrafficPanel {
  // editor gives: flowId, showTraffic(traffic | null).
  constructor(editor) {
    this.editor = editor;
    this.el = h('section', {class: 'traffic-panel', 'aria-label': 'Traffic'});
    this.version = h('select', {id: 'traffic-version'});
    const today = new Date();
    this.from = h('input', {type: 'date', id: 'traffic-from', value: isoDay(new Date(today.getTime() - 6 * 86400000))});
    this.to = h('input', {type: 'date', id: 'traffic-to', value: isoDay(today)});
    this.summary = h('p', {class: 'traffic-summary', 'aria-live': 'polite'});
    this.table = h('div', {});
    this.el.append(
      h('p', {class: 'muted'}, 'Where a period\'s calls went on a published version: drawn on the graph, and listed below.'),
      h('div', {class: 'row end'}, field('Version', this.version), field('From', this.from), field('To (included)', this.to)),
      h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'btn ghost', onclick: () => this.hide()}, 'Hide traffic'),
        h('button', {type: 'button', class: 'btn primary', id: 'traffic-show', onclick: () => this.show()}, 'Show traffic')),
      this.summary, this.table);
  }

  async load() {
    let vs;
    try {
      vs = await api.versions(this.editor.flowId);
    } catch { return; }
    const keep = this.version.value;
    clear(this.version).append(...[...vs].reverse().map((v) => h('option', {value: String(v.version)}, `v${v.version}${v.message ? ` — ${v.message}` : ''}`)));
    if (keep) this.version.value = keep;
  }

  hide() {
    this.editor.showTraffic(null);
    this.summary.textContent = 'Traffic is hidden.';
    clear(this.table);
  }

  async show() {
    if (!this.version.value) {
      this.summary.textContent = '✖ This flow has no published version yet: no call has run it.';
      return;
    }
    this.summary.textContent = '… counting';
    let t;
    try {
      t = await api.traffic(this.editor.flowId, `version=${this.version.value}&from=${this.from.value}&to=${this.to.value}&tz=${encodeURIComponent(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC')}`);
    } catch (e) {
      this.summary.textContent = `✖ ${e.message}`;
      return;
    }
    this.editor.showTraffic({calls: t.calls, nodes: new Map(t.nodes.map((n) => [n.node, n])), edges: new Map(t.edges.map((e) => [`${e.from}\u0000${e.to}`, e.calls]))});
    this.summary.textContent = `${t.calls} call${t.calls === 1 ? '' : 's'} on v${t.version} from ${this.from.value} to ${this.to.value}, drawn on the draft's graph.`;
    const rows = [...t.nodes].sort((a, b) => b.hung_up - a.hung_up || b.entered - a.entered);
    clear(this.table).append(h('table', {class: 'table'},
      h('caption', {}, 'Calls per node, most hang-ups first'),
      h('thead', {}, h('tr', {}, ['Node', 'In', 'Hung up here', 'Handed off here', 'Self-service end'].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', {}, rows.map((n) => h('tr', {'data-node': n.node}, h('th', {scope: 'row'}, n.node),
        h('td', {}, n.entered), h('td', {}, n.hung_up), h('td', {}, n.handed_off), h('td', {}, n.self_service))))));
  }
}
