// Shared helpers of the flowd black-box tests: start and stop a server on a
// free loopback port with its own folders, HTTP calls, visitor sockets,
// pass/fail bookkeeping. Every wait here is bounded.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Resolves with fn's value or rejects after ms with a message. */
export function within(ms, promise, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/* Polls cond() every 10 ms until it is truthy; throws after ms. */
export async function until(cond, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/* ---- temp folders --------------------------------------------------------- */

const tempDirs = [];
export function tempDir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `flowd-${prefix}-`));
  tempDirs.push(d);
  return d;
}
function removeTempDirs() {
  for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/* ---- the server ----------------------------------------------------------- */

const running = new Set();
process.on('exit', () => {
  for (const s of running) s.child.kill('SIGKILL');
  if (!process.env.KEEP_TMP) removeTempDirs();
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

export class Flowd {
  /* opts: flowd (binary), flows (folder), data (folder), token, extra (args) */
  constructor(opts) {
    this.opts = { token: 'T', extra: [], ...opts };
    this.stderr = '';
    this.port = 0;
  }

  async start() {
    const o = this.opts;
    const web = path.join(repoRoot, 'runtime', 'web');
    const args = ['--listen', '127.0.0.1', '--port', '0', '--data', o.data, '--flows', o.flows, '--test-hooks',
      '--agent-token', o.token, ...(fs.existsSync(web) ? ['--web', web] : []), ...o.extra];
    this.child = spawn(o.flowd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => {
      running.delete(this);
      this.exitInfo = { code, signal };
      resolve(this.exitInfo);
    }));
    this.child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-200000); });
    let out = '';
    const port = await within(10000, new Promise((resolve, reject) => {
      this.child.stdout.on('data', (d) => {
        out += d;
        const m = /flowd listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
        if (m) resolve(Number(m[1]));
      });
      this.exited.then((e) => reject(new Error(`flowd exited (${JSON.stringify(e)}) before listening: ${this.stderr}`)));
    }), 'flowd to print its port');
    this.port = port;
    this.base = `http://127.0.0.1:${port}`;
    return this;
  }

  /* SIGTERM, then SIGKILL if it does not stop within 10 s. */
  async stop() {
    if (!this.child || this.exitInfo) return this.exitInfo;
    this.child.kill('SIGTERM');
    try {
      return await within(10000, this.exited, 'flowd to stop');
    } catch {
      this.child.kill('SIGKILL');
      return await within(5000, this.exited, 'flowd to die');
    }
  }

  async kill9() {
    if (!this.child || this.exitInfo) return this.exitInfo;
    this.child.kill('SIGKILL');
    return within(5000, this.exited, 'flowd to die');
  }

  /* An HTTP request; returns {status, body (parsed JSON or text)}. */
  async http(method, p, body, { token, headers = {} } = {}) {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const res = await fetch(this.base + p, {
      method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    const text = await res.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON: keep the text */ }
    return { status: res.status, body: parsed, text, headers: res.headers };
  }

  agent(method, p, body) { return this.http(method, p, body, { token: this.opts.token }); }
  setClock(body) { return this.http('POST', '/api/test/clock', body); }
  setAgents(n) { return this.http('POST', '/api/test/agents', { online: n }); }

  visitor(hello, opts) { return Visitor.connect(this, hello, opts); }
}

/* ---- a visitor socket ------------------------------------------------------- */

let visitorCounter = 0;
export function freshVisitorId(tag = 'v') {
  visitorCounter++;
  return `${tag}-${process.pid}-${Date.now().toString(36)}-${visitorCounter}`;
}

export class Visitor {
  constructor(ws) {
    this.ws = ws;
    this.frames = []; // every frame received, parsed
    this.pongs = 0;
    this.pingsSent = 0;
    this.sentTimes = [];
    this.closed = null; // {code, reason} once closed
    this.limitRate = true; // stay under the server's 20 frames/s
    ws.on('message', (data) => {
      let f;
      try { f = JSON.parse(data.toString()); } catch { f = { type: '(not json)', raw: data.toString() }; }
      if (f.type === 'pong') this.pongs++;
      this.frames.push(f);
    });
    this.closedPromise = new Promise((resolve) => ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      resolve(this.closed);
    }));
    ws.on('error', (e) => { this.error = e; });
  }

  /* Opens a socket (no hello sent yet). */
  static async open(server, opts = {}) {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/visitor`, { handshakeTimeout: 5000, ...opts });
    const v = new Visitor(ws);
    await within(5000, new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_, res) => reject(new Error(`HTTP ${res.statusCode} on the socket`)));
    }), 'the visitor socket to open');
    return v;
  }

  /* Opens a socket, says hello and waits for welcome (or an error). */
  static async connect(server, hello, opts) {
    const v = await Visitor.open(server, opts);
    await v.send({ type: 'hello', ...hello });
    v.welcome = await v.waitFor((f) => f.type === 'welcome' || (f.type === 'error' && f.code === 'bad_hello'), 5000,
      'welcome');
    return v;
  }

  /* Sends a frame (an object is JSON-encoded). Keeps to at most 18 frames in
   * any second unless limitRate is off. */
  async send(frame) {
    if (this.closed) throw new Error(`socket closed (${this.closed.code}) before a send`);
    if (this.limitRate) {
      const now = Date.now();
      this.sentTimes = this.sentTimes.filter((t) => now - t < 1000);
      if (this.sentTimes.length >= 18) await sleep(1000 - (now - this.sentTimes[0]) + 5);
      this.sentTimes.push(Date.now());
    }
    const data = typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame);
    await new Promise((resolve, reject) => this.ws.send(data, (e) => (e ? reject(e) : resolve())));
  }

  /* Waits for a frame matching pred at index >= from; returns it. */
  async waitFor(pred, ms = 5000, what = 'a frame', from = 0) {
    let i = from;
    return until(() => {
      for (; i < this.frames.length; i++) if (pred(this.frames[i])) return this.frames[i];
      if (this.closed) throw new Error(`socket closed (${this.closed.code}) while waiting for ${what}`);
      return null;
    }, ms, what);
  }

  /* A ping and its pong: the server answers a socket's frames in order, so
   * every frame caused by what was sent before has arrived by then. */
  async barrier(ms = 5000) {
    const want = ++this.pingsSent;
    await this.send({ type: 'ping' });
    await until(() => {
      if (this.pongs >= want) return true;
      if (this.closed) throw new Error(`socket closed (${this.closed.code}) while waiting for pong`);
      return false;
    }, ms, 'pong');
  }

  /* Sends an input and waits for its ack or error, then a barrier. */
  async input(frame, ms = 5000) {
    const from = this.frames.length;
    await this.send(frame);
    const reply = await this.waitFor((f) => (f.type === 'ack' || f.type === 'error') && f.id === frame.id, ms,
      `ack of ${frame.id}`, from);
    await this.barrier(ms);
    return { reply, frames: this.frames.slice(from) };
  }

  text(id, text) { return this.input({ type: 'text', id, text }); }
  click(id, button) { return this.input({ type: 'click', id, button }); }

  lastButtons() {
    for (let i = this.frames.length - 1; i >= 0; i--) if (this.frames[i].type === 'buttons') return this.frames[i].buttons;
    return null;
  }

  events(from = 0) { return this.frames.slice(from).filter((f) => f.type === 'event').map((f) => f.line); }
  messages(from = 0) { return this.frames.slice(from).filter((f) => f.type === 'message'); }

  async close() {
    if (this.closed) return;
    this.ws.close();
    try { await within(3000, this.closedPromise, 'socket close'); } catch { this.ws.terminate(); }
  }
}

/* ---- results -------------------------------------------------------------- */

export class Results {
  constructor() { this.passed = 0; this.failed = 0; }
  ok(name) { this.passed++; console.log(`PASS ${name}`); }
  fail(name, why) { this.failed++; console.log(`FAIL ${name}: ${why}`); }
  /* Runs fn as one named check: passes unless it throws. */
  async check(name, fn) {
    try {
      await fn();
      this.ok(name);
    } catch (e) {
      this.fail(name, e && e.message ? e.message : String(e));
    }
  }
  summary() {
    console.log(`${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0;
  }
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function assertEq(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: expected ${w}, got ${g}`);
}

/* The flowd binary from argv or env, checked. */
export function flowdPath(argv = process.argv) {
  const p = path.resolve(argv[2] || process.env.FLOWD || path.join(repoRoot, 'build', 'flowd'));
  if (!fs.existsSync(p)) {
    console.log(`no flowd binary at ${p}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  return p;
}

/* A flows folder holding the given files {NAME.flow: text}. */
export function flowsFolder(prefix, files) {
  const dir = tempDir(`${prefix}-flows`);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/* Runs main(results) with an overall time limit and exits with the verdict;
 * a crash or the time limit counts as one more failure. */
export function runMain(main, limitMs) {
  const results = new Results();
  const timer = setTimeout(() => {
    results.fail('time limit', `the script ran over ${limitMs / 1000} s`);
    results.summary();
    process.exit(1);
  }, limitMs);
  timer.unref();
  main(results).then(() => process.exit(results.summary() ? 0 : 1), (e) => {
    results.fail('script', e && e.stack ? e.stack : String(e));
    results.summary();
    process.exit(1);
  });
}
