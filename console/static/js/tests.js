// The Tests panel: the flow's test cases run against the document being edited (as
// validation runs them before Publish), each with its verdict, what failed and its path on
// the graph; and the current simulation added as a new case.

import {h, field, clear, toast} from './dom.js';
import {api} from './api.js';
import {pathOf} from './simulator.js';

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

// describeCaller says who a test case's caller is, in words.
function describeCaller(t) {
  const c = t.caller || {};
  if (c.phone) return `caller ${c.phone} (from the directory)`;
  if (c.profile) return `profile ${[c.profile.first_name, c.profile.last_name].filter(Boolean).join(' ') || '(no name)'}`;
  return 'an unknown caller';
}

export class TestsPanel {
  // editor gives: flowId, doc(), edit(), highlight(), simulator (asTest), tab().
  constructor(editor) {
    this.editor = editor;
    this.el = h('section', {class: 'tests', 'aria-label': 'Flow tests'});
    this.summary = h('p', {class: 'tests-summary', 'aria-live': 'polite'});
    this.list = h('ul', {class: 'testcases', 'aria-label': 'Test cases'});
    this.name = h('input', {type: 'text', id: 'test-name', placeholder: 'dana-says-yes', autocomplete: 'off'});
    this.mustHear = h('input', {type: 'text', id: 'test-must-hear', placeholder: 'Atlanta', autocomplete: 'off'});
    this.addWhy = h('p', {class: 'hint', 'aria-live': 'polite'});
    this.el.append(
      h('p', {class: 'muted'}, 'Test cases are part of the flow document. They run against what you are editing, and publishing is refused while one fails.'),
      h('div', {class: 'actions', 'data-needs': 'editor'}, h('button', {type: 'button', class: 'btn primary', id: 'run-tests', onclick: () => this.run()}, '▶ Run tests')),
      this.summary, this.list,
      h('h2', {}, 'Add the current simulation as a test'),
      h('p', {class: 'muted'}, 'The case keeps the simulated caller, clock, trust and answers, and expects the same ending, queue and nodes.'),
      h('div', {class: 'row end', 'data-needs': 'editor'}, field('Test name', this.name), field('The caller must hear (optional)', this.mustHear),
        h('button', {type: 'button', class: 'btn', id: 'add-test', onclick: () => this.add()}, '+ Add as test')),
      this.addWhy);
  }

  async run() {
    clear(this.list);
    this.summary.textContent = '… running the tests';
    let r;
    try {
      r = await api.tests(this.editor.flowId, this.editor.doc());
    } catch (e) {
      this.summary.textContent = e.status === 422 && e.body.errors
        ? `✖ The flow has ${e.body.errors.length} error(s) besides its tests: fix them (see Problems) to run the tests.`
        : `✖ ${e.message}`;
      return;
    }
    const n = r.summary;
    if (!n.tests) {
      this.summary.textContent = 'This flow has no test cases yet: simulate a call and add it below.';
      return;
    }
    this.summary.textContent = `${n.tests} test${n.tests === 1 ? '' : 's'}: ✔ ${n.passed} passed, ✖ ${n.failed} failed, ○ ${n.skipped} skipped`;
    const doc = this.editor.doc();
    r.tests.forEach((res, i) => this.list.append(this.item(res, (doc.tests || [])[i] || {})));
  }

  item(res, t) {
    const verdict = res.skipped ? '○ skipped' : res.passed ? '✔ passed' : '✖ failed';
    const li = h('li', {class: res.skipped ? 'skipped' : res.passed ? 'passed' : 'failed', 'data-test': res.name},
      h('span', {class: 'verdict'}, verdict), h('strong', {}, res.name),
      h('span', {class: 'muted'}, ` · ${describeCaller(t)}${t.inputs && t.inputs.length ? ` · answers ${t.inputs.map((x) => (x === '' ? '(silence)' : `“${x}”`)).join(', ')}` : ''}`));
    if (res.skipped) li.append(h('p', {class: 'muted'}, res.skipped));
    if (res.failures && res.failures.length) {
      li.append(h('ul', {class: 'failures'}, res.failures.map((f) => h('li', {}, h('code', {}, f.path), ` ${f.message}`))));
    }
    const tr = res.transcript;
    if (tr) {
      const heard = tr.steps.flatMap((st) => st.said);
      li.append(
        h('button', {type: 'button', class: 'btn small ghost', onclick: () => this.show(res)}, `Show ${res.name}'s path on the graph`),
        h('details', {}, h('summary', {}, 'What the caller heard'), h('ol', {}, heard.map((line) => h('li', {}, line)))));
    }
    return li;
  }

  show(res) {
    const {visited, pairs, last} = pathOf(res.transcript.steps, this.editor.flowId);
    this.editor.highlight({visited, pairs, current: last});
  }

  add() {
    const name = this.name.value.trim();
    const taken = (this.editor.doc().tests || []).some((t) => t.name === name);
    const why = !NAME.test(name) ? 'Name the test: a letter then letters, digits, _ or - (at most 64).'
      : taken ? `Another test is already named ${name}.` : '';
    const t = why ? null : this.editor.simulator.asTest(name, this.mustHear.value.trim());
    if (!why && !t) {
      this.addWhy.textContent = 'Simulate a call first (Simulator tab); then add it here.';
      return;
    }
    this.addWhy.textContent = why;
    this.name.setAttribute('aria-invalid', why ? 'true' : 'false');
    if (why) return;
    this.editor.edit((d) => { d.tests = [...(d.tests || []), t]; });
    this.name.value = '';
    this.mustHear.value = '';
    toast(`Added test ${name}. Save the draft to keep it.`, 'ok');
    this.run();
  }
}
