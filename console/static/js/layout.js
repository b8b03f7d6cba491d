// Layered (Sugiyama-style) layout of a flow graph, top to bottom:
//   1. cycle removal: edges that go back up a depth-first search from the start node are
//      reversed for layout (and drawn pointing the right way afterwards);
//   2. longest-path layering: a node sits one layer below its deepest predecessor;
//   3. edges spanning several layers get a dummy node per layer they cross, so they bend
//      around nodes instead of through them;
//   4. barycentric ordering: sweeps down and up order each layer by the mean position of
//      its neighbours, keeping the order with the fewest crossings;
//   5. coordinates: nodes are pulled towards their neighbours, then spread so they never
//      overlap.
// Pure: ids and edges in, positions and edge routes out.

export const NODE_W = 210;
export const NODE_H = 66;
const DUMMY_W = 26;
const GAP_X = 36;
const LAYER_GAP = 84;

export function layout(ids, edgeList, start) {
  const idSet = new Set(ids);
  const es = edgeList.filter((e) => idSet.has(e.from) && idSet.has(e.to) && e.from !== e.to);
  const out = new Map(ids.map((id) => [id, []]));
  for (const e of es) out.get(e.from).push(e.to);

  // 1. Depth-first search from the start node, then from any node not reached yet.
  const state = new Map(); // 1 on the stack, 2 done
  const back = new Set();
  const visit = (root) => {
    const stack = [[root, 0]];
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, i] = top;
      const next = out.get(v);
      if (i < next.length) {
        top[1] += 1;
        const w = next[i];
        if (state.get(w) === 1) back.add(v + '\u0000' + w);
        else if (!state.has(w)) { state.set(w, 1); stack.push([w, 0]); }
      } else {
        state.set(v, 2);
        stack.pop();
      }
    }
  };
  if (start && idSet.has(start)) visit(start);
  for (const id of ids) if (!state.has(id)) visit(id);

  const dag = es.map((e) => (back.has(e.from + '\u0000' + e.to)
    ? {from: e.to, to: e.from, edge: e, reversed: true}
    : {from: e.from, to: e.to, edge: e, reversed: false}));

  // 2. Longest-path layering in topological order.
  const indeg = new Map(ids.map((id) => [id, 0]));
  const succ = new Map(ids.map((id) => [id, []]));
  for (const d of dag) { indeg.set(d.to, indeg.get(d.to) + 1); succ.get(d.from).push(d.to); }
  const rank = new Map(ids.map((id) => [id, 0]));
  const queue = ids.filter((id) => indeg.get(id) === 0);
  // The start node first, so it is leftmost in the top layer.
  queue.sort((a, b) => (a === start ? -1 : b === start ? 1 : 0));
  const topo = [];
  while (queue.length) {
    const v = queue.shift();
    topo.push(v);
    for (const w of succ.get(v)) {
      rank.set(w, Math.max(rank.get(w), rank.get(v) + 1));
      indeg.set(w, indeg.get(w) - 1);
      if (indeg.get(w) === 0) queue.push(w);
    }
  }
  // Sinks that a single node leads to sit right below it, not at the bottom.
  const layerCount = Math.max(0, ...rank.values()) + 1;

  // 3. Dummy nodes for long edges.
  const nodes = new Map(); // id -> {id, layer, w, dummy}
  for (const id of ids) nodes.set(id, {id, layer: rank.get(id), w: NODE_W, dummy: false});
  const chains = []; // per dag edge: the ids from top to bottom
  const adjUp = new Map(); const adjDown = new Map();
  // Edges into a hub (a node many others lead to, such as a shared handoff) weigh little
  // when ordering and placing nodes, so nodes stay next to the node they come from.
  const hubs = new Set(ids.filter((id) => dag.filter((d) => d.to === id).length >= 4));
  const weight = new Map();
  const w = (a, b) => weight.get(a + '\u0000' + b) ?? 1;
  const link = (a, b, wt) => {
    weight.set(a + '\u0000' + b, wt);
    if (!adjDown.has(a)) adjDown.set(a, []);
    if (!adjUp.has(b)) adjUp.set(b, []);
    adjDown.get(a).push(b);
    adjUp.get(b).push(a);
  };
  dag.forEach((d, k) => {
    const chain = [d.from];
    for (let l = rank.get(d.from) + 1; l < rank.get(d.to); l++) {
      const id = `\u0001${k}:${l}`;
      nodes.set(id, {id, layer: l, w: DUMMY_W, dummy: true});
      chain.push(id);
    }
    chain.push(d.to);
    const wt = hubs.has(d.to) && !d.reversed ? 0.15 : 1;
    for (let i = 0; i + 1 < chain.length; i++) link(chain[i], chain[i + 1], wt);
    chains.push(chain);
  });

  // 4. Ordering. Initial order: discovery order of a breadth-first walk in layer order.
  const layers = Array.from({length: layerCount}, () => []);
  const seen = new Set();
  const order0 = [...topo, ...ids.filter((id) => !topo.includes(id))];
  const bfs = [];
  for (const root of order0) {
    if (seen.has(root)) continue;
    const q = [root]; seen.add(root);
    while (q.length) {
      const v = q.shift();
      bfs.push(v);
      for (const w of adjDown.get(v) || []) if (!seen.has(w)) { seen.add(w); q.push(w); }
    }
  }
  for (const [id, n] of nodes) if (!seen.has(id)) bfs.push(id);
  for (const id of bfs) layers[nodes.get(id).layer].push(id);

  const pos = new Map();
  const index = () => { for (const L of layers) L.forEach((id, i) => pos.set(id, i)); };
  index();
  const crossings = () => {
    let c = 0;
    for (let l = 0; l + 1 < layers.length; l++) {
      const segs = [];
      for (const a of layers[l]) for (const b of adjDown.get(a) || []) segs.push([pos.get(a), pos.get(b), w(a, b)]);
      for (let i = 0; i < segs.length; i++) {
        for (let j = i + 1; j < segs.length; j++) {
          if ((segs[i][0] - segs[j][0]) * (segs[i][1] - segs[j][1]) < 0) c += segs[i][2] * segs[j][2];
        }
      }
    }
    return c;
  };
  const sweep = (down) => {
    const range = down ? [...layers.keys()].slice(1) : [...layers.keys()].reverse().slice(1);
    for (const l of range) {
      const adj = down ? adjUp : adjDown;
      const bc = new Map();
      for (const id of layers[l]) {
        const ns = adj.get(id) || [];
        const ws = ns.map((n) => (down ? w(n, id) : w(id, n)));
        const total = ws.reduce((s, x) => s + x, 0);
        bc.set(id, total ? ns.reduce((s, n, i) => s + ws[i] * pos.get(n), 0) / total : pos.get(id));
      }
      layers[l].sort((a, b) => bc.get(a) - bc.get(b) || pos.get(a) - pos.get(b));
      layers[l].forEach((id, i) => pos.set(id, i));
    }
  };
  let best = layers.map((L) => [...L]);
  let bestC = crossings();
  for (let i = 0; i < 16 && bestC > 0; i++) {
    sweep(i % 2 === 0);
    const c = crossings();
    if (c < bestC) { bestC = c; best = layers.map((L) => [...L]); }
  }
  best.forEach((L, l) => { layers[l] = L; });
  index();

  // 5. Coordinates.
  const x = new Map();
  for (const L of layers) {
    let cur = 0;
    for (const id of L) {
      const w = nodes.get(id).w;
      x.set(id, cur + w / 2);
      cur += w + GAP_X;
    }
  }
  const sep = (a, b) => (nodes.get(a).w + nodes.get(b).w) / 2 + GAP_X;
  const place = (L, want) => {
    const n = L.length;
    if (!n) return;
    const left = new Array(n); const right = new Array(n);
    for (let i = 0; i < n; i++) left[i] = i === 0 ? want[i] : Math.max(want[i], left[i - 1] + sep(L[i - 1], L[i]));
    for (let i = n - 1; i >= 0; i--) right[i] = i === n - 1 ? want[i] : Math.min(want[i], right[i + 1] - sep(L[i], L[i + 1]));
    const avg = left.map((v, i) => (v + right[i]) / 2);
    // Averaging may bring neighbours too close; one more left-to-right pass fixes it.
    for (let i = 1; i < n; i++) avg[i] = Math.max(avg[i], avg[i - 1] + sep(L[i - 1], L[i]));
    L.forEach((id, i) => x.set(id, avg[i]));
  };
  for (let it = 0; it < 12; it++) {
    const down = it % 2 === 0;
    const ls = down ? [...layers.keys()] : [...layers.keys()].reverse();
    for (const l of ls) {
      const L = layers[l];
      const want = L.map((id) => {
        const ns = [...(adjUp.get(id) || []).map((n) => [n, w(n, id)]), ...(adjDown.get(id) || []).map((n) => [n, w(id, n)])];
        const total = ns.reduce((s, [, wt]) => s + wt, 0);
        if (!total) return x.get(id);
        const m = ns.reduce((s, [n, wt]) => s + wt * x.get(n), 0) / total;
        return (m + x.get(id)) / 2;
      });
      place(L, want);
    }
  }
  let minX = Infinity; let maxX = -Infinity;
  for (const [id, v] of x) {
    minX = Math.min(minX, v - nodes.get(id).w / 2);
    maxX = Math.max(maxX, v + nodes.get(id).w / 2);
  }
  if (!Number.isFinite(minX)) { minX = 0; maxX = 0; }
  const rowH = NODE_H + LAYER_GAP;
  const point = (id) => ({x: x.get(id) - minX, y: nodes.get(id).layer * rowH + NODE_H / 2});

  const positions = new Map(ids.map((id) => [id, point(id)]));
  const routes = dag.map((d, k) => {
    const pts = chains[k].map((id) => point(id));
    const first = {...pts[0], y: pts[0].y + NODE_H / 2};
    const last = {...pts[pts.length - 1], y: pts[pts.length - 1].y - NODE_H / 2};
    const inner = pts.slice(1, -1);
    let route = [first, ...inner, last];
    if (d.reversed) route = route.reverse();
    return {edge: d.edge, points: route, reversed: d.reversed};
  });
  return {positions, routes, width: maxX - minX, height: layerCount * rowH - LAYER_GAP, crossings: Math.round(bestC), layers: layerCount};
}
