// Browser tests of the admin console against the real service (see run.sh): sign in, open
// the default flow, edit the greeting with validation as you type, simulate Dana's call,
// publish, diff and roll back, a stale save, the member look-up, the Tests panel, and
// replaying real calls (placed through the webhooks) against a draft. Each test continues
// where the one before left off, as an admin would.

import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {createHmac} from 'node:crypto';
import {createServer} from 'node:http';
import {join} from 'node:path';
import {env, freePort, openPage, stop} from './harness.mjs';

const TOKEN = 'console-test-admin-token-0123456789';
const ARTIFACTS = process.env.ARTIFACTS || 'artifacts';

let service; let base; let browser; let page;
// fakeTwilio is Twilio's REST API as the service's callbacks reach it (TWILIO_API_URL):
// it records the calls it is asked to place.
let fakeTwilio; const twilioCalls = [];
const pageErrors = [];
let serviceLog = '';

async function waitReady(url, ms) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch { /* not listening yet */ }
    if (service.exitCode !== null) throw new Error(`memberline serve exited (${service.exitCode}):\n${serviceLog}`);
    if (Date.now() > until) throw new Error(`memberline serve not ready after ${ms}ms:\n${serviceLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function apiCall(method, path, body, headers = {}) {
  const r = await fetch(`${base}/api/v1${path}`, {method, headers: {Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', ...headers},
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)});
  const text = await r.text();
  return {status: r.status, etag: r.headers.get('etag'), body: text ? JSON.parse(text) : null, text};
}

// selectNode opens a node's form from the keyboard: Tab focus (which pans it into view),
// then Enter.
async function selectNode(id) {
  await page.locator(`.node[data-id="${id}"]`).focus();
  await page.keyboard.press('Enter');
  await page.locator(`.nodeform h2`, {hasText: id}).waitFor();
}

// nodeBoxes measures every node's box once validation has settled (the graph is redrawn
// when it answers), in one step so no redraw comes in between.
async function nodeBoxes() {
  await page.waitForFunction(() => !document.querySelector('#validity').textContent.includes('checking'));
  return page.evaluate(() => [...document.querySelectorAll('.node .box')]
    .map((e) => e.getBoundingClientRect()).map((r) => [r.x, r.y, r.width, r.height]));
}

// bottomsAlign asserts that the controls named by selectors sit on one line: their
// bottom edges within a pixel and a half of each other.
async function bottomsAlign(...selectors) {
  const bottoms = [];
  for (const sel of selectors) {
    const b = await page.locator(sel).boundingBox();
    bottoms.push(b.y + b.height);
  }
  assert.ok(Math.max(...bottoms) - Math.min(...bottoms) <= 1.5, `bottoms of ${selectors.join(', ')}: ${bottoms.join(', ')}`);
}

// shot saves a screenshot of the window, without the passing notices of earlier steps.
async function shot(name) {
  await page.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
  await page.screenshot({path: join(ARTIFACTS, name), fullPage: false});
}

before(async () => {
  fakeTwilio = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const sid = `CA${String(0xfa4e0000 + twilioCalls.length + 1).padStart(32, '0')}`;
      twilioCalls.push({sid, path: req.url, form});
      res.writeHead(201, {'Content-Type': 'application/json'});
      res.end(JSON.stringify({sid, status: 'queued', to: form.get('To'), from: form.get('From')}));
    });
  });
  await new Promise((ok) => fakeTwilio.listen(0, '127.0.0.1', ok));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  service = spawn(env('MEMBERLINE_BIN'), ['serve', '--seed'], {
    env: {...process.env, LISTEN_ADDR: `127.0.0.1:${port}`, PUBLIC_URL: base, DATABASE_URL: env('CONSOLE_DATABASE_URL'),
      REDIS_URL: env('CONSOLE_REDIS_URL'), ADMIN_TOKEN: TOKEN, TWILIO_AUTH_TOKEN: 'console-test-twilio-token', LOG_FORMAT: 'text',
      TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000', TWILIO_CALLER_ID: '+18005550100',
      TWILIO_API_KEY: 'SK0123456789abcdef0123456789abcdef', TWILIO_API_SECRET: 'consoletestsecret0123',
      TWILIO_API_URL: `http://127.0.0.1:${fakeTwilio.address().port}`},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service.stdout.on('data', (d) => { serviceLog += d; });
  service.stderr.on('data', (d) => { serviceLog += d; });
  await waitReady(`${base}/readyz`, 30000);
  ({browser, page} = await openPage(pageErrors));
});

after(async () => {
  if (browser) await browser.close();
  await stop(service);
  if (fakeTwilio) fakeTwilio.close();
});

// twilioPost posts a webhook to the service as Twilio would, signed with the auth token.
async function twilioPost(path, fields) {
  const form = new URLSearchParams({AccountSid: 'AC00000000000000000000000000000000', To: '+18005550100', ApiVersion: '2010-04-01', ...fields});
  const url = path.startsWith('http') ? path : base + path;
  const signed = url + [...form.keys()].sort().map((k) => k + form.get(k)).join('');
  const sig = createHmac('sha1', 'console-test-twilio-token').update(signed).digest('base64');
  const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sig}, body: form.toString()});
  return {status: r.status, text: await r.text()};
}

const unescape = (u) => u.replaceAll('&amp;', '&');

test('signed out, the console shows nothing but the sign-in form, with security headers', async () => {
  const res = await page.goto(`${base}/admin/`);
  assert.equal(res.status(), 200);
  const csp = res.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /style-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  await page.locator('#token').waitFor();
  assert.equal(await page.locator('#nav').isVisible(), false);
  assert.equal(await page.locator('main form').count(), 1);
  assert.equal(await page.locator('main table, main svg').count(), 0);
  assert.equal(await page.locator('label[for="token"]').innerText(), 'Admin token');
  await shot('01-sign-in.png');
});

test('a wrong token is refused; the right one signs in, kept in sessionStorage only, and lists the flows', async () => {
  await page.fill('#token', 'not-the-token');
  await page.click('button[type=submit]');
  await page.getByText('That token is not accepted').waitFor();
  await page.fill('#token', TOKEN);
  await page.fill('#actor', 'ana');
  await page.click('button[type=submit]');
  const row = page.locator('table.flows tbody tr', {hasText: 'Member line'});
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, /Draft matches published/);
  assert.match(text, /v1/);
  assert.match(text, /every number without a binding/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('memberline.token')), TOKEN);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.ok(!page.url().includes(TOKEN), 'the token is never in the URL');
  await shot('02-flows.png');
});

test('the default flow opens as a laid-out graph with labelled branches, pannable and zoomable', async () => {
  await page.click('a.flowlink');
  await page.locator('.node[data-id="greet"]').waitFor();
  const draft = await apiCall('GET', '/flows/default');
  assert.equal(await page.locator('.node').count(), draft.body.nodes.length);
  const labels = await page.locator('.elabel text').evaluateAll((els) => els.map((e) => e.textContent));
  for (const want of ['no input', 'otherwise']) assert.ok(labels.some((l) => l.includes(want)), `edge label ${want} in ${labels}`);
  assert.ok(labels.some((l) => /^1 \/ yes/.test(l)), `an option labelled "1 / yes" in ${labels}`);
  // Nodes never overlap.
  const boxes = await nodeBoxes();
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      const overlap = a[0] < b[0] + b[2] - 1 && b[0] < a[0] + a[2] - 1 && a[1] < b[1] + b[3] - 1 && b[1] < a[1] + a[3] - 1;
      assert.ok(!overlap, `nodes ${i} and ${j} overlap`);
    }
  }
  const vp = page.locator('svg.graph > g.viewport');
  const before = await vp.getAttribute('transform');
  await page.getByRole('button', {name: 'Zoom in'}).click();
  assert.notEqual(await vp.getAttribute('transform'), before);
  const svg = await page.locator('svg.graph').boundingBox();
  await page.mouse.move(svg.x + 30, svg.y + svg.height - 60);
  await page.mouse.down();
  await page.mouse.move(svg.x + 130, svg.y + svg.height - 20, {steps: 4});
  await page.mouse.up();
  await page.getByRole('button', {name: 'Fit the whole flow'}).click();
  // Keyboard: a node is reachable and opens with Enter.
  await page.locator('.node[data-id="menu"]').focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', {name: /menu$/}).waitFor();
  await shot('03-graph.png');
});

test('a broken greeting template shows an error on its node and field, publish is disabled, and fixing it clears both', async () => {
  await selectNode('greet');
  const chips = page.locator('.edhead .chips');
  assert.match(await chips.innerText(), /Draft matches published/);
  const greeting = page.locator('textarea[data-path="nodes.greet.say.en-US"]');
  await greeting.fill('Hello again, {{ member.first_name !');
  // With unsaved edits the editor does not claim that the draft matches what is published.
  await page.locator('.savestate', {hasText: 'Unsaved changes'}).waitFor();
  assert.doesNotMatch(await chips.innerText(), /Draft matches published/);
  await page.locator('.node[data-id="greet"].has-error').waitFor();
  const msg = page.locator('.problem-msg.error');
  await msg.waitFor();
  assert.match(await msg.innerText(), /Error: template/);
  assert.equal(await greeting.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#publish').isDisabled(), true);
  assert.match(await page.locator('#validity').innerText(), /1 error/);
  await shot('04-validation-error.png');
  await greeting.fill('Hello again, {{ member.first_name }}!');
  await page.locator('.node[data-id="greet"].has-error').waitFor({state: 'detached'});
  await page.locator('.problem-msg.error').waitFor({state: 'detached'});
  await page.waitForFunction(() => !document.querySelector('#publish').disabled);
  assert.equal(await greeting.getAttribute('aria-invalid'), null);
});

test('a simulated call as Dana (+14045550123) hears the new greeting and highlights where she is', async () => {
  await page.getByRole('tab', {name: 'Simulator'}).click();
  await page.fill('#sim-phone', '+14045550123');
  await page.click('#sim-start');
  const transcript = page.locator('.transcript');
  await transcript.getByText('Hello again, Dana!').waitFor();
  // The node the call waits at is the one highlighted as current.
  const waiting = /at ([A-Za-z][\w-]*):/.exec(await page.locator('.sim-status').innerText());
  assert.ok(waiting, 'the status names the node the call waits at');
  await page.locator(`.node.current[data-id="${waiting[1]}"]`).waitFor();
  assert.ok(await page.locator('.node.visited[data-id="greet"]').count());
  assert.match(await page.locator('.savestate').innerText(), /saved/, 'simulating saved the draft first');
  // As a live call without attestation: asked about "your upcoming trip", no place or date.
  await transcript.getByText('Are you calling about your upcoming trip?').waitFor();
  assert.equal(await transcript.getByText(/Atlanta/).count(), 0, 'an unattested call hears no place');
  await page.getByRole('button', {name: 'Key 2'}).click();
  await transcript.getByText('To hear about your bookings').waitFor();
  await page.getByRole('button', {name: 'Key 2'}).click();
  await transcript.getByText('For reservations, press 1').waitFor();
  await page.locator('.node.current[data-id="menu"]').waitFor();
  await page.fill('.callinput input[type=text]', 'agent');
  await page.getByRole('button', {name: 'Say', exact: true}).click();
  await transcript.getByText(/Handed off to queue agents/).waitFor();
  await shot('05-simulator.png');
});

test('publish with a message makes version 2', async () => {
  await page.fill('#publish-message', 'warmer greeting');
  await page.click('#publish');
  await page.getByText('Published version 2').waitFor();
  await page.locator('.edhead .chips', {hasText: 'Published v2'}).waitFor();
  const vs = await apiCall('GET', '/flows/default/versions');
  assert.deepEqual(vs.body.versions.map((v) => [v.version, v.message, v.author]), [[1, 'built-in flow', 'system'], [2, 'warmer greeting', 'ADMIN_TOKEN (ana)']]);
});

test('publishing a draft the same as the live version says so, and makes no version unless asked', async () => {
  await page.locator('.edhead .chips', {hasText: 'Draft matches published'}).waitFor();
  await page.fill('#publish-message', 'nothing new');
  await page.click('#publish');
  const dlg = page.locator('dialog');
  await dlg.getByText('The draft is the same as published version 2').waitFor();
  await dlg.getByRole('button', {name: 'Keep editing'}).click();
  await dlg.waitFor({state: 'detached'});
  const vs = await apiCall('GET', '/flows/default/versions');
  assert.equal(vs.body.versions.length, 2, 'no version was made');
  await page.fill('#publish-message', '');
});

test('history shows a side-by-side diff of two versions, and rolls back to version 1', async () => {
  await page.getByRole('tab', {name: 'History'}).click();
  await page.locator('#diff-from').selectOption('1');
  await page.locator('#diff-to').selectOption('2');
  await page.getByRole('button', {name: 'Compare'}).click();
  const row = page.locator('table.sbs tbody tr', {hasText: 'nodes.greet.say.en-US'});
  await row.waitFor();
  const cells = await row.locator('td').allInnerTexts();
  assert.deepEqual(cells, ['Welcome back, {{ member.first_name }}.', 'Hello again, {{ member.first_name }}!']);
  await shot('06-history-diff.png');
  await page.getByRole('button', {name: 'Roll back to v1'}).click();
  await page.locator('dialog').getByRole('button', {name: 'Roll back to v1'}).click();
  await page.getByText(/Rolled back: v3 now runs v1/).waitFor();
  await page.locator('.history tbody tr', {hasText: 'rollback to v1'}).first().waitFor();
  const sim = await apiCall('POST', '/flows/default/simulate', {version: 3, caller: {phone: '+14045550123'}});
  assert.equal(sim.body.steps[0].said[0], 'Welcome back, Dana.');
});

test('a stale save explains who saved first and re-applies the admin\'s changes onto the latest draft', async () => {
  await selectNode('goodbye');
  await page.locator('textarea[data-path="nodes.goodbye.say.en-US"]').fill('Thanks for calling. Bye!');
  // Meanwhile someone else saves another change.
  const d = await apiCall('GET', '/flows/default');
  const theirs = d.body;
  theirs.nodes.find((n) => n.id === 'tell_tier').say['en-US'] = 'Your tier is {{ member.tier }}.';
  const put = await apiCall('PUT', '/flows/default', theirs, {'If-Match': d.etag, 'X-Memberline-Actor': 'bo'});
  assert.equal(put.status, 200);
  await page.getByRole('button', {name: 'Save draft'}).click();
  const dlg = page.locator('dialog');
  await dlg.getByText('Your changes were not saved, and they are kept here.').waitFor();
  assert.match(await dlg.innerText(), /ADMIN_TOKEN \(bo\) saved/);
  assert.match(await dlg.innerText(), /changed node goodbye/);
  assert.match(await dlg.innerText(), /changed node tell_tier/);
  await shot('07-stale-save.png');
  await dlg.getByRole('button', {name: 'Re-apply my changes onto the latest draft'}).click();
  await page.getByRole('button', {name: 'Save draft'}).click();
  await page.locator('.savestate', {hasText: 'All changes saved'}).waitFor();
  const after = (await apiCall('GET', '/flows/default')).body;
  assert.equal(after.nodes.find((n) => n.id === 'goodbye').say['en-US'], 'Thanks for calling. Bye!');
  assert.equal(after.nodes.find((n) => n.id === 'tell_tier').say['en-US'], 'Your tier is {{ member.tier }}.');
});

test('adding, connecting and deleting a node with the mouse', async () => {
  const count = await page.locator('.node').count();
  await page.locator('#add-type').selectOption('say');
  await page.getByRole('button', {name: '+ Add node'}).click();
  const added = page.locator('.node[data-id="say_1"]');
  await added.waitFor();
  assert.equal(await page.locator('.node').count(), count + 1);
  // Drag from the new node's handle onto the start node next to it, once the graph is
  // redrawn after validation.
  await page.waitForFunction(() => !document.querySelector('#validity').textContent.includes('checking'));
  await page.getByRole('button', {name: 'Fit the whole flow'}).click();
  // Both measured at once, so a redraw cannot come in between.
  const [handle, target] = await page.evaluate(() => ['.node[data-id="say_1"] .handle', '.node[data-id="start"] .box']
    .map((sel) => document.querySelector(sel).getBoundingClientRect()).map((r) => ({x: r.x, y: r.y, width: r.width, height: r.height})));
  await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
  await page.mouse.down();
  await page.mouse.move(target.x + target.width / 2, target.y + target.height / 2, {steps: 6});
  await page.mouse.up();
  await page.getByText('Connected say_1 → start').waitFor();
  await page.locator('.node[data-id="say_1"]').click();
  assert.equal(await page.locator('select[data-path="nodes.say_1.next"]').inputValue(), 'start');
  await page.getByRole('button', {name: 'Delete node say_1'}).click();
  await page.locator('dialog').getByRole('button', {name: 'Delete say_1'}).click();
  await added.waitFor({state: 'detached'});
  assert.equal(await page.locator('.node').count(), count);
});

test('member look-up shows what the IVR sees and starts a simulation as that caller', async () => {
  await page.getByRole('button', {name: 'Save draft'}).click();
  await page.locator('.savestate', {hasText: 'All changes saved'}).waitFor();
  await page.click('a[data-nav="lookup"]');
  await page.fill('#lookup-phone', '(404) 555-0123');
  await page.getByRole('button', {name: 'Look up'}).click();
  const card = page.locator('article.card');
  await card.waitFor();
  const text = await card.innerText();
  assert.match(text, /Dana Whitfield/);
  assert.match(text, /Diamond/);
  assert.equal(await page.locator('p.consent').innerText(), 'Messages: the number never opted out.');
  assert.match(text, /Flight DL1234 to Atlanta/);
  assert.match(text, /upcoming/);
  // Times are the activity's, in the member's zone, and say so.
  const when = await card.locator('dd.when').innerText();
  assert.match(when, /E[SD]T/, `the zone's abbreviation in ${when}`);
  assert.match(when, /America\/New_York, the member's time zone/);
  await bottomsAlign('#lookup-phone', '#lookup-go');
  await shot('08-lookup.png');
  await page.click('#simulate-as');
  await page.locator('.transcript').getByText('Hello again, Dana!').waitFor();
  assert.equal(await page.inputValue('#sim-phone'), '+14045550123');
});

test('the simulator finds a caller by name: "Whit" lists Dana, who is then simulated from her first number', async () => {
  await page.getByRole('tab', {name: 'Simulator'}).click();
  const sim = page.locator('.simulator');
  await sim.getByRole('button', {name: 'Reset'}).click(); // the call before must not answer for this one
  assert.equal(await page.locator('.transcript li').count(), 0);
  await sim.getByLabel('Name or number').fill('Whit');
  await sim.getByRole('button', {name: 'Look up'}).click();
  const dana = sim.getByRole('button', {name: 'Dana Whitfield · Diamond · +14045550123'});
  await dana.waitFor();
  await shot('10-simulator-name-search.png');
  await dana.press('Enter'); // chosen from the keyboard
  await sim.locator('.found', {hasText: '✔ Dana Whitfield'}).waitFor();
  assert.equal(await page.inputValue('#sim-phone'), '+14045550123');
  await page.click('#sim-start');
  await page.locator('.transcript').getByText(/Dana/).first().waitFor();
});

test('the Tests panel runs the flow\'s cases and adds the current simulation as one', async () => {
  // Dana again, her caller ID attested this time: key 1 says the call is about her trip.
  await page.getByRole('tab', {name: 'Simulator'}).click();
  await page.locator('.simulator').getByLabel('Caller ID trust').selectOption('verified');
  await page.click('#sim-start');
  await page.locator('.transcript').getByText('Are you calling about that trip?', {exact: false}).waitFor();
  await page.getByRole('button', {name: 'Key 1'}).click();
  await page.locator('.transcript').getByText(/Handed off to queue agents/).waitFor();
  const shipped = (await apiCall('GET', '/flows/default')).body.tests.length;
  await page.getByRole('tab', {name: 'Tests'}).click();
  await page.click('#run-tests');
  await page.locator('.tests-summary', {hasText: `${shipped} tests: ✔ ${shipped} passed, ✖ 0 failed`}).waitFor();
  assert.equal(await page.locator('.testcases > li.passed').count(), shipped);
  await page.fill('#test-name', 'dana-presses-1');
  await page.fill('#test-must-hear', 'Hello again, Dana!');
  await page.click('#add-test');
  await page.locator('.tests-summary', {hasText: `${shipped + 1} tests: ✔ ${shipped + 1} passed`}).waitFor();
  const added = page.locator('.testcases > li[data-test="dana-presses-1"]');
  assert.match(await added.innerText(), /✔ passed[\s\S]*caller \+14045550123 \(from the directory\)[\s\S]*“1”/);
  await page.getByRole('button', {name: 'Save draft'}).click();
  await page.locator('.savestate', {hasText: 'All changes saved'}).waitFor();
  const t = (await apiCall('GET', '/flows/default')).body.tests.find((x) => x.name === 'dana-presses-1');
  assert.deepEqual([t.caller, t.trust, t.inputs, t.expect.end, t.expect.handoff, t.expect.says],
    [{phone: '+14045550123'}, 'verified', ['1'], 'handoff', {queue: 'agents'}, ['Hello again, Dana!']]);
  assert.ok(t.expect.visits.includes('about_activity') && t.now, `the case keeps the path and the clock: ${JSON.stringify(t)}`);
  await shot('11-tests.png');
});

// placeCall plays a call through the service's real webhooks, signed as Twilio signs them,
// with the binary's call command; it returns what the caller heard.
function placeCall(sid, answers) {
  return new Promise((resolve, reject) => {
    const c = spawn(env('MEMBERLINE_BIN'), ['call', '-url', base, '-sid', sid, '-input', answers, '+14045550123'],
      {env: {...process.env, TWILIO_AUTH_TOKEN: 'console-test-twilio-token', PUBLIC_URL: base}, stdio: ['ignore', 'pipe', 'pipe']});
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { out += d; });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`memberline call exited ${code}:\n${out}`))));
  });
}

test('a draft that sends "1" elsewhere fails its tests, blocks publish, and replay shows the one changed call on the graph', async () => {
  // Two real calls on the published flow: Dana says yes with key 1; then key 2 and 3.
  const pressed1 = 'CAconsole0000000000000000000000001';
  const pressed2 = 'CAconsole0000000000000000000000002';
  assert.match(await placeCall(pressed1, '1'), /connect you with an agent/);
  await placeCall(pressed2, '2,3');
  await selectNode('about_activity');
  // The edit, and a keyboard user moving on to another node before the graph is redrawn
  // (60 ms later, and again when validation answers): the node keeps the focus across
  // both redraws, so the next key pressed still reaches it.
  await page.evaluate(() => {
    const sel = document.querySelector('select[data-path="nodes.about_activity.options.0.next"]');
    sel.value = 'agent_reservations';
    sel.dispatchEvent(new Event('change', {bubbles: true}));
    const menu = document.querySelector('.node[data-id="menu"]');
    menu.focus();
    window.beforeRedraw = menu;
  });
  // Validation as you type runs the tests: the draft has errors now, and publish is off.
  await page.locator('#validity.err').waitFor();
  assert.deepEqual(await page.evaluate(() => [window.beforeRedraw.isConnected, document.activeElement.dataset.id]), [false, 'menu'],
    'the redrawn graph gives the focus back to the node that had it');
  await page.getByRole('tab', {name: 'Tests'}).click();
  await page.click('#run-tests');
  const failed = page.locator('.testcases > li.failed[data-test="dana-presses-1"]');
  await failed.waitFor();
  assert.match(await failed.innerText(), /tests\.dana-presses-1\.expect\.handoff\.queue/);
  assert.equal(await page.locator('#publish').isDisabled(), true, `a failing test blocks publish: ${await page.locator('#validity').innerText()}`);
  await page.getByRole('tab', {name: 'Replay'}).click();
  await page.click('#replay-run');
  await page.locator('.replay-summary', {hasText: '2 calls replayed through the draft: ✔ 1 the same, ≠ 1 changed, ○ 0 not replayed.'}).waitFor();
  const rows = page.locator('ul.replaycalls > li');
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.first().getAttribute('data-call'), pressed1);
  assert.match(await rows.first().innerText(), /At webhook 1 after about_activity: agent_activity → agent_reservations[\s\S]*Was\s+handed off at agent_activity[\s\S]*Now\s+handed off at agent_reservations/);
  await rows.first().getByRole('button', {name: 'Show both paths'}).click();
  // Both paths on the graph, told apart by badges and line style, not by colour alone.
  await page.locator('.node[data-id="about_activity"] .badge.parts').waitFor();
  await page.locator('.node.was-only[data-id="agent_activity"] .badge.was').waitFor();
  await page.locator('.node.visited[data-id="agent_reservations"] .badge.now').waitFor();
  assert.match(await page.locator('.node[data-id="agent_activity"]').getAttribute('aria-label'), /only as recorded/);
  // The recorded step about_activity → agent_activity is drawn though the draft lost it.
  assert.equal(await page.locator('path.edge.was.gone').count(), 1);
  assert.ok(await page.locator('path.edge.hot').count() >= 1);
  assert.equal(await page.locator('.legend.compare').isVisible(), true);
  assert.match(await page.locator('.replay-detail .was-path').innerText(), /about_activity → agent_activity$/);
  assert.match(await page.locator('.replay-detail .now-path').innerText(), /about_activity → agent_reservations$/);
  await shot('12-replay.png');
  // Undone, every test passes again and publish is back.
  await selectNode('about_activity');
  await page.locator('select[data-path="nodes.about_activity.options.0.next"]').selectOption('agent_activity');
  await page.waitForFunction(() => !document.querySelector('#publish').disabled);
  await page.getByRole('tab', {name: 'Tests'}).click();
  await page.click('#run-tests');
  await page.locator('.tests-summary', {hasText: '✖ 0 failed'}).waitFor();
  await page.getByRole('button', {name: 'Save draft'}).click();
  await page.locator('.savestate', {hasText: 'All changes saved'}).waitFor();
});

test('the Calls view finds the calls placed through the webhooks; a journey shows what was heard and the path on the graph', async () => {
  await page.click('a[data-nav="calls"]');
  const rows = page.locator('table.calls tbody tr');
  await rows.first().waitFor();
  const sids = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.call));
  assert.deepEqual(sids.sort(), ['CAconsole0000000000000000000000001', 'CAconsole0000000000000000000000002']);
  await page.locator('#calls-outcome').selectOption('handoff');
  await page.click('#calls-search');
  await page.waitForFunction(() => document.querySelectorAll('table.calls tbody tr').length === 1);
  const row = page.locator('table.calls tbody tr[data-call="CAconsole0000000000000000000000001"]');
  assert.match(await row.innerText(), /member[\s\S]*1001[\s\S]*default v3[\s\S]*handed off/);
  // A call placed with the call command lasts what a caller would spend on it, not 0 s.
  assert.match(await row.locator('td.length').innerText(), /^[1-9]\d* s$/);
  await bottomsAlign('#calls-version', '#calls-search');
  await shot('13-calls.png');
  await row.getByRole('link', {name: 'Journey'}).click();
  const turns = page.locator('ol.turns > li.turn');
  await turns.first().waitFor();
  assert.equal(await turns.count(), 2);
  assert.match(await turns.nth(0).innerText(), /Welcome back, Dana\.[\s\S]*trip to Atlanta tomorrow/);
  assert.match(await turns.nth(1).innerText(), /caller\s+pressed 1[\s\S]*connect you with an agent/i);
  assert.match(await page.locator('.heard').innerText(), /replayed through version 3/);
  // Its path on the graph of v3: the question, then the activity agents, where it ended.
  await page.locator('.journey-graph .node.visited[data-id="about_activity"]').waitFor();
  await page.locator('.journey-graph .node.current[data-id="agent_activity"]').waitFor();
  assert.equal(await page.locator('.journey-graph .node.visited[data-id="menu"]').count(), 0);
  // The caller ID's trust in words: the carrier vouched for the number, not for who calls.
  assert.match(await page.locator('.journey dd.trust').innerText(), /attested by the carrier/);
  assert.match(await page.locator('.journey .facts').innerText(), /handed off after [1-9]\d* s/);
  // The call's path is drawn whole, above the legend; Fit shows every node the same way.
  const inView = async (sel) => {
    const wrap = await page.locator('.journey-graph .graph-wrap').boundingBox();
    const legend = await page.locator('.journey-graph .legend').first().boundingBox();
    for (const b of await page.locator(sel).evaluateAll((els) => els.map((e) => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height, e.dataset.id]; }))) {
      assert.ok(b[0] >= wrap.x && b[0] + b[2] <= wrap.x + wrap.width && b[1] >= wrap.y, `node ${b[4]} is inside the drawing`);
      assert.ok(b[1] + b[3] <= legend.y, `node ${b[4]} (bottom ${b[1] + b[3]}) is not under the legend (top ${legend.y})`);
    }
  };
  await inView('.journey-graph .node.visited, .journey-graph .node.current');
  await shot('14-journey.png');
  await page.locator('.journey-graph').getByRole('button', {name: 'Fit the whole flow'}).click();
  await inView('.journey-graph .node');
});

test('Reports draw charts with a table view and a CSV, and segment the callers', async () => {
  await page.click('a[data-nav="reports"]');
  const fig = page.locator('figure#recognition');
  await fig.locator('svg.bars rect.bar').first().waitFor();
  await fig.getByText('Table view').click();
  const today = new Intl.DateTimeFormat('en-CA', {timeZone: 'America/New_York'}).format(new Date());
  const day = fig.locator('table tbody tr', {hasText: today});
  assert.deepEqual(await day.locator('th, td').allInnerTexts(), [today, '2', '2', '0', '0', '0', '0', '2', '100%']);
  const trust = page.locator('figure#activity-by-trust');
  await trust.getByText('Table view').click();
  assert.deepEqual(await trust.locator('table tbody tr', {hasText: 'verified'}).locator('th, td').allInnerTexts(), ['verified', '2', '2', '100%', '1', '50%']);
  // The CSV holds the same rows.
  const [download] = await Promise.all([page.waitForEvent('download'), fig.getByRole('button', {name: 'Download recognition.csv'}).click()]);
  const csv = await (await download.createReadStream()).toArray();
  assert.match(Buffer.concat(csv).toString(), new RegExp(`^day,calls,member,household,unknown,anonymous,error,identified,recognized_share\n${today},2,2,0,0,0,0,2,1\n$`));
  await page.locator('figure#messages', {hasText: 'No message in this period.'}).waitFor();
  const outcomes = page.locator('figure#outcomes');
  assert.equal(await outcomes.locator('svg rect.bar[data-series="handoff"]').count(), 1);
  assert.match(await page.locator('#segment-activity_callers').innerText(), /Members who called about their activity\s*1[\s\S]*1001/);
  assert.match(await page.locator('#segment-always_handed_off').innerText(), /Nobody in this period/);
  // Definitions are for people: the number "often" means, not a parameter's name.
  const segments = await page.locator('.reports').innerText();
  assert.doesNotMatch(segments, /min_calls/);
  assert.match(segments, /members with at least 3 calls in the period/);
  await bottomsAlign('#report-from', '#report-to', '#report-tz', '#report-go');
  await shot('15-reports.png');
});

test('the traffic overlay shows how many calls went through each node and edge', async () => {
  await page.click('a[data-nav="flows"]');
  await page.locator('a.flowlink', {hasText: 'Member line'}).click();
  await page.locator('.node[data-id="greet"]').waitFor();
  await page.getByRole('tab', {name: 'Traffic'}).click();
  await page.locator('#traffic-version option[value="3"]').waitFor({state: 'attached'});
  await page.locator('#traffic-version').selectOption('3');
  await page.click('#traffic-show');
  await page.locator('.traffic-summary', {hasText: '2 calls on v3'}).waitFor();
  await page.locator('.node[data-id="about_activity"] .badge.count', {hasText: '2 in'}).waitFor();
  assert.match(await page.locator('.node[data-id="agent_activity"]').getAttribute('aria-label'), /1 call entered, 0 hung up here, 1 handed off here/);
  const labels = await page.locator('.elabel text').evaluateAll((els) => els.map((e) => e.textContent));
  assert.ok(labels.includes('1 / yes · 1 call'), `an edge labelled with its calls in ${labels}`);
  assert.deepEqual(await page.locator('.traffic-panel tr[data-node="about_activity"] th, .traffic-panel tr[data-node="about_activity"] td').allInnerTexts(), ['about_activity', '2', '0', '0', '0']);
  assert.equal(await page.locator('.legend.traffic').isVisible(), true);
  await shot('16-traffic.png');
  await page.getByRole('button', {name: 'Hide traffic'}).click();
  assert.equal(await page.locator('.badge.count').count(), 0);
});

test('an identify node\'s language choices are edited in the form, each announced in its own language', async () => {
  await page.click('a[data-nav="flows"]');
  await page.locator('a.flowlink', {hasText: 'Member line'}).click();
  await selectNode('member_number');
  const choices = page.locator('.nodeform fieldset.item[data-option]');
  assert.equal(await choices.count(), 3);
  const french = page.locator('textarea[data-path="nodes.member_number.options.1.announce.fr-CA"]');
  assert.equal(await french.inputValue(), 'Pour le français, appuyez sur 9.');
  assert.equal(await page.locator('select[data-path="nodes.member_number.options.1.language"]').inputValue(), 'fr-CA');
  // Said in another language, the announcement moves with it; back again, as it was.
  await page.locator('select[data-path="nodes.member_number.options.1.language"]').selectOption('en-GB');
  assert.equal(await page.locator('textarea[data-path="nodes.member_number.options.1.announce.en-GB"]').inputValue(), 'Pour le français, appuyez sur 9.');
  await page.locator('select[data-path="nodes.member_number.options.1.language"]').selectOption('fr-CA');
  await french.fill('Pour le français, faites le 9.');
  await page.locator('#validity.ok').waitFor();
  await shot('17-language-choices.png');
  const doc = await page.evaluate(() => fetch('/api/v1/flows/default', {headers: {Authorization: `Bearer ${sessionStorage.getItem('memberline.token')}`}}).then((r) => r.json()));
  assert.equal(doc.nodes.find((n) => n.id === 'member_number').options[1].announce['fr-CA'], 'Pour le français, appuyez sur 9.', 'nothing is saved before Save draft');
  await page.getByRole('button', {name: 'Save draft'}).click();
  await page.locator('.savestate', {hasText: 'All changes saved'}).waitFor();
  const saved = (await apiCall('GET', '/flows/default')).body.nodes.find((n) => n.id === 'member_number').options[1];
  assert.deepEqual([saved.digits, saved.language, saved.announce, saved.next], ['9', 'fr-CA', {'fr-CA': 'Pour le français, faites le 9.'}, 'member_number']);
});

// bigFlow is a valid flow of 54 nodes: a main menu, six sub-menus of seven options each,
// and five shared handoffs.
function bigFlow() {
  const en = (s) => ({'en-US': s});
  const nodes = [{id: 'main', type: 'gather', prompt: en('Main menu.'), num_digits: 1,
    options: [1, 2, 3, 4, 5, 6].map((i) => ({digits: String(i), next: `sub${i}`})), no_input: 'agent0', no_match: 'agent0'}];
  for (let i = 1; i <= 6; i++) {
    nodes.push({id: `sub${i}`, type: 'gather', prompt: en(`Menu ${i}.`), num_digits: 1,
      options: [1, 2, 3, 4, 5, 6, 7].map((j) => ({digits: String(j), next: `say${i}_${j}`})), no_input: 'agent0', no_match: 'agent1'});
    for (let j = 1; j <= 7; j++) nodes.push({id: `say${i}_${j}`, type: 'say', say: en(`You chose ${i} then ${j}.`), next: `agent${j % 5}`});
  }
  for (let k = 0; k < 5; k++) nodes.push({id: `agent${k}`, type: 'handoff', queue: `queue${k}`, reason: 'menu', say: en('One moment.')});
  return {schema: 'memberline.flow/v1', id: 'big', name: 'Large menu', default_language: 'en-US', languages: {'en-US': {}}, start: 'main', nodes};
}

test('a flow of 54 nodes is laid out without overlaps and can be read and navigated', async () => {
  const doc = bigFlow();
  const created = await apiCall('POST', '/flows', {id: 'big', document: doc});
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.valid, true, created.text);
  await page.click('a[data-nav="flows"]');
  await page.locator('a.flowlink', {hasText: 'Large menu'}).click();
  await page.locator('.node[data-id="main"]').waitFor();
  assert.equal(await page.locator('.node').count(), 54);
  const boxes = await nodeBoxes();
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      assert.ok(!(a[0] < b[0] + b[2] - 1 && b[0] < a[0] + a[2] - 1 && a[1] < b[1] + b[3] - 1 && b[1] < a[1] + a[3] - 1), `nodes ${i} and ${j} overlap`);
    }
  }
  // Fit keeps the text readable: nodes are drawn at 60% or more of their size.
  const w = boxes[0][2];
  assert.ok(w >= 0.6 * 210 - 1, `a node is ${w}px wide`);
  await page.locator('#validity', {hasText: 'valid'}).waitFor();
  await shot('09-large-flow.png');
  await selectNode('say4_6');
  await page.locator('select[data-path="nodes.say4_6.next"]').waitFor();
});

test('a call still in progress reads "in progress" in the list and its journey, not the filter\'s "any"', async () => {
  const form = new URLSearchParams({CallSid: 'CAconsole0000000000000000000000003', AccountSid: 'AC00000000000000000000000000000000',
    From: '+12125550000', To: '+18005550100', CallStatus: 'ringing', Direction: 'inbound', ApiVersion: '2010-04-01'});
  const url = `${base}/twilio/voice`;
  const signed = url + [...form.keys()].sort().map((k) => k + form.get(k)).join('');
  const sig = createHmac('sha1', 'console-test-twilio-token').update(signed).digest('base64');
  const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sig}, body: form.toString()});
  assert.equal(r.status, 200, await r.text());
  // Call records are written in batches: wait for this one before listing.
  for (let i = 0; (await apiCall('GET', '/calls/CAconsole0000000000000000000000003')).status !== 200; i++) {
    assert.ok(i < 100, 'the call was never recorded');
    await new Promise((res) => setTimeout(res, 50));
  }
  await page.click('a[data-nav="calls"]');
  const row = page.locator('table.calls tbody tr[data-call="CAconsole0000000000000000000000003"]');
  await row.waitFor();
  assert.equal(await row.locator('td.outcome').innerText(), 'in progress');
  await shot('13-calls.png');
  await row.getByRole('link', {name: 'Journey'}).click();
  await page.locator('.journey .facts').waitFor();
  assert.match(await page.locator('.journey .facts').innerText(), /Ended\s+in progress/);
  assert.doesNotMatch(await page.locator('.journey .facts').innerText(), /\bany\b/);
});

test('a new flow starts with the built-in disclosure policy, which the editor shows and edits', async () => {
  await page.click('a[data-nav="flows"]');
  await page.fill('#new-id', 'policy_demo');
  await page.getByRole('button', {name: '+ Create flow'}).click();
  await page.locator('.node[data-id="hello"]').waitFor();
  const made = await apiCall('GET', '/flows/policy_demo');
  assert.deepEqual(made.body.disclosure.suspicious, [], 'a failed attestation hears nothing');
  assert.ok(made.body.disclosure.verified_pin.includes('activity.reference'), 'the code needs the PIN');
  // With no node selected, the Node panel shows who hears what.
  await page.getByRole('tab', {name: 'Node'}).click();
  const place = page.locator('select[data-path="disclosure.activity.place"]');
  assert.equal(await place.inputValue(), 'verified');
  await place.selectOption('verified_pin');
  await page.getByRole('button', {name: 'Save draft'}).click();
  await page.locator('.savestate', {hasText: 'All changes saved'}).waitFor();
  const saved = await apiCall('GET', '/flows/policy_demo');
  assert.ok(saved.body.disclosure.verified_pin.includes('activity.place'));
  assert.ok(!saved.body.disclosure.verified.includes('activity.place'));
});

test('the Experiments view shows each arm with its interval and a verdict, and ends the experiment as a draft', async () => {
  const doc = {schema: 'memberline.flow/v1', id: 'exp', name: 'Greeting experiment', default_language: 'en-US', languages: {'en-US': {}},
    start: 't', nodes: [
      {id: 't', type: 'split', experiment: 'warm-greeting', arms: [{id: 'control', weight: 50, next: 'a'}, {id: 'warm', weight: 50, next: 'b'}]},
      {id: 'a', type: 'hangup', say: {'en-US': 'Hello.'}},
      {id: 'b', type: 'hangup', say: {'en-US': 'Lovely to hear from you.'}}],
    experiments: {'warm-greeting': {goal: {outcome: 'self_service'}, min_calls_per_arm: 200}}};
  assert.equal((await apiCall('POST', '/flows', {id: 'exp', document: doc})).status, 201);
  assert.equal((await apiCall('POST', '/flows/exp/publish', {message: 'the experiment'})).status, 201);
  const b = await apiCall('GET', '/bindings');
  const bound = await apiCall('PUT', '/bindings', {default: b.body.default, numbers: {...b.body.numbers, '+18005550111': 'exp'}}, {'If-Match': b.etag});
  assert.equal(bound.status, 200, bound.text);
  // Callers, signed webhooks to the bound number. The binding reaches calls within the
  // flow-change poll: calls are placed until one runs the experiment's flow, then five more.
  const place = async (i) => {
    const sid = `CAexperiment${String(i).padStart(22, '0')}`;
    const form = new URLSearchParams({CallSid: sid, AccountSid: 'AC00000000000000000000000000000000',
      From: `+1404555${String(7000 + i)}`, To: '+18005550111', CallStatus: 'ringing', Direction: 'inbound', ApiVersion: '2010-04-01'});
    const url = `${base}/twilio/voice`;
    const sig = createHmac('sha1', 'console-test-twilio-token').update(url + [...form.keys()].sort().map((k) => k + form.get(k)).join('')).digest('base64');
    const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sig}, body: form.toString()});
    assert.equal(r.status, 200, await r.text());
    for (let k = 0; ; k++) {
      const c = await apiCall('GET', `/calls/${sid}`);
      if (c.status === 200) return c.body.flow;
      assert.ok(k < 100, `call ${sid} was never recorded`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  let n = 0;
  while ((await place(n++)) !== 'exp') assert.ok(n < 40, 'the binding never reached the calls');
  for (let i = 0; i < 5; i++) await place(n++);
  for (let i = 0; ; i++) {
    const rep = await apiCall('GET', '/reports/experiments/warm-greeting');
    if (rep.status === 200 && rep.body.arms.reduce((n, a) => n + a.calls, 0) === 6) break;
    assert.ok(i < 100, `the calls were never counted: ${rep.text}`);
    await new Promise((res) => setTimeout(res, 50));
  }
  await page.click('a[data-nav="experiments"]');
  await page.locator('.verdict', {hasText: 'not enough calls yet: each arm needs 200'}).waitFor();
  assert.equal(await page.locator('svg.whiskers rect.bar').count(), 2);
  assert.equal(await page.locator('svg.whiskers line.whisker').count(), 6);
  const rows = await page.locator('.experiments table.data tbody tr').allInnerTexts();
  assert.equal(rows.length, 2);
  assert.match(rows[0], /^control\s+50%/);
  assert.match(rows[1], /^warm\s+50%[\s\S]*not enough calls yet/);
  // The six calls are in the table: each row's third cell is its arm's calls.
  const counted = await page.locator('.experiments table.data tbody tr td:nth-of-type(2)').allInnerTexts();
  assert.equal(counted.reduce((sum, c) => sum + Number(c), 0), 6, `calls per arm ${counted}`);
  await shot('18-experiments.png');
  // End it: a draft with warm at 100%, for an editor to publish.
  await page.getByRole('button', {name: 'End experiment: send everyone to warm'}).click();
  await page.locator('dialog').getByRole('button', {name: 'Save the draft'}).click();
  await page.locator('.node[data-id="t"]').waitFor();
  const draft = await apiCall('GET', '/flows/exp');
  assert.deepEqual(draft.body.nodes[0].arms.map((a) => [a.id, a.weight]), [['control', 0], ['warm', 100]]);
  await page.locator('.edhead .chips', {hasText: 'Draft changes pending'}).waitFor();
});

test('an admin adds a connection with a write-only secret and tests it with one signed GET', async () => {
  const secret = 'console-test-secret-0123456789';
  let verified = false;
  const company = createServer((req, res) => {
    const [t, v1] = (req.headers['memberline-signature'] || '').split(',').map((p) => p.split('=')[1]);
    const want = createHmac('sha256', secret).update(`${t}.${req.method}.${req.url}.`).digest('hex');
    verified = v1 === want && req.url === '/v2/members/1001' && req.headers['x-api-key'] === 'key-42';
    res.writeHead(verified ? 200 : 401, {'Content-Type': 'application/json'});
    res.end(JSON.stringify({member: {gate: 'B12'}, bookings: []}));
  });
  await new Promise((ok) => company.listen(0, '127.0.0.1', ok));
  try {
    await page.click('a[data-nav="connections"]');
    await page.getByRole('button', {name: 'New connection'}).click();
    await page.fill('#conn-id', 'crm');
    await page.fill('#conn-url', `http://127.0.0.1:${company.address().port}/v2`);
    await page.fill('#conn-headers', 'X-Api-Key: key-42');
    await page.fill('#conn-secret', secret);
    await page.fill('#conn-timeout', '1500');
    // http to a loopback address is refused until the connection allows private addresses.
    await page.click('#conn-save');
    await page.locator('form .error', {hasText: 'base_url'}).waitFor();
    await page.check('#conn-private');
    await page.click('#conn-save');
    const row = page.locator('.connections table.data tbody tr', {hasText: 'crm'});
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /X-Api-Key[\s\S]*1500 ms[\s\S]*allowed[\s\S]*set/);
    assert.ok(!text.includes('key-42') && !text.includes(secret), `the list shows a secret: ${text}`);
    const stored = await apiCall('GET', '/connections/crm');
    assert.equal(stored.body.secret_set, true);
    assert.ok(!stored.text.includes(secret) && !stored.text.includes('key-42'));

    await row.getByRole('button', {name: 'Test'}).click();
    await page.fill('#conn-test-path', '/members/1001');
    await page.click('#conn-test-go');
    const result = page.locator('#conn-test-result dl');
    await result.waitFor();
    const shown = await result.innerText();
    assert.match(shown, /Outcome\s+ok[\s\S]*Status\s+200[\s\S]*Top-level keys\s+bookings, member/);
    assert.ok(verified, 'the company API did not get a valid signature');
    assert.ok(!shown.includes('B12'), 'the test shows a value from the answer');
    await shot('19-connections.png');

    // Editing without a secret keeps it: the test still verifies.
    await row.getByRole('button', {name: 'Edit'}).click();
    await page.fill('#conn-headers', 'X-Api-Key: key-42');
    await page.fill('#conn-timeout', '2500');
    await page.click('#conn-save');
    await page.locator('.connections table.data tbody tr', {hasText: '2500 ms'}).waitFor();
    verified = false;
    assert.equal((await apiCall('POST', '/connections/crm/test', {path: '/members/1001'})).body.outcome, 'ok');
    assert.ok(verified, 'the kept secret no longer signs');
  } finally {
    company.close();
  }
});

test('a caller who asks for a callback appears under Callbacks; dialed, its tries are shown', async () => {
  const doc = {schema: 'memberline.flow/v1', id: 'cbline', default_language: 'en-US', languages: {'en-US': {voice: 'Polly.Joanna-Neural'}},
    start: 'agent', nodes: [{id: 'agent', type: 'handoff', reason: 'trip',
      queue: {cases: [{when: [{field: 'member.tier', op: 'eq', value: 'Gold'}], value: 'gold'}], default: 'general'},
      priority: {cases: [{when: [{field: 'member.tier', op: 'eq', value: 'Diamond'}], value: 90}], default: 10},
      wait: {announce: {'en-US': 'You are number {{ queue.position }} in line.'}},
      callback: {offer: {'en-US': 'To get a call back, press 1.'}, confirm: {'en-US': 'We will call you back in about {{ queue.wait_minutes }}.'}, max_attempts: 2}}]};
  assert.equal((await apiCall('POST', '/flows', {id: 'cbline', document: doc})).status, 201);
  const pub = await apiCall('POST', '/flows/cbline/publish', {message: 'callbacks'});
  assert.equal(pub.status, 201, pub.text);
  const call = {CallSid: 'CAconsole0000000000000000000000009', From: '+14045550123', CallStatus: 'in-progress', MemberlineFlow: 'cbline'};
  const voice = await twilioPost('/twilio/voice', call);
  assert.equal(voice.status, 200, voice.text);
  const wait = unescape(/waitUrl="([^"]+)"/.exec(voice.text)[1]);
  const offer = await twilioPost(wait, {...call, QueuePosition: '4', QueueTime: '75', AvgQueueTime: '480', CurrentQueueSize: '4'});
  assert.match(offer.text, /press 1/);
  const key = unescape(/<Gather [^>]*action="([^"]+)"/.exec(offer.text)[1]);
  const left = await twilioPost(key, {...call, Digits: '1'});
  assert.match(left.text, /<Leave\/>/);

  await page.click('a[data-nav="callbacks"]');
  const row = page.locator('.callbacks table.data tbody tr', {hasText: '+14045550123'});
  await row.waitFor();
  assert.match(await row.innerText(), /1001[\s\S]*general[\s\S]*90[\s\S]*pending[\s\S]*0 of 2/);
  await shot('20-callbacks.png');
  // Dial now: the dispatcher calls within a second or two, through TWILIO_API_URL.
  await row.getByRole('button', {name: 'Dial now'}).click();
  for (let i = 0; !twilioCalls.length; i++) {
    assert.ok(i < 100, 'the callback was never dialed:\n' + serviceLog.split('\n').slice(-4).join('\n'));
    await new Promise((res) => setTimeout(res, 50));
  }
  const placed = twilioCalls[0];
  assert.equal(placed.form.get('To'), '+14045550123');
  assert.equal(placed.form.get('From'), '+18005550100');
  assert.equal(placed.form.get('MachineDetection'), 'Enable');
  // Nobody answers: the try is shown, and it is due again.
  const st = await twilioPost(placed.form.get('StatusCallback'), {CallSid: placed.sid, From: '+18005550100', CallStatus: 'no-answer'});
  assert.equal(st.status, 204, st.text);
  await page.selectOption('#cb-status', '');
  const tried = page.locator('.callbacks table.data tbody tr', {hasText: 'no-answer'});
  await tried.waitFor();
  assert.match(await tried.innerText(), /pending[\s\S]*no-answer/);
  // The call's journey links its callback and the try.
  for (let i = 0; (await apiCall('GET', '/calls/CAconsole0000000000000000000000009')).status !== 200; i++) {
    assert.ok(i < 100, 'the call was never recorded');
    await new Promise((res) => setTimeout(res, 50));
  }
  await page.goto(`${base}/admin/#/calls/CAconsole0000000000000000000000009`);
  const link = page.locator('dd.callback');
  await link.waitFor();
  assert.match(await link.innerText(), /#\d+ pending, due [\s\S]*no-answer \(CA/);
  // In the editor, the queue chosen by conditions and the wait are edited as JSON, never
  // shown as "[object Object]".
  await page.goto(`${base}/admin/#/flows/cbline`);
  await selectNode('agent');
  const queueJSON = page.locator('.nodeform textarea[data-path="nodes.agent.queue"]');
  assert.match(await queueJSON.inputValue(), /"default": "general"/);
  assert.equal(await page.locator('.nodeform textarea[data-path="nodes.agent.callback"]').count(), 1);
  assert.doesNotMatch(await page.locator('.nodeform').innerText(), /object Object/);
  // A viewer sees the number masked.
  const viewer = await apiCall('POST', '/tokens', {name: 'cb-viewer', role: 'viewer'});
  const listed = await fetch(`${base}/api/v1/callbacks`, {headers: {Authorization: `Bearer ${viewer.body.secret}`}}).then((r) => r.text());
  assert.ok(listed.includes('+1404***0123') && !listed.includes('+14045550123'), listed);
});

test('the page raised no script errors and no content-security-policy violations', () => {
  assert.deepEqual(pageErrors, []);
});
