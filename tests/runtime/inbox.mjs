// Black-box tests of the inbox API (docs/api.md): accounts and sessions,
// every access rule (another agent's conversation, forged and expired
// sessions, CSRF, the login rate limit), the folders and the agents'
// actions, panel leads and the CSV export, canned responses, uploads and
// who may download them, presence with the grace period, and the agent
// socket's pushes. One flowd with its own folders.
//
// usage: node inbox.mjs FLOWD
import http from 'node:http';
import WebSocket from 'ws';
import {
  Flowd, assert, assertEq, flowdPath, flowsFolder, freshVisitorId, runMain, sleep, tempDir, until, within,
} from './lib.mjs';

const flowd = flowdPath();

const FLOW = `flow "Desk"

var name: text

node start {
  say "Hi! Pricing or a human?"
  choice {
    "Pricing" -> pricing
    "Human" -> human
  }
}

node pricing {
  say "10 EUR a month."
  ask name "Your name?"
  say "Thanks {name}."
  end
}

node human {
  handoff "support" {
    online "Connecting you..."
    wait 10m
    offline -> gone
  }
}

node gone {
  say "Nobody is here."
  end
}
`;

const T0 = 1795337000; // 2026-11-22 in UTC, a Sunday

/* A logged-in browser session: cookie + CSRF token. */
class Session {
  constructor(srv, user, cookie, csrf) { Object.assign(this, { srv, user, cookie, csrf }); }
  static async login(srv, user, password) {
    const r = await srv.http('POST', '/api/login', { user, password });
    if (r.status !== 200) throw new Error(`login ${user}: ${r.status} ${r.text}`);
    const set = r.headers.get('set-cookie') || '';
    const m = /flowd_session=([0-9a-f]+)/.exec(set);
    assert(m, `no session cookie in ${set}`);
    assert(/HttpOnly/i.test(set) && /SameSite=Strict/i.test(set), `cookie flags: ${set}`);
    return new Session(srv, user, `flowd_session=${m[1]}`, r.body.csrf);
  }
  req(method, p, body, { csrf = true, headers = {} } = {}) {
    const h = { Cookie: this.cookie, ...headers };
    if (csrf && method !== 'GET') h['X-CSRF-Token'] = this.csrf;
    return this.srv.http(method, p, body, { headers: h });
  }
  get(p) { return this.req('GET', p); }
  post(p, body = {}) { return this.req('POST', p, body); }
  put(p, body = {}) { return this.req('PUT', p, body); }
  /* The agent socket, collecting frames. */
  async socket() {
    const ws = new WebSocket(`ws://127.0.0.1:${this.srv.port}/ws/agent`,
      { headers: { Cookie: this.cookie, Origin: this.srv.base }, handshakeTimeout: 5000 });
    const frames = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    await within(5000, new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); }), 'agent socket');
    await until(() => frames.some((f) => f.type === 'ready'), 5000, 'ready');
    return { ws, frames, close: () => new Promise((r) => { ws.once('close', r); ws.close(); }) };
  }
}

/* POST /api/login from a chosen loopback address (127.0.0.N), so that the
 * per-address and per-account limits can be told apart. */
function loginFrom(srv, addr, user, password) {
  const body = JSON.stringify({ user, password });
  return within(5000, new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, path: '/api/login', method: 'POST', localAddress: addr, agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  }), 'login');
}

async function handoff(srv, name) {
  const visitorId = freshVisitorId(name);
  const v = await srv.visitor({ channel: 'desk', visitor: visitorId, name, email: `${name}@example.com` });
  v.visitorId = visitorId;
  await v.click('c1', 1);
  return v;
}

runMain(async (results) => {
  const flows = flowsFolder('inbox', { 'desk.flow': FLOW });
  const srv = await new Flowd({ flowd, flows, data: tempDir('inbox-data'), extra: ['--channel', 'desk=desk', '--agent-grace', '30'] }).start();
  await srv.setClock({ utc: T0 });
  for (const [user, role, cap] of [['anna', 'agent', 2], ['bob', 'agent', 5], ['root', 'admin', 5]]) {
    const r = await srv.agent('POST', '/api/users', { user, name: user[0].toUpperCase() + user.slice(1), role, password: `${user}-secret-pw`, capacity: cap });
    assertEq(r.status, 201, `create ${user}`);
  }
  const anna = await Session.login(srv, 'anna', 'anna-secret-pw');
  const bob = await Session.login(srv, 'bob', 'bob-secret-pw');
  const root = await Session.login(srv, 'root', 'root-secret-pw');

  await results.check('accounts: duplicate and weak passwords refused; no password in any answer', async () => {
    assertEq((await srv.agent('POST', '/api/users', { user: 'anna', password: 'whatever-long' })).status, 409, 'duplicate');
    assertEq((await srv.agent('POST', '/api/users', { user: 'carl', password: 'short' })).status, 400, 'short password');
    assertEq((await srv.agent('POST', '/api/users', { user: 'c'.repeat(70), password: 'long-enough-pw' })).status, 400, 'a 70-byte login (not cut short)');
    assertEq((await srv.agent('POST', '/api/users', { user: 'carl', password: 'long-enough-pw', capacity: 2.7 })).status, 400, 'capacity 2.7');
    assertEq((await srv.agent('PUT', '/api/users/anna', { capacity: 0 })).status, 400, 'capacity 0');
    assertEq((await srv.agent('PUT', '/api/users/anna', { name: 'n'.repeat(80) })).status, 400, 'an 80-byte name');
    const list = await root.get('/api/users');
    assertEq(list.status, 200, 'list');
    assert(!list.text.includes('secret') && !list.text.includes('argon'), `leak: ${list.text}`);
    const annaRow = list.body.find((u) => u.user === 'anna');
    assertEq([annaRow.role, annaRow.capacity, annaRow.online, annaRow.open], ['agent', 2, false, 0], 'anna in the list');
    assertEq((await anna.get('/api/users')).status, 403, 'agents may not list accounts');
  });

  await results.check('sessions: /api/me; no cookie, a forged cookie, logout -> 401', async () => {
    const me = await anna.get('/api/me');
    assertEq([me.status, me.body.user, me.body.role], [200, 'anna', 'agent'], 'me');
    assertEq((await srv.http('GET', '/api/me')).status, 401, 'no cookie');
    const forged = new Session(srv, 'x', `flowd_session=${'ab'.repeat(32)}`, 'x');
    const r = await forged.get('/api/inbox');
    assertEq([r.status, r.body.error], [401, 'unauthorized'], 'forged');
    assert(!JSON.stringify(r.body).includes('conversations'), 'forged leaked');
    const tmp = await Session.login(srv, 'bob', 'bob-secret-pw');
    assertEq((await tmp.post('/api/logout')).status, 200, 'logout');
    assertEq((await tmp.get('/api/me')).status, 401, 'after logout');
  });

  await results.check('CSRF: a state change with the cookie but no or a wrong token -> 403, nothing changed', async () => {
    const r1 = await anna.req('POST', '/api/presence', { online: true }, { csrf: false });
    assertEq([r1.status, r1.body.error], [403, 'missing or wrong CSRF token'], 'no token');
    const r2 = await anna.req('POST', '/api/presence', { online: true }, { csrf: false, headers: { 'X-CSRF-Token': 'nope' } });
    assertEq(r2.status, 403, 'wrong token');
    assertEq((await anna.get('/api/me')).body.online, false, 'presence changed without CSRF');
    assertEq((await bob.req('POST', '/api/presence', { online: true }, { csrf: false, headers: { 'X-CSRF-Token': anna.csrf } })).status, 403, "another session's token");
  });

  await results.check('login rate limit per account: the 6th try is refused even with the right password', async () => {
    await srv.agent('POST', '/api/users', { user: 'dora', name: 'Dora', password: 'dora-secret-pw' });
    for (let i = 0; i < 5; i++) {
      const r = await loginFrom(srv, `127.0.0.${10 + i}`, 'dora', `wrong-${i}`);
      assertEq([r.status, r.body.error], [401, 'wrong user or password'], `attempt ${i + 1}`);
    }
    const limited = await loginFrom(srv, '127.0.0.20', 'dora', 'dora-secret-pw');
    assertEq(limited.status, 429, 'right password while limited');
    assert(limited.body.retry_after > 0 && Number(limited.headers['retry-after']) > 0, 'retry-after');
    assert(!String(limited.headers['set-cookie'] || '').includes('flowd_session='), 'a session was given');
    await srv.setClock({ utc: T0 + 16 * 60 });
    assertEq((await loginFrom(srv, '127.0.0.21', 'dora', 'dora-secret-pw')).status, 200, 'after the window');
    await srv.setClock({ utc: T0 });
  });

  await results.check('login rate limit per address: unknown users look like wrong passwords, then 429', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await loginFrom(srv, '127.0.0.30', `nobody${i}`, 'x');
      assertEq([r.status, r.body.error], [401, 'wrong user or password'], `attempt ${i + 1}`);
    }
    assertEq((await loginFrom(srv, '127.0.0.30', 'bob', 'bob-secret-pw')).status, 429, 'a good account from that address');
    assertEq((await loginFrom(srv, '127.0.0.31', 'bob', 'bob-secret-pw')).status, 200, 'from another address');
  });

  await results.check('presence: the toggle drives agents_online; handoff enters the queue', async () => {
    for (const s of [anna, bob]) assertEq((await s.post('/api/presence', { online: true })).status, 200, 'presence');
    const agents = await anna.get('/api/agents');
    assertEq(agents.body.filter((a) => a.online).map((a) => a.user).sort(), ['anna', 'bob'], 'online agents');
  });

  const sa = await anna.socket(), sb = await bob.socket();
  const v1 = await handoff(srv, 'alice');
  const id1 = v1.welcome.conversation;

  await results.check('handoff: in both agents\' Unassigned (pushed and listed), with unread and waiting time', async () => {
    for (const [who, s] of [['anna', anna], ['bob', bob]]) {
      const inbox = await s.get('/api/inbox?folder=unassigned');
      const c = inbox.body.conversations.find((x) => x.id === id1);
      assert(c, `${who} does not see it`);
      assertEq([c.status, c.assignee, c.visitor.name, c.visitor.online, c.waiting_since], ['queued', '', 'alice', true, T0], `${who}'s summary`);
    }
    await until(() => sa.frames.some((f) => f.type === 'notify' && f.event === 'unassigned' && f.id === id1), 3000, 'anna notified');
    await until(() => sb.frames.some((f) => f.type === 'notify' && f.event === 'unassigned' && f.id === id1), 3000, 'bob notified');
  });

  await results.check('assign: anna takes it; bob no longer sees it (list, socket, 403 on every request)', async () => {
    const r = await anna.post(`/api/conversations/${id1}/assign`, {});
    assertEq([r.status, r.body.assignee, r.body.status], [200, 'anna', 'agent'], 'assign');
    await v1.waitFor((f) => f.type === 'agent_joined' && f.name === 'Anna', 3000, 'joined frame');
    await until(() => sb.frames.some((f) => f.type === 'removed' && f.id === id1), 3000, 'removed for bob');
    assert(!(await bob.get('/api/inbox?folder=unassigned')).body.conversations.some((c) => c.id === id1), 'bob still lists it');
    for (const [m, p, b] of [['GET', `/api/conversations/${id1}`], ['POST', `/api/conversations/${id1}/reply`, { text: 'x' }],
      ['POST', `/api/conversations/${id1}/assign`, {}], ['POST', `/api/conversations/${id1}/close`, {}],
      ['PUT', `/api/conversations/${id1}/lead`, { name: 'x' }], ['POST', `/api/conversations/${id1}/typing`, { typing: true }]]) {
      const x = await bob.req(m, p, b);
      assertEq([x.status, x.text], [403, '{"error":"forbidden"}'], `${m} ${p}`);
    }
    const mine = await anna.get('/api/inbox?folder=mine');
    assert(mine.body.conversations.some((c) => c.id === id1), 'not in Mine');
    assertEq((await root.get(`/api/conversations/${id1}`)).status, 200, 'admins see everything');
    assertEq((await anna.get('/api/inbox?folder=all')).status, 403, 'All is for admins');
  });

  await results.check('thread: visitor message unread; reply -> delivered, read receipt; typing both ways', async () => {
    await v1.text('m1', 'Do you have discounts?');
    const c = (await anna.get(`/api/inbox?folder=mine`)).body.conversations.find((x) => x.id === id1);
    assertEq([c.unread, c.last.text, c.last.from], [1, 'Do you have discounts?', 'visitor'], 'unread and preview');
    await until(() => sa.frames.some((f) => f.type === 'notify' && f.event === 'message' && f.id === id1), 3000, 'message notify');
    await v1.send({ type: 'typing', typing: true });
    await until(() => sa.frames.some((f) => f.type === 'typing' && f.from === 'visitor' && f.id === id1), 3000, 'visitor typing');
    await anna.post(`/api/conversations/${id1}/typing`, { typing: true });
    await v1.waitFor((f) => f.type === 'typing' && f.from === 'agent' && f.name === 'Anna', 3000, 'agent typing');
    const r = await anna.post(`/api/conversations/${id1}/reply`, { text: 'Yes, 10% for a year.' });
    assertEq(r.status, 200, 'reply');
    const m = await v1.waitFor((f) => f.type === 'message' && f.from === 'agent', 3000, 'agent message');
    assertEq([m.name, m.text], ['Anna', 'Yes, 10% for a year.'], 'visitor sees the name');
    let thread = (await anna.get(`/api/conversations/${id1}`)).body;
    assertEq(thread.messages.filter((x) => x.from === 'agent').map((x) => x.status), ['delivered'], 'delivered');
    await v1.send({ type: 'read', seq: m.seq });
    await until(() => sa.frames.some((f) => f.type === 'receipt' && f.id === id1 && f.seq === m.seq && f.status === 'read'), 3000, 'receipt');
    thread = (await anna.get(`/api/conversations/${id1}`)).body;
    assertEq(thread.messages.filter((x) => x.from === 'agent').map((x) => x.status), ['read'], 'read');
    assertEq(thread.unread, 0, 'a reply clears unread');
    assertEq((await anna.post(`/api/conversations/${id1}/reply`, { text: 'x'.repeat(513) })).status, 400, '513 characters');
  });

  await results.check('capacity: anna (capacity 2) cannot take a third conversation', async () => {
    const v2 = await handoff(srv, 'bruno'), v3 = await handoff(srv, 'chen');
    assertEq((await anna.post(`/api/conversations/${v2.welcome.conversation}/assign`, {})).status, 200, 'second');
    const r = await anna.post(`/api/conversations/${v3.welcome.conversation}/assign`, {});
    assertEq([r.status, r.body.error], [409, 'that agent is at capacity'], 'third');
    assertEq((await anna.post(`/api/conversations/${v3.welcome.conversation}/reply`, { text: 'hi' })).status, 409, 'reply at capacity');
    await v2.close(); await v3.close();
  });

  await results.check('reassign, unassign, snooze (time and next message), search, close (final)', async () => {
    const v = await handoff(srv, 'dana');
    const id = v.welcome.conversation;
    assertEq((await bob.post(`/api/conversations/${id}/assign`, {})).status, 200, 'bob takes');
    const re = await bob.post(`/api/conversations/${id}/assign`, { to: 'root' });
    assertEq([re.status, re.body.assignee], [200, 'root'], 'reassign to root');
    assertEq((await bob.get(`/api/conversations/${id}`)).status, 403, 'bob lost it');
    assertEq((await root.post(`/api/conversations/${id}/unassign`, {})).status, 200, 'unassign');
    assert((await bob.get('/api/inbox?folder=unassigned')).body.conversations.some((c) => c.id === id), 'back in Unassigned');
    assertEq((await bob.post(`/api/conversations/${id}/snooze`, { until: T0 + 3600 })).status, 200, 'snooze');
    let un = (await bob.get('/api/inbox?folder=unassigned')).body;
    assert(!un.conversations.some((c) => c.id === id), 'snoozed still listed');
    assert((await bob.get('/api/inbox?folder=unassigned&state=snoozed')).body.conversations.some((c) => c.id === id), 'not under snoozed');
    await srv.setClock({ utc: T0 + 3601 });
    assert((await bob.get('/api/inbox?folder=unassigned')).body.conversations.some((c) => c.id === id), 'did not wake up');
    await bob.post(`/api/conversations/${id}/snooze`, { until: null });
    assert(!(await bob.get('/api/inbox?folder=unassigned')).body.conversations.some((c) => c.id === id), 'snoozed until a message');
    await v.text('w1', 'hello?');
    assert((await bob.get('/api/inbox?folder=unassigned')).body.conversations.some((c) => c.id === id), 'the message did not wake it');
    await srv.setClock({ utc: T0 });
    const found = (await bob.get('/api/inbox?folder=unassigned&q=DANA@EXAMPLE')).body.conversations.map((c) => c.id);
    assertEq(found, [id], 'search by email');
    assertEq((await bob.post(`/api/conversations/${id}/close`, {})).status, 200, 'close');
    await v.waitFor((f) => f.type === 'status' && f.status === 'closed', 3000, 'closed frame');
    assertEq((await bob.post(`/api/conversations/${id}/reply`, { text: 'x' })).status, 409, 'reply after close');
    assert((await bob.get('/api/inbox?folder=closed')).body.conversations.some((c) => c.id === id), 'not in Closed');
    await v.close();
    const again = await srv.visitor({ channel: 'desk', visitor: v.visitorId });
    assert(again.welcome.conversation !== id && again.welcome.resumed === false, 'a closed chat was reopened');
    await again.close();
  });

  await results.check('panel: lead fields on a closed chat, create lead and deal, leads page JSON and CSV', async () => {
    const v = await handoff(srv, 'erin');
    const id = v.welcome.conversation;
    await bob.post(`/api/conversations/${id}/assign`, {});
    await bob.post(`/api/conversations/${id}/close`, {});
    assertEq((await bob.put(`/api/conversations/${id}/lead`, { name: 'Erin Ek', email: 'erin@example.com', organization: '=HYPERLINK("x")', deal_value: '1200', close_date: '2026-12-31', notes: 'Wants "annual"' })).status, 200, 'panel edit on a closed chat');
    assertEq((await bob.put(`/api/conversations/${id}/lead`, { close_date: '31/12/2026' })).status, 400, 'bad date');
    assertEq((await bob.put(`/api/conversations/${id}/lead`, { colour: 'red' })).status, 400, 'unknown field');
    assertEq((await bob.post(`/api/conversations/${id}/records`, { deal: false })).status, 200, 'lead');
    assertEq((await bob.post(`/api/conversations/${id}/records`, { deal: true })).status, 200, 'deal');
    const conv = (await bob.get(`/api/conversations/${id}`)).body;
    assertEq([conv.state, conv.records.map((r) => r.kind)], ['closed', ['deal', 'lead']], 'still closed, two records');
    assert(conv.messages.some((m) => m.kind === 'lead' && m.from === 'system'), 'no lead event in the thread');
    const leads = (await bob.get('/api/leads')).body.filter((l) => l.conversation === id);
    assertEq(leads.map((l) => [l.kind, l.source, l.fields.name]), [['deal', 'panel', 'Erin Ek'], ['lead', 'panel', 'Erin Ek']], 'leads');
    const csv = await bob.get('/api/leads.csv');
    assert(csv.headers.get('content-type').startsWith('text/csv'), 'csv type');
    assert(csv.text.includes('"\'=HYPERLINK(""x"")"') && csv.text.includes('"Wants ""annual"""'), `csv escaping: ${csv.text}`);
    await v.close();
  });

  await results.check('canned responses: admins edit, agents read', async () => {
    assertEq((await anna.put('/api/canned/price', { text: 'Plans start at 10 EUR.' })).status, 403, 'agent edit');
    assertEq((await root.put('/api/canned/price', { text: 'Plans start at 10 EUR.' })).status, 200, 'admin edit');
    assertEq((await root.put('/api/canned/Bad Name', { text: 'x' })).status, 400, 'bad shortcut');
    assertEq((await anna.get('/api/canned')).body, [{ text: 'Plans start at 10 EUR.', shortcut: 'price' }], 'list');
  });

  await results.check('files: upload limits; served only to the visitor and agents who may see it', async () => {
    const v = await handoff(srv, 'fay');
    const id = v.welcome.conversation;
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const up = (visitor, type, body) => fetch(`${srv.base}/api/visitor/files?channel=desk&visitor=${visitor}&conversation=${id}`,
      { method: 'POST', headers: { 'Content-Type': type, 'X-File-Name': '../evil".png' }, body });
    assertEq((await up('someone-else', 'image/png', png)).status, 403, 'other visitor');
    assertEq((await up('', 'image/png', png)).status, 403, 'no visitor');
    assertEq((await up(v.visitorId, 'text/html', '<script>')).status, 415, 'html');
    const big = await up(v.visitorId, 'image/png', Buffer.alloc(10 * 1024 * 1024 + 1));
    assertEq(big.status, 413, 'over 10 MB');
    const ok = await up(v.visitorId, 'image/png', png);
    const file = (await ok.json()).file;
    assertEq([ok.status, file.name, file.type], [200, 'evil_.png', 'image/png'], 'upload');
    const frame = await v.waitFor((f) => f.type === 'file' && f.from === 'visitor', 3000, 'file frame');
    assertEq(frame.file.id, file.id, 'frame');
    const get = (q, headers = {}) => fetch(`${srv.base}${file.url}${q}`, { headers });
    const mine = await get(`?visitor=${v.visitorId}`);
    assertEq([mine.status, mine.headers.get('x-content-type-options'), mine.headers.get('content-type')], [200, 'nosniff', 'image/png'], 'visitor download');
    assert((mine.headers.get('content-security-policy') || '').includes('sandbox'), 'sandbox');
    assertEq((await get('?visitor=intruder')).status, 403, 'another visitor');
    assertEq((await get('')).status, 403, 'nobody');
    assertEq((await get('', { Cookie: bob.cookie })).status, 200, 'an agent who may see it');
    await anna.post(`/api/conversations/${id}/assign`, {}).catch(() => {});
    await root.post(`/api/conversations/${id}/assign`, { to: 'anna' });
    // anna may be at capacity; then root keeps it: either way bob must lose access
    await root.post(`/api/conversations/${id}/assign`, {});
    assertEq((await get('', { Cookie: bob.cookie })).status, 403, 'an agent who may not');
    await v.close();
  });

  await results.check('presence: closing every tab goes offline after the grace period', async () => {
    await sa.close();
    assertEq((await anna.get('/api/me')).body.online, true, 'within the grace period');
    await srv.setClock({ utc: T0 + 31 });
    assertEq((await anna.get('/api/me')).body.online, false, 'after the grace period');
    await srv.setClock({ utc: T0 });
    const again = await anna.socket();
    assertEq((await anna.get('/api/me')).body.online, true, 'a tab again');
    await again.close();
  });

  await results.check('expired session: 12 h without use -> 401 session expired', async () => {
    await srv.setClock({ utc: T0 + 14 * 3600 });
    const r = await bob.get('/api/inbox');
    assertEq([r.status, r.body.error], [401, 'session expired'], 'expired');
    await srv.setClock({ utc: T0 });
  });

  await results.check('agent socket: refused without a session or from another origin', async () => {
    const tryOpen = (headers) => new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws/agent`, { headers, handshakeTimeout: 3000 });
      ws.once('open', () => { ws.close(); resolve('open'); });
      ws.once('error', () => resolve('refused'));
      ws.once('unexpected-response', () => resolve('refused'));
    });
    assertEq(await tryOpen({}), 'refused', 'no session');
    assertEq(await tryOpen({ Cookie: root.cookie, Origin: 'http://evil.example' }), 'refused', 'another origin');
  });

  await results.check('returning page load (resume_only): nothing open -> status none, no conversation; a real hello then starts one', async () => {
    const before = (await root.get('/api/inbox?folder=all&state=any')).body.conversations.length;
    const vid = freshVisitorId('look');
    const v = await srv.visitor({ channel: 'desk', visitor: vid, resume_only: true });
    assertEq([v.welcome.status, v.welcome.conversation], ['none', 0], 'welcome');
    assertEq((await root.get('/api/inbox?folder=all&state=any')).body.conversations.length, before, 'a conversation was started');
    const from = v.frames.length;
    await v.send({ type: 'hello', channel: 'desk', visitor: vid });
    const w = await v.waitFor((f) => f.type === 'welcome', 3000, 'second welcome', from);
    assert(w.conversation > 0 && w.status === 'bot', `second welcome: ${JSON.stringify(w)}`);
    await v.close();
  });

  await results.check('pre-chat message: stored first (seq 1, before the greeting) and echoed with its seq', async () => {
    const v = await srv.visitor({ channel: 'desk', visitor: freshVisitorId('pre'), name: 'Gil', email: 'gil@example.com', subject: 'Invoice', message: 'My invoice is wrong' });
    await v.barrier();
    const msgs = v.messages();
    assertEq(msgs.slice(0, 2).map((m) => [m.seq, m.from]), [[1, 'visitor'], [2, 'bot']], 'order');
    assertEq(msgs[0].text, 'My invoice is wrong', 'text');
    const c = (await root.get(`/api/conversations/${v.welcome.conversation}`)).body;
    assertEq([c.visitor.name, c.visitor.email], ['Gil', 'gil@example.com'], 'visitor facts');
    await v.close();
  });

  await results.check('a reload during an ask: welcome says which input the bot waits for', async () => {
    const vid = freshVisitorId('ask');
    const v = await srv.visitor({ channel: 'desk', visitor: vid });
    await v.click('p1', 0);
    await v.close();
    const again = await srv.visitor({ channel: 'desk', visitor: vid });
    assertEq([again.welcome.resumed, again.welcome.ask], [true, 'text'], 'welcome');
    await again.close();
  });

  await results.check('accounts: delete ends the sessions; nobody deletes their own; agents cannot', async () => {
    await srv.agent('POST', '/api/users', { user: 'temp', name: 'Temp', password: 'temp-secret-pw' });
    const temp = await Session.login(srv, 'temp', 'temp-secret-pw');
    assertEq((await temp.req('DELETE', '/api/users/anna')).status, 403, 'an agent deletes');
    assertEq((await root.req('DELETE', '/api/users/root')).status, 409, 'own account');
    assertEq((await root.req('DELETE', '/api/users/temp')).status, 200, 'delete');
    assertEq((await temp.get('/api/me')).status, 401, 'session after delete');
    assertEq((await root.req('DELETE', '/api/users/temp')).status, 404, 'again');
  });

  await results.check('requests without a body are read as {}', async () => {
    const v = await handoff(srv, 'hana');
    const id = v.welcome.conversation;
    const assign = await srv.http('POST', `/api/conversations/${id}/assign`, undefined, { headers: { Cookie: root.cookie, 'X-CSRF-Token': root.csrf } });
    assertEq([assign.status, assign.body.assignee], [200, 'root'], 'assign without a body');
    const un = await srv.http('POST', `/api/conversations/${id}/unassign`, undefined, { headers: { Cookie: root.cookie, 'X-CSRF-Token': root.csrf } });
    assertEq([un.status, un.body.assignee], [200, ''], 'unassign without a body');
    await v.close();
  });

  await sb.close();
  await v1.close();
  await srv.stop();
}, 240000);
