// The simulator panel: a caller (from the directory by name or number, a typed profile, or a
// withheld number), a date and time, and the call as a transcript. Every key or phrase
// replays the whole scripted call through the draft (the simulate API is stateless), and
// the graph highlights the path taken and where the caller is now.

import {h, field, clear, fmtTime} from './dom.js';
import {api} from './api.js';
import {nodeById} from './model.js';

const TRACE_NODE = /^([a-z_]+) ([A-Za-z][A-Za-z0-9_-]*)/;

// zoneOffset returns "+HH:MM" for zone at the given wall-clock date and time.
export function zoneOffset(zone, date, time) {
  const guess = new Date(`${date}T${time}:00Z`);
  const parts = new Intl.DateTimeFormat('en-US', {timeZone: zone, timeZoneName: 'longOffset'}).formatToParts(guess);
  const name = (parts.find((p) => p.type === 'timeZoneName') || {}).value || 'GMT';
  const m = /GMT([+-]\d{2}):?(\d{2})?/.exec(name);
  return m ? `${m[1]}:${m[2] || '00'}` : '+00:00';
}

function today(zone) {
  const f = new Intl.DateTimeFormat('en-CA', {timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'});
  const p = Object.fromEntries(f.formatToParts(new Date()).map((x) => [x.type, x.value]));
  return {date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}`};
}

// pathOf reads the nodes a simulated call went through in flowId from its steps' traces:
// {visited, pairs (from + NUL + to), last}, as the graph draws a path.
export function pathOf(steps, flowId) {
  const visited = new Set(); const pairs = new Set();
  let last = null;
  for (const st of steps) {
    for (const t of st.trace) {
      const m = TRACE_NODE.exec(t);
      if (!m || st.flow !== flowId) continue;
      if (last) pairs.add(last + '\u0000' + m[2]);
      visited.add(m[2]);
      last = m[2];
    }
  }
  return {visited, pairs, last};
}

// nodePath is a path given as its nodes in order (a replayed call's), as the graph draws it.
export function nodePath(nodes) {
  const pairs = new Set();
  nodes.forEach((n, i) => { if (i > 0) pairs.add(nodes[i - 1] + '\u0000' + n); });
  return {visited: new Set(nodes), pairs};
}

export class Simulator {
  // editor gives: flowId, doc(), ensureSaved(), highlight({visited, current, pairs}).
  constructor(editor) {
    this.editor = editor;
    this.inputs = [];
    this.keys = '';
    this.result = null;
    this.el = h('section', {class: 'simulator', 'aria-label': 'Simulator'});
    this.build();
  }

  build() {
    const doc = this.editor.doc();
    const zone = doc.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    const now = today(zone);
    const radio = (value, label, checked) => {
      const r = h('input', {type: 'radio', name: 'sim-caller', value, checked});
      r.addEventListener('change', () => this.syncMode());
      return h('label', {class: 'radio'}, r, ' ', label);
    };
    this.phone = h('input', {type: 'text', id: 'sim-phone', placeholder: 'Whitfield or +14045550123', autocomplete: 'off'});
    this.phone.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); this.lookUp(); } });
    this.found = h('div', {class: 'found', 'aria-live': 'polite'});
    const lookBtn = h('button', {type: 'button', class: 'btn', onclick: () => this.lookUp()}, 'Look up');
    this.phoneBox = h('div', {class: 'sub'}, h('div', {class: 'row end'}, field('Name or number', this.phone), lookBtn), this.found);
    this.pf = {
      first_name: h('input', {type: 'text', value: 'Zoe', autocomplete: 'off'}),
      last_name: h('input', {type: 'text', value: 'Sample', autocomplete: 'off'}),
      tier: h('select', {}, ['', 'Silver', 'Gold', 'Platinum', 'Diamond'].map((t) => h('option', {value: t, selected: t === 'Gold'}, t || '(none)'))),
      language: h('select', {}, Object.keys(doc.languages || {'en-US': {}}).map((l) => h('option', {value: l}, l))),
      time_zone: h('input', {type: 'text', value: zone, autocomplete: 'off'}),
      kind: h('select', {}, ['', 'trip', 'stay'].map((k) => h('option', {value: k, selected: k === 'trip'}, k || '(no activity)'))),
      place: h('input', {type: 'text', value: 'Lima', autocomplete: 'off'}),
      starts: h('input', {type: 'datetime-local'}),
    };
    const tomorrow = new Date(Date.now() + 86400000);
    this.pf.starts.value = `${tomorrow.toISOString().slice(0, 10)}T10:30`;
    this.profileBox = h('div', {class: 'sub grid2'},
      field('First name', this.pf.first_name), field('Last name', this.pf.last_name),
      field('Tier', this.pf.tier), field('Language', this.pf.language),
      field('Member time zone', this.pf.time_zone), field('Activity', this.pf.kind),
      field('Activity place', this.pf.place), field('Activity starts (member time)', this.pf.starts));
    this.trust = h('select', {}, [['', '(as a live call: from StirVerstat; none is unverified)'], ['verified', 'verified'], ['unverified', 'unverified'], ['suspicious', 'suspicious']]
      .map(([v, l]) => h('option', {value: v}, l)));
    this.date = h('input', {type: 'date', value: now.date});
    this.time = h('input', {type: 'time', value: now.time});
    this.zone = h('input', {type: 'text', value: zone, autocomplete: 'off'});

    this.transcript = h('ol', {class: 'transcript', 'aria-live': 'polite', 'aria-label': 'Transcript'});
    this.status = h('p', {class: 'sim-status', 'aria-live': 'polite'}, 'Pick a caller and start the call.');
    this.keysShown = h('output', {class: 'keys', 'aria-label': 'Keys pressed, not sent yet'}, '');
    const pad = h('div', {class: 'keypad', role: 'group', 'aria-label': 'Keypad'});
    for (const k of ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#']) {
      pad.append(h('button', {type: 'button', class: 'btn key', 'aria-label': `Key ${k}`, 'data-key': k, onclick: () => this.press(k)}, k));
    }
    this.speech = h('input', {type: 'text', placeholder: 'yes please', autocomplete: 'off'});
    this.speech.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); this.say(); } });
    this.inputBox = h('div', {class: 'callinput'},
      pad,
      h('div', {class: 'col'},
        h('div', {class: 'row end'}, h('div', {class: 'field'}, h('span', {class: 'label'}, 'Keys'), this.keysShown),
          h('button', {type: 'button', class: 'btn', onclick: () => this.sendKeys()}, 'Send keys')),
        h('div', {class: 'row end'}, field('Speech', this.speech), h('button', {type: 'button', class: 'btn', onclick: () => this.say()}, 'Say')),
        h('button', {type: 'button', class: 'btn ghost', onclick: () => this.send('')}, 'Stay silent (no input)')));

    this.el.append(
      h('fieldset', {}, h('legend', {}, 'Caller'),
        h('div', {class: 'radios', role: 'radiogroup', 'aria-label': 'Who calls'},
          radio('phone', 'From the directory', true), radio('profile', 'Type a profile', false), radio('none', 'Withheld number', false)),
        this.phoneBox, this.profileBox, field('Caller ID trust', this.trust)),
      h('fieldset', {}, h('legend', {}, 'When'),
        h('div', {class: 'row'}, field('Date', this.date), field('Time', this.time), field('Time zone', this.zone))),
      h('div', {class: 'actions', 'data-needs': 'editor'},
        h('button', {type: 'button', class: 'btn primary', id: 'sim-start', onclick: () => this.start()}, '▶ Start call'),
        h('button', {type: 'button', class: 'btn ghost', onclick: () => this.reset()}, 'Reset')),
      this.status, this.transcript, this.inputBox);
    this.syncMode();
    this.setAwaiting(false);
  }

  mode() { return this.el.querySelector('input[name="sim-caller"]:checked').value; }

  syncMode() {
    const m = this.mode();
    this.phoneBox.hidden = m !== 'phone';
    this.profileBox.hidden = m !== 'profile';
  }

  // asCaller switches to the directory caller phone (from the member look-up).
  asCaller(phone) {
    this.el.querySelector('input[value="phone"]').checked = true;
    this.syncMode();
    this.phone.value = phone;
  }

  // lookUp answers for a number (digits, +, spaces, punctuation) with what the IVR sees,
  // and for anything else with the members whose name starts with it, to pick one.
  async lookUp() {
    const q = this.phone.value.trim();
    if (q && !/^[+\d][\d\s().-]*$/.test(q)) return this.searchNames(q);
    clear(this.found);
    try {
      const r = await api.lookup(q);
      if (!r.members.length) this.found.append(h('p', {}, `${r.phone}: no member; the call runs as an unknown caller.`));
      for (const m of r.members) {
        this.found.append(h('p', {}, `✔ ${m.first_name} ${m.last_name} (${m.tier || 'no tier'}, ${m.language})`,
          m.activity ? ` — ${m.activity.relation} ${m.activity.kind} to ${m.activity.place}` : ' — no activity'));
      }
    } catch (e) {
      this.found.append(h('p', {class: 'error'}, `✖ ${e.message}`));
    }
  }

  async searchNames(q) {
    clear(this.found);
    try {
      const members = await api.searchMembers(q);
      if (!members.length) {
        this.found.append(h('p', {}, `No member's name starts with “${q}”.`));
        return;
      }
      const list = h('ul', {class: 'matches', 'aria-label': 'Members found'});
      for (const m of members) {
        const phone = (m.phones || [])[0];
        const label = [`${m.first_name} ${m.last_name}`.trim(), m.tier || 'no tier', phone || 'no number'].join(' · ');
        list.append(h('li', {}, h('button', {type: 'button', class: 'btn ghost', disabled: !phone,
          onclick: () => this.choose(phone)}, label)));
      }
      this.found.append(h('p', {}, `${members.length} member${members.length === 1 ? '' : 's'} found; choose one to call from their first number.`), list);
      list.querySelector('button:not([disabled])')?.focus();
    } catch (e) {
      this.found.append(h('p', {class: 'error'}, `✖ ${e.message}`));
    }
  }

  // choose makes a member found by name the caller, from their first number.
  async choose(phone) {
    this.phone.value = phone;
    await this.lookUp();
    this.el.querySelector('#sim-start').focus();
  }

  caller() {
    const c = {};
    if (this.trust.value) c.trust = this.trust.value;
    const m = this.mode();
    if (m === 'phone') c.phone = this.phone.value.trim();
    if (m === 'profile') {
      const p = {first_name: this.pf.first_name.value.trim(), last_name: this.pf.last_name.value.trim(),
        tier: this.pf.tier.value, language: this.pf.language.value, time_zone: this.pf.time_zone.value.trim()};
      if (this.pf.kind.value && this.pf.starts.value) {
        const [d, t] = this.pf.starts.value.split('T');
        const zone = p.time_zone || 'UTC';
        const starts = `${d}T${t}:00${zoneOffset(zone, d, t)}`;
        const ends = new Date(new Date(starts).getTime() + 2 * 3600000).toISOString();
        p.activity = {kind: this.pf.kind.value, place: this.pf.place.value.trim(), summary: `${this.pf.kind.value} to ${this.pf.place.value.trim()}`,
          starts_at: starts, ends_at: ends, status: 'confirmed', reference: 'SIM123'};
      }
      c.profile = p;
    }
    return c;
  }

  now() {
    const d = this.date.value; const t = this.time.value || '12:00';
    if (!d) return undefined;
    return `${d}T${t.slice(0, 5)}:00${zoneOffset(this.zone.value.trim() || 'UTC', d, t.slice(0, 5))}`;
  }

  reset() {
    this.inputs = [];
    this.keys = '';
    this.keysShown.textContent = '';
    this.result = null;
    clear(this.transcript);
    this.status.textContent = 'Pick a caller and start the call.';
    this.setAwaiting(false);
    this.editor.highlight({visited: new Set(), current: null, pairs: new Set()});
  }

  async start() {
    this.inputs = [];
    this.keys = '';
    this.keysShown.textContent = '';
    await this.run();
  }

  press(k) {
    if (!this.awaiting) return;
    if (k === '#') { this.sendKeys(); return; }
    this.keys += k;
    this.keysShown.textContent = this.keys;
    // A menu of one-key options answers at the first key, as the phone would.
    const n = nodeById(this.editor.doc(), this.awaiting);
    const single = n && (n.type === 'choose_member' || (n.type === 'gather' && (n.num_digits === 1 ||
      (!n.num_digits && (n.options || []).length && (n.options || []).every((o) => !o.digits || o.digits.length === 1)))));
    if (single) this.sendKeys();
  }

  sendKeys() {
    if (!this.keys) return;
    const k = this.keys;
    this.keys = '';
    this.keysShown.textContent = '';
    this.send(k);
  }

  say() {
    const v = this.speech.value.trim();
    if (!v) return;
    this.speech.value = '';
    this.send(/^[0-9*#]+$/.test(v) ? {speech: v} : v);
  }

  send(input) {
    if (!this.awaiting) return;
    this.inputs.push(input);
    this.run();
  }

  setAwaiting(node) {
    this.awaiting = node || null;
    for (const b of this.inputBox.querySelectorAll('button, input')) b.disabled = !node;
  }

  async run() {
    this.status.textContent = 'Calling…';
    if (!(await this.editor.ensureSaved('simulate'))) {
      this.status.textContent = '✖ The draft could not be saved, so the call was not simulated.';
      return;
    }
    const body = {caller: this.caller(), inputs: this.inputs};
    const now = this.now();
    if (now) body.now = now;
    this.sent = body;
    let r;
    try {
      r = await api.simulate(this.editor.flowId, body);
    } catch (e) {
      this.inputs.pop();
      this.status.textContent = e.status === 422 && e.code === 'invalid' && e.body.errors
        ? `✖ The draft has ${e.body.errors.length} error(s): fix them (see Problems) to simulate it.`
        : `✖ ${e.message}`;
      return;
    }
    this.result = r;
    this.render(r);
  }

  // asTest is the last simulated call as a flow test case: its caller, clock, trust and
  // inputs, expecting the same ending, queue and nodes (and mustHear, when given); null
  // before a call.
  asTest(name, mustHear) {
    const r = this.result; const sent = this.sent;
    if (!r || !sent) return null;
    const {trust, phone, profile} = sent.caller;
    const caller = {};
    if (phone) caller.phone = phone;
    if (profile) caller.profile = Object.fromEntries(Object.entries(profile).filter(([, v]) => v !== ''));
    const t = {name, caller, now: r.now || sent.now};
    if (trust) t.trust = trust;
    if (sent.inputs.length) t.inputs = sent.inputs.map((i) => (typeof i === 'string' ? i : i.speech));
    t.expect = {end: r.end, visits: [...pathOf(r.steps, this.editor.flowId).visited]};
    if (r.end === 'handoff' && r.handoff && r.handoff.queue) t.expect.handoff = {queue: r.handoff.queue};
    if (mustHear) t.expect.says = [mustHear];
    return t;
  }

  render(r) {
    clear(this.transcript);
    const flowId = this.editor.flowId;
    const {visited, pairs, last} = pathOf(r.steps, flowId);
    const who = r.caller && r.caller.members && r.caller.members.length
      ? r.caller.members.map((m) => `${m.first_name} ${m.last_name}`.trim()).join(' / ')
      : 'an unknown caller';
    const trust = r.caller && r.caller.trust ? `, trust ${r.caller.trust}${r.trust_source === 'chosen' ? '' : ' (as a live call with this caller ID)'}` : '';
    this.transcript.append(h('li', {class: 'meta'}, `☎ ${r.caller && r.caller.phone ? r.caller.phone : 'withheld number'} calls (${who}) on ${fmtTime(r.now)}${trust}`));
    r.steps.forEach((st) => {
      if (st.input) {
        const what = st.input.digits ? `pressed ${st.input.digits}` : st.input.speech ? `said “${st.input.speech}”` : 'stayed silent';
        this.transcript.append(h('li', {class: 'caller'}, h('span', {class: 'who'}, 'Caller'), ` ${what}`));
      }
      for (const line of st.said) this.transcript.append(h('li', {class: 'ivr'}, h('span', {class: 'who'}, 'IVR'), ' ', line));
      const trace = h('details', {class: 'trace'}, h('summary', {}, 'Path taken'), h('ul', {}, st.trace.map((t) => h('li', {}, t))));
      this.transcript.append(h('li', {class: 'tracebox'}, trace));
    });
    const lastStep = r.steps[r.steps.length - 1];
    const current = lastStep && lastStep.awaiting ? lastStep.awaiting : last;
    if (r.end === 'awaiting') {
      this.status.textContent = `Waiting for the caller at ${current}: press keys or say something.`;
      this.setAwaiting(current);
    } else {
      const ho = r.handoff;
      const end = r.end === 'handoff' && ho
        ? `Handed off to ${ho.queue ? 'queue ' + ho.queue : ho.client ? 'client ' + ho.client : ho.sip ? ho.sip : ho.workflow}${ho.reason ? ` (${ho.reason})` : ''}.`
        : `The call ended: ${r.end}.`;
      this.transcript.append(h('li', {class: 'end'}, `☎ ${end}`));
      this.status.textContent = `${end} Start again to try another path.`;
      this.setAwaiting(false);
    }
    if (r.error) this.transcript.append(h('li', {class: 'error'}, `✖ ${r.error}`));
    this.editor.highlight({visited, current, pairs});
    // Keep the newest turn and the keypad in view as the transcript grows.
    (this.awaiting ? this.inputBox : this.transcript.lastElementChild).scrollIntoView({block: 'nearest'});
  }
}
