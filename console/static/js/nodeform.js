// The form for one node: every field of its type, labelled, each control tagged with the
// document path it edits (data-path) so validation problems land next to it.

import {h, field, clear, nextId} from './dom.js';
import {NODE_TYPES, FIELD_LABELS, NUMBER_FIELDS, BOOL_FIELDS, CONDITION_OPS, LIST_OPS, NOVALUE_OPS,
  languages, nodeById, renameNode, clone, TRUST_LEVELS, GOVERNED_FIELDS, DEFAULT_DISCLOSURE} from './model.js';

const ID_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const KNOWN_FIELDS = ['member', 'member.first_name', 'member.last_name', 'member.tier', 'member.language',
  'activity', 'activity.kind', 'activity.relation', 'activity.place', 'activity.status', 'activity.reference',
  'caller.members', 'caller.trust', 'call.weekday', 'call.time', 'call.date', 'call.holiday'];

// guessSpec describes a node type this console does not know yet from the node itself:
// per-language texts, targets by their usual names.
function guessSpec(n) {
  const isText = (v) => v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
  return {
    label: n.type || 'node',
    texts: Object.keys(n).filter((k) => k !== 'set' && isText(n[k])),
    targets: ['next', 'not_found', 'no_input', 'no_match', 'default', 'error', 'not_sent'].filter((k) => k in n),
  };
}

const splitList = (v) => v.split(',').map((x) => x.trim()).filter(Boolean);

export class NodeForm {
  // edit(fn) applies fn(doc) to the document and reports the change; structural marks a
  // change that needs the form rebuilt.
  constructor({edit, onDelete, onRenamed}) {
    this.edit = edit;
    this.onDelete = onDelete;
    this.onRenamed = onRenamed;
    this.el = h('section', {class: 'nodeform', 'aria-label': 'Selected node'});
    this.id = null;
  }

  show(doc, id) {
    this.doc = doc;
    this.id = id;
    clear(this.el);
    const n = nodeById(doc, id);
    if (!n) {
      this.el.append(h('p', {class: 'empty'}, 'Select a node in the graph (click it, or Tab to it and press Enter) to edit its fields.'),
        policyEditor(doc, this.edit));
      return;
    }
    const base = NODE_TYPES[n.type] || guessSpec(n);
    // Per-language texts the type table does not list (such as a safe variant) get text boxes too.
    const spec = {...base, texts: [...new Set([...(base.texts || []), ...guessSpec(n).texts])]};
    const langs = languages(doc);
    const path = (...p) => ['nodes', id, ...p].join('.');
    const upd = (fn, structural = false) => this.edit((d) => { const node = nodeById(d, id); if (node) fn(node, d); }, structural);

    this.el.append(h('h2', {}, h('span', {class: 'muted'}, `${spec.label || n.type} node `), n.id));
    this.summaryBox = h('div', {class: 'node-problems', 'aria-live': 'polite'});
    this.el.append(this.summaryBox);

    // Identity.
    const idInput = h('input', {type: 'text', value: n.id, 'data-path': path('id'), autocomplete: 'off', spellcheck: 'false'});
    const idMsg = h('p', {class: 'hint', id: nextId('idmsg')}, 'Letters, digits, _ and -; renaming updates every reference.');
    idInput.setAttribute('aria-describedby', idMsg.id);
    idInput.addEventListener('change', () => {
      const to = idInput.value.trim();
      if (to === id) return;
      if (!ID_RE.test(to)) { idMsg.textContent = '✖ Error: an id is a letter, then letters, digits, _ or - (at most 64).'; idInput.setAttribute('aria-invalid', 'true'); return; }
      if (nodeById(this.doc, to)) { idMsg.textContent = `✖ Error: there is already a node ${to}.`; idInput.setAttribute('aria-invalid', 'true'); return; }
      this.edit((d) => renameNode(d, id, to), true);
      this.onRenamed(to);
    });
    const idField = h('div', {class: 'field'}, h('label', {for: idInput.id = nextId('f')}, 'Node id'), idInput, idMsg);
    const startBox = h('input', {type: 'checkbox', checked: doc.start === id, 'data-path': 'start'});
    startBox.addEventListener('change', () => this.edit((d) => { if (startBox.checked) d.start = id; }, true));
    startBox.disabled = doc.start === id;
    this.el.append(h('div', {class: 'row'}, idField,
      h('div', {class: 'field check'}, h('label', {}, startBox, ' Calls start here'))));

    // Texts per language.
    for (const key of spec.texts || []) {
      const fs = h('fieldset', {class: 'texts'}, h('legend', {}, FIELD_LABELS[key] || key));
      for (const lang of langs) {
        const ta = h('textarea', {rows: 3, value: (n[key] && n[key][lang]) || '', 'data-path': path(key, lang), spellcheck: 'true', lang});
        ta.addEventListener('input', () => upd((node) => {
          node[key] = node[key] || {};
          if (ta.value === '') delete node[key][lang]; else node[key][lang] = ta.value;
          if (!Object.keys(node[key]).length) delete node[key];
        }));
        fs.append(field(lang === doc.default_language ? `${lang} (default)` : lang, ta));
      }
      fs.append(h('p', {class: 'hint'}, 'Templates: {{ member.first_name }}, {{ date activity.starts_at }}, {{ spell activity.reference }}, {{ first_name_or "there" }}.'));
      this.el.append(fs);
    }

    // Scalars.
    const scalars = spec.scalars || [];
    if (scalars.length) {
      const fs = h('fieldset', {}, h('legend', {}, n.type === 'handoff' ? 'Handoff target' : 'Options'));
      for (const key of scalars) {
        if (n[key] !== null && typeof n[key] === 'object') continue; // a choice by conditions: edited as JSON below
        let ctl;
        if (key === 'input') {
          ctl = h('select', {'data-path': path(key)},
            ['', 'dtmf', 'speech', 'dtmf speech'].map((v) => h('option', {value: v, selected: (n.input || '') === v}, v || '(default: keys)')));
          ctl.addEventListener('change', () => upd((node) => { if (ctl.value) node.input = ctl.value; else delete node.input; }));
        } else if (BOOL_FIELDS.has(key)) {
          ctl = h('input', {type: 'checkbox', checked: key === 'beep' ? n.beep !== false : !!n[key], 'data-path': path(key)});
          ctl.addEventListener('change', () => upd((node) => {
            if (key === 'beep') { if (ctl.checked) delete node.beep; else node.beep = false; } else if (ctl.checked) node[key] = true; else delete node[key];
          }));
          fs.append(h('div', {class: 'field check'}, h('label', {}, ctl, ' ', FIELD_LABELS[key])));
          continue;
        } else {
          const num = NUMBER_FIELDS.has(key);
          ctl = h('input', {type: num ? 'number' : 'text', min: num ? '0' : null, value: n[key] ?? '', 'data-path': path(key), autocomplete: 'off'});
          ctl.addEventListener('input', () => upd((node) => {
            const v = ctl.value.trim();
            if (v === '') delete node[key]; else node[key] = num ? Number(v) : v;
          }));
        }
        fs.append(field(FIELD_LABELS[key] || key, ctl, key === 'queue' ? 'One of queue, workflow, SIP URI or client.' : null));
      }
      this.el.append(fs);
    }

    const targetSelect = (value, p, onChange, label) => {
      const sel = h('select', {'data-path': p});
      sel.append(h('option', {value: ''}, '(none)'));
      for (const other of doc.nodes) sel.append(h('option', {value: other.id, selected: other.id === value}, other.id));
      if (value && !nodeById(doc, value)) sel.append(h('option', {value, selected: true}, `${value} (no such node)`));
      sel.addEventListener('change', () => onChange(sel.value));
      return field(label, sel);
    };

    // Gather options; an identify node's are language choices only (a key or two instead of
    // a member number).
    if (spec.options) {
      const choicesOnly = spec.options === 'languages';
      const fs = h('fieldset', {class: 'list'}, h('legend', {}, choicesOnly ? 'Language choices (a key instead of a member number)' : 'Menu options'));
      (n.options || []).forEach((o, i) => {
        const box = h('fieldset', {class: 'item', 'data-option': String(i)}, h('legend', {}, `${choicesOnly ? 'Choice' : 'Option'} ${i + 1}`));
        const dig = h('input', {type: 'text', value: o.digits || '', inputmode: 'tel', 'data-path': path('options', i, 'digits'), autocomplete: 'off'});
        dig.addEventListener('input', () => upd((node) => { if (dig.value) node.options[i].digits = dig.value; else delete node.options[i].digits; }));
        box.append(h('div', {class: 'row'}, field('Keys', dig),
          targetSelect(o.next, path('options', i, 'next'), (v) => upd((node) => { node.options[i].next = v; }), 'Goes to')));
        // A language choice switches the rest of the call, announced in its language.
        const langSel = h('select', {'data-path': path('options', i, 'language')},
          choicesOnly ? null : h('option', {value: ''}, '(no: a menu option)'),
          langs.map((l) => h('option', {value: l, selected: o.language === l}, l)));
        if (o.language && !langs.includes(o.language)) langSel.append(h('option', {value: o.language, selected: true}, `${o.language} (not declared)`));
        langSel.addEventListener('change', () => upd((node) => {
          const opt = node.options[i];
          const text = opt.announce && opt.language ? opt.announce[opt.language] : '';
          if (langSel.value) {
            opt.language = langSel.value;
            opt.announce = {[langSel.value]: text || ''};
          } else {
            delete opt.language;
            delete opt.announce;
          }
        }, true));
        box.append(field('Switches the call to', langSel));
        if (o.language) {
          const ann = h('textarea', {rows: 2, value: (o.announce || {})[o.language] || '', 'data-path': path('options', i, 'announce', o.language), lang: o.language, spellcheck: 'true'});
          ann.addEventListener('input', () => upd((node) => { node.options[i].announce = {[o.language]: ann.value}; }));
          box.append(field(`Announcement, said in ${o.language} after the prompt`, ann));
        }
        for (const lang of choicesOnly ? [] : langs) {
          const w = h('input', {type: 'text', value: ((o.words || {})[lang] || []).join(', '), 'data-path': path('options', i, 'words', lang), lang, autocomplete: 'off'});
          w.addEventListener('input', () => upd((node) => {
            const opt = node.options[i];
            opt.words = opt.words || {};
            const list = splitList(w.value);
            if (list.length) opt.words[lang] = list; else delete opt.words[lang];
            if (!Object.keys(opt.words).length) delete opt.words;
          }));
          box.append(field(`Words (${lang}), comma-separated`, w));
        }
        box.append(h('button', {type: 'button', class: 'btn ghost danger', onclick: () => upd((node) => { node.options.splice(i, 1); }, true)}, `Remove option ${i + 1}`));
        fs.append(box);
      });
      fs.append(h('button', {type: 'button', class: 'btn', onclick: () => upd((node) => {
        node.options = node.options || [];
        const used = new Set(node.options.map((o) => o.digits));
        const keys = choicesOnly ? ['9', '8', '7', '6', '5', '4', '3', '2', '1', '0'] : ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'];
        const opt = {digits: keys.find((d) => !used.has(d)) || '', next: choicesOnly ? node.id : ''};
        if (choicesOnly) {
          const lang = langs.find((l) => l !== doc.default_language) || langs[0];
          Object.assign(opt, {language: lang, announce: {[lang]: ''}});
        }
        node.options.push(opt);
      }, true)}, choicesOnly ? '+ Add language choice' : '+ Add option'));
      this.el.append(fs);
    }

    // Branch cases.
    if (spec.cases) {
      const fs = h('fieldset', {class: 'list'}, h('legend', {}, 'Cases (the first whose conditions all hold wins)'));
      const dl = h('datalist', {id: nextId('fields')}, KNOWN_FIELDS.map((f) => h('option', {value: f})));
      fs.append(dl);
      (n.cases || []).forEach((c, i) => {
        const box = h('fieldset', {class: 'item'}, h('legend', {}, `Case ${i + 1}`));
        (c.when || []).forEach((cond, j) => {
          const cp = (...p) => path('cases', i, 'when', j, ...p);
          const f = h('input', {type: 'text', value: cond.field || '', list: dl.id, 'data-path': cp('field'), autocomplete: 'off', spellcheck: 'false'});
          f.addEventListener('input', () => upd((node) => { node.cases[i].when[j].field = f.value.trim(); }));
          const op = h('select', {'data-path': cp('op')}, CONDITION_OPS.map((o) => h('option', {value: o, selected: cond.op === o}, o)));
          const val = h('input', {type: 'text', value: cond.values ? cond.values.join(', ') : (cond.value ?? ''), 'data-path': cp(cond.values ? 'values' : 'value'), autocomplete: 'off', disabled: NOVALUE_OPS.has(cond.op)});
          const writeVal = (node) => {
            const w = node.cases[i].when[j];
            delete w.value; delete w.values;
            if (NOVALUE_OPS.has(w.op)) return;
            if (LIST_OPS.has(w.op)) w.values = splitList(val.value); else w.value = val.value.trim();
          };
          op.addEventListener('change', () => upd((node) => { node.cases[i].when[j].op = op.value; writeVal(node); }, true));
          val.addEventListener('input', () => upd(writeVal));
          box.append(h('div', {class: 'row cond'},
            field(`Condition ${j + 1} field`, f), field('Operator', op),
            field(LIST_OPS.has(cond.op) ? 'Values (comma-separated)' : 'Value', val),
            h('button', {type: 'button', class: 'btn ghost icon danger', 'aria-label': `Remove condition ${j + 1} of case ${i + 1}`, title: 'Remove condition',
              onclick: () => upd((node) => { node.cases[i].when.splice(j, 1); }, true)}, '✕')));
        });
        box.append(h('button', {type: 'button', class: 'btn ghost', onclick: () => upd((node) => {
          node.cases[i].when = node.cases[i].when || [];
          node.cases[i].when.push({field: 'member.tier', op: 'eq', value: ''});
        }, true)}, '+ Add condition'));
        box.append(targetSelect(c.next, path('cases', i, 'next'), (v) => upd((node) => { node.cases[i].next = v; }), 'Then go to'));
        box.append(h('button', {type: 'button', class: 'btn ghost danger', onclick: () => upd((node) => { node.cases.splice(i, 1); }, true)}, `Remove case ${i + 1}`));
        fs.append(box);
      });
      fs.append(h('button', {type: 'button', class: 'btn', onclick: () => upd((node) => {
        node.cases = node.cases || [];
        node.cases.push({when: [{field: 'member.tier', op: 'eq', value: 'Gold'}], next: ''});
      }, true)}, '+ Add case'));
      this.el.append(fs);
    }

    // Set variables.
    if (spec.set) {
      const fs = h('fieldset', {class: 'list'}, h('legend', {}, 'Variables'));
      const entries = Object.entries(n.set || {});
      entries.forEach(([k, v], i) => {
        const name = h('input', {type: 'text', value: k, 'data-path': path('set', k), autocomplete: 'off', spellcheck: 'false'});
        const val = h('input', {type: 'text', value: v, 'data-path': path('set', k), autocomplete: 'off'});
        const write = () => upd((node) => {
          const next = {};
          Object.entries(node.set || {}).forEach(([kk, vv], ii) => { if (ii === i) next[name.value.trim()] = val.value; else next[kk] = vv; });
          node.set = next;
        });
        name.addEventListener('change', () => { write(); this.edit(() => {}, true); });
        val.addEventListener('input', write);
        fs.append(h('div', {class: 'row'}, field(`Variable ${i + 1} name`, name), field('Value (template)', val),
          h('button', {type: 'button', class: 'btn ghost icon danger', 'aria-label': `Remove variable ${k}`, onclick: () => upd((node) => { delete node.set[k]; }, true)}, '✕')));
      });
      fs.append(h('button', {type: 'button', class: 'btn', onclick: () => upd((node) => {
        node.set = node.set || {};
        let i = 1; while (`var_${i}` in node.set) i++;
        node.set[`var_${i}`] = '';
      }, true)}, '+ Add variable'));
      this.el.append(fs);
    }

    // Where the call goes next.
    const targets = spec.targets || [];
    if (targets.length) {
      const fs = h('fieldset', {}, h('legend', {}, 'Where the call goes'));
      for (const t of targets) {
        fs.append(targetSelect(n[t], path(t), (v) => upd((node) => { if (v) node[t] = v; else delete node[t]; }), FIELD_LABELS[t] || t));
      }
      this.el.append(fs);
    }

    // Fields this form has no control for (newer node types or fields) stay editable as
    // JSON, so nothing in the document is hidden or dropped.
    const known = new Set(['id', 'type', ...(spec.texts || []), ...(spec.scalars || []).filter((k) => n[k] === null || typeof n[k] !== 'object'), ...(spec.targets || []),
      ...(spec.options ? ['options'] : []), ...(spec.cases ? ['cases'] : []), ...(spec.set ? ['set'] : [])]);
    const extra = Object.keys(n).filter((k) => !known.has(k));
    if (extra.length) {
      const fs = h('fieldset', {}, h('legend', {}, 'More fields (JSON)'));
      for (const key of extra) {
        const ta = h('textarea', {rows: 3, class: 'json', value: JSON.stringify(n[key], null, 1), 'data-path': path(key), spellcheck: 'false'});
        const msg = h('p', {class: 'hint', id: nextId('jm')}, '');
        ta.setAttribute('aria-describedby', msg.id);
        ta.addEventListener('input', () => {
          let v;
          try { v = JSON.parse(ta.value); } catch (e) { msg.textContent = `✖ Error: not JSON yet (${e.message}); not applied.`; ta.setAttribute('aria-invalid', 'true'); return; }
          msg.textContent = '';
          ta.removeAttribute('aria-invalid');
          upd((node) => { node[key] = v; });
        });
        const f = field(FIELD_LABELS[key] || key, ta);
        f.append(msg);
        fs.append(f);
      }
      this.el.append(fs);
    }

    this.el.append(h('div', {class: 'actions'},
      h('button', {type: 'button', class: 'btn danger', onclick: () => this.onDelete(id)}, `Delete node ${id}`)));
  }

  // showProblems puts each problem next to the control whose data-path it names (or the
  // nearest enclosing one), and lists them all at the top of the form.
  showProblems(list) {
    if (!this.id) return;
    for (const el of this.el.querySelectorAll('.problem-msg')) el.remove();
    for (const el of this.el.querySelectorAll('[aria-invalid]')) {
      el.removeAttribute('aria-invalid');
      const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && !x.startsWith('pm-'));
      if (ids.length) el.setAttribute('aria-describedby', ids.join(' ')); else el.removeAttribute('aria-describedby');
    }
    if (!this.summaryBox) return;
    clear(this.summaryBox);
    if (!list.length) return;
    const controls = [...this.el.querySelectorAll('[data-path]')];
    const ul = h('ul', {class: 'problems'});
    for (const p of list) {
      const icon = p.level === 'error' ? '✖' : '⚠';
      const word = p.level === 'error' ? 'Error' : 'Warning';
      const rel = p.path.startsWith(`nodes.${this.id}.`) ? p.path.slice(`nodes.${this.id}.`.length) : p.path;
      ul.append(h('li', {class: p.level}, h('span', {class: 'icon', 'aria-hidden': 'true'}, icon), ` ${word}: `, h('code', {}, rel), ` ${p.message}`));
      let best = null;
      for (const c of controls) {
        const cp = c.dataset.path;
        if (p.path === cp || p.path.startsWith(cp + '.')) { if (!best || cp.length > best.dataset.path.length) best = c; }
      }
      if (best) {
        const msg = h('p', {class: `problem-msg ${p.level}`, id: nextId('pm')}, h('span', {class: 'icon', 'aria-hidden': 'true'}, icon), ` ${word}: ${p.message}`);
        if (p.level === 'error') best.setAttribute('aria-invalid', 'true');
        const d = best.getAttribute('aria-describedby');
        best.setAttribute('aria-describedby', d ? `${d} ${msg.id}` : msg.id);
        const wrap = best.closest('.field') || best.parentElement;
        wrap.append(msg);
      }
    }
    this.summaryBox.append(ul);
  }
}

// LEVEL_WORDS say who a trust level is, for the policy editor.
const LEVEL_WORDS = [['', 'nobody'], ['suspicious', 'anyone, even a number that failed attestation'],
  ['unverified', 'an unattested number, or better'], ['verified', 'an attested number, or better'],
  ['verified_pin', 'only after the member\'s PIN']];

// policyEditor edits the flow's disclosure policy: for each member and activity field, the
// lowest trust level that may hear it. A flow without a policy follows the built-in one,
// shown; changing a field gives the flow its own.
function policyEditor(doc, edit) {
  const policy = doc.disclosure || DEFAULT_DISCLOSURE;
  const lowest = (f) => TRUST_LEVELS.find((l) => (policy[l] || []).includes(f)) || '';
  const rows = GOVERNED_FIELDS.map((f) => {
    const sel = h('select', {'data-path': `disclosure.${f}`, 'aria-label': `Who may hear ${f}`},
      LEVEL_WORDS.map(([v, l]) => h('option', {value: v, selected: v === lowest(f)}, l)));
    sel.addEventListener('change', () => edit((d) => {
      const p = clone(d.disclosure || DEFAULT_DISCLOSURE);
      for (const l of TRUST_LEVELS) p[l] = (p[l] || []).filter((x) => x !== f);
      if (sel.value) p[sel.value].push(f);
      d.disclosure = p;
    }));
    return h('tr', {}, h('th', {scope: 'row'}, h('code', {}, f)), h('td', {}, sel));
  });
  return h('section', {class: 'policy', 'aria-labelledby': 'policy-title'},
    h('h2', {id: 'policy-title'}, 'Who hears what'),
    h('p', {class: 'muted', id: 'policy-own'}, doc.disclosure
      ? 'This flow\'s disclosure policy: a text that uses a field the call\'s trust level may not hear is not said (the node\'s safe text is).'
      : 'This flow has no policy of its own, so it follows the built-in flow\'s, shown here. Changing a field gives it its own.'),
    h('table', {class: 'table policy-table'},
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Field'), h('th', {scope: 'col'}, 'Who may hear it'))),
      h('tbody', {}, rows)));
}
