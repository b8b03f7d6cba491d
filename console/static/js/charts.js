// Charts written by hand as SVG: bars, grouped or stacked, each series told apart by a
// fill pattern and named in a legend (never by colour alone), every bar titled with its
// value. Each chart comes with its data as a table and a CSV download.

import {h, s} from './dom.js';

// PATTERNS are the fills series take in order: solid, hatched, dotted, cross-hatched.
const PATTERNS = ['solid', 'hatch', 'dots', 'cross'];

let defsAdded = false;

// patternDefs adds the fill patterns once, in a hidden SVG the charts refer to.
function patternDefs() {
  if (defsAdded) return;
  defsAdded = true;
  const pat = (id, ...shapes) => s('pattern', {id: `pat-${id}`, width: 8, height: 8, patternUnits: 'userSpaceOnUse'},
    s('rect', {width: 8, height: 8, class: `pbg ${id}`}), ...shapes);
  const svg = s('svg', {width: 0, height: 0, 'aria-hidden': 'true', class: 'chart-defs'},
    s('defs', {},
      pat('hatch', s('path', {d: 'M-2,10 L10,-2 M-2,2 L2,-2 M6,10 L10,6', class: 'pline'})),
      pat('dots', s('circle', {cx: 4, cy: 4, r: 1.8, class: 'pdot'})),
      pat('cross', s('path', {d: 'M0,0 L8,8 M8,0 L0,8', class: 'pline'}))));
  document.body.append(svg);
}

const fill = (i) => (PATTERNS[i % PATTERNS.length] === 'solid' ? null : `url(#pat-${PATTERNS[i % PATTERNS.length]})`);

// csvCell keeps a spreadsheet from reading a cell as a formula (as the API's CSVs do).
function csvCell(v) {
  let t = v === null || v === undefined ? '' : String(v);
  if (t && '=+-@\t\r'.includes(t[0])) t = "'" + t;
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

// toCSV writes rows (objects) as CSV with columns [{key, label}].
export function toCSV(columns, rows) {
  return [columns.map((c) => csvCell(c.key)).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c.key])).join(','))].join('\n') + '\n';
}

// dataTable is rows as a table with columns [{key, label, format}].
export function dataTable(caption, columns, rows) {
  return h('table', {class: 'table data'},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {scope: 'col'}, c.label)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c, i) => (i === 0 ? h('th', {scope: 'row'}, fmt(c, r)) : h('td', {}, fmt(c, r))))))));
}

const fmt = (c, r) => (c.format ? c.format(r[c.key], r) : r[c.key] ?? '');

// csvButton downloads rows as name.csv.
export function csvButton(name, columns, rows) {
  return h('button', {type: 'button', class: 'btn small', onclick: () => {
    const url = URL.createObjectURL(new Blob([toCSV(columns, rows)], {type: 'text/csv'}));
    const a = h('a', {href: url, download: `${name}.csv`});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }}, `↓ Download ${name}.csv`);
}

export const percent = (v) => (v === null || v === undefined ? '' : `${Math.round(v * 1000) / 10}%`);

// barChart draws rows as bars: one group (or stack) per row's x value, one bar per series
// [{key, label}]. share: values are 0..1, shown as percentages. columns: the table view
// and the CSV (all of each row's data, not only what is drawn).
export function barChart({id, title, description, rows, x, series, stacked = false, share = false, columns, empty}) {
  patternDefs();
  const fig = h('figure', {class: 'chart', id, 'aria-labelledby': `${id}-title`});
  fig.append(h('figcaption', {id: `${id}-title`}, h('strong', {}, title), description ? h('span', {class: 'muted'}, ` — ${description}`) : null));
  if (!rows.length) {
    fig.append(h('p', {class: 'muted'}, empty || 'No calls in this period.'));
    return fig;
  }
  const W = 680; const H = 230; const L = 46; const B = 40; const T = 12; const R = 8;
  const totals = rows.map((r) => (stacked ? series.reduce((a, se) => a + (r[se.key] || 0), 0) : Math.max(...series.map((se) => r[se.key] || 0))));
  const max = share ? 1 : Math.max(1, ...totals);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const band = (W - L - R) / rows.length;
  const svg = s('svg', {class: 'bars', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: ${rows.length} ${rows.length === 1 ? 'bar group' : 'bar groups'}; the table below has every value`});
  // Axis with four ticks.
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    svg.append(s('line', {class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v)}),
      s('text', {class: 'tick', x: L - 6, y: y(v) + 4, 'text-anchor': 'end'}, share ? percent(v) : String(Math.round(v * 10) / 10)));
  }
  rows.forEach((r, i) => {
    const inner = Math.min(band * 0.8, 36 * (stacked ? 1 : series.length));
    const x0 = L + i * band + (band * 0.8 - inner) / 2;
    const bw = stacked ? inner : inner / series.length;
    let acc = 0;
    series.forEach((se, j) => {
      const v = r[se.key] || 0;
      const top = stacked ? y(acc + v) : y(v);
      const bottom = stacked ? y(acc) : y(0);
      const bx = x0 + band * 0.1 + (stacked ? 0 : j * bw);
      const rect = s('rect', {class: `bar s${j % PATTERNS.length}`, x: bx, y: top, width: Math.max(bw - 1, 1), height: Math.max(bottom - top, 0), fill: fill(j), 'data-series': se.key},
        s('title', {}, `${r[x]} · ${se.label}: ${share ? percent(v) : v}`));
      svg.append(rect);
      acc += v;
    });
    if (rows.length <= 16 || i % Math.ceil(rows.length / 16) === 0) {
      const lx = String(r[x]);
      svg.append(s('text', {class: 'xlabel', x: L + i * band + band / 2, y: H - B + 16, 'text-anchor': 'middle'}, /^\d{4}-\d\d-\d\d$/.test(lx) ? lx.slice(5) : lx.slice(0, 14)));
    }
  });
  const legend = h('ul', {class: 'chart-legend', 'aria-label': 'Legend'}, series.map((se, j) => h('li', {},
    s('svg', {width: 18, height: 12, 'aria-hidden': 'true'}, s('rect', {class: `bar s${j % PATTERNS.length}`, width: 18, height: 12, fill: fill(j)})), ` ${se.label}`)));
  const table = dataTable(`${title}: the data`, columns, rows);
  fig.append(svg, legend,
    h('details', {class: 'tableview'}, h('summary', {}, 'Table view'), table),
    h('div', {class: 'actions start'}, csvButton(id, columns, rows)));
  return fig;
}
