// Black-box tests of flowd's protocol (docs/protocol.md): the agent API and
// handoff, timers, bad input, dedupe, returning visitors, health and
// metrics, reloading the flows folder. One server with its own folders.
//
// usage: node server.mjs FLOWD
import fs from 'node:fs';
import path from 'node:path';
import {
  Flowd, Visitor, assert, assertEq, flowdPath, flowsFolder, freshVisitorId, runMain, sleep, tempDir, until, within,
} from './lib.mjs';

const flowd = flowdPath();

/* The conformance suite's acme flow, kept here so this file needs nothing else. */
const SHOP = `flow "Acme support"

hours "Europe/Warsaw" {
  mon-fri 09:00-17:00
  sat 10:00-14:00
}

var name: text
var email: email
var budget: number = 0

fallback "Sorry, please pick one of the buttons."

on "human", "agent", "operator" -> human

node start {
  say "Hi {visitor.name|there}! How can we help?"
  choice {
    "Pricing" -> pricing
    "Book a demo" -> demo
    "Talk to a person" -> human
  }
}

node pricing {
  say "Plans start at 10 EUR a month."
  choice "Anything else?" {
    "Yes" -> start
    "No, thanks" { say "Have a nice day!"; end }
  }
}

node demo {
  ask name "What is your name?"
  ask email "Thanks {name}! Your email?" retry "That does not look like an email address."
  ask budget "Monthly budget in EUR?"
  if budget >= 1000 {
    tag "qualified"
    goto human
  }
  lead { name: name, email: email, value: budget }
  say "Thanks, we will write to {email}."
  end
}

node human {
  handoff "sales" {
    online "Connecting you with our sales team..."
    wait 2m
    offline -> capture
  }
}

node capture {
  say "Nobody is available right now."
  ask email "Leave your email and we will get back to you."
  lead { email: email, note: "offline request" }
  end
}
`;

const reloadFlow = (version) => `flow "Reload"

var x: text

node start {
  say "${version}"
  ask x "Type something."
  say "${version} got {x}"
}
`;

const GREETING = 'Hi there! How can we help?';
const MENU = ['Pricing', 'Book a demo', 'Talk to a person'];
const TOKEN = 'secret-token';
const MONDAY_NOON = '2026-01-05 12:00';

/* Clicks the button with this label in the last buttons frame. */
async function clickLabel(v, id, label) {
  const buttons = v.lastButtons();
  const i = buttons ? buttons.indexOf(label) : -1;
  assert(i >= 0, `no button '${label}' offered (last buttons: ${JSON.stringify(buttons)})`);
  const r = await v.click(id, i);
  assert(r.reply.type === 'ack', `click '${label}' got ${JSON.stringify(r.reply)}`);
  return r;
}

async function textOk(v, id, text) {
  const r = await v.text(id, text);
  assert(r.reply.type === 'ack', `text '${text.slice(0, 40)}' got ${JSON.stringify(r.reply)}`);
  return r;
}

const texts = (frames) => frames.filter((f) => f.type === 'message').map((f) => f.text);

/* A new visitor on the shop channel, at the greeting. */
async function shopVisitor(srv, extra = {}) {
  const v = await srv.visitor({ channel: 'shop', visitor: freshVisitorId('s'), ...extra });
  assertEq(v.welcome.type, 'welcome', 'hello answer');
  await v.barrier();
  assertEq(texts(v.frames), [extra.name ? GREETING.replace('there', extra.name) : GREETING], 'first bot messages');
  assertEq(v.lastButtons(), MENU, 'first buttons');
  return v;
}

async function queueOf(srv) {
  const q = await srv.agent('GET', '/api/queue');
  assertEq(q.status, 200, 'GET /api/queue status');
  assert(Array.isArray(q.body), `GET /api/queue: not an array: ${q.text}`);
  return q.body;
}

/* A visitor waiting in the sales queue; returns [visitor, queue entry]. */
async function queuedVisitor(srv) {
  const v = await shopVisitor(srv);
  const r = await clickLabel(v, 'h1', 'Talk to a person');
  assertEq(texts(r.frames), ['Connecting you with our sales team...'], 'handoff message');
  assert(r.frames.some((f) => f.type === 'status' && f.status === 'queued'), 'no status queued frame');
  const entry = (await queueOf(srv)).find((x) => x.conversation === v.welcome.conversation);
  assert(entry, `conversation ${v.welcome.conversation} not in the queue`);
  return [v, entry];
}

/* ---- (a) handoff through the agent API ------------------------------------ */

async function handoff(results, srv) {
  let v, id;
  await results.check('handoff: conversation joins the queue', async () => {
    let entry;
    [v, entry] = await queuedVisitor(srv);
    id = v.welcome.conversation;
    assertEq(entry.channel, 'shop', 'queue entry channel');
    assertEq(entry.team, 'sales', 'queue entry team');
    assert(Number.isInteger(entry.waiting_since) && entry.waiting_since > 0, `waiting_since ${entry.waiting_since}`);
  });
  if (!v) return;
  await results.check('agent API: 401 without or with a wrong token', async () => {
    for (const [method, p, body] of [['GET', '/api/queue'], ['GET', `/api/conversations/${id}`],
      ['POST', `/api/conversations/${id}/take`, { agent: 'Eve' }], ['POST', `/api/conversations/${id}/close`, {}]]) {
      const none = await srv.http(method, p, body);
      assertEq([none.status, none.body], [401, { error: 'unauthorized' }], `${method} ${p} without a token`);
      const wrong = await srv.http(method, p, body, { token: `${TOKEN}x` });
      assertEq(wrong.status, 401, `${method} ${p} with a wrong token`);
      const prefix = await srv.http(method, p, body, { token: TOKEN.slice(0, -1) });
      assertEq(prefix.status, 401, `${method} ${p} with a prefix of the token`);
    }
    assert((await queueOf(srv)).some((x) => x.conversation === id), 'a refused take changed the queue');
  });
  await results.check('agent API: 404 for an unknown conversation or endpoint', async () => {
    for (const [method, p, body] of [['GET', '/api/conversations/999999'],
      ['POST', '/api/conversations/999999/take', { agent: 'Anna' }], ['POST', '/api/conversations/999999/reply', { text: 'hi' }],
      ['POST', '/api/conversations/999999/close', {}], ['GET', '/api/nothing-here']]) {
      const r = await srv.agent(method, p, body);
      assertEq(r.status, 404, `${method} ${p}`);
      assert(r.body && typeof r.body.error === 'string', `${method} ${p}: no error in ${r.text}`);
    }
  });
  await results.check('agent API: 400 for a bad body', async () => {
    const r = await srv.agent('POST', `/api/conversations/${id}/take`, 'not json');
    assertEq(r.status, 400, 'take with a body that is not JSON');
    const e = await srv.agent('POST', `/api/conversations/${id}/reply`, { agent: 'Anna' });
    assertEq(e.status, 400, 'reply without text');
  });
  await results.check('handoff: GET /api/conversations/ID while queued', async () => {
    const r = await srv.agent('GET', `/api/conversations/${id}`);
    assertEq(r.status, 200, 'status');
    assertEq([r.body.conversation, r.body.channel, r.body.status, r.body.team], [id, 'shop', 'queued', 'sales'], 'fields');
    const kinds = r.body.messages.map((m) => `${m.from}/${m.kind}`);
    assertEq(kinds, ['bot/text', 'bot/buttons', 'visitor/text', 'bot/text', 'system/handoff'], 'stored messages');
    assertEq(r.body.messages.map((m) => m.seq), [1, 2, 3, 4, 5], 'seqs');
  });
  await results.check('handoff: take -> visitor sees agent_joined with the name', async () => {
    const from = v.frames.length;
    const r = await srv.agent('POST', `/api/conversations/${id}/take`, { agent: 'Anna' });
    assertEq([r.status, r.body.status, r.body.outcome], [200, 'agent', 'handoff'], 'take answer');
    await v.barrier();
    const joined = v.frames.slice(from).find((f) => f.type === 'agent_joined');
    assert(joined && joined.name === 'Anna', `no agent_joined Anna: ${JSON.stringify(v.frames.slice(from))}`);
    assert(!(await queueOf(srv)).some((x) => x.conversation === id), 'still in the queue after take');
    const again = await srv.agent('POST', `/api/conversations/${id}/take`, { agent: 'Bob' });
    assertEq(again.status, 409, 'another agent taking it');
  });
  await results.check('handoff: visitor text reaches the agent, agent reply reaches the visitor', async () => {
    const t = await textOk(v, 'v1', 'Hello Anna, about pricing');
    assertEq(texts(t.frames), [], 'bot answers after the take');
    const from = v.frames.length;
    const r = await srv.agent('POST', `/api/conversations/${id}/reply`, { agent: 'Anna', text: 'Hi! I can help.' });
    assertEq(r.status, 200, 'reply status');
    await v.barrier();
    const m = v.frames.slice(from).find((f) => f.type === 'message');
    assert(m && m.from === 'agent' && m.text === 'Hi! I can help.', `agent message: ${JSON.stringify(v.frames.slice(from))}`);
    const c = await srv.agent('GET', `/api/conversations/${id}`);
    const last = c.body.messages.slice(-2).map((x) => [x.from, x.body.text]);
    assertEq(last, [['visitor', 'Hello Anna, about pricing'], ['agent', 'Hi! I can help.']], 'stored conversation');
  });
  await results.check('handoff: close -> visitor sees status closed; 409 afterwards', async () => {
    const from = v.frames.length;
    const r = await srv.agent('POST', `/api/conversations/${id}/close`, {});
    assertEq([r.status, r.body.status], [200, 'closed'], 'close answer');
    await v.barrier();
    assert(v.frames.slice(from).some((f) => f.type === 'status' && f.status === 'closed'), 'no status closed frame');
    const take = await srv.agent('POST', `/api/conversations/${id}/take`, { agent: 'Anna' });
    assertEq(take.status, 409, 'taking a closed conversation');
    const reply = await srv.agent('POST', `/api/conversations/${id}/reply`, { agent: 'Anna', text: 'late' });
    assertEq(reply.status, 409, 'replying to a closed conversation');
    const t = await v.text('v2', 'are you there?');
    assertEq([t.reply.type, t.reply.code], ['error', 'ended'], 'visitor text after close');
  });
  await v.close();
}

/* ---- (b) a handoff timer fires ---------------------------------------------- */

async function timer(results, srv) {
  await results.check('timer: the handoff wait runs out -> the offline path', async () => {
    const [v, entry] = await queuedVisitor(srv);
    const due = entry.waiting_since + 120;
    const from = v.frames.length;
    await srv.setClock({ utc: due - 1 });
    await v.barrier();
    assertEq(texts(v.frames.slice(from)), [], 'outputs a second before the wait ends');
    assert((await queueOf(srv)).some((x) => x.conversation === v.welcome.conversation), 'left the queue too early');
    await srv.setClock({ utc: due + 1 });
    await v.barrier();
    assertEq(texts(v.frames.slice(from)), ['Nobody is available right now.', 'Leave your email and we will get back to you.'],
      'offline path messages');
    assert(!(await queueOf(srv)).some((x) => x.conversation === v.welcome.conversation), 'still queued after the timer');
    const r = await textOk(v, 't1', 'jan@example.com');
    const ended = r.frames.find((f) => f.type === 'ended');
    assert(ended && ended.outcome === 'lead', `no ended lead: ${JSON.stringify(r.frames)}`);
    await v.close();
  });
  await srv.setClock({ local: MONDAY_NOON, channel: 'shop' });
}

/* ---- abandonment: a visitor leaves while the bot waits ---------------------- */

async function conversationOf(srv, id) {
  const r = await srv.agent('GET', `/api/conversations/${id}`);
  assertEq(r.status, 200, `GET /api/conversations/${id}`);
  return r.body;
}

async function abandonment(results, srv) {
  await results.check('abandoned: a visitor who left while the bot waits is abandoned after --abandon-after', async () => {
    const v = await shopVisitor(srv);
    const id = v.welcome.conversation;
    const now = (await conversationOf(srv, id)).messages[0].at;
    await v.close();
    await sleep(200); /* the server handles the close on its own thread */
    await srv.setClock({ utc: now + 1799 });
    assertEq((await conversationOf(srv, id)).status, 'bot', 'status a second before the idle time ends');
    await srv.setClock({ utc: now + 1801 });
    const c = await conversationOf(srv, id);
    assertEq([c.status, c.outcome], ['closed', 'abandoned'], 'status and outcome after the idle time');
  });
  await results.check('abandoned: a visitor who comes back in time is not', async () => {
    const vid = freshVisitorId('a');
    const v = await shopVisitor(srv, { visitor: vid });
    const id = v.welcome.conversation;
    const now = (await conversationOf(srv, id)).messages[0].at;
    await v.close();
    await sleep(200);
    const back = await srv.visitor({ channel: 'shop', visitor: vid });
    assertEq([back.welcome.conversation, back.welcome.resumed], [id, true], 'the same conversation resumed');
    await srv.setClock({ utc: now + 4000 });
    assertEq((await conversationOf(srv, id)).status, 'bot', 'status after the idle time with the visitor back');
    await back.close();
  });
  await srv.setClock({ local: MONDAY_NOON, channel: 'shop' });
}

/* ---- (c) bad input ------------------------------------------------------------ */

async function expectError(v, frame, code, what) {
  const from = v.frames.length;
  await v.send(frame);
  const e = await v.waitFor((f) => f.type === 'error' || f.type === 'ack', 5000, what, from);
  assertEq([e.type, e.code], ['error', code], what);
  await v.barrier(); // the socket still answers
  assert(!v.closed, `${what}: socket closed`);
  return e;
}

async function badInput(results, srv) {
  await results.check('bad input: the first frame must be a hello (bad_hello, closed)', async () => {
    for (const first of [{ type: 'text', id: 'x', text: 'hi' }, { type: 'ping' }, 'not json', Buffer.from([1, 2])]) {
      const v = await Visitor.open(srv);
      await v.send(first);
      const e = await v.waitFor((f) => f.type === 'error', 5000, 'bad_hello');
      assertEq(e.code, 'bad_hello', `first frame ${JSON.stringify(first)}`);
      const closed = await within(5000, v.closedPromise, 'the socket to close');
      assertEq(closed.code, 1008, `close code after first frame ${JSON.stringify(first)}`);
    }
    for (const hello of [{ channel: 'nope', visitor: 'x' }, { channel: 'shop' }, { channel: 'shop', visitor: 'v'.repeat(65) }]) {
      const v = await Visitor.open(srv);
      await v.send({ type: 'hello', ...hello });
      const e = await v.waitFor((f) => f.type === 'error', 5000, 'bad_hello');
      assertEq(e.code, 'bad_hello', `hello ${JSON.stringify(hello)}`);
      const closed = await within(5000, v.closedPromise, 'the socket to close');
      assertEq(closed.code, 1008, `close code after hello ${JSON.stringify(hello)}`);
    }
  });
  const v = await shopVisitor(srv);
  await results.check('bad input: malformed JSON and non-objects -> bad_json, socket stays open', async () => {
    await expectError(v, '{"type": "text", ', 'bad_json', 'truncated JSON');
    await expectError(v, '[1, 2, 3]', 'bad_json', 'a JSON array');
    await expectError(v, '"hello"', 'bad_json', 'a JSON string');
    await expectError(v, { type: 'text', id: 'b1', text: 42 }, 'bad_json', 'text that is not a string');
  });
  await results.check('bad input: unknown or missing type -> unknown_type', async () => {
    await expectError(v, { type: 'dance', id: 'u1' }, 'unknown_type', 'an unknown type');
    await expectError(v, { id: 'u2', text: 'hi' }, 'unknown_type', 'no type');
    await expectError(v, { type: 'hello', channel: 'shop', visitor: 'again' }, 'unknown_type', 'a second hello');
  });
  await results.check('bad input: text length counts characters (512 é ok, 513 too_long)', async () => {
    const ok = await v.text('l1', 'é'.repeat(512));
    assertEq(ok.reply.type, 'ack', '512 × é (1024 bytes)');
    assertEq(texts(ok.frames), ['Sorry, please pick one of the buttons.'], 'answer to 512 × é');
    const emoji = await v.text('l2', '😀'.repeat(512));
    assertEq(emoji.reply.type, 'ack', '512 × 😀 (2048 bytes)');
    const ascii = await v.text('l3', 'a'.repeat(512));
    assertEq(ascii.reply.type, 'ack', '512 × a');
    const e = await expectError(v, { type: 'text', id: 'l4', text: 'é'.repeat(513) }, 'too_long', '513 × é');
    assertEq(e.id, 'l4', 'too_long names the input');
    await expectError(v, { type: 'text', id: 'l5', text: 'a'.repeat(513) }, 'too_long', '513 × a');
    const c = await srv.agent('GET', `/api/conversations/${v.welcome.conversation}`);
    const ids = c.body.messages.filter((m) => m.from === 'visitor').map((m) => [...m.body.text].length);
    assertEq(ids, [512, 512, 512], 'stored visitor texts (characters)');
  });
  await results.check('bad input: missing, empty or over-long id -> too_long', async () => {
    await expectError(v, { type: 'text', text: 'hi' }, 'too_long', 'no id');
    await expectError(v, { type: 'text', id: '', text: 'hi' }, 'too_long', 'empty id');
    await expectError(v, { type: 'click', button: 0 }, 'too_long', 'click without id');
    await expectError(v, { type: 'text', id: 'i'.repeat(65), text: 'hi' }, 'too_long', '65-byte id');
    const ok = await v.text('é'.repeat(32), 'hello'); // 64 bytes
    assertEq(ok.reply.type, 'ack', 'a 64-byte id');
  });
  await results.check('bad input: click on a button not offered -> no_button', async () => {
    await expectError(v, { type: 'click', id: 'k1', button: 3 }, 'no_button', 'button 3 of 3');
    await expectError(v, { type: 'click', id: 'k2', button: -1 }, 'no_button', 'button -1');
    await expectError(v, { type: 'click', id: 'k3', button: 'Pricing' }, 'no_button', 'button as a string');
    await expectError(v, { type: 'click', id: 'k4' }, 'no_button', 'no button');
  });
  await results.check('bad input: a frame over 64 KB closes the socket with 1009', async () => {
    const big = await shopVisitor(srv);
    await big.send({ type: 'text', id: 'big', text: 'x'.repeat(70 * 1024) });
    const closed = await within(5000, big.closedPromise, 'the close of an oversized frame');
    assertEq(closed.code, 1009, 'close code');
  });
  await results.check('bad input: more than 20 frames a second -> rate_limited, socket stays open', async () => {
    const f = await shopVisitor(srv);
    await sleep(1100); // a fresh one-second window
    f.limitRate = false;
    const from = f.frames.length;
    for (let i = 0; i < 30; i++) f.ws.send(JSON.stringify({ type: 'ping' }));
    f.ws.send(JSON.stringify({ type: 'click', id: 'flood', button: 0 }));
    await until(() => f.frames.length - from >= 31, 5000, 'answers to 31 frames');
    const got = f.frames.slice(from);
    const limited = got.filter((x) => x.type === 'error' && x.code === 'rate_limited').length;
    const pongs = got.filter((x) => x.type === 'pong').length;
    assert(limited >= 11 && pongs <= 20, `${pongs} pongs and ${limited} rate_limited of 31 frames`);
    await sleep(1100);
    f.limitRate = true;
    f.pongs = f.pingsSent = 0;
    await f.barrier();
    assert(!got.some((x) => x.type === 'ack' && x.id === 'flood'), 'a dropped click was acknowledged');
    assert(got.some((x) => x.type === 'error' && x.code === 'rate_limited' && x.id === 'flood'),
      'the rate_limited error names the dropped input');
    const c = await srv.agent('GET', `/api/conversations/${f.welcome.conversation}`);
    assertEq(c.body.messages.length, 2, 'stored messages after the flood (the click was dropped)');
    const r = await clickLabel(f, 'after', 'Pricing');
    assertEq(texts(r.frames), ['Plans start at 10 EUR a month.', 'Anything else?'], 'answer after the flood');
    await f.close();
  });
  await results.check('bad input: deeply nested JSON is refused, the server survives', async () => {
    const deep = (n) => '['.repeat(n) + ']'.repeat(n);
    await expectError(v, `{"type":"text","id":"n1","text":"a","x":${deep(1000)}}`, 'bad_json', '1000 nested arrays');
    const first = await Visitor.open(srv);
    await first.send(deep(5000));
    assertEq((await first.waitFor((f) => f.type === 'error', 5000, 'bad_hello')).code, 'bad_hello', 'nested first frame');
    await within(5000, first.closedPromise, 'the socket to close');
    const body = await srv.agent('POST', `/api/conversations/${v.welcome.conversation}/take`, `{"agent":"A","x":${deep(1000)}}`);
    assertEq(body.status, 400, 'a nested agent API body');
    const hook = await srv.http('POST', '/api/test/agents', `{"online":1,"x":${deep(1000)}}`);
    assertEq(hook.status, 400, 'a nested test hook body');
    const ok = await expectError(v, { type: 'dance', id: 'n2', x: [[[[[[[[1]]]]]]]] }, 'unknown_type', '8 levels are fine');
    assertEq(ok.id, 'n2', 'error id');
    assertEq((await srv.http('GET', '/healthz')).status, 200, 'healthz after');
  });
  await results.check('bad input: the abused socket and a new visitor still work', async () => {
    const r = await clickLabel(v, 'ok1', 'Pricing');
    assertEq(texts(r.frames), ['Plans start at 10 EUR a month.', 'Anything else?'], 'abused socket');
    const w = await shopVisitor(srv, { name: 'Ola' });
    assertEq(texts(w.frames), ['Hi Ola! How can we help?'], 'greeting with the pre-chat name');
    const p = await clickLabel(w, 'p1', 'Pricing');
    assertEq(texts(p.frames), ['Plans start at 10 EUR a month.', 'Anything else?'], 'new visitor');
    const n = await clickLabel(w, 'p2', 'No, thanks');
    assertEq(texts(n.frames), ['Have a nice day!'], 'goodbye');
    assert(n.frames.some((x) => x.type === 'ended' && x.outcome === 'resolved'), 'no ended resolved');
    await w.close();
  });
  await v.close();
}

/* ---- (d) dedupe ------------------------------------------------------------------ */

async function dedupe(results, srv) {
  await results.check('dedupe: the same id twice -> same ack seq, the bot runs once', async () => {
    const v = await shopVisitor(srv, { debug: true });
    const first = await clickLabel(v, 'd1', 'Pricing');
    const again = await v.click('d1', 0);
    assertEq([again.reply.type, again.reply.seq], ['ack', first.reply.seq], 'second ack');
    assertEq(again.frames.filter((f) => f.type !== 'ack' && f.type !== 'pong'), [], 'frames after the repeat');
    const t1 = await textOk(v, 'd2', 'No, thanks');
    const t2 = await v.text('d2', 'something else entirely');
    assertEq([t2.reply.type, t2.reply.seq], ['ack', t1.reply.seq], 'a repeated text id');
    const w = await srv.visitor({ channel: 'shop', visitor: 'dedupe-' + freshVisitorId() });
    await w.close();
    const c = await srv.agent('GET', `/api/conversations/${v.welcome.conversation}`);
    const bot = c.body.messages.filter((m) => m.from === 'bot' && m.kind === 'text').map((m) => m.body.text);
    assertEq(bot, [GREETING, 'Plans start at 10 EUR a month.', 'Anything else?', 'Have a nice day!'], 'stored bot texts');
    assertEq(c.body.messages.filter((m) => m.from === 'visitor').length, 2, 'stored visitor inputs');
    assertEq(v.events().filter((l) => l === 'bot: Plans start at 10 EUR a month.').length, 1, 'debug events of the answer');
    await v.close();
  });
  await results.check('dedupe: resending after a reconnect is acknowledged, not run again', async () => {
    const id = freshVisitorId('re');
    const v = await srv.visitor({ channel: 'shop', visitor: id });
    const first = await clickLabel(v, 'r1', 'Pricing');
    await v.close();
    const w = await srv.visitor({ channel: 'shop', visitor: id });
    assertEq([w.welcome.resumed, w.welcome.conversation], [true, v.welcome.conversation], 'resumed');
    await w.barrier();
    const from = w.frames.length;
    const again = await w.click('r1', 0);
    assertEq([again.reply.type, again.reply.seq], ['ack', first.reply.seq], 'ack after the reconnect');
    assertEq(texts(w.frames.slice(from)), [], 'bot messages after the resend');
    await w.close();
  });
}

/* ---- (e) a returning visitor --------------------------------------------------- */

async function returning(results, srv) {
  await results.check('returning visitor: welcome resumed:true and the whole history', async () => {
    const id = freshVisitorId('back');
    const v = await srv.visitor({ channel: 'shop', visitor: id });
    assertEq(v.welcome.resumed, false, 'first welcome');
    await v.barrier();
    await clickLabel(v, 'a1', 'Book a demo');
    await textOk(v, 'a2', 'Jan');
    await v.close();
    const w = await srv.visitor({ channel: 'shop', visitor: id });
    assertEq([w.welcome.resumed, w.welcome.conversation, w.welcome.status], [true, v.welcome.conversation, 'bot'], 'welcome');
    await w.barrier();
    const history = w.frames.filter((f) => f.type === 'message' || f.type === 'buttons')
      .map((f) => (f.type === 'buttons' ? `buttons:${f.buttons.join('|')}` : `${f.from}:${f.text}`));
    assertEq(history, [`bot:${GREETING}`, `buttons:${MENU.join('|')}`, 'visitor:Book a demo', 'bot:What is your name?',
      'visitor:Jan', 'bot:Thanks Jan! Your email?'], 'history');
    const seqs = w.frames.filter((f) => f.seq !== undefined).map((f) => f.seq);
    assertEq(seqs, [1, 2, 3, 4, 5, 6], 'history seqs');
    const r = await textOk(w, 'a3', 'jan@example.com');
    assertEq(texts(r.frames), ['Monthly budget in EUR?'], 'the conversation goes on where it was');
    const end = await textOk(w, 'a4', '300');
    assert(end.frames.some((f) => f.type === 'ended' && f.outcome === 'lead'), 'no ended lead');
    await w.close();
    const x = await srv.visitor({ channel: 'shop', visitor: id });
    assertEq(x.welcome.resumed, false, 'after the end a new conversation starts');
    assert(x.welcome.conversation !== v.welcome.conversation, 'a new conversation id');
    await x.close();
  });
}

/* ---- (f) health and metrics ----------------------------------------------------- */

async function health(results, srv) {
  await results.check('/healthz answers {"status":"ok"}', async () => {
    const r = await srv.http('GET', '/healthz');
    assertEq([r.status, r.body], [200, { status: 'ok' }], '/healthz');
  });
  await results.check('/metrics is Prometheus text', async () => {
    const open = await shopVisitor(srv);
    const r = await srv.http('GET', '/metrics');
    assertEq(r.status, 200, '/metrics status');
    assert(/^text\/plain/.test(r.headers.get('content-type')), `content type ${r.headers.get('content-type')}`);
    const values = new Map(), types = new Map();
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*,?)?\})? (-?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|NaN|\+Inf|-Inf))$/;
    const lines = r.text.split('\n');
    assertEq(lines[lines.length - 1], '', 'text ends with a newline');
    for (const line of lines.slice(0, -1)) {
      if (line.startsWith('#')) {
        const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
        assert(m, `bad comment line '${line}'`);
        if (m[1] === 'TYPE') {
          assert(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]), `bad type in '${line}'`);
          types.set(m[2], m[3]);
        }
        continue;
      }
      const m = sample.exec(line);
      assert(m, `bad sample line '${line}'`);
      // a summary's or histogram's samples carry _sum, _count (and _bucket) after the family name
      const family = types.has(m[1]) ? m[1] : m[1].replace(/_(sum|count|bucket)$/, '');
      assert(types.has(family) && (family === m[1] || ['summary', 'histogram'].includes(types.get(family))),
        `sample '${m[1]}' without a # TYPE before it`);
      values.set(m[1] + (m[2] || ''), Number(m[4]));
    }
    for (const name of ['flowd_active_conversations', 'flowd_queue_length', 'flowd_handoffs_total', 'flowd_vm_steps_total',
      'flowd_store_commits_total', 'flowd_visitor_sockets'])
      assert(values.has(name), `no ${name}`);
    assert(values.get('flowd_handoffs_total') >= 2, `flowd_handoffs_total ${values.get('flowd_handoffs_total')}`);
    assert(values.get('flowd_conversations_total{outcome="lead"}') >= 2, 'lead outcomes counted');
    assert(values.get('flowd_conversations_total{outcome="resolved"}') >= 1, 'resolved outcomes counted');
    assert(values.get('flowd_visitor_sockets') >= 1, 'the open socket is counted');
    assert(values.get('flowd_active_conversations') >= 1, 'the open conversation is counted');
    await open.close();
  });
}

/* ---- (g) reloading the flows folder ---------------------------------------------- */

async function reload(results, srv, flows) {
  await results.check('flows folder: a changed flow is used by new conversations only', async () => {
    const file = path.join(flows, 'reload.flow');
    const old = await srv.visitor({ channel: 'reload', visitor: freshVisitorId('old') });
    assertEq(old.welcome.type, 'welcome', 'hello on the reload channel');
    await old.barrier();
    assertEq(texts(old.frames), ['Version 1', 'Type something.'], 'first version');
    fs.writeFileSync(file, reloadFlow('Version 2, changed'));
    // the folder is polled about once a second
    let fresh;
    const end = Date.now() + 8000;
    for (;;) {
      fresh = await srv.visitor({ channel: 'reload', visitor: freshVisitorId('new') });
      await fresh.barrier();
      if (texts(fresh.frames)[0] !== 'Version 1' || Date.now() > end) break;
      await fresh.close();
      await sleep(250);
    }
    assertEq(texts(fresh.frames), ['Version 2, changed', 'Type something.'], 'a new conversation after the change');
    const r = await textOk(fresh, 'n1', 'hello');
    assertEq(texts(r.frames), ['Version 2, changed got hello'], 'the new version goes on');
    const o = await textOk(old, 'o1', 'hello');
    assertEq(texts(o.frames), ['Version 1 got hello'], 'the running conversation keeps its version');
    await fresh.close();
    await old.close();
  });
  await results.check('flows folder: a broken flow keeps the last good version', async () => {
    fs.writeFileSync(path.join(flows, 'reload.flow'), 'flow "Reload"\nnode start { say "broken" \n');
    await sleep(2500); // two polls
    const v = await srv.visitor({ channel: 'reload', visitor: freshVisitorId('bad') });
    await v.barrier();
    assertEq(texts(v.frames)[0], 'Version 2, changed', 'greeting after a broken edit');
    await v.close();
  });
}

runMain(async (results) => {
  const flows = flowsFolder('server', { 'shop.flow': SHOP, 'reload.flow': reloadFlow('Version 1') });
  const srv = await new Flowd({ flowd, flows, data: tempDir('server-data'), token: TOKEN }).start();
  try {
    await srv.setAgents(1);
    await srv.setClock({ local: MONDAY_NOON, channel: 'shop' });
    await handoff(results, srv);
    await timer(results, srv);
    await abandonment(results, srv);
    await badInput(results, srv);
    await dedupe(results, srv);
    await returning(results, srv);
    await health(results, srv);
    await reload(results, srv, flows);
  } finally {
    const exit = await srv.stop();
    if (exit.code !== 0) results.fail('flowd stops on SIGTERM', `exit ${JSON.stringify(exit)}; its stderr ends:\n${srv.stderr.slice(-4000)}`);
    else results.ok('flowd stops on SIGTERM with exit 0');
    const errors = srv.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
    if (errors.length) results.fail('flowd logged no errors', errors.join(' | '));
  }
}, 120000);
