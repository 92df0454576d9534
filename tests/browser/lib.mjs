// Shared helpers of the browser tests: Debian's Chromium through
// playwright-core, a flowd per test file (tests/runtime/lib.mjs), a static
// "customer website" on another loopback origin, screenshots under
// build/screenshots/, and pass/fail bookkeeping ending `N passed, N failed`.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export * from '../runtime/lib.mjs';
import { repoRoot } from '../runtime/lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const screenshotDir = path.join(repoRoot, 'build', 'screenshots');

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/* A Chromium browser; close it with browser.close(). */
export async function launchBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS,
    timeout: 30000 });
}

/* Saves a full-page screenshot as build/screenshots/NAME.png. */
export async function screenshot(page, name, opts = {}) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, ...opts });
  return file;
}

/* A static site on its own loopback port (a different origin from flowd):
 * pages maps a path ("/shop/item") to HTML. Returns {base, close()}. */
export async function hostSite(pages) {
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    const html = typeof pages === 'function' ? pages(p) : pages[p];
    if (html === undefined) { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

/* Test bookkeeping: test(name, fn) records; done() prints the closing line
 * and sets the exit code. A failing test also saves a screenshot of every
 * page passed to failShots(). */
const results = { passed: 0, failed: 0 };
export async function test(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.failed++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack.split('\n').slice(0, 4).join('\n     ') : e}`);
  }
}
export function done() {
  console.log(`${results.passed} passed, ${results.failed} failed`);
  process.exitCode = results.failed ? 1 : 0;
}
export function assert(cond, msg) { if (!cond) throw new Error(`assertion failed: ${msg}`); }
export function assertEq(a, b, msg) {
  const ja = JSON.stringify(a), jb = JSON.stringify(b);
  if (ja !== jb) throw new Error(`${msg}: expected ${jb}, got ${ja}`);
}
export const browserTestsDir = here;
