// Browser tests of signing in to the console with the company's identity provider: a real
// OpenID provider (the test OP, internal/testsupport/oidcop) and the service configured for it with no
// ADMIN_TOKEN. An editor signs in through the provider's login page, edits and saves a
// draft and cannot publish; an admin publishes; sign-out ends both sessions; a user in no
// mapped group is refused with a page that says why.

import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import {env, freePort, openPage, stop} from './harness.mjs';

const ARTIFACTS = process.env.ARTIFACTS || 'artifacts';
const USERS = [
  {ID: 'u-ana', Username: 'ana', Password: 'ana-password', Email: 'ana@example.com', Name: 'Ana Admin', Groups: ['cc-all', 'cc-admins']},
  {ID: 'u-eli', Username: 'eli', Password: 'eli-password', Email: 'eli@example.com', Name: 'Eli Editor', Groups: ['cc-all', 'cc-editors']},
  {ID: 'u-nog', Username: 'nog', Password: 'nog-password', Email: 'nog@example.com', Name: 'No Group', Groups: ['marketing']},
];

let op; let service; let base; let browser; let page;
let logs = '';
const pageErrors = [];

async function waitReady(url, proc, ms) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not listening yet */ }
    if (proc.exitCode !== null) throw new Error(`exited (${proc.exitCode}):\n${logs}`);
    if (Date.now() > until) throw new Error(`not ready after ${ms}ms:\n${logs}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function shot(name) {
  await page.screenshot({path: join(ARTIFACTS, name), fullPage: false});
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  op = spawn(env('TESTOP_BIN'), ['-client', 'memberline', '-secret', 'console-sso-client-secret', '-redirect', `${base}/admin/auth/callback`,
    '-post-logout', `${base}/admin/`, '-users', JSON.stringify(USERS)], {stdio: ['pipe', 'pipe', 'pipe']});
  op.stderr.on('data', (d) => { logs += d; });
  const issuer = await new Promise((resolve, reject) => {
    createInterface({input: op.stdout}).on('line', (l) => { if (l.startsWith('issuer ')) resolve(l.slice(7)); });
    op.on('exit', (c) => reject(new Error(`the test OP exited (${c}):\n${logs}`)));
  });
  service = spawn(env('MEMBERLINE_BIN'), ['serve'], {
    env: {...process.env, LISTEN_ADDR: `127.0.0.1:${port}`, PUBLIC_URL: base, DATABASE_URL: env('SSO_DATABASE_URL'), REDIS_URL: env('SSO_REDIS_URL'),
      ADMIN_TOKEN: '', TWILIO_AUTH_TOKEN: 'console-sso-twilio-token', LOG_FORMAT: 'text',
      OIDC_ISSUER: issuer, OIDC_CLIENT_ID: 'memberline', OIDC_CLIENT_SECRET: 'console-sso-client-secret', OIDC_PROVIDER_NAME: 'Example Corp',
      OIDC_ROLE_MAP: 'cc-admins=admin,cc-publishers=publisher,cc-editors=editor,cc-all=viewer'},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service.stdout.on('data', (d) => { logs += d; });
  service.stderr.on('data', (d) => { logs += d; });
  await waitReady(`${base}/readyz`, service, 30000);
  ({browser, page} = await openPage(pageErrors));
});

after(async () => {
  if (browser) await browser.close();
  await stop(service);
  await stop(op);
});

test('with no ADMIN_TOKEN the console offers only the provider\'s sign-in', async () => {
  await page.goto(`${base}/admin/`);
  await page.getByRole('link', {name: 'Sign in with Example Corp'}).waitFor();
  assert.equal(await page.locator('#token').count(), 0, 'no token form');
  await shot('20-sso-sign-in.png');
});

test('an editor signs in through the provider, edits and saves a draft, and cannot publish', async () => {
  await page.goto(`${base}/admin/`);
  await page.getByRole('link', {name: 'Sign in with Example Corp'}).click();
  await page.locator('input#username').waitFor();
  assert.ok(!page.url().startsWith(base), `the login page is the provider's: ${page.url()}`);
  await page.fill('input#username', 'eli');
  await page.fill('input#password', 'eli-password');
  await shot('21-sso-provider-login.png');
  await page.click('button[type=submit]');
  await page.locator('#who-name', {hasText: 'Signed in as Eli Editor · editor'}).waitFor();
  // The session cookie is HttpOnly: the page cannot read it.
  assert.equal(await page.evaluate(() => document.cookie.includes('memberline_session')), false);
  await page.locator('a.flowlink', {hasText: 'Member line'}).click();
  await page.locator('.node[data-id="greet"]').focus();
  await page.keyboard.press('Enter');
  await page.locator('textarea[data-path="nodes.greet.say.en-US"]').fill('Welcome back, {{ member.first_name }}. Good to hear from you.');
  await page.getByRole('button', {name: 'Save draft'}).click();
  await page.locator('.savestate', {hasText: 'All changes saved'}).waitFor();
  assert.equal(await page.locator('#publish').isVisible(), false, 'an editor is not offered Publish');
  // The API refuses it anyway, with the session's own CSRF token.
  const refused = await page.evaluate(async () => {
    const who = await (await fetch('/api/v1/session')).json();
    const r = await fetch('/api/v1/flows/default/publish', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': who.csrf}, body: '{}'});
    return [r.status, (await r.json()).error.message];
  });
  assert.equal(refused[0], 403);
  assert.match(refused[1], /needs publisher/);
  await shot('22-sso-editor.png');
});

test('sign-out ends the session at the service and the provider; a reload shows the sign-in', async () => {
  await page.getByRole('button', {name: 'Sign out'}).click();
  await page.getByRole('link', {name: 'Sign in with Example Corp'}).waitFor();
  await page.reload();
  await page.getByRole('link', {name: 'Sign in with Example Corp'}).waitFor();
  assert.equal(await page.locator('#nav').isVisible(), false);
  assert.equal(await page.evaluate(async () => (await fetch('/api/v1/session')).status), 401);
});

test('an admin signs in (the provider asks again) and publishes', async () => {
  await page.getByRole('link', {name: 'Sign in with Example Corp'}).click();
  await page.locator('input#username').waitFor(); // signed out at the provider too
  await page.fill('input#username', 'ana');
  await page.fill('input#password', 'ana-password');
  await page.click('button[type=submit]');
  await page.locator('#who-name', {hasText: 'Signed in as Ana Admin · admin'}).waitFor();
  await page.locator('a.flowlink', {hasText: 'Member line'}).click();
  await page.locator('#publish').waitFor();
  await page.waitForFunction(() => !document.querySelector('#validity').textContent.includes('checking'));
  await page.fill('#publish-message', 'friendlier greeting');
  await page.click('#publish');
  await page.getByText(/Published version 2/).waitFor();
  const audit = await page.evaluate(async () => (await (await fetch('/api/v1/actions')).json()));
  const actors = JSON.stringify(audit);
  assert.match(actors, /oidc:u-eli \(eli@example\.com\)/);
  assert.match(actors, /oidc:u-ana \(ana@example\.com\)/);
  await page.getByRole('button', {name: 'Sign out'}).click();
  await page.getByRole('link', {name: 'Sign in with Example Corp'}).waitFor();
});

test('a user in no mapped group is refused with a page that says why', async () => {
  await page.getByRole('link', {name: 'Sign in with Example Corp'}).click();
  await page.locator('input#username').waitFor();
  await page.fill('input#username', 'nog');
  await page.fill('input#password', 'nog-password');
  await page.click('button[type=submit]');
  const refused = page.locator('#signin-refused');
  await refused.waitFor();
  assert.match(await refused.innerText(), /Your account has no role here[\s\S]*nog@example\.com[\s\S]*marketing[\s\S]*OIDC_ROLE_MAP/);
  await shot('23-sso-refused.png');
  // No session came of it (asked with the browser's cookies; the refusal page allows no script requests).
  assert.equal((await page.context().request.get(`${base}/api/v1/session`)).status(), 401);
});

test('the sign-in pages raised no script errors', () => {
  assert.deepEqual(pageErrors, []);
});
