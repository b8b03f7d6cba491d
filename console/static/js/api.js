// The admin API client. A token lives in sessionStorage only: it is sent in the
// Authorization header and never put in a URL. Signed in with the identity provider, the
// browser sends the session cookie (HttpOnly: this code never sees it) and every change
// carries the session's CSRF token.

const TOKEN = 'memberline.token';
const ACTOR = 'memberline.actor';

export class APIError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || '';
    this.field = e.field || '';
    this.body = body || {};
  }
}

export const session = {
  // who is GET /session's answer once known: {via, name, email, role, csrf}.
  who: null,
  get token() { return sessionStorage.getItem(TOKEN) || ''; },
  get actor() { return sessionStorage.getItem(ACTOR) || ''; },
  signIn(token, actor) {
    sessionStorage.setItem(TOKEN, token);
    if (actor) sessionStorage.setItem(ACTOR, actor); else sessionStorage.removeItem(ACTOR);
  },
  signOut() {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(ACTOR);
    this.who = null;
  },
};

let onUnauthorized = () => {};
export function whenUnauthorized(fn) { onUnauthorized = fn; }

// call sends one request; body is JSON-encoded unless it is a string. It resolves with
// {status, body, etag} and rejects with an APIError for 4xx and 5xx.
export async function call(method, path, {body, headers = {}, token, quiet = false} = {}) {
  const h = {Accept: 'application/json', ...headers};
  const tok = token ?? session.token;
  if (tok) h.Authorization = `Bearer ${tok}`;
  else if (session.who && session.who.csrf && method !== 'GET') h['X-CSRF-Token'] = session.who.csrf;
  if (session.actor && tok) h['X-Memberline-Actor'] = session.actor;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch('/api/v1' + path, {method, headers: h, body: payload, cache: 'no-store', credentials: tok ? 'omit' : 'same-origin'});
  } catch (err) {
    throw new APIError(0, {error: {code: 'network', message: 'The service cannot be reached: ' + err.message}});
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = {raw: text}; }
  if (res.status === 401 && !token && !quiet) onUnauthorized();
  if (!res.ok) throw new APIError(res.status, data);
  return {status: res.status, body: data, text, etag: res.headers.get('ETag')};
}

// signInConfig is which sign-ins the service offers: {oidc: {name, login_url}?, token}.
export async function signInConfig() {
  try {
    const r = await fetch('/admin/auth/config', {cache: 'no-store', credentials: 'omit'});
    return r.ok ? await r.json() : {token: true};
  } catch {
    return {token: true};
  }
}

export const api = {
  session: () => call('GET', '/session', {quiet: true}).then((r) => r.body),
  signOut: () => call('DELETE', '/session').then((r) => r.body),
  flows: () => call('GET', '/flows').then((r) => r.body.flows),
  draft: (id) => call('GET', `/flows/${encodeURIComponent(id)}`),
  save: (id, doc, etag) => call('PUT', `/flows/${encodeURIComponent(id)}`, {body: JSON.stringify(doc, null, 2), headers: {'If-Match': etag}}),
  create: (id, document) => call('POST', '/flows', {body: {id, document}}),
  validate: (id, doc) => call('POST', `/flows/${encodeURIComponent(id)}/validate`, {body: JSON.stringify(doc)}).then((r) => r.body),
  publish: (id, message) => call('POST', `/flows/${encodeURIComponent(id)}/publish`, {body: {message}}).then((r) => r.body),
  versions: (id) => call('GET', `/flows/${encodeURIComponent(id)}/versions`).then((r) => r.body.versions),
  version: (id, n) => call('GET', `/flows/${encodeURIComponent(id)}/versions/${n}`).then((r) => r.body),
  diff: (id, from, to) => call('GET', `/flows/${encodeURIComponent(id)}/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`).then((r) => r.body),
  rollback: (id, version, message) => call('POST', `/flows/${encodeURIComponent(id)}/rollback`, {body: {version, message}}).then((r) => r.body),
  tests: (id, doc) => call('POST', `/flows/${encodeURIComponent(id)}/tests`, {body: JSON.stringify(doc)}).then((r) => r.body),
  replay: (id, body) => call('POST', `/flows/${encodeURIComponent(id)}/replay`, {body}).then((r) => r.body),
  traffic: (id, q) => call('GET', `/flows/${encodeURIComponent(id)}/traffic?${q}`).then((r) => r.body),
  calls: (q) => call('GET', `/calls?${q}`).then((r) => r.body),
  journey: (sid) => call('GET', `/calls/${encodeURIComponent(sid)}/journey`).then((r) => r.body),
  report: (name, q) => call('GET', `/reports/${name}?${q}`).then((r) => r.body),
  simulate: (id, body) => call('POST', `/flows/${encodeURIComponent(id)}/simulate`, {body}).then((r) => r.body),
  lookup: (phone) => call('GET', `/lookup?phone=${encodeURIComponent(phone)}`).then((r) => r.body),
  searchMembers: (q) => call('GET', `/members?q=${encodeURIComponent(q)}`).then((r) => r.body.members),
  bindings: () => call('GET', '/bindings').then((r) => r.body),
  connections: () => call('GET', '/connections').then((r) => r.body.connections),
  callbacks: (status) => call('GET', `/callbacks${status ? '?status=' + encodeURIComponent(status) : ''}`).then((r) => r.body.callbacks),
  cancelCallback: (id) => call('POST', `/callbacks/${id}/cancel`).then((r) => r.body),
  dialCallback: (id) => call('POST', `/callbacks/${id}/dial`).then((r) => r.body),
  putConnection: (id, body, etag) => call('PUT', `/connections/${encodeURIComponent(id)}`, {body, headers: etag ? {'If-Match': etag} : {}}).then((r) => r.body),
  deleteConnection: (id) => call('DELETE', `/connections/${encodeURIComponent(id)}`),
  testConnection: (id, path) => call('POST', `/connections/${encodeURIComponent(id)}/test`, {body: {path}}).then((r) => r.body),
};
