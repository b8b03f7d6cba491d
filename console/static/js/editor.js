// The flow editor: the graph, the node form, validation as you type, saving with
// optimistic locking (and a stale save that keeps the admin's changes), publishing, the
// simulator, the flow's tests, replaying recorded calls and the version history.

import {h, field, clear, debounce, toast, dialog, fmtTime} from './dom.js';
import {api} from './api.js';
import {NODE_TYPES, clone, newNode, deleteNode, connect, nodeOfPath, reapply, describeChange, nodeById} from './model.js';
import {Graph} from './graph.js';
import {NodeForm} from './nodeform.js';
import {Simulator} from './simulator.js';
import {History} from './history.js';
import {TestsPanel} from './tests.js';
import {ReplayPanel} from './replay.js';
import {TrafficPanel} from './traffic.js';

export class Editor {
  constructor(flowId, {simulatePhone} = {}) {
    this.flowId = flowId;
    this.simulatePhone = simulatePhone;
    this.problems = [];
    this.validSeq = 0;
    this.dirty = false;
    this.sim = {visited: new Set(), current: null, pairs: new Set()};
    this.el = h('div', {class: 'editor'});
    this.validateSoon = debounce(() => this.validate(), 300);
    this.redrawSoon = debounce(() => this.redraw(), 60);
    this.beforeUnload = (e) => { if (this.dirty) { e.preventDefault(); e.returnValue = ''; } };
    window.addEventListener('beforeunload', this.beforeUnload);
  }

  destroy() { window.removeEventListener('beforeunload', this.beforeUnload); }

  doc() { return this.document; }

  async load() {
    clear(this.el).append(h('p', {class: 'muted pad'}, 'Loading the flow…'));
    const r = await api.draft(this.flowId);
    this.document = JSON.parse(r.text);
    this.base = clone(this.document);
    this.etag = r.etag;
    this.build();
    await this.refreshMeta();
    this.redraw();
    await this.validate();
    this.history.load();
    if (this.simulatePhone) {
      this.tab('sim');
      this.simulator.asCaller(this.simulatePhone);
      this.simulator.start();
    }
  }

  build() {
    clear(this.el);
    this.title = h('h1', {}, this.document.name || this.flowId);
    this.meta = h('div', {class: 'chips'});
    this.saveState = h('span', {class: 'savestate', 'aria-live': 'polite'}, 'All changes saved');
    this.validity = h('button', {type: 'button', class: 'chip', id: 'validity', onclick: () => this.tab('problems')}, '… checking');
    const typeSel = h('select', {id: 'add-type'}, Object.entries(NODE_TYPES).map(([t, s]) => h('option', {value: t}, s.label)));
    this.publishMsg = h('input', {type: 'text', id: 'publish-message', placeholder: 'What changed', autocomplete: 'off'});
    this.saveBtn = h('button', {type: 'button', class: 'btn', onclick: () => this.save()}, 'Save draft');
    this.publishBtn = h('button', {type: 'button', class: 'btn primary', id: 'publish', onclick: () => this.publish()}, 'Publish');
    this.publishWhy = h('p', {class: 'hint', id: 'publish-why', 'data-needs': 'publisher'});
    this.publishBtn.setAttribute('aria-describedby', 'publish-why');
    const toolbar = h('div', {class: 'toolbar', role: 'toolbar', 'aria-label': 'Flow actions'},
      h('div', {class: 'group', 'data-needs': 'editor'}, field('Add a node', typeSel), h('button', {type: 'button', class: 'btn', onclick: () => this.addNode(typeSel.value)}, '+ Add node')),
      h('div', {class: 'group', 'data-needs': 'editor'}, this.saveBtn),
      h('div', {class: 'group', 'data-needs': 'publisher'}, field('Publish message', this.publishMsg), this.publishBtn));
    const head = h('div', {class: 'edhead'},
      h('div', {}, h('a', {href: '#/flows', class: 'back'}, '← All flows'), this.title,
        h('p', {class: 'muted'}, h('code', {}, this.flowId), ' · ', this.saveState, ' · ', this.validity), this.meta),
      h('div', {}, toolbar, this.publishWhy));

    this.graph = new Graph({
      onSelect: (id) => this.select(id),
      onConnect: (from, to) => {
        let p = null;
        this.edit((d) => { p = connect(d, from, to); }, true);
        if (p) toast(`Connected ${from} → ${to} (${p.split('.').slice(2).join('.')}).`, 'ok');
      },
      onDelete: (id) => this.deleteNode(id),
    });
    this.form = new NodeForm({
      edit: (fn, structural) => this.edit(fn, structural),
      onDelete: (id) => this.deleteNode(id),
      onRenamed: (id) => { this.selected = id; this.graph.select(id); this.form.show(this.document, id); this.showProblems(); },
    });
    this.form.show(this.document, null);
    this.problemsBox = h('section', {class: 'problemlist', 'aria-label': 'Problems'});
    this.simulator = new Simulator(this);
    this.history = new History(this);
    this.tests = new TestsPanel(this);
    this.replay = new ReplayPanel(this);
    this.traffic = new TrafficPanel(this);

    const tabs = [['node', 'Node', this.form.el], ['problems', 'Problems', this.problemsBox], ['sim', 'Simulator', this.simulator.el],
      ['tests', 'Tests', this.tests.el], ['replay', 'Replay', this.replay.el], ['traffic', 'Traffic', this.traffic.el], ['history', 'History', this.history.el]];
    this.tabButtons = {};
    this.panels = {};
    const tablist = h('div', {class: 'tabs', role: 'tablist', 'aria-label': 'Panels'});
    const panelsBox = h('div', {class: 'panels'});
    for (const [key, label, content] of tabs) {
      const b = h('button', {type: 'button', role: 'tab', id: `tab-${key}`, 'aria-controls': `panel-${key}`, onclick: () => this.tab(key)}, label);
      b.addEventListener('keydown', (e) => {
        const keys = tabs.map((t) => t[0]);
        const i = keys.indexOf(key);
        if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
          const next = keys[(i + (e.key === 'ArrowRight' ? 1 : keys.length - 1)) % keys.length];
          this.tab(next); this.tabButtons[next].focus();
        }
      });
      const p = h('div', {role: 'tabpanel', id: `panel-${key}`, 'aria-labelledby': `tab-${key}`, class: 'panel', tabindex: '-1'}, content);
      this.tabButtons[key] = b; this.panels[key] = p;
      tablist.append(b); panelsBox.append(p);
    }
    const side = h('aside', {class: 'side'}, tablist, panelsBox);
    this.el.append(head, h('div', {class: 'workspace'}, this.graph.el, side));
    this.tab('node');
    this.el.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === 's') { e.preventDefault(); this.save(); }
    });
  }

  tab(key) {
    for (const [k, b] of Object.entries(this.tabButtons)) {
      const on = k === key;
      b.setAttribute('aria-selected', on ? 'true' : 'false');
      b.tabIndex = on ? 0 : -1;
      this.panels[k].hidden = !on;
    }
    if (key === 'history') this.history.load();
    if (key === 'traffic') this.traffic.load();
  }

  // showTraffic draws traffic over the graph ({calls, nodes, edges}), or removes it (null).
  showTraffic(t) {
    this.graph.traffic = t;
    this.redraw();
  }

  async refreshMeta() {
    let f;
    try {
      f = (await api.flows()).find((x) => x.id === this.flowId);
    } catch { return; }
    if (!f) return;
    this.summary = f;
    this.showChips();
  }

  // showChips shows the flow's state; with unsaved edits, whether the saved draft matches
  // the published version says nothing about what is on screen, so it is not shown.
  showChips() {
    if (this.summary) clear(this.meta).append(...statusChips(this.summary, {unsaved: this.dirty}));
  }

  select(id) {
    this.selected = id;
    this.graph.select(id);
    this.form.show(this.document, id);
    this.showProblems();
    this.tab('node');
  }

  // edit applies fn to the document: marks it unsaved, redraws, and validates soon.
  edit(fn, structural = false) {
    fn(this.document);
    this.setDirty(true);
    if (structural) {
      if (this.selected && !nodeById(this.document, this.selected)) this.selected = null;
      this.form.show(this.document, this.selected);
      this.showProblems();
    }
    this.redrawSoon();
    // An answer to a validation still in flight is about the document before this edit:
    // it must not say "valid" (or enable Publish) for this one.
    this.validSeq++;
    this.validity.textContent = '… checking';
    this.validity.className = 'chip'; // neither ok nor an error until the answer
    this.publishBtn.disabled = true;
    this.validateSoon();
  }

  setDirty(d) {
    this.dirty = d;
    this.saveState.textContent = d ? '✎ Unsaved changes' : '✔ All changes saved';
    this.saveState.classList.toggle('unsaved', d);
    this.showChips();
  }

  redraw() {
    const byNode = new Map();
    for (const p of this.problems) {
      const id = nodeOfPath(this.document, p.path);
      if (!id) continue;
      if (!byNode.has(id)) byNode.set(id, {errors: [], warnings: []});
      byNode.get(id)[p.level === 'error' ? 'errors' : 'warnings'].push(p);
    }
    this.graph.selected = this.selected;
    this.graph.render(this.document, byNode, this.sim);
  }

  highlight(sim) {
    this.sim = sim;
    this.redraw();
    if (sim.current) this.graph.reveal(sim.current);
  }

  async validate() {
    const seq = ++this.validSeq;
    this.validity.textContent = '… checking';
    let r;
    try {
      r = await api.validate(this.flowId, this.document);
    } catch (e) {
      if (seq !== this.validSeq) return;
      r = {errors: [{path: e.field || '', message: e.message}], warnings: []};
    }
    if (seq !== this.validSeq) return;
    this.problems = [...r.errors.map((p) => ({...p, level: 'error'})), ...r.warnings.map((p) => ({...p, level: 'warning'}))];
    const ne = r.errors.length; const nw = r.warnings.length;
    this.validity.textContent = ne ? `✖ ${ne} error${ne > 1 ? 's' : ''}${nw ? `, ⚠ ${nw} warning${nw > 1 ? 's' : ''}` : ''}`
      : nw ? `✔ no errors, ⚠ ${nw} warning${nw > 1 ? 's' : ''}` : '✔ valid';
    this.validity.className = `chip ${ne ? 'err' : nw ? 'warn' : 'ok'}`;
    this.validity.id = 'validity';
    this.publishBtn.disabled = ne > 0;
    this.publishWhy.textContent = ne ? `Publishing is disabled: fix ${ne} error${ne > 1 ? 's' : ''} first.` : '';
    this.showProblems();
    this.redraw();
  }

  showProblems() {
    if (this.form.id) this.form.showProblems(this.problems.filter((p) => nodeOfPath(this.document, p.path) === this.form.id));
    clear(this.problemsBox);
    if (!this.problems.length) { this.problemsBox.append(h('p', {}, '✔ No errors or warnings.')); return; }
    const ul = h('ul', {class: 'problems'});
    for (const p of this.problems) {
      const node = nodeOfPath(this.document, p.path);
      const word = p.level === 'error' ? 'Error' : 'Warning';
      ul.append(h('li', {class: p.level},
        h('span', {class: 'icon', 'aria-hidden': 'true'}, p.level === 'error' ? '✖' : '⚠'), ` ${word}: `,
        node ? h('button', {type: 'button', class: 'link', onclick: () => { this.select(node); this.graph.reveal(node); }}, p.path) : h('code', {}, p.path || '(flow)'),
        ` ${p.message}`));
    }
    this.problemsBox.append(ul);
  }

  addNode(type) {
    const n = newNode(this.document, type);
    this.edit((d) => { d.nodes.push(n); }, true);
    this.select(n.id);
    this.redraw();
    this.graph.reveal(n.id);
    toast(`Added ${n.id}. Drag from another node's handle onto it, or pick it as a target, to connect it.`, 'ok');
  }

  async deleteNode(id) {
    const ok = await dialog(`Delete node ${id}?`, h('p', {}, 'References to it are cleared; validation then shows where a new target is needed. Nothing is saved until you save the draft.'),
      [{label: 'Cancel', value: false, class: 'ghost'}, {label: `Delete ${id}`, value: true, class: 'danger'}]);
    if (!ok) return;
    this.edit((d) => deleteNode(d, id), true);
    toast(`Deleted ${id}.`, 'ok');
  }

  // ensureSaved saves unsaved changes before an action that reads the saved draft.
  async ensureSaved() {
    if (!this.dirty) return true;
    return this.save();
  }

  async save() {
    const sent = clone(this.document);
    this.saveState.textContent = '… saving';
    try {
      const r = await api.save(this.flowId, sent, this.etag);
      this.etag = r.etag || r.body.etag;
      this.base = sent;
      this.setDirty(JSON.stringify(sent) !== JSON.stringify(this.document));
      await this.refreshMeta();
      return true;
    } catch (e) {
      this.setDirty(true);
      if (e.status === 412) { await this.stale(); return false; }
      toast(`Not saved: ${e.message}`, 'error');
      return false;
    }
  }

  // stale explains that someone else saved first and offers to re-apply the admin's own
  // changes onto the latest draft; the admin's document is never dropped silently.
  async stale() {
    const r = await api.draft(this.flowId);
    const theirs = JSON.parse(r.text);
    const mine = clone(this.document);
    const merged = reapply(this.base, mine, theirs);
    const who = this.summaryAfter = (await api.flows().catch(() => [])).find((f) => f.id === this.flowId);
    const list = (items) => (items.length ? h('ul', {}, items.map((c) => h('li', {}, describeChange(c)))) : h('p', {class: 'muted'}, 'nothing'));
    const blob = new Blob([JSON.stringify(mine, null, 2)], {type: 'application/json'});
    const body = h('div', {class: 'stale'},
      h('p', {}, `${who ? who.updated_by : 'Someone'} saved this flow's draft${who ? ' at ' + fmtTime(who.updated_at) : ''}, after you opened it. `,
        h('strong', {}, 'Your changes were not saved, and they are kept here.')),
      h('div', {class: 'cols'},
        h('div', {}, h('h3', {}, 'Your changes'), list(merged.mine)),
        h('div', {}, h('h3', {}, 'Their changes'), list(merged.theirs))),
      merged.conflicts.length ? h('p', {class: 'warning'}, '⚠ Both of you changed: ', merged.conflicts.join(', '), '. Re-applying keeps your version of those.') : null,
      h('p', {}, h('a', {href: URL.createObjectURL(blob), download: `${this.flowId}-my-changes.json`}, '↓ Download your version as JSON')));
    const choice = await dialog('Someone else saved first', body, [
      {label: 'Keep editing mine (not saved)', value: 'keep', class: 'ghost'},
      {label: 'Re-apply my changes onto the latest draft', value: 'reapply', class: 'primary'}]);
    if (choice === 'reapply') {
      this.document = merged.doc;
      this.base = theirs;
      this.etag = r.etag;
      this.setDirty(true);
      this.form.show(this.document, nodeById(this.document, this.selected) ? this.selected : null);
      this.redraw();
      await this.validate();
      toast('Your changes are re-applied onto the latest draft. Review them and save.', 'ok');
    }
  }

  async publish() {
    if (this.problems.some((p) => p.level === 'error')) return;
    if (!(await this.ensureSaved())) return;
    await this.refreshMeta();
    const f = this.summary;
    if (f && f.latest && !f.draft_changed) {
      const choice = await dialog('Nothing to publish', h('p', {},
        `The draft is the same as published version ${f.latest.version}, which new calls run already. `,
        `Publishing it again makes version ${f.latest.version + 1} with the same document.`), [
        {label: 'Keep editing', value: 'cancel', class: 'primary'},
        {label: `Publish v${f.latest.version + 1} anyway`, value: 'publish', class: 'ghost'}]);
      if (choice !== 'publish') return;
    }
    try {
      const v = await api.publish(this.flowId, this.publishMsg.value.trim());
      this.publishMsg.value = '';
      toast(`Published version ${v.version}. New calls run it now.`, 'ok');
    } catch (e) {
      toast(`Not published: ${e.message}`, 'error');
    }
    await this.refreshMeta();
    await this.history.load();
  }
}

// statusChips describes a flow's state in words and icons, never by colour alone.
export function statusChips(f, {unsaved = false} = {}) {
  return [
    unsaved ? null : f.draft_changed ? h('span', {class: 'chip warn'}, '✎ Draft changes pending') : h('span', {class: 'chip ok'}, '✔ Draft matches published'),
    f.latest ? h('span', {class: 'chip'}, `Published v${f.latest.version}`) : h('span', {class: 'chip'}, 'Never published'),
    f.default ? h('span', {class: 'chip'}, '★ Default flow') : null,
    f.numbers && f.numbers.length ? h('span', {class: 'chip'}, `☎ ${f.numbers.join(', ')}`) : null,
  ].filter(Boolean);
}
