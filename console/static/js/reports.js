// Reports: what the line learns, as charts with their tables and CSVs, for a period and a
// time zone: recognition by day, the activity question by trust level, how calls ended
// by day and flow version, repeat callers, and the member segments.

import {h, field, clear, fmtTime, isoDay} from './dom.js';
import {api} from './api.js';
import {barChart, dataTable, csvButton, percent} from './charts.js';

const ZONES = ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles', 'America/Toronto', 'America/Sao_Paulo', 'Europe/London', 'Europe/Paris', 'UTC'];

export function showReports(main) {
  const today = new Date();
  const from = h('input', {type: 'date', id: 'report-from', value: isoDay(new Date(today.getTime() - 29 * 86400000))});
  const to = h('input', {type: 'date', id: 'report-to', value: isoDay(today)});
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const zone = h('select', {id: 'report-tz'}, [...new Set([here, ...ZONES])].map((z) => h('option', {value: z, selected: z === here}, z)));
  const out = h('div', {class: 'reports', 'aria-live': 'polite'});
  // The hint goes under the row, not under its field, so that every control and the
  // button line up.
  zone.setAttribute('aria-describedby', 'report-tz-hint');
  const form = h('form', {class: 'period', 'aria-label': 'Period'},
    h('div', {class: 'row end'}, field('From', from), field('To (included)', to), field('Time zone', zone),
      h('button', {type: 'submit', class: 'btn primary', id: 'report-go'}, 'Show')),
    h('p', {class: 'hint', id: 'report-tz-hint'}, 'Days are counted in the time zone chosen.'));
  const load = async () => {
    clear(out).append(h('p', {class: 'muted'}, 'Counting…'));
    const q = `from=${from.value}&to=${to.value}&tz=${encodeURIComponent(zone.value)}`;
    let rec; let outc; let rep; let seg; let msg;
    try {
      [rec, outc, rep, seg, msg] = await Promise.all([api.report('recognition', q), api.report('outcomes', q), api.report('repeat', q), api.report('segments', q),
        api.report('messages', q).catch(() => null)]);
    } catch (e) {
      clear(out).append(h('p', {class: 'error'}, `✖ ${e.message}`));
      return;
    }
    clear(out).append(
      h('p', {}, `${rec.calls} call${rec.calls === 1 ? '' : 's'} from ${from.value} to ${to.value} (${rec.time_zone}); ${percent(rec.recognized_share)} recognized by their number.`),
      recognitionChart(rec), trustChart(rec), outcomesChart(outc), repeatChart(rep), msg ? messagesChart(msg) : null, segments(seg));
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  clear(main).append(h('section', {class: 'page', 'aria-labelledby': 'reports-title'},
    h('h1', {id: 'reports-title'}, 'Reports'),
    h('p', {class: 'muted'}, 'Counted from the call records: which callers the line recognizes, what they call about, how calls end, who calls back.'),
    form, out));
  load();
}

function recognitionChart(rec) {
  return barChart({
    id: 'recognition', title: 'Recognized by number, by day', description: 'the share of calls whose number named a member or a household',
    rows: rec.days, x: 'day', share: true, series: [{key: 'recognized_share', label: 'recognized by number'}],
    columns: [{key: 'day', label: 'Day'}, {key: 'calls', label: 'Calls'}, {key: 'member', label: 'One member'}, {key: 'household', label: 'Household'},
      {key: 'unknown', label: 'Unknown'}, {key: 'anonymous', label: 'Withheld'}, {key: 'error', label: 'Look-up failed'},
      {key: 'identified', label: 'Identified by the end'}, {key: 'recognized_share', label: 'Recognized share', format: percent}],
  });
}

function trustChart(rec) {
  return barChart({
    id: 'activity-by-trust', title: 'Asked about their activity, and said yes, by trust level',
    description: 'of the recognized callers at each caller-ID trust level',
    rows: rec.by_trust, x: 'trust', share: true,
    series: [{key: 'asked_share', label: 'asked about their activity'}, {key: 'yes_share', label: 'said yes (of those asked)'}],
    columns: [{key: 'trust', label: 'Trust'}, {key: 'recognized', label: 'Recognized calls'}, {key: 'asked_activity', label: 'Asked'},
      {key: 'asked_share', label: 'Asked share', format: percent}, {key: 'activity_yes', label: 'Said yes'}, {key: 'yes_share', label: 'Yes share', format: percent}],
    empty: 'No recognized caller in this period.',
  });
}

function outcomesChart(outc) {
  const wrap = h('div', {});
  const versions = [...new Set(outc.days.map((d) => `${d.flow} v${d.version}`))];
  const sel = h('select', {id: 'outcomes-flow'}, h('option', {value: ''}, 'every flow and version'), versions.map((v) => h('option', {value: v}, v)));
  const draw = () => {
    const days = new Map();
    for (const d of outc.days) {
      if (sel.value && `${d.flow} v${d.version}` !== sel.value) continue;
      const e = days.get(d.day) || {day: d.day, calls: 0, self_service: 0, handoff: 0, caller_hung_up: 0, error: 0};
      for (const k of ['calls', 'self_service', 'handoff', 'caller_hung_up', 'error']) e[k] += d[k];
      days.set(d.day, e);
    }
    clear(wrap).append(h('div', {class: 'narrow'}, field('Flow and version', sel)), barChart({
      id: 'outcomes', title: 'How calls ended, by day', description: sel.value || 'every flow and version', stacked: true,
      rows: [...days.values()], x: 'day',
      series: [{key: 'self_service', label: 'self-service'}, {key: 'handoff', label: 'handed off'}, {key: 'caller_hung_up', label: 'hung up'}, {key: 'error', label: 'error'}],
      columns: [{key: 'day', label: 'Day'}, {key: 'calls', label: 'Calls'}, {key: 'self_service', label: 'Self-service'}, {key: 'handoff', label: 'Handed off'},
        {key: 'caller_hung_up', label: 'Hung up'}, {key: 'error', label: 'Error'}],
    }));
  };
  sel.addEventListener('change', draw);
  draw();
  return wrap;
}

function repeatChart(rep) {
  return barChart({
    id: 'repeat', title: 'Repeat callers, by day', description: `calls from a number that had called in the ${rep.window_days} days before`,
    rows: rep.days, x: 'day', share: true, series: [{key: 'repeat_share', label: 'repeat calls'}],
    columns: [{key: 'day', label: 'Day'}, {key: 'calls', label: 'Calls'}, {key: 'repeat', label: 'Repeat calls'}, {key: 'repeat_share', label: 'Repeat share', format: percent}],
  });
}

function messagesChart(msg) {
  return barChart({
    id: 'messages', title: 'Messages, by day', description: 'the texts flows queued, by where they are now', stacked: true,
    rows: msg.days, x: 'day',
    series: [{key: 'delivered', label: 'delivered'}, {key: 'sent', label: 'sent'}, {key: 'failed', label: 'failed'}, {key: 'queued', label: 'queued'}],
    columns: [{key: 'day', label: 'Day'}, {key: 'queued', label: 'Queued'}, {key: 'sent', label: 'Sent'}, {key: 'delivered', label: 'Delivered'}, {key: 'failed', label: 'Failed'}],
    empty: 'No message in this period.',
  });
}

function segments(seg) {
  const box = h('section', {class: 'segments', 'aria-labelledby': 'segments-title'},
    h('h2', {id: 'segments-title'}, 'Members and transactional customers'),
    h('p', {class: 'muted'}, `Segments of the period's callers; "often" is ${seg.min_calls} calls or more.`));
  for (const sg of seg.segments) {
    const numbers = sg.name === 'unrecognized_numbers';
    const columns = [numbers ? {key: 'caller', label: 'Number'} : {key: 'member_id', label: 'Member'},
      {key: 'calls', label: 'Calls'}, {key: 'last_call', label: 'Last call', format: (v) => fmtTime(v)},
      {key: 'self_service', label: 'Self-service'}, {key: 'handoff', label: 'Handed off'}, {key: 'caller_hung_up', label: 'Hung up'}];
    const rows = sg.lines;
    const card = h('article', {class: 'card segment', id: `segment-${sg.name}`},
      h('h3', {}, sg.title, ' ', h('span', {class: 'chip'}, `${sg.count}`)),
      h('p', {class: 'muted'}, sg.definition));
    if (rows.length) {
      const t = dataTable(sg.title, columns, rows);
      if (!numbers) {
        for (const [i, tr] of [...t.tBodies[0].rows].entries()) {
          const cell = tr.cells[0];
          cell.textContent = '';
          cell.append(h('a', {href: `#/calls?member=${encodeURIComponent(rows[i].member_id)}`}, rows[i].member_id));
        }
      }
      card.append(t, h('div', {class: 'actions start'}, csvButton(`segment-${sg.name}`, columns, rows)));
    } else {
      card.append(h('p', {}, 'Nobody in this period.'));
    }
    box.append(card);
  }
  return box;
}
