// Black-box tests of flowd's statistics (docs/api.md, "Statistics (admins)";
// product spec section 6): scripted conversations with every outcome on a
// test clock, then every figure of GET /api/stats and /api/stats/funnel
// (JSON and CSV), the monthly quota (bot skipped once it is used up, renewed
// at the month boundary in the flow's zone), the same figures after a
// restart, and /metrics' conversations by outcome.
//
// usage: node stats.mjs FLOWD
import {
  Flowd, assert, assertEq, flowdPath, flowsFolder, freshVisitorId, runMain, sleep, tempDir,
} from './lib.mjs';

const flowd = flowdPath();
const TOKEN = 'T';

/* Every outcome has a path: Resolve (resolved, looping back through
 * "Again" first), Lead (lead), Human (handoff; offline -> later: resolved),
 * Sales (a handoff without offline: missed), Boom (a text over 64 KB:
 * error); leaving while the bot waits gives abandoned. Open all week so a
 * handoff finds the agents the test hook puts online. */
const FLOW = `flow "Stats"

hours "Europe/Warsaw" {
  mon-sun 00:00-24:00
}

var email: email
var t: text = "x"

node start {
  say "Hi"
  choice {
    "Resolve" { end }
    "Lead" -> capture
    "Human" -> human
    "Sales" -> sales
    "Boom" -> boom
    "Again" -> start
  }
}

node capture {
  ask email "Email?"
  lead { email: email }
  say "Thanks"
}

node human {
  handoff "support" {
    online "Connecting..."
    wait 1m
    offline -> later
  }
}

node later {
  say "Later"
}

node sales {
  handoff "sales" {
    wait 1m
  }
}

node boom {
${'  set t = t + t\n'.repeat(17)}  say "{t}"
}
`;

/* Instants (UTC seconds). Warsaw is UTC+1 in winter. */
const T = 1769767200;    // 2026-01-30 10:00 UTC, 11:00 in Warsaw (a Friday)
const LATE = 1769815800; // 2026-01-30 23:30 UTC: already 2026-01-31 00:30 in Warsaw
const Q = 1772186400;    // 2026-02-27 10:00 UTC
const M = 1772321400;    // 2026-02-28 23:30 UTC: 2026-03-01 00:30 in Warsaw (still February in UTC)
const W_FEB01 = 1769900400; // Warsaw midnights starting a month
const W_MAR01 = 1772319600;
const W_APR01 = 1774994400;

const OUTCOMES = ['resolved', 'lead', 'handoff', 'missed', 'abandoned', 'error'];

/* ---- helpers ------------------------------------------------------------------ */

async function at(srv, utc) {
  const r = await srv.setClock({ utc });
  assertEq(r.status, 200, `POST /api/test/clock ${utc}`);
}

async function agents(srv, n) {
  const r = await srv.setAgents(n);
  assertEq(r.status, 200, `POST /api/test/agents ${n}`);
}

const botTexts = (frames) => frames.filter((f) => f.type === 'message' && f.from === 'bot').map((f) => f.text);

/* A new visitor on demo, after the greeting. */
async function greeted(srv) {
  const v = await srv.visitor({ channel: 'demo', visitor: freshVisitorId('st') });
  assertEq([v.welcome.type, v.welcome.status], ['welcome', 'bot'], 'welcome of a new conversation');
  await v.waitFor((f) => f.type === 'buttons', 5000, 'the first buttons');
  await v.barrier();
  assertEq(botTexts(v.frames), ['Hi'], 'greeting');
  return v;
}

async function clickLabel(v, id, label) {
  const buttons = v.lastButtons();
  const i = buttons ? buttons.indexOf(label) : -1;
  assert(i >= 0, `no button '${label}' offered (last buttons: ${JSON.stringify(buttons)})`);
  const r = await v.click(id, i);
  assertEq(r.reply.type, 'ack', `click '${label}'`);
  return r;
}

async function ended(v, outcome) {
  const f = await v.waitFor((x) => x.type === 'ended', 5000, `ended ${outcome}`);
  assertEq(f.outcome, outcome, 'ended outcome');
}

async function agentOk(srv, method, p, body) {
  const r = await srv.agent(method, p, body);
  assertEq(r.status, 200, `${method} ${p} (${r.text.slice(0, 200)})`);
  return r.body;
}

async function conversation(srv, id) {
  return agentOk(srv, 'GET', `/api/conversations/${id}`);
}

async function stats(srv, from, to, extra = '') {
  const r = await srv.agent('GET', `/api/stats?channel=demo&from=${from}&to=${to}${extra}`);
  assertEq(r.status, 200, `GET /api/stats ${from}..${to}${extra} (${r.text.slice(0, 300)})`);
  return r;
}

async function funnel(srv, from, to, extra = '') {
  const r = await srv.agent('GET', `/api/stats/funnel?channel=demo&from=${from}&to=${to}${extra}`);
  assertEq(r.status, 200, `GET /api/stats/funnel ${from}..${to}${extra} (${r.text.slice(0, 300)})`);
  return r;
}

/* Prometheus text format: {name: [{labels, value}]}, checking the syntax and
 * that every sample's family was declared by HELP and TYPE lines before it. */
function parsePrometheus(text) {
  const samples = {};
  const help = new Set(), type = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line))) { help.add(m[1]); continue; }
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      type.set(m[1], m[2]);
      continue;
    }
    assert(!line.startsWith('#'), `a comment that is neither HELP nor TYPE: ${line}`);
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/.exec(line);
    assert(m, `not a sample line: ${line}`);
    const [, name, labelText, value] = m;
    /* a summary's or histogram's samples are FAMILY_sum, FAMILY_count, FAMILY_bucket */
    const base = name.replace(/_(sum|count|bucket)$/, '');
    const family = type.has(name) ? name : ['summary', 'histogram'].includes(type.get(base)) ? base : null;
    assert(family && help.has(family), `${name} has no HELP and TYPE before its samples`);
    const labels = {};
    if (labelText) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
      let lm;
      re.lastIndex = 0;
      while (re.lastIndex < labelText.length && (lm = re.exec(labelText))) labels[lm[1]] = lm[2];
      assert(re.lastIndex === labelText.length, `bad labels in: ${line}`);
    }
    assert(!Number.isNaN(Number(value)) || /^[+-]?Inf$|^NaN$/.test(value), `bad value in: ${line}`);
    (samples[name] ||= []).push({ labels, value: Number(value) });
  }
  return { samples, type };
}

/* ---- the expected figures --------------------------------------------------------- */

const ZEROS = Object.fromEntries(OUTCOMES.map((o) => [o, 0]));

/* January: ten conversations, nine on the 30th and one on the 31st (Warsaw). */
const JAN_DAYS = [
  { date: '2026-01-30', started: 9, outcomes: { resolved: 2, lead: 1, handoff: 3, missed: 1, abandoned: 1, error: 1 } },
  { date: '2026-01-31', started: 1, outcomes: { resolved: 1 } },
];
/* first replies 40 (C3), 50 (C4), 100 (C9, from its start: no handoff);
 * closes 10 (C1), 30 (C2), 300 (C3), 700 (C4), 71 (C5), 10 (C6), 1801 (C7),
 * 10 (C8), 10 (C10): sorted 10 10 10 10 30 71 300 700 1801 */
const JAN_REPORT = {
  channel: 'demo', zone: 'Europe/Warsaw', from: '2026-01-30', to: '2026-01-31', started: 10,
  outcomes: { resolved: 3, lead: 1, handoff: 3, missed: 1, abandoned: 1, error: 1 },
  first_reply: { count: 3, median: 50, p90: 100 }, close: { count: 9, median: 30, p90: 1801 },
  leads: 1, deals: 0,
  quota: { limit: 0, used: 10, month: '2026-01', exhausted: false, renews_at: W_FEB01 },
  days: JAN_DAYS,
};

const FUNNEL_NODES = [
  { name: 'start', reached: 10, left: { resolved: 2, handoff: 1, abandoned: 1 } },
  { name: 'capture', reached: 1, left: { lead: 1 } },
  { name: 'human', reached: 3, left: { handoff: 2 } },
  { name: 'later', reached: 1, left: { resolved: 1 } },
  { name: 'sales', reached: 1, left: { missed: 1 } },
  { name: 'boom', reached: 1, left: { error: 1 } },
];
const FUNNEL_EDGES = [
  { from: 'start', to: 'capture' }, { from: 'start', to: 'human' }, { from: 'start', to: 'sales' },
  { from: 'start', to: 'boom' }, { from: 'start', to: 'start' }, { from: 'human', to: 'later' },
];

/* ---- January: one conversation per outcome ------------------------------------------------ */

async function january(results, srv, ids) {
  await results.check('C1 resolved (through "Again": start reached once)', async () => {
    await at(srv, T);
    const v = await greeted(srv);
    ids.c1 = v.welcome.conversation;
    await at(srv, T + 5);
    await clickLabel(v, 'a', 'Again');
    await at(srv, T + 10);
    await clickLabel(v, 'r', 'Resolve');
    await ended(v, 'resolved');
    await v.close();
  });
  await results.check('C2 lead', async () => {
    await at(srv, T + 100);
    const v = await greeted(srv);
    await at(srv, T + 110);
    await clickLabel(v, 'l', 'Lead');
    await at(srv, T + 130);
    const r = await v.text('e', 'ann@example.com');
    assertEq(r.reply.type, 'ack', 'email answer');
    await ended(v, 'lead');
    await v.close();
  });
  await results.check('C3 handoff: take, reply after 40 s in the queue, close', async () => {
    await agents(srv, 1);
    await at(srv, T + 200);
    const v = await greeted(srv);
    const id = v.welcome.conversation;
    await at(srv, T + 210);
    const r = await clickLabel(v, 'h', 'Human');
    assert(r.frames.some((f) => f.type === 'status' && f.status === 'queued'), 'no status queued frame');
    await at(srv, T + 240);
    await agentOk(srv, 'POST', `/api/conversations/${id}/take`, { agent: 'Anna' });
    await at(srv, T + 250);
    await agentOk(srv, 'POST', `/api/conversations/${id}/reply`, { text: 'Hello, Anna here' });
    await at(srv, T + 500);
    await agentOk(srv, 'POST', `/api/conversations/${id}/close`, {});
    assertEq((await conversation(srv, id)).status, 'closed', 'status after close');
    await v.close();
  });
  await results.check('C4 handoff: a reply takes it after 50 s in the queue', async () => {
    await at(srv, T + 600);
    const v = await greeted(srv);
    const id = v.welcome.conversation;
    await at(srv, T + 610);
    await clickLabel(v, 'h', 'Human');
    await at(srv, T + 660); // the handoff's wait (1m) has 10 s left
    await agentOk(srv, 'POST', `/api/conversations/${id}/reply`, { text: 'Hi, Bob here' });
    await at(srv, T + 1300);
    await agentOk(srv, 'POST', `/api/conversations/${id}/close`, {});
    await v.close();
  });
  await results.check('C9 an agent answers a bot conversation (no handoff): stays open', async () => {
    await at(srv, T + 1400);
    const v = await greeted(srv);
    ids.c9 = v.welcome.conversation;
    await at(srv, T + 1500);
    await agentOk(srv, 'POST', `/api/conversations/${ids.c9}/reply`, { text: 'Can I help?' });
    await v.waitFor((f) => f.type === 'message' && f.from === 'agent', 5000, 'the agent reply');
    await v.close();
  });
  await results.check('C5 missed: nobody takes the sales handoff within its wait', async () => {
    await at(srv, T + 2000);
    const v = await greeted(srv);
    await at(srv, T + 2010);
    await clickLabel(v, 's', 'Sales');
    await at(srv, T + 2071);
    await ended(v, 'missed');
    await v.close();
  });
  await results.check('C6 nobody online: the offline node, resolved', async () => {
    await agents(srv, 0);
    await at(srv, T + 2100);
    const v = await greeted(srv);
    await at(srv, T + 2110);
    const r = await clickLabel(v, 'h', 'Human');
    assertEq(botTexts(r.frames), ['Later'], 'offline path');
    await ended(v, 'resolved');
    await v.close();
  });
  await results.check('C7 abandoned: the visitor leaves while the bot waits', async () => {
    await at(srv, T + 2200);
    const v = await greeted(srv);
    const id = v.welcome.conversation;
    await v.close();
    await sleep(300); // the server arms the abandon timer when it sees the socket close
    await at(srv, T + 2200 + 1801);
    const end = Date.now() + 5000;
    let c;
    while (Date.now() < end && (c = await conversation(srv, id)).status !== 'closed') await sleep(50);
    assertEq(c.status, 'closed', 'status after --abandon-after');
  });
  await results.check('C8 error: a text over 64 KB stops the bot', async () => {
    await at(srv, T + 4100);
    const v = await greeted(srv);
    await at(srv, T + 4110);
    await clickLabel(v, 'b', 'Boom');
    await ended(v, 'error');
    await v.close();
  });
  await results.check('C10 at 23:30 UTC: the next day in Warsaw', async () => {
    await at(srv, LATE);
    const v = await greeted(srv);
    await at(srv, LATE + 10);
    await clickLabel(v, 'r', 'Resolve');
    await ended(v, 'resolved');
    await v.close();
  });
}

async function januaryFigures(results, srv, saved) {
  await results.check('GET /api/stats: every figure of January', async () => {
    const r = await stats(srv, '2026-01-30', '2026-01-31');
    assert((r.headers.get('content-type') || '').startsWith('application/json'), `type ${r.headers.get('content-type')}`);
    assertEq(r.body, JAN_REPORT, 'report');
    saved.jan = r.body;
  });
  await results.check('GET /api/stats: one day (the 30th), percentiles without C10', async () => {
    const r = await stats(srv, '2026-01-30', '2026-01-30');
    assertEq(r.body.started, 9, 'started');
    assertEq(r.body.outcomes, { ...ZEROS, ...JAN_DAYS[0].outcomes }, 'outcomes');
    assertEq(r.body.first_reply, { count: 3, median: 50, p90: 100 }, 'first_reply');
    assertEq(r.body.close, { count: 8, median: 30, p90: 1801 }, 'close (10 10 10 30 71 300 700 1801)');
    assertEq(r.body.days, [JAN_DAYS[0]], 'days');
  });
  await results.check('GET /api/stats: the 31st holds only the 23:30 UTC conversation', async () => {
    const r = await stats(srv, '2026-01-31', '2026-01-31');
    assertEq([r.body.started, r.body.outcomes, r.body.first_reply, r.body.close],
      [1, { ...ZEROS, resolved: 1 }, { count: 0, median: 0, p90: 0 }, { count: 1, median: 10, p90: 10 }], 'figures');
  });
  await results.check('GET /api/stats: a range with nothing has every day at zero', async () => {
    const r = await stats(srv, '2026-01-27', '2026-01-29');
    assertEq([r.body.started, r.body.outcomes, r.body.leads, r.body.deals], [0, ZEROS, 0, 0], 'totals');
    assertEq(r.body.days.map((d) => [d.date, d.started, d.outcomes]),
      [['2026-01-27', 0, {}], ['2026-01-28', 0, {}], ['2026-01-29', 0, {}]], 'days');
  });
  await results.check('GET /api/stats&format=csv', async () => {
    const r = await stats(srv, '2026-01-29', '2026-01-31', '&format=csv');
    assert((r.headers.get('content-type') || '').startsWith('text/csv'), `type ${r.headers.get('content-type')}`);
    assertEq(r.text.split(/\r?\n/), [
      'date,started,resolved,lead,handoff,missed,abandoned,error,leads,deals',
      '2026-01-29,0,0,0,0,0,0,0,0,0',
      '2026-01-30,9,2,1,3,1,1,1,1,0',
      '2026-01-31,1,1,0,0,0,0,0,0,0',
      '',
    ], 'CSV lines');
  });
  await results.check('GET /api/stats/funnel: reached and left per node, edges', async () => {
    const r = await funnel(srv, '2026-01-30', '2026-01-31');
    assertEq(r.body, { flow: 'stats', nodes: FUNNEL_NODES, edges: FUNNEL_EDGES }, 'funnel');
    saved.funnel = r.body;
  });
  await results.check('GET /api/stats/funnel&format=csv', async () => {
    const r = await funnel(srv, '2026-01-30', '2026-01-31', '&format=csv');
    assert((r.headers.get('content-type') || '').startsWith('text/csv'), `type ${r.headers.get('content-type')}`);
    assertEq(r.text.split(/\r?\n/), [
      'node,reached,left_resolved,left_lead,left_handoff,left_missed,left_abandoned,left_error',
      'start,10,2,0,1,0,1,0',
      'capture,1,0,1,0,0,0,0',
      'human,3,0,0,2,0,0,0',
      'later,1,1,0,0,0,0,0',
      'sales,1,0,0,0,1,0,0',
      'boom,1,0,0,0,0,0,1',
      '',
    ], 'CSV lines');
  });
  await results.check('stats: 400 for bad parameters, 404 for an unknown channel, 401 without a token', async () => {
    for (const [q, status] of [
      ['channel=demo', 400], ['channel=demo&from=2026-01-30', 400], ['channel=demo&to=2026-01-30', 400],
      ['channel=demo&from=2026-02-30&to=2026-03-01', 400], ['channel=demo&from=2026-1-30&to=2026-01-31', 400],
      ['channel=demo&from=2026-01-31&to=2026-01-30', 400], ['channel=demo&from=2025-01-01&to=2026-01-02', 400],
      ['channel=demo&from=2025-01-01&to=2026-01-01', 200], ['channel=demo&from=2026-01-30&to=2026-01-31&format=xml', 400],
      ['from=2026-01-30&to=2026-01-31', 400], ['channel=nope&from=2026-01-30&to=2026-01-31', 404],
    ]) {
      for (const p of ['/api/stats', '/api/stats/funnel']) {
        const r = await srv.agent('GET', `${p}?${q}`);
        assertEq(r.status, status, `GET ${p}?${q}`);
        if (status !== 200) assert(r.body && typeof r.body.error === 'string', `GET ${p}?${q}: no error in ${r.text}`);
      }
    }
    const none = await srv.http('GET', '/api/stats?channel=demo&from=2026-01-30&to=2026-01-31');
    assertEq(none.status, 401, 'without a token');
  });
}

/* ---- February: the quota ---------------------------------------------------------------- */

async function quota(results, srv, saved) {
  await results.check('PUT /api/channels/demo {"quota": 2}', async () => {
    const r = await srv.agent('PUT', '/api/channels/demo', { quota: 2 });
    assertEq(r.status, 200, `PUT (${r.text.slice(0, 200)})`);
    assertEq([r.body.quota, r.body.flow], [2, 'stats'], 'settings after PUT');
  });
  await results.check('quota: two conversations run the bot', async () => {
    for (const [i, t] of [[1, Q], [2, Q + 100]]) {
      await at(srv, t);
      const v = await greeted(srv);
      await at(srv, t + 10);
      await clickLabel(v, `q${i}`, 'Resolve');
      await ended(v, 'resolved');
      await v.close();
    }
    const r = await stats(srv, '2026-02-27', '2026-02-27');
    assertEq(r.body.quota, { limit: 2, used: 2, month: '2026-02', exhausted: true, renews_at: W_MAR01 }, 'quota');
  });
  await results.check('quota used up, an agent online: the 3rd conversation is queued, no bot', async () => {
    await agents(srv, 1);
    await at(srv, Q + 200);
    const v = await srv.visitor({ channel: 'demo', visitor: freshVisitorId('q3') });
    saved.q3 = v;
    assertEq([v.welcome.type, v.welcome.status], ['welcome', 'queued'], 'welcome');
    await v.barrier();
    assertEq(botTexts(v.frames), [], 'bot messages');
    assert(!v.frames.some((f) => f.type === 'buttons'), `buttons offered: ${JSON.stringify(v.frames)}`);
    const q = await agentOk(srv, 'GET', '/api/queue');
    assert(q.some((x) => x.conversation === v.welcome.conversation), `not in the queue: ${JSON.stringify(q)}`);
  });
  await results.check('quota used up, nobody online: the 4th gets the offline form, no bot', async () => {
    await agents(srv, 0);
    await at(srv, Q + 300);
    const v = await srv.visitor({ channel: 'demo', visitor: freshVisitorId('q4') });
    saved.q4 = v;
    assertEq(v.welcome.type, 'welcome', 'welcome');
    await v.waitFor((f) => f.type === 'offline_form', 5000, 'the offline form');
    await v.barrier();
    assertEq(botTexts(v.frames), [], 'bot messages');
    assert(!v.frames.some((f) => f.type === 'buttons'), `buttons offered: ${JSON.stringify(v.frames)}`);
    assertEq([v.welcome.status, v.welcome.offline_form], ['offline', true], 'the welcome of an offline form');
  });
  await results.check('quota: skipped conversations count as started, not against the quota', async () => {
    const r = await stats(srv, '2026-02-27', '2026-02-27');
    assertEq([r.body.started, r.body.outcomes], [4, { ...ZEROS, resolved: 2 }], 'started, outcomes');
    assertEq(r.body.quota, { limit: 2, used: 2, month: '2026-02', exhausted: true, renews_at: W_MAR01 }, 'quota');
  });
  await results.check('quota: past the month boundary in Warsaw (still February in UTC) the bot runs again', async () => {
    await at(srv, M);
    const v = await greeted(srv);
    await at(srv, M + 10);
    await clickLabel(v, 'q5', 'Resolve');
    await ended(v, 'resolved');
    await v.close();
    const r = await stats(srv, '2026-02-27', '2026-03-01');
    assertEq(r.body.quota, { limit: 2, used: 1, month: '2026-03', exhausted: false, renews_at: W_APR01 }, 'quota');
    assertEq(r.body.days, [{ date: '2026-02-27', started: 4, outcomes: { resolved: 2 } },
      { date: '2026-02-28', started: 0, outcomes: {} }, { date: '2026-03-01', started: 1, outcomes: { resolved: 1 } }],
    'days');
    saved.feb = r.body;
  });
  await results.check('funnel: skipped conversations never reach a node', async () => {
    const r = await funnel(srv, '2026-01-01', '2026-03-31');
    const nodes = FUNNEL_NODES.map((n) => ({ ...n, left: { ...n.left } }));
    nodes[0] = { name: 'start', reached: 13, left: { resolved: 5, handoff: 1, abandoned: 1 } }; // + Q1, Q2, Q5
    assertEq(r.body, { flow: 'stats', nodes, edges: FUNNEL_EDGES }, 'funnel');
  });
}

/* ---- /metrics and a restart ------------------------------------------------------------------ */

async function metrics(results, srv, saved) {
  await results.check('/metrics: conversations by outcome match the statistics', async () => {
    const all = await stats(srv, '2026-01-01', '2026-03-31');
    saved.all = all.body;
    assertEq(all.body.outcomes, { resolved: 6, lead: 1, handoff: 3, missed: 1, abandoned: 1, error: 1 }, 'outcomes');
    assertEq(all.body.started, 15, 'started');
    const r = await srv.http('GET', '/metrics');
    assertEq(r.status, 200, '/metrics status');
    const { samples, type } = parsePrometheus(r.text);
    assertEq(type.get('flowd_conversations_total'), 'counter', 'TYPE of flowd_conversations_total');
    const byOutcome = {};
    for (const s of samples.flowd_conversations_total || []) byOutcome[s.labels.outcome] = s.value;
    assertEq(byOutcome, all.body.outcomes, 'flowd_conversations_total{outcome} against /api/stats');
    /* the same waits as first_reply: 40 + 50 + 100 */
    assertEq(type.get('flowd_handoff_wait_seconds'), 'summary', 'TYPE of flowd_handoff_wait_seconds');
    const wait = (suffix) => (samples[`flowd_handoff_wait_seconds_${suffix}`] || [{}])[0].value;
    assertEq([wait('count'), wait('sum')], [all.body.first_reply.count, 190], 'flowd_handoff_wait_seconds count, sum');
  });
}

/* Every answer the restart must reproduce, at one clock (the quota's month follows it). */
const SNAPSHOT = [
  ['/api/stats', '2026-01-30', '2026-01-31', ''], ['/api/stats', '2026-02-27', '2026-03-01', ''],
  ['/api/stats', '2026-01-01', '2026-03-31', ''], ['/api/stats', '2026-01-29', '2026-03-02', '&format=csv'],
  ['/api/stats/funnel', '2026-01-30', '2026-01-31', ''], ['/api/stats/funnel', '2026-01-01', '2026-03-31', '&format=csv'],
];

async function snapshot(srv) {
  await at(srv, M + 10);
  const out = {};
  for (const [p, from, to, extra] of SNAPSHOT) {
    const r = await srv.agent('GET', `${p}?channel=demo&from=${from}&to=${to}${extra}`);
    out[`${p} ${from}..${to}${extra}`] = [r.status, r.text];
  }
  return out;
}

async function restart(results, srv, opts, saved) {
  let again;
  await results.check('restart: the same figures from the same data folder', async () => {
    const before = await snapshot(srv);
    if (saved.feb) {
      assertEq(JSON.parse(before['/api/stats 2026-01-30..2026-01-31'][1]), { ...JAN_REPORT, quota: saved.feb.quota },
        'January before the restart (with the quota of March)');
    }
    const exit = await srv.stop();
    assertEq(exit.code, 0, `exit of the first flowd (${JSON.stringify(exit)})`);
    again = await new Flowd(opts).start();
    const after = await snapshot(again);
    for (const k of Object.keys(before)) assertEq(after[k], before[k], k);
    /* Prometheus counters start again at 0 with the process (rate() handles it): informational only */
    const m = parsePrometheus((await again.http('GET', '/metrics')).text).samples.flowd_conversations_total || [];
    console.log(`note: after the restart /metrics counts ${JSON.stringify(Object.fromEntries(m.map((x) => [x.labels.outcome, x.value])))}`);
  });
  return again;
}

runMain(async (results) => {
  const flows = flowsFolder('stats', { 'stats.flow': FLOW });
  const opts = { flowd, flows, data: tempDir('stats-data'), token: TOKEN, extra: ['--channel', 'demo=stats'] };
  let srv = await new Flowd(opts).start();
  const first = srv;
  const saved = {};
  try {
    await agents(srv, 0);
    await january(results, srv, {});
    await januaryFigures(results, srv, saved);
    await quota(results, srv, saved);
    await metrics(results, srv, saved);
    for (const v of [saved.q3, saved.q4]) if (v) await v.close();
    srv = (await restart(results, srv, opts, saved)) || srv;
  } finally {
    const exit = await srv.stop();
    if (exit && exit.code !== 0) results.fail('flowd stops on SIGTERM', `exit ${JSON.stringify(exit)}; stderr:\n${srv.stderr.slice(-4000)}`);
    const errors = [...new Set([first, srv])].flatMap((x) => x.stderr.split('\n')).filter((l) => l.includes('"level":"error"'));
    if (errors.length) results.fail('flowd logged no errors', errors.join(' | '));
  }
}, 120000);
