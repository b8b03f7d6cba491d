// Connections: the company's APIs flows fetch from (admin only). A connection's secret and
// header values are written here, never shown again; "Test connection" makes one signed
// GET and shows how it went and the answer's top-level keys.

import {h, field, clear, toast} from './dom.js';
import {api} from './api.js';

export async function showConnections(main) {
  const box = h('section', {class: 'page connections', 'aria-labelledby': 'conn-title'},
    h('h1', {id: 'conn-title'}, 'Connections'),
    h('p', {class: 'muted'}, 'The company APIs the line may call during a call. Every request is signed with the connection\'s secret; internal addresses are refused unless a connection allows them.'));
  clear(main).append(box);
  const list = h('div', {'aria-live': 'polite'});
  const editorBox = h('div', {});
  box.append(list, h('p', {}, h('button', {type: 'button', class: 'btn primary', id: 'conn-new', onclick: () => edit(editorBox, null, reload)}, 'New connection')), editorBox);
  const reload = async () => {
    let conns;
    try {
      conns = await api.connections();
    } catch (e) {
      clear(list).append(h('p', {class: 'error'}, `✖ ${e.message}`));
      return;
    }
    if (!conns.length) {
      clear(list).append(h('p', {class: 'empty'}, 'No connection yet.'));
      return;
    }
    clear(list).append(h('table', {class: 'table data', 'aria-label': 'Connections'},
      h('thead', {}, h('tr', {}, ['Id', 'Base URL', 'Headers', 'Timeout', 'Private addresses', 'Secret', 'Changed by', ''].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', {}, conns.map((c) => h('tr', {},
        h('td', {}, c.id), h('td', {}, c.base_url), h('td', {}, c.headers.join(', ') || '—'),
        h('td', {}, `${c.timeout_ms} ms`), h('td', {}, c.allow_private_addresses ? 'allowed' : 'refused'),
        h('td', {}, c.secret_set ? 'set' : '—'), h('td', {}, `${c.updated_by || '—'} (v${c.version})`),
        h('td', {}, h('button', {type: 'button', class: 'btn small', onclick: () => edit(editorBox, c, reload)}, 'Edit'),
          ' ', h('button', {type: 'button', class: 'btn small', onclick: () => testBox(editorBox, c)}, 'Test')))))));
  };
  reload();
}

// headerLines reads "Name: value" lines; a line without a colon is an error.
function headerLines(text) {
  const out = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const i = line.indexOf(':');
    if (i < 1) throw new Error(`"${line}" is not a header: write Name: value`);
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

function edit(box, c, reload) {
  const id = h('input', {id: 'conn-id', value: c ? c.id : '', required: true, readonly: !!c, autocomplete: 'off'});
  const url = h('input', {id: 'conn-url', type: 'url', value: c ? c.base_url : '', placeholder: 'https://crm.example.com/v2', required: true});
  const headers = h('textarea', {id: 'conn-headers', rows: 3, placeholder: 'X-Api-Key: …'});
  const secret = h('input', {id: 'conn-secret', type: 'password', autocomplete: 'new-password', placeholder: c ? 'leave empty to keep the stored secret' : 'at least 16 characters'});
  const timeout = h('input', {id: 'conn-timeout', type: 'number', min: 100, max: 10000, value: c ? c.timeout_ms : 2000});
  const priv = h('input', {id: 'conn-private', type: 'checkbox', checked: !!(c && c.allow_private_addresses)});
  const out = h('p', {'aria-live': 'polite'});
  const form = h('form', {class: 'card', 'aria-label': c ? `Edit ${c.id}` : 'New connection'},
    h('h2', {}, c ? `Edit ${c.id}` : 'New connection'),
    field('Id', id, 'Lower-case letters, digits, - or _.'), field('Base URL', url),
    field('Headers', headers, c && c.headers.length ? `Stored: ${c.headers.join(', ')}. Values are never shown: write every header again to change them.` : 'One per line, Name: value. Values are never shown again.'),
    field('Signing secret', secret, 'Written only: the company\'s API checks Memberline-Signature with it.'),
    field('Timeout (ms)', timeout),
    h('div', {class: 'field check'}, h('label', {}, priv, ' Allow private addresses (an on-premise API; http allowed too)')),
    h('div', {class: 'row'}, h('button', {type: 'submit', class: 'btn primary', id: 'conn-save'}, 'Save'),
      c ? h('button', {type: 'button', class: 'btn danger', id: 'conn-delete', onclick: async () => {
        if (!confirm(`Delete the connection ${c.id}? Flows that use it will take their error branch.`)) return;
        try {
          await api.deleteConnection(c.id);
          toast(`Deleted ${c.id}`);
          clear(box);
          reload();
        } catch (e) { out.className = 'error'; out.textContent = `✖ ${e.message}`; }
      }}, 'Delete') : null),
    out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let body;
    try {
      body = {base_url: url.value.trim(), headers: headerLines(headers.value), timeout_ms: Number(timeout.value) || 0, allow_private_addresses: priv.checked};
    } catch (err) { out.className = 'error'; out.textContent = `✖ headers: ${err.message}`; return; }
    if (secret.value) body.secret = secret.value;
    try {
      await api.putConnection(id.value.trim(), body, c ? `"${c.version}"` : undefined);
      toast(`Saved ${id.value.trim()}`);
      clear(box);
      reload();
    } catch (err) {
      out.className = 'error';
      out.textContent = `✖ ${err.field ? err.field + ': ' : ''}${err.message}`;
    }
  });
  clear(box).append(form);
  (c ? url : id).focus();
}

function testBox(box, c) {
  const path = h('input', {id: 'conn-test-path', value: '/', placeholder: '/members/1001'});
  const out = h('div', {'aria-live': 'polite', id: 'conn-test-result'});
  const form = h('form', {class: 'card', 'aria-label': `Test ${c.id}`},
    h('h2', {}, `Test ${c.id}`),
    h('div', {class: 'row end'}, field(`Path under ${c.base_url}`, path), h('button', {type: 'submit', class: 'btn primary', id: 'conn-test-go'}, 'Send a signed GET')),
    out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(out).append(h('p', {class: 'muted'}, 'Asking…'));
    try {
      const r = await api.testConnection(c.id, path.value);
      clear(out).append(h('dl', {class: 'facts'},
        h('dt', {}, 'Outcome'), h('dd', {class: r.outcome === 'ok' ? '' : 'error'}, r.outcome),
        h('dt', {}, 'Status'), h('dd', {}, r.status ? String(r.status) : '—'),
        h('dt', {}, 'Took'), h('dd', {}, `${r.duration_ms} ms`),
        r.reason ? h('dt', {}, 'Why') : null, r.reason ? h('dd', {}, r.reason) : null,
        h('dt', {}, 'Top-level keys'), h('dd', {}, r.keys.length ? r.keys.join(', ') : '—')));
    } catch (err) {
      clear(out).append(h('p', {class: 'error'}, `✖ ${err.message}`));
    }
  });
  clear(box).append(form);
  path.focus();
}
