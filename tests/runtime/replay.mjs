// Replays every conformance transcript (SHARED/conformance/*/*.chat) over
// the wire against flowd and checks the outputs are what `flowc test`
// expects (spec section 12). The VM's outputs are read from the `event`
// frames of a "debug": true socket (docs/protocol.md), each a transcript line.
//
// usage: node replay.mjs FLOWD SHARED_DIR
// Also replays this folder's transcripts/*/ (cases the shared suite misses).
//
// Scene lines: @time -> POST /api/test/clock {local, channel}; @agents ->
// POST /api/test/agents; @visitor -> keys of the hello. @taken -> the agent
// API's take; @timeout -> the test clock moved past the handoff wait. Before
// each `>`, @taken, @timeout and at the end, a ping/pong barrier makes sure
// every output of what was sent before has arrived, and all must be matched.
// A MUST-FAIL transcript passes when the replay fails at its line.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Flowd, freshVisitorId, flowdPath, runMain, tempDir, within } from './lib.mjs';

const flowd = flowdPath();
const shared = path.resolve(process.argv[3] || '/work/shared');
const flowc = path.join(path.dirname(flowd), 'flowc');

class ChatFailure extends Error {}

/* Newlines and backslashes as written in .chat files (fc_chat.c escaped()). */
const escaped = (s) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const unescape = (s) => s.replace(/\\(n|\\)/g, (_, c) => (c === 'n' ? '\n' : '\\'));

/* The flow's time zone and longest handoff wait, read from its source. */
function flowInfo(src) {
  const zone = /^\s*hours\s+"([^"]+)"/m.exec(src);
  let maxWait = 120; // the default wait, 2m
  for (const m of src.matchAll(/\bwait\s+(\d+)\s*([smh])\b/g))
    maxWait = Math.max(maxWait, Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2]]);
  return { zone: zone ? zone[1] : 'UTC', maxWait };
}

/* Offset of a zone from UTC at an instant, in ms (Intl knows the zones). */
function zoneOffsetMs(zone, utcMs) {
  const dtf = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric',
    minute: 'numeric', second: 'numeric',
  });
  const p = Object.fromEntries(dtf.formatToParts(new Date(utcMs)).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - utcMs;
}

/* "YYYY-MM-DD HH:MM" local in zone -> UTC seconds. */
function localToUtc(zone, local) {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2})$/.exec(local.trim());
  if (!m) return null;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  let t = guess - zoneOffsetMs(zone, guess);
  t = guess - zoneOffsetMs(zone, t);
  return Math.floor(t / 1000);
}

/* `@visitor KEY=VALUE ...` as fc_chat.c reads it. */
function parseVisitor(arg, fail) {
  const facts = {};
  let p = 0;
  while (p < arg.length) {
    while (arg[p] === ' ' || arg[p] === '\t') p++;
    if (p >= arg.length) break;
    const k0 = p;
    while (p < arg.length && arg[p] !== '=' && arg[p] !== ' ') p++;
    if (arg[p] !== '=') fail('bad @visitor (expected KEY=VALUE)');
    const key = arg.slice(k0, p++);
    let val = '';
    if (arg[p] === '"') {
      for (p++; p < arg.length && arg[p] !== '"'; p++) {
        if (arg[p] === '\\' && (arg[p + 1] === '"' || arg[p + 1] === '\\')) p++;
        val += arg[p];
      }
      if (arg[p] !== '"') fail('bad @visitor: unterminated quote');
      p++;
    } else {
      while (p < arg.length && arg[p] !== ' ' && arg[p] !== '\t') val += arg[p++];
    }
    if (['name', 'email', 'page', 'device', 'country'].includes(key)) facts[key] = val;
    else if (key === 'returning' && (val === 'true' || val === 'false')) facts.returning = val === 'true';
    else if (key === 'returning') fail('bad @visitor: returning must be true or false');
    else fail(`bad @visitor: unknown key '${key}'`);
  }
  return facts;
}

/* One transcript over the wire; returns null (passed) or the failure line
 * `CHAT:LINE: message`, as `flowc test` prints it. */
async function replay(srv, flow, info, chatPath) {
  const name = path.basename(chatPath);
  let text = fs.readFileSync(chatPath, 'utf8');
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  const st = {
    srv, flow, info, clock: 0, v: null, head: 0, inputs: 0, ended: false,
    hello: { channel: flow, visitor: freshVisitorId(flow), debug: true, name: '', email: '', page: '/',
      device: 'desktop', country: '', returning: false },
  };
  let lineno = 0;
  const fail = (msg) => { throw new ChatFailure(`${name}:${lineno}: ${msg}`); };
  st.fail = fail;
  try {
    // the default scene of `flowc test`: a Monday noon, one agent online
    await setTime(st, '2026-01-05 12:00');
    await setAgents(st, 1);
    for (const raw of lines) {
      lineno++;
      const s = raw.replace(/[\r \t]+$/, '').replace(/^[ \t]+/, '');
      if (s && s[0] !== '#') await step(st, s);
    }
    lineno = lineno || 1;
    await start(st);
    await allMatched(st);
    return null;
  } catch (e) {
    if (e instanceof ChatFailure) return e.message;
    return `${name}:${lineno}: (replay error) ${e.message}`;
  } finally {
    if (st.v) await st.v.close();
  }
}

async function setTime(st, local) {
  const utc = localToUtc(st.info.zone, local);
  if (utc === null) st.fail('bad @time (expected @time YYYY-MM-DD HH:MM)');
  const r = await st.srv.setClock({ local, channel: st.flow });
  if (r.status !== 200) st.fail(`POST /api/test/clock answered ${r.status} ${r.text}`);
  st.clock = utc;
}

async function setAgents(st, n) {
  const r = await st.srv.setAgents(n);
  if (r.status !== 200) st.fail(`POST /api/test/agents answered ${r.status} ${r.text}`);
}

async function scene(st, s) {
  if (s.startsWith('@time ')) return setTime(st, s.slice(6));
  if (s.startsWith('@agents ')) {
    const n = s.slice(8);
    if (!/^\d+$/.test(n)) st.fail('bad @agents (expected a count)');
    return setAgents(st, Number(n));
  }
  if (s.startsWith('@visitor ')) {
    const facts = parseVisitor(s.slice(9), st.fail);
    if (st.v) st.fail('@visitor after the conversation started cannot be replayed over the wire');
    Object.assign(st.hello, facts);
    return undefined;
  }
  return st.fail(`unknown line '${s}'`);
}

/* The conversation starts at the first line that is not a scene line. */
async function start(st) {
  if (st.v) return;
  st.v = await st.srv.visitor(st.hello);
  if (st.v.welcome.type !== 'welcome') st.fail(`hello refused: ${JSON.stringify(st.v.welcome)}`);
  if (st.v.welcome.resumed !== false) st.fail(`a fresh visitor got resumed: ${JSON.stringify(st.v.welcome)}`);
  st.conversation = st.v.welcome.conversation;
  await st.v.barrier();
}

async function step(st, s) {
  if (s[0] === '@' && s !== '@taken' && s !== '@timeout') return scene(st, s);
  await start(st);
  if (s[0] === '>') {
    await allMatched(st);
    return visitorInput(st, s.slice(1));
  }
  if (s === '@taken') {
    await allMatched(st);
    return taken(st);
  }
  if (s === '@timeout') {
    await allMatched(st);
    return timeout(st);
  }
  return expect(st, s);
}

function expect(st, want) {
  want = unescape(want);
  const got = st.v.events();
  if (st.head >= got.length) st.fail(`expected '${escaped(want)}', got nothing`);
  if (got[st.head] !== want) st.fail(`expected '${escaped(want)}', got '${escaped(got[st.head])}'`);
  st.head++;
}

/* Every output so far matched: the barrier lets the last ones arrive. */
async function allMatched(st) {
  await st.v.barrier();
  const got = st.v.events();
  if (st.head < got.length) st.fail(`unexpected '${escaped(got[st.head])}'`);
}

const hasEnded = (st) => st.v.frames.some((f) => f.type === 'ended' || (f.type === 'status' && f.status === 'closed'));

async function visitorInput(st, text) {
  if (text[0] === ' ') text = text.slice(1);
  const id = `c${++st.inputs}`;
  let frame, label = null;
  if (text.length >= 2 && text[0] === '[' && text[text.length - 1] === ']') {
    label = unescape(text.slice(1, -1));
    if (hasEnded(st)) st.fail('the conversation has ended');
    const buttons = st.v.lastButtons() || [];
    const index = buttons.indexOf(label);
    if (index < 0) st.fail(`no button '${label}'`);
    frame = { type: 'click', id, button: index };
  } else {
    frame = { type: 'text', id, text: unescape(text) };
  }
  const { reply } = await st.v.input(frame);
  if (reply.type === 'error') {
    if (reply.code === 'ended') st.fail('the conversation has ended');
    if (reply.code === 'no_button') st.fail(`no button '${label ?? ''}'`);
    st.fail(`error frame ${reply.code}: ${reply.message}`);
  }
}

/* The conversation's entry in the agents' queue, or a failure. */
async function queued(st) {
  if (hasEnded(st)) st.fail('the conversation has ended');
  const q = await st.srv.agent('GET', '/api/queue');
  if (q.status !== 200 || !Array.isArray(q.body)) st.fail(`GET /api/queue answered ${q.status} ${q.text}`);
  const item = q.body.find((x) => x.conversation === st.conversation);
  if (!item) st.fail('no handoff is waiting');
  return item;
}

async function taken(st) {
  await queued(st);
  const r = await st.srv.agent('POST', `/api/conversations/${st.conversation}/take`, { agent: 'Replay' });
  if (r.status !== 200) st.fail(`take answered ${r.status} ${r.text}`);
  await st.v.barrier();
}

async function timeout(st) {
  const item = await queued(st);
  const utc = Math.max(st.clock, item.waiting_since) + st.info.maxWait + 1;
  const r = await st.srv.setClock({ utc });
  if (r.status !== 200) st.fail(`POST /api/test/clock answered ${r.status} ${r.text}`);
  st.clock = utc;
  await st.v.barrier();
}

/* What `flowc test` says about a transcript: null (passed) or its failure. */
function reference(flowPath, chatPath) {
  if (!fs.existsSync(flowc)) return undefined;
  const r = spawnSync(flowc, ['test', flowPath, chatPath], { encoding: 'utf8', timeout: 20000 });
  const out = (r.stdout || '').trim().split('\n');
  if (r.status === 0) return null;
  const prefix = `${chatPath}:`;
  const line = out.find((l) => l.startsWith(prefix));
  return line ? path.basename(chatPath) + ':' + line.slice(prefix.length) : `(flowc exit ${r.status})`;
}

async function replayFolder(results, dir) {
  const flowFile = fs.readdirSync(dir).find((f) => f.endsWith('.flow'));
  const chats = fs.readdirSync(dir).filter((f) => f.endsWith('.chat')).sort();
  if (!flowFile || !chats.length) return;
  const flow = flowFile.slice(0, -5);
  const src = fs.readFileSync(path.join(dir, flowFile), 'utf8');
  const flows = tempDir(`${flow}-flows`);
  fs.copyFileSync(path.join(dir, flowFile), path.join(flows, flowFile));
  const srv = await new Flowd({ flowd, flows, data: tempDir(`${flow}-data`) }).start();
  try {
    for (const chat of chats) {
      const chatPath = path.join(dir, chat);
      const label = `${path.basename(dir)}/${chat}`;
      const first = fs.readFileSync(chatPath, 'utf8').split('\n')[0];
      const must = /^# MUST-FAIL AT (\d+)$/.exec(first.trim());
      let got;
      try {
        got = await within(30000, replay(srv, flow, flowInfo(src), chatPath), label);
      } catch (e) {
        got = `${chat}:?: ${e.message}`;
      }
      const ref = reference(path.join(dir, flowFile), chatPath);
      if (must) {
        const at = `${chat}:${must[1]}: `;
        if (!got) results.fail(label, `must fail at line ${must[1]} but the replay passed`);
        else if (!got.startsWith(at)) results.fail(label, `must fail at line ${must[1]}; got ${got}`);
        else if (ref && ref !== got) results.fail(label, `failed as it must, but flowc test says '${ref}', the replay '${got}'`);
        else results.ok(`${label} (fails as it must: ${got})`);
      } else if (got) {
        results.fail(label, got + (ref === null ? ' (flowc test passes it)' : ''));
      } else {
        results.ok(label);
      }
    }
  } finally {
    const exit = await srv.stop();
    if (exit.code !== 0) results.fail(`${flow}: flowd stop`, `exit ${JSON.stringify(exit)}; its stderr ends:\n${srv.stderr.slice(-4000)}`);
    if (/"level":"error"/.test(srv.stderr)) results.fail(`${flow}: flowd log`, srv.stderr.split('\n').filter((l) => l.includes('"error"')).join(' | '));
  }
}

runMain(async (results) => {
  const suite = path.join(shared, 'conformance');
  const folders = [];
  if (fs.existsSync(suite)) folders.push(...fs.readdirSync(suite).sort().map((d) => path.join(suite, d)));
  else console.log(`no conformance suite at ${suite}: skipped`);
  // this project's own transcripts of cases the shared suite does not reach
  const local = path.join(path.dirname(fileURLToPath(import.meta.url)), 'transcripts');
  if (fs.existsSync(local)) folders.push(...fs.readdirSync(local).sort().map((d) => path.join(local, d)));
  for (const dir of folders)
    if (fs.statSync(dir).isDirectory()) await replayFolder(results, dir);
}, 120000);
