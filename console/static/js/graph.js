// The flow graph: an SVG of the laid-out nodes and edges with pan (drag the background,
// arrow keys), zoom (wheel, buttons, + and -), selection (click, Enter) and connecting
// (drag from a node's handle onto another node).

import {s, h, clear} from './dom.js';
import {layout, NODE_W, NODE_H} from './layout.js';
import {edges as flowEdges, summary, NODE_TYPES} from './model.js';


function clip(text, n) {
  const t = String(text || '').replace(/\s+/g, ' ').trim();
  return t.length > n ? t.slice(0, n - 1) + '…' : t;
}

function curve(points) {
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]; const b = points[i];
    const dy = (b.y - a.y) / 2;
    d += ` C${a.x},${a.y + dy} ${b.x},${b.y - dy} ${b.x},${b.y}`;
  }
  return d;
}

export class Graph {
  constructor({onSelect, onConnect, onDelete}) {
    this.onSelect = onSelect;
    this.onConnect = onConnect;
    this.onDelete = onDelete;
    this.view = {x: 20, y: 20, k: 1};
    this.layoutKey = '';
    this.selected = null;
    this.el = h('div', {class: 'graph-wrap'});
    this.svg = s('svg', {class: 'graph', tabindex: '0', role: 'group',
      'aria-label': 'Flow graph. Drag or use the arrow keys to pan, the wheel or + and - to zoom; Tab moves between nodes.'});
    const defs = s('defs', {},
      s('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '10', markerHeight: '10', markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse'},
        s('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead'})),
      s('marker', {id: 'arrow-fallback', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '10', markerHeight: '10', markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse'},
        s('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead fallback'})),
      s('marker', {id: 'arrow-hot', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '10', markerHeight: '10', markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse'},
        s('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead hot'})),
      s('marker', {id: 'arrow-was', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '10', markerHeight: '10', markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse'},
        s('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead was'})));
    this.vp = s('g', {class: 'viewport'});
    this.svg.append(defs, this.vp);
    const zoomBar = h('div', {class: 'zoombar', role: 'toolbar', 'aria-label': 'Zoom'},
      h('button', {type: 'button', class: 'btn icon', 'aria-label': 'Zoom in', title: 'Zoom in (+)', onclick: () => this.zoomBy(1.25)}, '+'),
      h('button', {type: 'button', class: 'btn icon', 'aria-label': 'Zoom out', title: 'Zoom out (−)', onclick: () => this.zoomBy(0.8)}, '−'),
      h('button', {type: 'button', class: 'btn', 'aria-label': 'Fit the whole flow', title: 'Fit (0)', onclick: () => this.fit()}, 'Fit'));
    this.legend = h('p', {class: 'legend'},
      h('span', {}, h('span', {class: 'sw normal', 'aria-hidden': 'true'}), ' next / option'),
      h('span', {}, h('span', {class: 'sw fallback', 'aria-hidden': 'true'}), ' fallback (dashed)'),
      h('span', {}, h('span', {class: 'sw back', 'aria-hidden': 'true'}), ' loops back (dotted)'),
      h('span', {}, '✖ error · ⚠ warning · ▶ start · ● caller is here'));
    // Shown while two paths are drawn (a replayed call): the recorded one and the new one.
    this.compareLegend = h('p', {class: 'legend compare', hidden: true},
      h('span', {}, h('span', {class: 'sw was', 'aria-hidden': 'true'}), ' ◌ as recorded (thick dashed)'),
      h('span', {}, h('span', {class: 'sw now', 'aria-hidden': 'true'}), ' ● with this draft (thick solid)'),
      h('span', {}, 'split: where they part'));
    this.trafficLegend = h('p', {class: 'legend traffic', hidden: true},
      h('span', {}, 'Traffic: “N in” calls entered a node · “✆ N left” callers hung up there (dashed border) · thicker edges carried more calls, each labelled with its count'));
    this.el.append(this.svg, zoomBar, this.legend, this.compareLegend, this.trafficLegend);
    this.bindPanZoom();
  }

  apply() {
    this.vp.setAttribute('transform', `translate(${this.view.x} ${this.view.y}) scale(${this.view.k})`);
  }

  zoomBy(f, cx, cy) {
    const r = this.svg.getBoundingClientRect();
    if (cx === undefined) { cx = r.width / 2; cy = r.height / 2; }
    const k = Math.min(2.5, Math.max(0.15, this.view.k * f));
    const real = k / this.view.k;
    this.view.x = cx - (cx - this.view.x) * real;
    this.view.y = cy - (cy - this.view.y) * real;
    this.view.k = k;
    this.apply();
  }

  // fit shows the nodes ids (every node without ids) whole, clear of the zoom buttons
  // above and the legend below. readable keeps the zoom at 0.6 or more: a large flow is
  // then shown from its top, centred on its start (the editor's first view); the Fit
  // button fits everything, however small.
  fit({ids = null, readable = false} = {}) {
    if (!this.lay) return;
    const r = this.svg.getBoundingClientRect();
    const ps = (ids ? ids.map((id) => this.lay.positions.get(id)) : [...this.lay.positions.values()]).filter(Boolean);
    if (!ps.length) return;
    const minX = Math.min(...ps.map((p) => p.x)) - NODE_W / 2; const maxX = Math.max(...ps.map((p) => p.x)) + NODE_W / 2;
    const minY = Math.min(...ps.map((p) => p.y)) - NODE_H / 2; const maxY = Math.max(...ps.map((p) => p.y)) + NODE_H / 2 + 8;
    const w = Math.max(1, maxX - minX); const hgt = Math.max(1, maxY - minY);
    const legend = [this.legend, this.compareLegend, this.trafficLegend].filter((l) => !l.hidden)
      .reduce((b, l) => Math.max(b, r.bottom - l.getBoundingClientRect().top), 0);
    const top = 56; // below the zoom buttons
    const availW = Math.max(40, r.width - 40); const availH = Math.max(40, r.height - top - Math.max(legend, 20) - 12);
    let k = Math.min(1.1, availW / w, availH / hgt);
    k = readable ? Math.max(0.6, k) : Math.max(0.05, k);
    let x = (r.width - w * k) / 2 - minX * k;
    const start = this.lay.positions.get(this.start);
    if (readable && w * k > availW) x = r.width / 2 - (start ? start.x : (minX + maxX) / 2) * k;
    const y = hgt * k > availH ? top - minY * k : top + (availH - hgt * k) / 2 - minY * k;
    this.view = {k, x, y};
    this.apply();
  }

  // reveal pans so node id is in view, without changing the zoom.
  reveal(id) {
    const p = this.lay && this.lay.positions.get(id);
    if (!p) return;
    const r = this.svg.getBoundingClientRect();
    const sx = this.view.x + p.x * this.view.k; const sy = this.view.y + p.y * this.view.k;
    const m = 80;
    if (sx < m || sx > r.width - m || sy < m || sy > r.height - m) {
      this.view.x = r.width / 2 - p.x * this.view.k;
      this.view.y = r.height / 2 - p.y * this.view.k;
      this.apply();
    }
  }

  bindPanZoom() {
    let drag = null;
    this.svg.addEventListener('pointerdown', (e) => {
      const handle = e.target.closest('.handle');
      if (handle) {
        e.preventDefault();
        const from = handle.closest('.node').dataset.id;
        const p = this.lay.positions.get(from);
        const line = s('path', {class: 'connecting', d: ''});
        this.vp.append(line);
        drag = {mode: 'connect', from, line, x0: p.x, y0: p.y + NODE_H / 2};
        this.svg.setPointerCapture(e.pointerId);
        return;
      }
      if (e.target.closest('.node')) return;
      drag = {mode: 'pan', x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y};
      this.svg.setPointerCapture(e.pointerId);
      this.svg.classList.add('panning');
    });
    this.svg.addEventListener('pointermove', (e) => {
      if (!drag) return;
      if (drag.mode === 'pan') {
        this.view.x = drag.vx + e.clientX - drag.x;
        this.view.y = drag.vy + e.clientY - drag.y;
        this.apply();
      } else {
        const r = this.svg.getBoundingClientRect();
        const gx = (e.clientX - r.left - this.view.x) / this.view.k;
        const gy = (e.clientY - r.top - this.view.y) / this.view.k;
        drag.line.setAttribute('d', `M${drag.x0},${drag.y0} L${gx},${gy}`);
      }
    });
    const end = (e) => {
      if (!drag) return;
      if (drag.mode === 'connect') {
        drag.line.remove();
        const hit = document.elementsFromPoint(e.clientX, e.clientY).map((el) => el.closest && el.closest('.node')).find(Boolean);
        if (hit && hit.dataset.id) this.onConnect(drag.from, hit.dataset.id);
      }
      this.svg.classList.remove('panning');
      drag = null;
    };
    this.svg.addEventListener('pointerup', end);
    this.svg.addEventListener('pointercancel', end);
    this.svg.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoomBy(e.deltaY < 0 ? 1.1 : 1 / 1.1, e.clientX - r.left, e.clientY - r.top);
    }, {passive: false});
    // A node reached with Tab is panned into view.
    this.svg.addEventListener('focusin', (e) => {
      const node = e.target.closest && e.target.closest('.node');
      if (node && !this.refocusing) this.reveal(node.dataset.id);
    });
    this.svg.addEventListener('keydown', (e) => {
      const node = e.target.closest && e.target.closest('.node');
      if (node && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); this.onSelect(node.dataset.id); return; }
      if (node && (e.key === 'Delete' || e.key === 'Backspace')) { e.preventDefault(); this.onDelete(node.dataset.id); return; }
      const step = 60;
      const moves = {ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step]};
      if (moves[e.key]) {
        e.preventDefault();
        this.view.x += moves[e.key][0]; this.view.y += moves[e.key][1];
        this.apply();
      } else if (e.key === '+' || e.key === '=') { this.zoomBy(1.25); } else if (e.key === '-') { this.zoomBy(0.8); } else if (e.key === '0') { this.fit(); }
    });
  }

  // render draws doc; problems maps node id → {errors, warnings}; sim is {visited: Set,
  // current, pairs} from the simulator (a path), plus, to compare two paths, was: {visited,
  // pairs} (the path as recorded) and parts (the node where they part).
  render(doc, problems = new Map(), sim = {visited: new Set(), current: null}) {
    const was = sim.was || {visited: new Set(), pairs: new Set()};
    const comparing = Boolean(sim.was);
    this.compareLegend.hidden = !comparing;
    // Traffic (calls per node and edge over a period), when the overlay is on.
    const tr = this.traffic;
    this.trafficLegend.hidden = !tr;
    const maxEdge = tr ? Math.max(1, ...tr.edges.values()) : 1;
    const ids = (doc.nodes || []).map((n) => n.id);
    const es = flowEdges(doc).filter((e) => ids.includes(e.to));
    // Edges between the same two nodes are drawn once with their labels joined.
    const merged = new Map();
    for (const e of es) {
      const k = e.from + '\u0000' + e.to;
      if (merged.has(k)) {
        const m = merged.get(k);
        if (e.label) m.label = m.label ? `${m.label}, ${e.label}` : e.label;
        if (e.kind === 'normal') m.kind = 'normal';
      } else merged.set(k, {...e});
    }
    const key = JSON.stringify([ids, [...merged.keys()], doc.start]);
    const first = !this.lay;
    if (key !== this.layoutKey) {
      this.lay = layout(ids, [...merged.values()], doc.start);
      this.layoutKey = key;
    }
    const lay = this.lay;
    this.start = doc.start;
    // A redraw (validation answering, a save) replaces every node: the one that had the
    // keyboard's focus gets it back, so a key pressed on it still reaches it.
    const active = document.activeElement;
    const focused = active && this.vp.contains(active) && active.closest('.node') ? active.closest('.node').dataset.id : null;
    clear(this.vp);
    const edgeLayer = s('g', {class: 'edges'});
    const labelLayer = s('g', {class: 'labels'});
    const nodeLayer = s('g', {class: 'nodes'});
    const placed = [];
    for (const r of lay.routes) {
      const e = merged.get(r.edge.from + '\u0000' + r.edge.to) || r.edge;
      const hot = sim.visited.has(e.from) && (sim.visited.has(e.to) || sim.current === e.to) && sim.pairs && sim.pairs.has(e.from + '\u0000' + e.to);
      const wasHot = !hot && was.pairs.has(e.from + '\u0000' + e.to);
      const took = tr ? tr.edges.get(e.from + '\u0000' + e.to) || 0 : 0;
      const cls = ['edge', e.kind, r.reversed ? 'back' : '', hot ? 'hot' : '', wasHot ? 'was' : '', tr ? 'traffic' : '', took ? 'taken' : ''].filter(Boolean).join(' ');
      edgeLayer.append(s('path', {class: cls, d: curve(r.points), 'stroke-width': took ? (1.6 + 7 * took / maxEdge).toFixed(1) : null,
        'marker-end': `url(#${hot ? 'arrow-hot' : wasHot ? 'arrow-was' : e.kind === 'fallback' ? 'arrow-fallback' : 'arrow'})`}));
      const label = tr ? [e.label, `${took} call${took === 1 ? '' : 's'}`].filter(Boolean).join(' · ') : e.label;
      if (label) {
        // Along the first curve, past its middle, so labels of a fan-out spread apart.
        const a = r.points[0]; const b = r.points[1]; const t = 0.62; const u = 1 - t;
        const dy = (b.y - a.y) / 2;
        const mx = u * u * u * a.x + 3 * u * u * t * a.x + 3 * u * t * t * b.x + t * t * t * b.x;
        const my = u * u * u * a.y + 3 * u * u * t * (a.y + dy) + 3 * u * t * t * (b.y - dy) + t * t * t * b.y;
        const text = clip(label, 28);
        const w = text.length * 6.4 + 10;
        // Labels of a fan-out may collide: move a label down until it is clear.
        let ly = my;
        for (let tries = 0; tries < 4 && placed.some((b) => Math.abs(b.x - mx) < (b.w + w) / 2 + 2 && Math.abs(b.y - ly) < 19); tries++) ly += 20;
        placed.push({x: mx, y: ly, w});
        labelLayer.append(s('g', {class: `elabel ${e.kind}`, transform: `translate(${mx} ${ly})`},
          s('title', {}, `${e.from} → ${e.to}: ${label}`),
          s('rect', {x: -w / 2, y: -9, width: w, height: 18, rx: 9}),
          s('text', {x: 0, y: 4, 'text-anchor': 'middle'}, text)));
      }
    }
    // A recorded step the draft no longer has (an option now going elsewhere) is drawn
    // straight from node to node, so the recorded path stays whole.
    for (const k of was.pairs) {
      if (merged.has(k)) continue;
      const [from, to] = k.split('\u0000');
      const a = lay.positions.get(from); const b = lay.positions.get(to);
      if (!a || !b || from === to) continue;
      edgeLayer.append(s('path', {class: 'edge was gone', d: curve(b.y >= a.y ? [{x: a.x, y: a.y + NODE_H / 2}, {x: b.x, y: b.y - NODE_H / 2}] : [{x: a.x, y: a.y - NODE_H / 2}, {x: b.x, y: b.y + NODE_H / 2}]), 'marker-end': 'url(#arrow-was)'},
        s('title', {}, `${from} → ${to}: as recorded; this draft has no such step`)));
    }
    for (const n of doc.nodes || []) {
      const p = lay.positions.get(n.id);
      if (!p) continue;
      const pr = problems.get(n.id) || {errors: [], warnings: []};
      const nt = tr ? tr.nodes.get(n.id) || {entered: 0, hung_up: 0, handed_off: 0, self_service: 0} : null;
      const loses = nt && nt.hung_up > 0;
      const cls = ['node', `type-${NODE_TYPES[n.type] ? n.type : 'unknown'}`,
        n.id === this.selected ? 'selected' : '', pr.errors.length ? 'has-error' : '',
        pr.warnings.length ? 'has-warning' : '', sim.visited.has(n.id) ? 'visited' : '',
        was.visited.has(n.id) && !sim.visited.has(n.id) ? 'was-only' : '', loses ? 'loses' : '',
        sim.current === n.id ? 'current' : ''].filter(Boolean).join(' ');
      const onWas = was.visited.has(n.id); const onNow = sim.visited.has(n.id);
      const typeLabel = (NODE_TYPES[n.type] || {label: n.type || '?'}).label;
      const status = [
        n.id === doc.start ? 'start node' : '',
        pr.errors.length ? `${pr.errors.length} error${pr.errors.length > 1 ? 's' : ''}` : '',
        pr.warnings.length ? `${pr.warnings.length} warning${pr.warnings.length > 1 ? 's' : ''}` : '',
        comparing && n.id === sim.parts ? 'where the recorded call and the replay part' : '',
        comparing && onWas && onNow ? 'on both paths' : comparing && onWas ? 'only as recorded' : comparing && onNow ? 'only with this draft' : '',
        !comparing && sim.current === n.id ? 'the simulated caller is here' : !comparing && sim.visited.has(n.id) ? 'visited by the simulated call' : '',
        nt ? `${nt.entered} call${nt.entered === 1 ? '' : 's'} entered, ${nt.hung_up} hung up here, ${nt.handed_off} handed off here` : '',
      ].filter(Boolean).join(', ');
      const g = s('g', {class: cls, 'data-id': n.id, transform: `translate(${p.x - NODE_W / 2} ${p.y - NODE_H / 2})`,
        tabindex: '0', role: 'button', 'aria-pressed': n.id === this.selected ? 'true' : 'false',
        'aria-label': `${typeLabel} node ${n.id}${status ? ', ' + status : ''}: ${summary(doc, n)}`,
        onclick: () => this.onSelect(n.id)});
      g.append(
        s('title', {}, `${n.id} (${typeLabel})\n${summary(doc, n)}`),
        s('rect', {class: 'box', width: NODE_W, height: NODE_H, rx: 10}),
        s('rect', {class: 'stripe', width: 8, height: NODE_H, rx: 4}),
        s('text', {class: 'ntype', x: 18, y: 18}, typeLabel.toUpperCase()),
        s('text', {class: 'nid', x: 18, y: 37}, clip(n.id, 24)),
        s('text', {class: 'nsum', x: 18, y: 55}, clip(summary(doc, n), 31)));
      let bx = NODE_W - 8;
      const badge = (text, klass) => {
        const w = text.length * 7 + 12;
        bx -= w;
        g.append(s('g', {class: `badge ${klass}`, transform: `translate(${bx} 6)`},
          s('rect', {width: w, height: 18, rx: 9}), s('text', {x: w / 2, y: 13, 'text-anchor': 'middle'}, text)));
        bx -= 4;
      };
      if (pr.errors.length) badge(`✖ ${pr.errors.length}`, 'err');
      if (pr.warnings.length) badge(`⚠ ${pr.warnings.length}`, 'warn');
      if (n.id === doc.start) badge('▶ start', 'start');
      if (sim.current === n.id) badge('● here', 'here');
      if (comparing && onWas !== onNow) badge(onWas ? '◌ was' : '● now', onWas ? 'was' : 'now');
      if (comparing && n.id === sim.parts) badge('split', 'parts');
      if (nt) {
        if (loses) badge(`✆ ${nt.hung_up} left`, 'loses');
        badge(`${nt.entered} in`, 'count');
      }
      const outgoing = (NODE_TYPES[n.type] || {}).targets?.length || n.type === 'gather' || n.type === 'branch';
      if (outgoing) {
        g.append(s('circle', {class: 'handle', cx: NODE_W / 2, cy: NODE_H, r: 7},
          s('title', {}, `Drag onto another node to connect ${n.id} to it`)));
      }
      nodeLayer.append(g);
    }
    this.vp.append(edgeLayer, labelLayer, nodeLayer);
    this.apply();
    if (focused) {
      this.refocusing = true; // the node is where it was: no pan
      this.focusNode(focused, {preventScroll: true});
      this.refocusing = false;
    }
    if (first) requestAnimationFrame(() => this.fit(this.firstView || {readable: true}));
  }

  select(id) {
    this.selected = id;
    for (const g of this.vp.querySelectorAll('.node')) {
      const on = g.dataset.id === id;
      g.classList.toggle('selected', on);
      g.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
  }

  focusNode(id, opts) {
    const g = [...this.vp.querySelectorAll('.node')].find((n) => n.dataset.id === id);
    if (g) g.focus(opts);
  }
}
