// What the browser test files share: free ports, the settings the tests read, Chromium from
// Debian's package (never a downloaded one) with a page that records script errors, and
// stopping the processes they start.

import {createServer} from 'node:net';
import {chromium} from 'playwright-core';

export const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run the browser tests with console/e2e/run.sh (or make test)`);
  return v;
};

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => { const {port} = srv.address(); srv.close(() => resolve(port)); });
    srv.on('error', reject);
  });
}

// openPage launches Chromium and opens a page; script errors and CSP violations go into
// errors (the "Failed to load resource" lines of expected 4xx answers do not).
export async function openPage(errors) {
  const browser = await chromium.launch({
    executablePath: env('CHROMIUM'),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  const context = await browser.newContext({viewport: {width: 1440, height: 900}, locale: 'en-US', timezoneId: 'America/New_York'});
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`); });
  return {browser, page};
}

// stop ends a child process: SIGTERM, then SIGKILL after 10 s.
export async function stop(proc) {
  if (!proc || proc.exitCode !== null) return;
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([done, new Promise((r) => setTimeout(r, 10000))]);
  if (proc.exitCode === null) proc.kill('SIGKILL');
}
