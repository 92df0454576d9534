// Crash safety: 50 visitor sockets send inputs in a loop, flowd is killed
// with SIGKILL under that load and restarted on the same data folder. Then:
// every acknowledged input is stored with its seq, every output a visitor
// received is stored, every conversation goes on from its exact state, and
// a handoff timer pending before the kill still fires.
//
// usage: node crash.mjs FLOWD
import {
  Flowd, assert, assertEq, flowdPath, flowsFolder, freshVisitorId, runMain, sleep, tempDir, within,
} from './lib.mjs';

const flowd = flowdPath();
const VISITORS = 50;
const LOAD_MS = 3000;
const PACE_MS = 60; // an input every 60 ms per visitor

/* Every input is counted: the answer to the k-th input is "#k: TEXT", so
 * the next answer shows exactly how many inputs the restored state has. */
const COUNTER = `flow "Counter"

var n: number = 0
var last: text

node start {
  say "Ready."
  goto loop
}

node loop {
  ask last "Say something."
  set n = n + 1
  say "#{n}: {last}"
  goto loop
}
`;

const DESK = `flow "Desk"

node start {
  say "Hello."
  handoff "support" {
    online "Waiting for an agent."
    wait 5m
    offline -> late
  }
}

node late {
  say "Sorry, nobody came."
  end
}
`;

/* A clock far ahead of the real one, so that after the restart (which
 * forgets the test clock) the timer is not due until the test says so. */
const T0 = 4102444800; // 2100-01-01

/* One visitor sending inputs one at a time until its socket dies. */
async function load(srv, i, hardStop) {
  const rec = { visitor: freshVisitorId(`load${i}`), acked: [], inflight: null, errors: [], v: null };
  try {
    rec.v = await srv.visitor({ channel: 'counter', visitor: rec.visitor });
    rec.conversation = rec.v.welcome.conversation;
    // evenly paced under the 20 frames/s limit, each visitor at its own
    // phase, so that the kill finds inputs at every stage of a step
    const t0 = Date.now() + Math.random() * PACE_MS;
    for (let k = 1; !rec.v.closed && Date.now() < hardStop; k++) {
      await sleep(Math.max(0, t0 + k * PACE_MS - Date.now()));
      const frame = { type: 'text', id: `m${k}`, text: `visitor ${i} says ${k}` };
      const from = rec.v.frames.length;
      await rec.v.send(frame);
      rec.inflight = frame; // written to the socket: the server may have it
      const reply = await rec.v.waitFor((f) => (f.type === 'ack' || f.type === 'error') && f.id === frame.id, 5000,
        `ack of ${frame.id}`, from);
      if (reply.type === 'error') {
        rec.errors.push(reply);
        break;
      }
      rec.acked.push({ id: frame.id, seq: reply.seq, text: frame.text });
      rec.inflight = null;
    }
  } catch (e) {
    rec.stopped = e.message; // the kill: expected
  }
  return rec;
}

/* The stored conversation must be the flow's exact pattern. */
function checkPattern(msgs, what) {
  const shown = msgs.filter((m) => m.kind === 'text').map((m) => `${m.from}:${m.body.text}`);
  assertEq(shown.slice(0, 2), ['bot:Ready.', 'bot:Say something.'], `${what}: start`);
  let k = 0;
  for (let j = 2; j < shown.length; j += 3) {
    k++;
    const input = shown[j].replace(/^visitor:/, '');
    assert(shown[j].startsWith('visitor:'), `${what}: message ${j} is ${shown[j]}`);
    assertEq(shown.slice(j + 1, j + 3), [`bot:#${k}: ${input}`, 'bot:Say something.'], `${what}: answer to input ${k}`);
  }
  return k;
}

async function checkStored(srv, rec) {
  const c = await srv.agent('GET', `/api/conversations/${rec.conversation}`);
  assertEq(c.status, 200, `GET conversation ${rec.conversation}`);
  const bySeq = new Map(c.body.messages.map((m) => [m.seq, m]));
  for (const a of rec.acked) {
    const m = bySeq.get(a.seq);
    assert(m && m.from === 'visitor' && m.body.text === a.text, `acked ${a.id} (seq ${a.seq}) not stored: ${JSON.stringify(m)}`);
  }
  for (const f of rec.v.frames.filter((x) => x.type === 'message' || x.type === 'buttons')) {
    const m = bySeq.get(f.seq);
    assert(m && m.body.text === f.text, `output seq ${f.seq} '${f.text}' was sent but is not stored: ${JSON.stringify(m)}`);
  }
  assertEq(c.body.messages.map((m) => m.seq), c.body.messages.map((_, j) => j + 1), 'stored seqs are 1..N');
  const inputs = checkPattern(c.body.messages, `conversation ${rec.conversation}`);
  const lo = rec.acked.length, hi = lo + (rec.inflight ? 1 : 0);
  assert(inputs >= lo && inputs <= hi, `${inputs} inputs stored; acked ${lo}, in flight ${hi - lo}`);
  return c.body.messages;
}

/* Reconnects, checks welcome and history, resends the input that was in
 * flight and sends one more: the answer numbers show the exact state. */
async function checkContinues(srv, rec, stored) {
  const v = await srv.visitor({ channel: 'counter', visitor: rec.visitor });
  try {
    assertEq([v.welcome.type, v.welcome.resumed, v.welcome.conversation], ['welcome', true, rec.conversation], 'welcome');
    await v.barrier();
    const history = v.frames.filter((f) => f.type === 'message').map((f) => [f.seq, f.from, f.text]);
    const want = stored.filter((m) => m.kind === 'text').map((m) => [m.seq, m.from, m.body.text]);
    assertEq(history, want, 'history after the restart');
    let n = rec.acked.length;
    if (rec.inflight) {
      const r = await v.input(rec.inflight);
      assertEq(r.reply.type, 'ack', `resent ${rec.inflight.id}`);
      n++;
      const answer = r.frames.filter((f) => f.type === 'message').map((f) => f.text);
      const wasStored = stored.some((m) => m.from === 'visitor' && m.body.text === rec.inflight.text);
      assertEq(answer, wasStored ? [] : [`#${n}: ${rec.inflight.text}`, 'Say something.'], `answer to the resent ${rec.inflight.id}`);
      if (wasStored) {
        const first = stored.find((m) => m.from === 'visitor' && m.body.text === rec.inflight.text);
        assertEq(r.reply.seq, first.seq, 'ack seq of an input stored before the kill');
      }
      rec.inflightStored = wasStored;
    }
    const r = await v.text('after', 'after the crash');
    assertEq(r.reply.type, 'ack', 'input after the restart');
    assertEq(r.frames.filter((f) => f.type === 'message').map((f) => f.text), [`#${n + 1}: after the crash`, 'Say something.'],
      'the next step of the flow');
  } finally {
    await v.close();
  }
}

runMain(async (results) => {
  const flows = flowsFolder('crash', { 'counter.flow': COUNTER, 'desk.flow': DESK });
  const data = tempDir('crash-data');
  let srv = await new Flowd({ flowd, flows, data }).start();
  const deskId = freshVisitorId('desk');
  let desk, deskEntry, recs;
  try {
    await srv.setAgents(1);
    await srv.setClock({ utc: T0 });
    await results.check('before the kill: a handoff waits with its timer', async () => {
      desk = await srv.visitor({ channel: 'desk', visitor: deskId });
      await desk.barrier();
      assertEq(desk.messages().map((m) => m.text), ['Hello.', 'Waiting for an agent.'], 'desk greeting');
      const q = await srv.agent('GET', '/api/queue');
      deskEntry = q.body.find((x) => x.conversation === desk.welcome.conversation);
      assert(deskEntry && deskEntry.waiting_since === T0, `queue entry: ${q.text}`);
    });
    const hardStop = Date.now() + LOAD_MS + 8000;
    const running = Array.from({ length: VISITORS }, (_, i) => load(srv, i, hardStop));
    await sleep(LOAD_MS);
    await srv.kill9();
    recs = await within(15000, Promise.all(running), 'the load to notice the kill');
    const acked = recs.reduce((n, r) => n + r.acked.length, 0);
    const inflight = recs.filter((r) => r.inflight).length;
    console.log(`load: ${recs.filter((r) => r.conversation).length} conversations, ${acked} acked inputs, ${inflight} in flight at the kill`);
    await results.check('load ran without errors before the kill', async () => {
      const errs = recs.flatMap((r) => r.errors);
      assertEq(errs, [], 'error frames under load');
      assert(recs.every((r) => r.conversation), 'every visitor got a conversation');
      assert(acked >= VISITORS * 5, `only ${acked} inputs acked in ${LOAD_MS} ms`);
      assert(recs.every((r) => r.v.closed), 'a socket survived the kill');
    });
  } finally {
    await srv.kill9();
  }

  srv = await new Flowd({ flowd, flows, data }).start();
  try {
    const stored = new Map();
    await results.check('after the restart: every acked input and every sent output is stored', async () => {
      for (const rec of recs.filter((r) => r.conversation)) stored.set(rec, await checkStored(srv, rec));
    });
    await results.check('after the restart: every conversation goes on from its exact state', async () => {
      const bad = [];
      await Promise.all([...stored.keys()].map((rec) => checkContinues(srv, rec, stored.get(rec))
        .catch((e) => bad.push(`conversation ${rec.conversation}: ${e.message}`))));
      assertEq(bad, [], 'conversations that did not continue');
      const flight = [...stored.keys()].filter((r) => r.inflight);
      console.log(`in flight at the kill: ${flight.filter((r) => r.inflightStored).length} stored (acked again on resend,`
        + ` not run twice), ${flight.filter((r) => !r.inflightStored).length} not stored (run on resend)`);
    });
    await results.check('after the restart: the pending handoff timer fires when its time comes', async () => {
      assert(deskEntry, 'no handoff was pending before the kill');
      const q = await srv.agent('GET', '/api/queue');
      assert(q.body.some((x) => x.conversation === desk.welcome.conversation), `not queued after the restart: ${q.text}`);
      const v = await srv.visitor({ channel: 'desk', visitor: deskId });
      assertEq([v.welcome.resumed, v.welcome.status], [true, 'queued'], 'desk welcome after the restart');
      await v.barrier();
      const from = v.frames.length;
      await srv.setClock({ utc: T0 + 299 });
      await v.barrier();
      assertEq(v.messages(from).map((m) => m.text), [], 'outputs a second before the wait ends');
      await srv.setClock({ utc: T0 + 301 });
      await v.barrier();
      assertEq(v.messages(from).map((m) => m.text), ['Sorry, nobody came.'], 'offline path after the restart');
      assert(v.frames.slice(from).some((f) => f.type === 'ended'), 'no ended frame');
      await v.close();
    });
    await results.check('after the restart: new conversations start normally', async () => {
      const v = await srv.visitor({ channel: 'counter', visitor: freshVisitorId('new') });
      assertEq(v.welcome.resumed, false, 'a new visitor');
      const ids = recs.map((r) => r.conversation);
      assert(!ids.includes(v.welcome.conversation), `conversation id ${v.welcome.conversation} reused`);
      await v.barrier();
      const r = await v.text('n1', 'hi');
      assertEq(v.messages().map((m) => m.text), ['Ready.', 'Say something.', '#1: hi', 'Say something.'], 'a new conversation');
      assertEq(r.reply.seq, 3, 'ack seq');
      await v.close();
    });
  } finally {
    const exit = await srv.stop();
    if (exit.code !== 0) results.fail('flowd stops on SIGTERM', `exit ${JSON.stringify(exit)}; its stderr ends:\n${srv.stderr.slice(-4000)}`);
    const errors = srv.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
    if (errors.length) results.fail('flowd logged no errors after the restart', errors.join(' | '));
  }

}, 60000);
