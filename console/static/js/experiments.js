// Experiments: what each arm of a split did over a period, with its interval as whiskers,
// the verdict in plain words and the data as a table; and ending an experiment, which
// saves a draft sending everyone to one arm, for an editor to publish like any change.

import {h, s, field, clear, toast, dialog, isoDay} from './dom.js';
import {api} from './api.js';
import {dataTable, csvButton, percent} from './charts.js';

const pts = (v) => (v === null || v === undefined ? '' : `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`);

export async function showExperiments(main) {
  const box = h('section', {class: 'page experiments', 'aria-labelledby': 'exp-title'},
    h('h1', {id: 'exp-title'}, 'Experiments'),
    h('p', {class: 'muted'}, 'Split nodes send each caller to one arm, always the same. Here: how often each arm reached its goal, and whether the difference is real.'));
  clear(main).append(box);
  let list;
  try {
    list = (await api.report('experiments', '')).experiments;
  } catch (e) {
    box.append(h('p', {class: 'error'}, `✖ ${e.message}`));
    return;
  }
  if (!list.length) {
    box.append(h('p', {class: 'empty'}, 'No published flow runs an experiment yet: add a split node to a flow and publish it.'));
    return;
  }
  const today = new Date();
  const which = h('select', {id: 'exp-id'}, list.map((x) => h('option', {value: x.experiment}, `${x.experiment} (flow ${x.flow} v${x.version})`)));
  const from = h('input', {type: 'date', id: 'exp-from', value: isoDay(new Date(today.getTime() - 29 * 86400000))});
  const to = h('input', {type: 'date', id: 'exp-to', value: isoDay(today)});
  const out = h('div', {'aria-live': 'polite'});
  const form = h('form', {class: 'period', 'aria-label': 'Experiment and period'},
    h('div', {class: 'row end'}, field('Experiment', which), field('From', from), field('To (included)', to),
      h('button', {type: 'submit', class: 'btn primary', id: 'exp-go'}, 'Show')),
    h('p', {class: 'hint'}, 'Days are counted in your browser\'s time zone.'));
  const load = async () => {
    clear(out).append(h('p', {class: 'muted'}, 'Counting…'));
    const summary = list.find((x) => x.experiment === which.value);
    let rep;
    try {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
      rep = await api.report(`experiments/${encodeURIComponent(which.value)}`, `from=${from.value}&to=${to.value}&tz=${encodeURIComponent(zone)}`);
    } catch (e) {
      clear(out).append(h('p', {class: 'error'}, `✖ ${e.message}`));
      return;
    }
    clear(out).append(report(rep, summary));
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  box.append(form, out);
  load();
}

function report(rep, summary) {
  const columns = [
    {key: 'arm', label: 'Arm'}, {key: 'weight', label: 'Weight', format: (v) => `${v}%`},
    {key: 'calls', label: 'Calls'}, {key: 'distinct_callers', label: 'Callers'},
    {key: 'goal_reached', label: 'Reached the goal'}, {key: 'goal_share', label: 'Share', format: percent},
    {key: 'goal_interval', label: '95% interval', format: (v) => `${percent(v.low)} – ${percent(v.high)}`},
    {key: 'difference', label: 'Difference (points)', format: (v, r) => (r.note ? r.note : pts(v))},
    {key: 'always_valid_interval', label: 'Always-valid 95% CI', format: (v) => (v ? `${pts(v.low)} to ${pts(v.high)}` : '')},
    {key: 'p_value', label: 'p (z-test)', format: (v) => (v === undefined || v === null ? '' : v < 0.0001 ? '< 0.0001' : v.toFixed(4))},
    {key: 'handoff_share', label: 'Handed off', format: percent},
    {key: 'mean_call_seconds', label: 'Mean length', format: (v) => `${Math.round(v)} s`},
  ];
  const csvColumns = columns.map((c) => ({key: c.key, label: c.label}));
  const csvRows = rep.arms.map((a) => ({...a, goal_interval: `${a.goal_interval.low}-${a.goal_interval.high}`,
    always_valid_interval: a.always_valid_interval ? `${a.always_valid_interval.low}-${a.always_valid_interval.high}` : ''}));
  return h('div', {},
    h('p', {class: 'verdict'}, h('strong', {}, 'Verdict: '), rep.verdict),
    h('p', {class: 'muted'}, `Goal: ${goalWords(rep.goal)}. Each arm needs ${rep.min_calls_per_arm} calls before a verdict. `,
      `The split's calls against its weights: p = ${rep.sample_ratio_p.toPrecision(3)} (below 0.001 means the split or the records are broken). `,
      'The verdict reads the always-valid interval, which stays right however often this page is read.'),
    whiskers(rep),
    dataTable(`${rep.experiment}: the data`, columns, rep.arms),
    csvButton(`experiment-${rep.experiment}`, csvColumns, csvRows),
    endBox(rep, summary));
}

function goalWords(g) {
  if (g.reached) return `reaching node ${g.reached}`;
  if (g.outcome) return `ending in ${g.outcome.replace('_', '-')}`;
  if (g.not_outcome) return `not ending in ${g.not_outcome.replace('_', '-')}`;
  return 'none declared';
}

// whiskers draws each arm's goal share as a bar, its 95% Wilson interval as whiskers.
function whiskers(rep) {
  const rowH = 44; const left = 110; const width = 520; const w = width - left - 20;
  const height = rep.arms.length * rowH + 30;
  const x = (v) => left + v * w;
  const svg = s('svg', {class: 'whiskers', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': rep.arms.map((a) => `${a.arm}: ${percent(a.goal_share)} reached the goal, 95% interval ${percent(a.goal_interval.low)} to ${percent(a.goal_interval.high)}`).join('; ')});
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s('line', {class: 'grid', x1: x(t), x2: x(t), y1: 10, y2: height - 20}),
      s('text', {class: 'tick', x: x(t), y: height - 5, 'text-anchor': 'middle'}, percent(t)));
  }
  rep.arms.forEach((a, i) => {
    const y = 14 + i * rowH;
    svg.append(
      s('text', {class: 'label', x: left - 8, y: y + 17, 'text-anchor': 'end'}, a.arm),
      s('rect', {class: `bar arm-${i}`, 'data-arm': a.arm, x: left, y, width: Math.max(0, x(a.goal_share) - left), height: 24}),
      s('line', {class: 'whisker', x1: x(a.goal_interval.low), x2: x(a.goal_interval.high), y1: y + 12, y2: y + 12}),
      s('line', {class: 'whisker', x1: x(a.goal_interval.low), x2: x(a.goal_interval.low), y1: y + 5, y2: y + 19}),
      s('line', {class: 'whisker', x1: x(a.goal_interval.high), x2: x(a.goal_interval.high), y1: y + 5, y2: y + 19}));
  });
  return h('figure', {class: 'chart'}, svg, h('figcaption', {class: 'muted'}, 'The share of each arm\'s calls that reached the goal; the whiskers are its 95% interval.'));
}

// endBox ends the experiment: a draft of its flow with one arm at 100%, saved for an
// editor to check and publish (validation, versions and the audit as for any change).
function endBox(rep, summary) {
  const box = h('section', {class: 'end-experiment', 'data-needs': 'editor', 'aria-labelledby': 'end-title'},
    h('h2', {id: 'end-title'}, 'End the experiment'),
    h('p', {class: 'muted'}, `Saves a draft of flow ${summary.flow} in which node ${summary.node} sends everyone to one arm; publish it to end the experiment.`));
  for (const a of summary.arms) {
    box.append(h('button', {type: 'button', class: 'btn', 'data-end': a.id, onclick: async () => {
      const ok = await dialog(`Send everyone to ${a.id}?`, h('p', {}, `The draft of ${summary.flow} gets ${a.id} at 100% and the other arms at 0%. Nothing changes for callers until it is published.`),
        [{label: 'Cancel', value: false, class: 'ghost'}, {label: `Save the draft`, value: true, class: 'primary'}]);
      if (!ok) return;
      try {
        const r = await api.draft(summary.flow);
        const doc = JSON.parse(r.text);
        for (const n of doc.nodes || []) {
          if (n.type === 'split' && n.experiment === rep.experiment) {
            for (const arm of n.arms || []) arm.weight = arm.id === a.id ? 100 : 0;
          }
        }
        await api.save(summary.flow, doc, r.etag);
        toast(`Draft saved: everyone goes to ${a.id}. Publish it to end the experiment.`, 'ok');
        location.hash = `#/flows/${encodeURIComponent(summary.flow)}`;
      } catch (e) {
        toast(`Not saved: ${e.message}`, 'error');
      }
    }}, `End experiment: send everyone to ${a.id}`));
  }
  return box;
}
