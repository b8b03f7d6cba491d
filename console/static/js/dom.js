// Small helpers to build the page from elements and text nodes only, so nothing from the
// API is ever parsed as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value' && !(el instanceof SVGElement)) el.value = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && !(el instanceof SVGElement) && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// h('button', {class: 'btn', onclick: fn}, 'Save') builds an HTML element.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  apply(el, props);
  append(el, children);
  return el;
}

// s('rect', {...}) builds an SVG element.
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, props);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// field wraps a control with its label and a slot for problems.
export function field(label, control, hint) {
  if (!control.id) control.id = nextId('f');
  const wrap = h('div', {class: 'field'},
    h('label', {for: control.id}, label),
    control,
    hint ? h('p', {class: 'hint', id: control.id + '-hint'}, hint) : null);
  if (hint) control.setAttribute('aria-describedby', control.id + '-hint');
  return wrap;
}

export function debounce(fn, ms) {
  let t = null;
  const d = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => { t = null; fn(...args); }, ms);
  };
  d.flush = (...args) => { clearTimeout(t); t = null; fn(...args); };
  d.cancel = () => { clearTimeout(t); t = null; };
  return d;
}

export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const icon = kind === 'error' ? '✖' : kind === 'ok' ? '✔' : 'ℹ';
  const t = h('div', {class: `toast ${kind}`}, h('span', {class: 'icon', 'aria-hidden': 'true'}, icon), ' ', message);
  t.addEventListener('click', () => t.remove());
  box.append(t);
  while (box.children.length > 3) box.firstChild.remove();
  setTimeout(() => t.remove(), kind === 'error' ? 9000 : 4500);
}

// localInput is a Date as a datetime-local input's value, in the browser's time zone;
// isoDay as a date input's.
export function localInput(d) {
  return `${isoDay(d)}T${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

export function isoDay(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, {dateStyle: 'medium', timeStyle: 'short'});
}

// fmtTimeIn formats an ISO time in an IANA zone, naming the zone's abbreviation
// ("Nov 27, 2026, 2:05 PM EST"); the browser's zone when zone is empty or unknown.
export function fmtTimeIn(iso, zone) {
  if (!iso) return '';
  const opts = {year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short'};
  try {
    return new Date(iso).toLocaleString(undefined, zone ? {...opts, timeZone: zone} : opts);
  } catch {
    return new Date(iso).toLocaleString(undefined, opts);
  }
}

// dialog opens a modal <dialog> with content and buttons; resolves with the chosen value.
export function dialog(title, body, buttons) {
  return new Promise((resolve) => {
    const dlg = h('dialog', {class: 'dialog', 'aria-labelledby': 'dlg-title'});
    const bar = h('div', {class: 'actions'});
    for (const b of buttons) {
      bar.append(h('button', {type: 'button', class: `btn ${b.class || ''}`, onclick: () => {
        const v = typeof b.value === 'function' ? b.value() : b.value;
        if (v === undefined) return;
        dlg.close();
        dlg.remove();
        resolve(v);
      }}, b.label));
    }
    dlg.append(h('h2', {id: 'dlg-title'}, title), body, bar);
    dlg.addEventListener('cancel', () => { dlg.remove(); resolve(null); });
    document.body.append(dlg);
    dlg.showModal();
  });
}
