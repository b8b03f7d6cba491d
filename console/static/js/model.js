// What the console knows about flow documents (memberline.flow/v1): the fields of each
// node type, the edges between nodes, and edits that keep references consistent.

export const NODE_TYPES = {
  say: {label: 'Say', texts: ['say'], targets: ['next']},
  play: {label: 'Play audio', scalars: ['url'], targets: ['next']},
  gather: {label: 'Gather (menu)', texts: ['prompt', 'reprompt', 'no_input_prompt', 'no_match_prompt'],
    scalars: ['input', 'timeout', 'num_digits', 'retries'], options: true, targets: ['no_input', 'no_match']},
  branch: {label: 'Branch', cases: true, targets: ['default']},
  set: {label: 'Set variables', set: true, targets: ['next']},
  choose_member: {label: 'Choose member', texts: ['item', 'prompt', 'reprompt'],
    scalars: ['input', 'timeout', 'retries'], targets: ['next', 'no_input', 'no_match']},
  identify: {label: 'Identify', texts: ['prompt', 'reprompt', 'not_found_prompt'],
    scalars: ['timeout', 'retries'], options: 'languages', targets: ['next', 'not_found', 'no_input']},
  record: {label: 'Record', texts: ['say'], scalars: ['max_seconds', 'timeout', 'transcribe', 'beep'], targets: ['next', 'no_input']},
  handoff: {label: 'Hand off', texts: ['say'], scalars: ['queue', 'workflow', 'sip', 'client', 'reason']},
  goto: {label: 'Go to flow', texts: ['say'], scalars: ['flow']},
  hangup: {label: 'Hang up', texts: ['say']},
  split: {label: 'Split (experiment)', scalars: ['experiment']},
  message: {label: 'Message (SMS, WhatsApp)', texts: ['body', 'say'], scalars: ['channel'], targets: ['next', 'not_sent']},
  fetch: {label: 'Fetch (company API)', texts: ['say_while_waiting'], scalars: ['connection', 'method', 'path', 'timeout_ms'],
    targets: ['next', 'error']},
};

export const FIELD_LABELS = {
  say: 'Says', prompt: 'Prompt', reprompt: 'Reprompt (on retry)', no_input_prompt: 'No-input prompt',
  no_match_prompt: 'No-match prompt', item: 'Per-member item', not_found_prompt: 'Not-found prompt',
  next: 'Next', no_input: 'On no input', no_match: 'On no match', not_found: 'On not found', default: 'Otherwise',
  url: 'Audio URL', input: 'Input', timeout: 'Timeout (seconds)', num_digits: 'Number of digits',
  retries: 'Retries', max_seconds: 'Longest recording (seconds)', transcribe: 'Transcribe', beep: 'Beep',
  queue: 'Queue', workflow: 'TaskRouter workflow SID', sip: 'SIP URI', client: 'Client identity',
  reason: 'Reason', flow: 'Flow id', safe: 'Safe variant (when the caller may not hear the full text)',
  connection: 'Connection', method: 'Method (GET or POST)', path: 'Path, e.g. /members/{{ member.id }}',
  timeout_ms: 'Timeout (milliseconds, at most 5000)', say_while_waiting: 'Said while it looks', error: 'On error',
  channel: 'Channel (sms or whatsapp)', body: 'Message text', not_sent: 'If not sent',
};

export const NUMBER_FIELDS = new Set(['timeout', 'num_digits', 'retries', 'max_seconds', 'timeout_ms']);
export const BOOL_FIELDS = new Set(['transcribe', 'beep']);
export const CONDITION_OPS = ['eq', 'ne', 'in', 'not_in', 'lt', 'lte', 'gt', 'gte', 'between', 'exists', 'missing'];
export const LIST_OPS = new Set(['in', 'not_in', 'between']);
export const NOVALUE_OPS = new Set(['exists', 'missing']);

// The trust levels, lowest first: a field a level may hear, every level above it may too.
export const TRUST_LEVELS = ['suspicious', 'unverified', 'verified', 'verified_pin'];

// GOVERNED_FIELDS are what a disclosure policy rules (flows/disclosure.go).
export const GOVERNED_FIELDS = ['member.first_name', 'member.last_name', 'member.tier', 'member.id', 'member.attributes.*',
  'activity.kind', 'activity.relation', 'activity.place', 'activity.starts_at', 'activity.ends_at', 'activity.status',
  'activity.summary', 'activity.reference'];

// DEFAULT_DISCLOSURE is the built-in flow's policy, which a flow without one of its own
// follows; a Go test holds it to flows.DefaultDisclosure.
export const DEFAULT_DISCLOSURE = {
  suspicious: [],
  unverified: ['member.first_name', 'activity.kind', 'activity.relation'],
  verified: ['member.tier', 'activity.kind', 'activity.relation', 'activity.status', 'activity.place', 'activity.starts_at', 'activity.ends_at'],
  verified_pin: ['member.last_name', 'member.attributes.*', 'activity.summary', 'activity.reference'],
};

export function clone(v) { return JSON.parse(JSON.stringify(v)); }

export function languages(doc) {
  const langs = Object.keys(doc.languages || {});
  const def = doc.default_language;
  if (def && !langs.includes(def)) langs.unshift(def);
  return langs.sort((a, b) => (a === def ? -1 : b === def ? 1 : a.localeCompare(b)));
}

function short(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }

function conditionLabel(c) {
  const field = (c.field || '').replace(/^(member|activity|caller|call)\./, '');
  if (NOVALUE_OPS.has(c.op)) return `${field} ${c.op}`;
  const v = c.values ? c.values.join('|') : (c.value ?? '');
  return `${field} ${c.op} ${v}`;
}

// edges lists every reference from a node to another: {from, to, label, kind, path}.
export function edges(doc) {
  const out = [];
  for (const n of doc.nodes || []) {
    const add = (to, label, path, kind = 'normal') => {
      if (to) out.push({from: n.id, to, label, path: `nodes.${n.id}.${path}`, kind});
    };
    (n.options || []).forEach((o, i) => {
      const words = o.words ? (o.words[doc.default_language] || Object.values(o.words)[0] || []) : [];
      const label = [o.digits, words[0]].filter(Boolean).join(' / ') || `option ${i + 1}`;
      add(o.next, label, `options.${i}.next`);
    });
    (n.arms || []).forEach((a, i) => add(a.next, `${a.id} · ${a.weight}%`, `arms.${i}.next`));
    (n.cases || []).forEach((c, i) => {
      const label = (c.when || []).length ? short((c.when || []).map(conditionLabel).join(' & '), 26) : `case ${i + 1}`;
      add(c.next, label, `cases.${i}.next`);
    });
    const labels = {next: n.type === 'identify' ? 'found' : n.type === 'choose_member' ? 'chosen' : '',
      no_input: 'no input', no_match: 'no match', not_found: 'not found', default: 'otherwise', error: 'error', not_sent: 'not sent'};
    for (const t of ['next', 'no_input', 'no_match', 'not_found', 'default', 'error', 'not_sent']) {
      add(n[t], labels[t], t, t === 'next' || t === 'default' ? 'normal' : 'fallback');
    }
  }
  return out;
}

// summary is the short text a node shows in the graph.
export function summary(doc, n) {
  const lang = doc.default_language;
  const text = (t) => (t && (t[lang] || Object.values(t)[0])) || '';
  switch (n.type) {
    case 'say': case 'hangup': case 'record': return text(n.say);
    case 'gather': case 'identify': return text(n.prompt);
    case 'choose_member': return text(n.item);
    case 'play': return n.url || '';
    case 'branch': return `${(n.cases || []).length} case(s), otherwise ${n.default || '?'}`;
    case 'set': return Object.keys(n.set || {}).map((k) => `${k} = ${n.set[k]}`).join(', ');
    case 'handoff': return [n.queue && `queue ${n.queue}`, n.workflow && 'workflow', n.sip && `sip ${n.sip}`, n.client && `client ${n.client}`].filter(Boolean).join(', ') || text(n.say);
    case 'goto': return n.flow ? `flow ${n.flow}` : '';
    case 'split': return `${n.experiment || '?'}: ${(n.arms || []).map((a) => `${a.id} ${a.weight}%`).join(', ')}`;
    case 'fetch': return `${n.method || 'GET'} ${n.connection || '?'} ${n.path || ''}`;
    case 'message': return `${n.channel || '?'} · ${text(n.body)}`;
    default: return '';
  }
}

export function nodeById(doc, id) { return (doc.nodes || []).find((n) => n.id === id); }

export function freshId(doc, base) {
  const ids = new Set((doc.nodes || []).map((n) => n.id));
  for (let i = 1; ; i++) {
    const id = `${base}_${i}`;
    if (!ids.has(id)) return id;
  }
}

// newNode returns a node of type with the fields it needs, texts in every language.
export function newNode(doc, type) {
  const id = freshId(doc, type);
  const texts = (words) => Object.fromEntries(languages(doc).map((l) => [l, words]));
  switch (type) {
    case 'say': return {id, type, say: texts('New message.'), next: ''};
    case 'play': return {id, type, url: 'https://example.com/audio.mp3', next: ''};
    case 'gather': return {id, type, prompt: texts('Press 1 to continue.'), input: 'dtmf speech', options: [{digits: '1', next: ''}], no_input: '', no_match: ''};
    case 'branch': return {id, type, cases: [], default: ''};
    case 'set': return {id, type, set: {}, next: ''};
    case 'handoff': return {id, type, queue: 'agents', reason: 'console', say: texts('One moment, please.')};
    case 'goto': return {id, type, flow: ''};
    case 'hangup': return {id, type, say: texts('Goodbye.')};
    case 'identify': return {id, type, prompt: texts('Enter your member number, then press pound.'), next: '', not_found: '', no_input: ''};
    case 'choose_member': return {id, type, item: texts('If this is {{ member.first_name }}, press {{ choice.digit }}.'), next: ''};
    case 'record': return {id, type, say: texts('Leave a message after the tone.'), next: ''};
    case 'fetch': return {id, type, connection: '', method: 'GET', path: '/members/{{ member.id }}', save: {}, next: '', error: ''};
    case 'message': return {id, type, channel: 'sms', body: texts('Your booking reference is {{ activity.reference }}.'), say: texts("I've sent that to your phone."), next: ''};
    default: return {id, type};
  }
}

// forEachRef calls fn(holder, key) for every field of doc that names a node.
function forEachRef(doc, fn) {
  if ('start' in doc) fn(doc, 'start');
  for (const n of doc.nodes || []) {
    for (const t of ['next', 'no_input', 'no_match', 'not_found', 'default', 'error', 'not_sent']) if (t in n) fn(n, t);
    for (const o of n.options || []) fn(o, 'next');
    for (const c of n.cases || []) fn(c, 'next');
  }
}

export function renameNode(doc, from, to) {
  const n = nodeById(doc, from);
  if (!n) return;
  n.id = to;
  forEachRef(doc, (holder, key) => { if (holder[key] === from) holder[key] = to; });
}

// deleteNode removes a node and clears the references to it; validation then names the
// ones that need a new target.
export function deleteNode(doc, id) {
  doc.nodes = (doc.nodes || []).filter((n) => n.id !== id);
  forEachRef(doc, (holder, key) => { if (holder[key] === id) holder[key] = ''; });
}

// connect makes from lead to to, in the first free outgoing slot of from's type (or a new
// gather option or branch case); it returns the path of the field it set.
export function connect(doc, fromId, toId) {
  const n = nodeById(doc, fromId);
  if (!n || fromId === toId && n.type !== 'gather') return null;
  const spec = NODE_TYPES[n.type] || {};
  if (n.type === 'gather') {
    n.options = n.options || [];
    const free = n.options.findIndex((o) => !o.next);
    if (free >= 0) { n.options[free].next = toId; return `nodes.${n.id}.options.${free}.next`; }
    const used = new Set(n.options.map((o) => o.digits));
    const digit = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'].find((d) => !used.has(d)) || '';
    n.options.push({digits: digit, next: toId});
    return `nodes.${n.id}.options.${n.options.length - 1}.next`;
  }
  if (n.type === 'branch') {
    if (!n.default) { n.default = toId; return `nodes.${n.id}.default`; }
    n.cases = n.cases || [];
    n.cases.push({when: [{field: 'member', op: 'exists'}], next: toId});
    return `nodes.${n.id}.cases.${n.cases.length - 1}.next`;
  }
  for (const t of spec.targets || []) {
    if (!n[t]) { n[t] = toId; return `nodes.${n.id}.${t}`; }
  }
  if ((spec.targets || []).length) { n[spec.targets[0]] = toId; return `nodes.${n.id}.${spec.targets[0]}`; }
  return null;
}

// nodeOfPath maps a problem path such as nodes.greet.say.en-US to its node id.
export function nodeOfPath(doc, path) {
  if (!path || !path.startsWith('nodes.')) return null;
  const rest = path.slice(6);
  // Node ids may not contain dots, but check the longest id that matches to be safe.
  let best = null;
  for (const n of doc.nodes || []) {
    if (rest === n.id || rest.startsWith(n.id + '.')) {
      if (!best || n.id.length > best.length) best = n.id;
    }
  }
  if (best) return best;
  const m = /^(\d+)(\.|$)/.exec(rest);
  if (m && doc.nodes && doc.nodes[+m[1]]) return doc.nodes[+m[1]].id;
  return null;
}

// Three-way merge for a stale save: the admin's changes since base are re-applied onto
// theirs, node by node and top-level field by field. Conflicts (both changed the same
// node differently) take the admin's version and are listed.
export function changesSince(base, mine) {
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const out = [];
  const keys = new Set([...Object.keys(base), ...Object.keys(mine)]);
  keys.delete('nodes');
  for (const k of keys) if (!same(base[k], mine[k])) out.push({kind: 'field', key: k, value: mine[k], removed: !(k in mine)});
  const bn = new Map((base.nodes || []).map((n) => [n.id, n]));
  const mn = new Map((mine.nodes || []).map((n) => [n.id, n]));
  for (const [id, n] of mn) {
    if (!bn.has(id)) out.push({kind: 'added', id, node: n});
    else if (!same(bn.get(id), n)) out.push({kind: 'changed', id, node: n});
  }
  for (const id of bn.keys()) if (!mn.has(id)) out.push({kind: 'removed', id});
  return out;
}

export function describeChange(c) {
  switch (c.kind) {
    case 'field': return `${c.removed ? 'removed' : 'changed'} ${c.key}`;
    case 'added': return `added node ${c.id}`;
    case 'changed': return `changed node ${c.id}`;
    case 'removed': return `deleted node ${c.id}`;
    default: return '';
  }
}

export function reapply(base, mine, theirs) {
  const mineChanges = changesSince(base, mine);
  const theirChanges = changesSince(base, theirs);
  const touched = new Set(theirChanges.map((c) => (c.kind === 'field' ? 'f:' + c.key : 'n:' + c.id)));
  const out = clone(theirs);
  const conflicts = [];
  for (const c of mineChanges) {
    const key = c.kind === 'field' ? 'f:' + c.key : 'n:' + c.id;
    if (touched.has(key)) conflicts.push(describeChange(c));
    if (c.kind === 'field') {
      if (c.removed) delete out[c.key]; else out[c.key] = clone(c.value);
    } else if (c.kind === 'removed') {
      out.nodes = out.nodes.filter((n) => n.id !== c.id);
    } else {
      const i = out.nodes.findIndex((n) => n.id === c.id);
      if (i >= 0) out.nodes[i] = clone(c.node); else out.nodes.push(clone(c.node));
    }
  }
  return {doc: out, mine: mineChanges, theirs: theirChanges, conflicts};
}
