// Version history: every published version, a side-by-side diff of any two (or the
// draft), and rollback.

import {h, field, clear, fmtTime, dialog, toast} from './dom.js';
import {api} from './api.js';

function show(v) {
  if (v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v, null, 2);
}

export class History {
  // editor gives: flowId, refreshMeta().
  constructor(editor) {
    this.editor = editor;
    this.el = h('section', {class: 'history', 'aria-label': 'Version history'});
    this.list = h('div', {});
    this.from = h('select', {id: 'diff-from'});
    this.to = h('select', {id: 'diff-to'});
    this.diffBox = h('div', {class: 'diff', 'aria-live': 'polite'});
    this.el.append(
      h('h2', {}, 'Published versions'), this.list,
      h('h2', {}, 'Compare'),
      h('div', {class: 'row end'}, field('From', this.from), field('To', this.to),
        h('button', {type: 'button', class: 'btn', onclick: () => this.compare()}, 'Compare')),
      this.diffBox);
  }

  async load() {
    let vs;
    try {
      vs = await api.versions(this.editor.flowId);
    } catch (e) {
      clear(this.list).append(h('p', {class: 'error'}, `✖ ${e.message}`));
      return;
    }
    this.versions = vs;
    const latest = vs.length ? vs[vs.length - 1].version : 0;
    const table = h('table', {class: 'table'},
      h('caption', {class: 'sr-only'}, 'Published versions, newest first'),
      h('thead', {}, h('tr', {}, ['Version', 'Published', 'By', 'Message', ''].map((t) => h('th', {scope: 'col'}, t)))));
    const tb = h('tbody', {});
    for (const v of [...vs].reverse()) {
      tb.append(h('tr', {},
        h('td', {}, `v${v.version}`, v.version === latest ? h('span', {class: 'chip ok'}, '✔ live') : null),
        h('td', {}, fmtTime(v.created_at)),
        h('td', {}, v.author),
        h('td', {}, v.message || '—', v.rollback_of ? h('span', {class: 'muted'}, ` (rollback to v${v.rollback_of})`) : null),
        h('td', {}, v.version === latest ? null : h('button', {type: 'button', class: 'btn small', 'data-needs': 'publisher', onclick: () => this.rollback(v.version)}, `Roll back to v${v.version}`))));
    }
    table.append(tb);
    clear(this.list).append(vs.length ? table : h('p', {class: 'muted'}, 'Nothing published yet.'));
    const opts = (sel, def) => {
      const keep = sel.value;
      clear(sel);
      sel.append(h('option', {value: 'draft'}, 'draft (saved)'));
      for (const v of [...vs].reverse()) sel.append(h('option', {value: String(v.version)}, `v${v.version} — ${v.message || 'no message'}`));
      sel.value = keep && [...sel.options].some((o) => o.value === keep) ? keep : def;
    };
    opts(this.from, latest > 1 ? String(latest - 1) : latest ? String(latest) : 'draft');
    opts(this.to, latest > 1 ? String(latest) : 'draft');
  }

  async compare() {
    clear(this.diffBox).append(h('p', {class: 'muted'}, 'Comparing…'));
    let d;
    try {
      d = await api.diff(this.editor.flowId, this.from.value, this.to.value);
    } catch (e) {
      clear(this.diffBox).append(h('p', {class: 'error'}, `✖ ${e.message}`));
      return;
    }
    const name = (v) => (v === 'draft' ? 'draft' : `v${v}`);
    clear(this.diffBox);
    if (!d.changes.length) {
      this.diffBox.append(h('p', {}, `✔ ${name(d.from)} and ${name(d.to)} are the same.`));
      return;
    }
    const list = (label, ids) => (ids.length ? h('li', {}, `${label}: `, ids.join(', ')) : null);
    this.diffBox.append(h('ul', {class: 'diffsum'},
      list('＋ Nodes added', d.added), list('− Nodes removed', d.removed), list('~ Nodes changed', d.changed)));
    const table = h('table', {class: 'table sbs'},
      h('caption', {}, `${name(d.from)} (left) against ${name(d.to)} (right)`),
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Path'), h('th', {scope: 'col'}, name(d.from)), h('th', {scope: 'col'}, name(d.to)))));
    const tb = h('tbody', {});
    const mark = {added: '＋ added', removed: '− removed', changed: '~ changed'};
    for (const c of d.changes) {
      tb.append(h('tr', {class: c.op},
        h('th', {scope: 'row'}, h('code', {}, c.path), h('span', {class: 'op'}, mark[c.op] || c.op)),
        h('td', {class: 'old'}, c.op === 'added' ? h('span', {class: 'muted'}, '(not there)') : h('pre', {}, show(c.old))),
        h('td', {class: 'new'}, c.op === 'removed' ? h('span', {class: 'muted'}, '(not there)') : h('pre', {}, show(c.new)))));
    }
    table.append(tb);
    this.diffBox.append(table);
  }

  async rollback(version) {
    const msg = h('input', {type: 'text', value: `roll back to v${version}`, autocomplete: 'off'});
    const body = h('div', {},
      h('p', {}, `Calls that start after this will run version ${version} again, published as a new version. Calls in progress keep their version. The draft is not changed.`),
      field('Message', msg));
    const ok = await dialog(`Roll back to v${version}?`, body, [
      {label: 'Cancel', value: false, class: 'ghost'},
      {label: `Roll back to v${version}`, value: true, class: 'primary'}]);
    if (!ok) return;
    try {
      const v = await api.rollback(this.editor.flowId, version, msg.value.trim());
      toast(`Rolled back: v${v.version} now runs v${version}'s flow.`, 'ok');
    } catch (e) {
      toast(`Rollback failed: ${e.message}`, 'error');
    }
    await this.load();
    await this.editor.refreshMeta();
  }
}
