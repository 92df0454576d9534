// Browser tests of the agent inbox, the login page and the leads page
// (docs/api.md, docs/inbox.md): a visitor played from node over
// /ws/visitor and two agents (two browser contexts) acting at once, then a
// seeded server for the screenshots build/screenshots/{inbox,conversation,leads}.png.
//
//   cd tests/browser && FLOWD=../../build/flowd node inbox.test.mjs
import {
  Flowd, assert, assertEq, done, flowdPath, flowsFolder, freshVisitorId, launchBrowser, screenshot, sleep, tempDir,
  test, until,
} from './lib.mjs';

const flowd = flowdPath();
const LIMIT_MS = 300000;
setTimeout(() => { console.log('FAIL time limit: the script ran over 300 s'); done(); process.exit(1); }, LIMIT_MS).unref();

const SUPPORT = `flow "Support"

var email: email
var plan: text = "none"

on "human", "agent", "person" -> human

node start {
  say "Hi {visitor.name|there}! I'm Ava, the assistant. How can I help?"
  choice {
    "Pricing" -> pricing
    "Talk to a person" -> human
  }
}

node pricing {
  say "Plans start at 10 EUR a month; Team is 49 EUR."
  set plan = "team"
  ask email "What's your email? We'll send you the price list."
  lead { email: email, note: "price list" }
  say "Thanks! The {plan} plan list is on its way."
  choice {
    "Talk to a person" -> human
    "That's all" { end }
  }
}

node human {
  handoff "sales" {
    online "Connecting you to a person - one moment."
    wait 2h
    offline -> away
  }
}

node away {
  say "Nobody is available right now."
  ask email "Leave your email and we'll write back."
  lead { email: email }
  end
}
`;

const PW = 'correct horse battery';
const T = 8000; // every wait in a page

/* ---- helpers ---------------------------------------------------------------- */

async function clickLabel(v, id, label) {
  const buttons = v.lastButtons();
  const i = buttons ? buttons.indexOf(label) : -1;
  assert(i >= 0, `no button '${label}' offered (last buttons: ${JSON.stringify(buttons)})`);
  const r = await v.click(id, i);
  assert(r.reply.type === 'ack', `click '${label}' got ${JSON.stringify(r.reply)}`);
  return r;
}

async function say(v, id, text) {
  const r = await v.text(id, text);
  assert(r.reply.type === 'ack', `text '${text}' got ${JSON.stringify(r.reply)}`);
  return r;
}

/* A visitor who asks for a person right away; returns {v, id}. */
async function queuedVisitor(srv, hello) {
  const visitor = freshVisitorId('iv');
  const v = await srv.visitor({ channel: 'demo', visitor, page: '/pricing', ...hello });
  assert(v.welcome.type === 'welcome', `welcome: ${JSON.stringify(v.welcome)}`);
  await v.waitFor((f) => f.type === 'buttons', 5000, 'the first buttons');
  await clickLabel(v, 'h1', 'Talk to a person');
  return { v, id: v.welcome.conversation, visitor };
}

const NOTIFY_SPY = () => {
  window.__notes = [];
  const Real = window.Notification;
  function Spy(title, opts) {
    window.__notes.push({ title: String(title), body: opts && opts.body, tag: opts && opts.tag, at: Date.now() });
    this.title = title;
  }
  Spy.prototype.close = function close() {};
  Object.defineProperty(Spy, 'permission', { get: () => (Real ? Real.permission : 'granted') });
  Spy.requestPermission = (...a) => (Real ? Real.requestPermission(...a) : Promise.resolve('granted'));
  window.Notification = Spy;
};

async function agentContext(browser, srv) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await ctx.grantPermissions(['notifications'], { origin: srv.base });
  await ctx.addInitScript(NOTIFY_SPY);
  ctx.setDefaultTimeout(T);
  return ctx;
}

/* Opens a staff page (the inbox unless told): redirected to the login page,
 * signs in, back on the page. Each agent page gets its own context: a page
 * behind another tab of its window gets no animation frames, which makes
 * every Playwright action wait. */
async function login(ctx, srv, user, password = PW, where = '/inbox.html') {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`     [${user} page error] ${e.message}`));
  await page.goto(`${srv.base}${where}`);
  await page.waitForURL(/\/login\.html\?next=/);
  await page.fill('#user', user);
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL((u) => u.pathname === where);
  if (where === '/inbox.html') await page.waitForSelector(`body[data-user="${user}"]`);
  return page;
}

async function goOnline(page) {
  const sw = page.locator('#presence');
  if ((await sw.getAttribute('aria-checked')) !== 'true') await sw.click();
  await page.waitForSelector('#presence[aria-checked="true"]');
}

async function folder(page, name, state) {
  await page.click(`.folder[data-folder="${name}"]`);
  if (state) await page.selectOption('#state-filter', state);
  await page.waitForSelector(`.folder.active[data-folder="${name}"]`);
}

const item = (id) => `#conv-${id}`;

async function openConv(page, id) {
  await page.click(item(id));
  await page.waitForFunction((cid) => location.hash === `#c${cid}` && !document.getElementById('thread').hidden, id);
}

async function agentsOnline(srv) {
  const r = await srv.agent('GET', '/api/agents');
  assertEq(r.status, 200, 'GET /api/agents');
  return Object.fromEntries(r.body.map((a) => [a.user, a.online]));
}

/* An HTTP session of an account from node: {call(method, path, body)}. */
async function session(srv, user, password = PW) {
  const r = await fetch(`${srv.base}/api/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user, password }),
  });
  assertEq(r.status, 200, `login of ${user}`);
  const cookie = (r.headers.get('set-cookie') || '').split(';')[0];
  const body = await r.json();
  return (method, p, b) => srv.http(method, p, b, { headers: { Cookie: cookie, 'X-CSRF-Token': body.csrf } });
}

/* ---- the two-agent scenario --------------------------------------------------- */

async function scenario(browser) {
  const flows = flowsFolder('inbox', { 'support.flow': SUPPORT });
  const srv = await new Flowd({ flowd, flows, data: tempDir('inbox-data'), extra: ['--channel', 'demo=support', '--agent-grace', '2'] }).start();
  const ctxs = [];
  const visitors = [];
  try {
    for (const [user, name, role, capacity] of [['anna', 'Anna', 'agent', 5], ['ben', 'Ben', 'agent', 5], ['mia', 'Mia', 'admin', 5]]) {
      const r = await srv.http('POST', '/api/users', { user, name, role, password: PW, capacity }, { token: 'T' });
      assert(r.status === 200 || r.status === 201, `create ${user}: ${r.status} ${r.text}`);
    }
    await srv.http('PUT', '/api/canned/price', { text: 'Our plans start at 10 EUR a month; Team is 49 EUR per seat.' }, { token: 'T' });

    const ctxA = await agentContext(browser, srv), ctxB = await agentContext(browser, srv);
    ctxs.push(ctxA, ctxB);
    let A, B;
    const S = {}; // shared between the steps

    await test('login: a wrong password is refused, the right one opens the inbox (two agents)', async () => {
      const page = await ctxA.newPage();
      await page.goto(`${srv.base}/login.html`);
      await page.fill('#user', 'anna');
      await page.fill('#password', 'not the password');
      await page.click('#submit');
      await page.waitForFunction(() => /wrong user or password/i.test(document.getElementById('error').textContent));
      await page.close();
      [A, B] = await Promise.all([login(ctxA, srv, 'anna'), login(ctxB, srv, 'ben')]);
      assertEq(await A.locator('.staff-nav .who .name').textContent(), 'Anna', 'nav shows the agent');
      assert(await A.locator('.folder[data-folder="all"]').isHidden(), 'an agent has no All folder');
      assert(await A.locator('.staff-nav [data-nav="channels"]').isHidden(), 'an agent has no admin links');
    });

    await test('offline agents: a handoff takes the offline path', async () => {
      const on = await agentsOnline(srv);
      assertEq([on.anna, on.ben], [false, false], 'both start offline');
      const v = await srv.visitor({ channel: 'demo', visitor: freshVisitorId('off'), page: '/' });
      visitors.push(v);
      await v.waitFor((f) => f.type === 'buttons', 5000, 'buttons');
      const r = await clickLabel(v, 'o1', 'Talk to a person');
      assert(r.frames.some((f) => f.type === 'message' && /Nobody is available/.test(f.text)),
        `offline path: ${JSON.stringify(r.frames.filter((f) => f.type === 'message'))}`);
      await v.close();
    });

    await test('online toggle: both agents online (agents_online counts them)', async () => {
      await Promise.all([goOnline(A), goOnline(B)]);
      let on;
      for (let i = 0; i < 50; i++) { on = await agentsOnline(srv); if (on.anna && on.ben) break; await sleep(100); }
      assertEq([on.anna, on.ben], [true, true], 'anna and ben online');
      assert(await A.locator('#presence-note').isHidden(), 'the offline note is gone');
    });

    await test('handoff: in both agents\' Unassigned with a notification; Anna takes it; Ben no longer sees it', async () => {
      const q = await queuedVisitor(srv, { name: 'Maria Lopez', email: 'maria@example.com', device: 'desktop', country: 'PL', returning: true });
      visitors.push(q.v);
      S.v = q.v; S.id = q.id; S.visitor = q.visitor;
      assert(q.v.frames.some((f) => f.type === 'status' && f.status === 'queued'), 'the visitor is queued');
      await Promise.all([A.waitForSelector(item(S.id)), B.waitForSelector(item(S.id))]);
      assert(/Maria Lopez/.test(await B.locator(item(S.id)).textContent()), 'the list shows the visitor name');
      await B.waitForFunction(() => /^\(\d+\) Inbox/.test(document.title));
      for (const [who, page] of [['Anna', A], ['Ben', B]]) {
        await page.waitForFunction(() => window.__notes.length > 0, null, { timeout: T })
          .catch(() => { throw new Error(`${who}: no Notification raised for the new unassigned conversation`); });
      }
      const note = await B.evaluate(() => window.__notes[0]);
      assert(note.title, `notification has a title: ${JSON.stringify(note)}`);
      await openConv(A, S.id);
      assertEq(await A.locator('#a-take').textContent(), 'Assign to me', 'the take button');
      await A.click('#a-take');
      const joined = await q.v.waitFor((f) => f.type === 'agent_joined', 5000, 'agent_joined');
      assertEq(joined.name, 'Anna', 'the visitor sees Anna joined');
      await B.waitForSelector(item(S.id), { state: 'detached' });
      await A.waitForSelector('#t-status .st-agent');
      await folder(A, 'mine');
      await A.waitForSelector(item(S.id));
      const r = await B.evaluate(async (id) => (await fetch(`/api/conversations/${id}`)).status, S.id);
      assertEq(r, 403, 'Ben may not read Anna\'s conversation');
    });

    await test('conversation view: thread with times, reply by name, typing both ways, pending/delivered/read', async () => {
      const v = S.v;
      // the thread: bot greeting, buttons, the visitor's click, handoff and joined events
      await A.waitForSelector('.msg.bot .bubble');
      await A.waitForSelector('.sys.joined');
      assert(/Anna joined the chat|you joined/i.test(await A.locator('.sys.joined').first().textContent()), 'joined event');
      assert(await A.locator('.msg .meta time').count() > 0, 'messages show their time');
      // agent typing reaches the visitor
      let from = v.frames.length;
      await A.click('#reply');
      await A.keyboard.type('Hi Maria');
      await v.waitFor((f) => f.type === 'typing' && f.from === 'agent' && f.typing === true, 5000, 'agent typing', from);
      await A.keyboard.type(', Anna here. How can I help?');
      from = v.frames.length;
      await A.keyboard.press('Enter');
      const m = await v.waitFor((f) => f.type === 'message' && f.from === 'agent', 5000, 'the agent message', from);
      assertEq([m.text, m.name], ['Hi Maria, Anna here. How can I help?', 'Anna'], 'the visitor receives the reply with the agent name');
      await A.waitForSelector('.msg.agent .st.delivered');
      await A.waitForFunction(() => document.getElementById('reply').value === '');
      // the visitor reads it
      await v.send({ type: 'read', seq: m.seq });
      await A.waitForSelector('.msg.agent .st.read');
      // visitor typing reaches the agent
      await v.send({ type: 'typing', typing: true });
      await A.waitForFunction(() => /typing/.test(document.getElementById('typing').textContent));
      // a visitor message appears live
      await say(v, 'm1', 'Do you have a discount for NGOs?');
      await A.waitForFunction(() => [...document.querySelectorAll('.msg.visitor .bubble')].some((b) => b.textContent === 'Do you have a discount for NGOs?'));
      await A.waitForFunction(() => !/typing/.test(document.getElementById('typing').textContent));
    });

    await test('composer: 512-character counter; /price inserts a canned response', async () => {
      await A.fill('#reply', 'x'.repeat(520));
      await A.waitForSelector('#counter.over');
      assertEq(await A.locator('#counter').textContent(), '520 / 512', 'the counter');
      assert(await A.locator('#send').isDisabled(), 'Send is off over 512');
      await A.fill('#reply', '');
      await A.click('#reply');
      await A.keyboard.type('/pri');
      await A.waitForSelector('#canned-pop .opt');
      await A.keyboard.press('Tab');
      assertEq(await A.locator('#reply').inputValue(), 'Our plans start at 10 EUR a month; Team is 49 EUR per seat.', 'canned text inserted');
      const from = S.v.frames.length;
      await A.keyboard.press('Enter');
      await S.v.waitFor((f) => f.type === 'message' && f.from === 'agent' && /10 EUR/.test(f.text), 5000, 'canned reply', from);
    });

    await test('side panel: visitor facts and flow variables', async () => {
      const facts = await A.locator('#facts').textContent();
      for (const want of ['Online', 'maria@example.com', '/pricing', 'desktop', 'PL', 'Yes']) {
        assert(facts.includes(want), `facts show ${want}: ${facts}`);
      }
      const vars = await A.locator('#vars').textContent();
      assert(/email/.test(vars) && /plan/.test(vars), `variables listed: ${vars}`);
      // tags and priority
      await A.selectOption('#priority', 'high');
      await A.fill('#tag-input', 'pricing');
      await A.press('#tag-input', 'Enter');
      await A.waitForSelector(`${item(S.id)} .pr-high`);
      await A.waitForSelector(`${item(S.id)} .tag`);
    });

    await test('create lead from the panel: thread event, chat stays open, leads page and CSV list it', async () => {
      await A.fill('#lead-form [name=name]', 'Maria Lopez');
      await A.fill('#lead-form [name=phone]', '+48 600 100 200');
      await A.fill('#lead-form [name=organization]', 'Green Earth Foundation');
      await A.fill('#lead-form [name=deal_value]', '1200');
      await A.fill('#lead-form [name=notes]', 'NGO discount asked');
      await A.click('#create-lead');
      await A.waitForSelector('.sys.lead');
      assert(/Lead created/.test(await A.locator('.sys.lead').last().textContent()), 'lead event text');
      assert(await A.locator('#composer').isVisible(), 'the chat is still open');
      assert(!(await A.locator('#t-status .st-closed').count()), 'not closed');
      const ctxL = await agentContext(browser, srv);
      ctxs.push(ctxL);
      const leads = await login(ctxL, srv, 'anna', PW, '/leads.html');
      await leads.waitForFunction(() => [...document.querySelectorAll('#rows tr')].some((r) => /Green Earth Foundation/.test(r.textContent)));
      const row = leads.locator('#rows tr', { hasText: 'Green Earth Foundation' }).first();
      assert(/Maria Lopez/.test(await row.textContent()), 'lead row has the name');
      assertEq(await row.locator(`a[href="/inbox.html#c${S.id}"]`).count(), 1, 'the row links its conversation');
      const csv = await leads.evaluate(async () => { const r = await fetch('/api/leads.csv'); return { type: r.headers.get('Content-Type'), text: await r.text() }; });
      assert(/text\/csv/.test(csv.type || ''), `CSV type ${csv.type}`);
      assert(csv.text.includes('Green Earth Foundation'), 'CSV lists the lead');
      S.leads = leads;
    });

    await test('reassign to Ben: Ben is notified and has it in Mine; Anna no longer sees it', async () => {
      const before = await B.evaluate(() => window.__notes.length);
      await A.click('#a-reassign');
      await A.click('#menu [data-agent="ben"]');
      await A.waitForFunction(() => document.getElementById('thread').hidden);
      await A.waitForSelector(item(S.id), { state: 'detached' });
      await folder(B, 'mine');
      await B.waitForSelector(item(S.id));
      await B.waitForFunction((n) => window.__notes.length > n, before);
      const r = await A.evaluate(async (id) => (await fetch(`/api/conversations/${id}`)).status, S.id);
      assertEq(r, 403, 'Anna may no longer read it');
      // a visitor message in one of Ben's conversations notifies him too
      const n2 = await B.evaluate(() => window.__notes.length);
      await say(S.v, 'm2', 'Hello? Still there?');
      await B.waitForFunction((n) => window.__notes.length > n, n2);
    });

    await test('unassign: back in Unassigned for both agents', async () => {
      await openConv(B, S.id);
      await B.click('#a-unassign');
      await B.waitForSelector(item(S.id), { state: 'detached' });
      await folder(B, 'unassigned');
      await folder(A, 'unassigned');
      await Promise.all([A.waitForSelector(item(S.id)), B.waitForSelector(item(S.id))]);
    });

    await test('replying to an unassigned conversation assigns it (Ben)', async () => {
      await openConv(B, S.id);
      await B.fill('#reply', 'Ben here, I will take care of the discount.');
      await B.press('#reply', 'Enter');
      await S.v.waitFor((f) => f.type === 'message' && f.from === 'agent' && f.name === 'Ben', 5000, 'Ben\'s reply');
      await A.waitForSelector(item(S.id), { state: 'detached' });
      await B.waitForSelector('#t-status .st-agent');
    });

    await test('snooze until the next visitor message: hidden, then back when the visitor writes', async () => {
      await folder(B, 'mine');
      await B.waitForSelector(item(S.id));
      await openConv(B, S.id);
      await B.click('#a-snooze');
      await B.click('#menu [data-snooze="next"]');
      await B.waitForSelector(item(S.id), { state: 'detached' });
      await B.selectOption('#state-filter', 'snoozed');
      await B.waitForSelector(`${item(S.id)} .st-snoozed`);
      await B.selectOption('#state-filter', 'open');
      await B.waitForSelector(item(S.id), { state: 'detached' });
      await say(S.v, 'm3', 'Any news about the discount?');
      await B.waitForSelector(item(S.id));
    });

    await test('snooze until a time: listed under Snoozed with its time', async () => {
      await openConv(B, S.id);
      await B.click('#a-snooze');
      await B.click('#menu [data-snooze="1h"]');
      await B.waitForSelector(item(S.id), { state: 'detached' });
      await B.selectOption('#state-filter', 'snoozed');
      await B.waitForSelector(`${item(S.id)} .st-snoozed`);
      const t = await B.locator(`${item(S.id)} .st-snoozed`).textContent();
      assert(/\d/.test(t), `snoozed until a time: ${t}`);
      await B.selectOption('#state-filter', 'open');
      await say(S.v, 'm4', 'ok, thanks');
      await B.waitForSelector(item(S.id));
    });

    await test('close: final; the panel still edits and creates a deal; the visitor\'s next hello is a new conversation', async () => {
      await openConv(B, S.id);
      await B.click('#a-close');
      await B.click('#confirm-close');
      await B.waitForSelector('#closed-bar:not([hidden])');
      assert(await B.locator('#composer').isHidden(), 'no composer on a closed conversation');
      assert(await B.locator('#a-take').isHidden(), 'no assign on a closed conversation');
      await B.waitForSelector('.sys.closed');
      await S.v.waitFor((f) => (f.type === 'status' && f.status === 'closed') || f.type === 'ended', 5000, 'the visitor hears it closed');
      // the panel still works
      await B.fill('#lead-form [name=notes]', 'NGO discount: 20% agreed');
      await B.fill('#lead-form [name=close_date]', '2026-12-15');
      await B.click('#create-deal');
      await B.waitForSelector('.sys.deal');
      await S.leads.reload();
      await S.leads.waitForFunction(() => [...document.querySelectorAll('#rows tr[data-kind="deal"]')].some((r) => /20% agreed/.test(r.textContent)));
      // Closed folder
      await folder(B, 'closed');
      await B.waitForSelector(item(S.id));
      // the same visitor again: a new conversation
      await S.v.close();
      const v2 = await srv.visitor({ channel: 'demo', visitor: S.visitor, page: '/pricing' });
      visitors.push(v2);
      assert(v2.welcome.conversation !== S.id, `a new conversation after close (got ${v2.welcome.conversation})`);
    });

    await test('stop the bot: a conversation the bot still runs is in Unassigned; taking it stops the bot', async () => {
      S.botVisitor = freshVisitorId('bot');
      const v = await srv.visitor({ channel: 'demo', visitor: S.botVisitor, page: '/docs', name: 'Ole Hansen' });
      visitors.push(v);
      const id = v.welcome.conversation;
      await v.waitFor((f) => f.type === 'buttons', 5000, 'buttons');
      await folder(A, 'unassigned');
      await A.waitForSelector(item(id));
      await A.waitForSelector(`${item(id)} .st-bot`);
      await openConv(A, id);
      assertEq(await A.locator('#a-take').textContent(), 'Stop the bot', 'the take button says Stop the bot');
      await A.click('#a-take');
      const j = await v.waitFor((f) => f.type === 'agent_joined', 5000, 'agent_joined');
      assertEq(j.name, 'Anna', 'joined name');
      await A.waitForSelector('#t-status .st-agent');
      // the bot no longer answers: a click is not run by the bot
      const from = v.frames.length;
      await v.send({ type: 'text', id: 'b1', text: 'Pricing' });
      await v.waitFor((f) => (f.type === 'ack' || f.type === 'error') && f.id === 'b1', 5000, 'ack', from);
      await v.barrier();
      assert(!v.frames.slice(from).some((f) => f.type === 'message' && f.from === 'bot'), 'the bot stays quiet');
      S.botConv = id;
      S.botV = v;
    });

    await test('attachments: an agent image inline and sent to the visitor; a visitor PDF as a link; pending while away', async () => {
      const v = S.botV;
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
      let from = v.frames.length;
      await A.setInputFiles('#file', { name: 'dashboard.png', mimeType: 'image/png', buffer: png });
      const f = await v.waitFor((x) => x.type === 'file' && x.from === 'agent', 5000, 'the file frame', from);
      assertEq([f.file.name, f.file.type, f.name], ['dashboard.png', 'image/png', 'Anna'], 'the visitor gets the file');
      await A.waitForFunction(() => [...document.querySelectorAll('.msg.agent img.att')].some((i) => i.complete && i.naturalWidth > 0));
      const up = await fetch(`${srv.base}/api/visitor/files?channel=demo&visitor=${encodeURIComponent(S.botVisitor)}&conversation=${S.botConv}`, {
        method: 'POST', headers: { 'Content-Type': 'application/pdf', 'X-File-Name': 'invoice-2026-11.pdf' }, body: Buffer.from('%PDF-1.4\n%%EOF\n'),
      });
      assertEq(up.status, 200, `visitor upload: ${await up.clone().text()}`);
      await A.waitForSelector('.msg.visitor a.file');
      assert(/invoice-2026-11\.pdf/.test(await A.locator('.msg.visitor a.file').last().textContent()), 'the PDF shows as a link');
      const href = await A.locator('.msg.visitor a.file').last().getAttribute('href');
      const st = await A.evaluate(async (u) => (await fetch(u)).status, href);
      assertEq(st, 200, 'the agent may fetch the file');
      // the visitor goes away: a reply is pending
      await v.close();
      await A.waitForFunction(() => document.getElementById('t-online').className === 'presence-dot');
      await A.fill('#reply', 'I have sent you the dashboard, have a look when you are back.');
      await A.press('#reply', 'Enter');
      await A.waitForFunction(() => { const m = [...document.querySelectorAll('.msg.agent')].pop(); return m && m.querySelector('.st.pending'); });
    });

    await test('live updates: a dropped agent socket reconnects and refetches what it missed', async () => {
      await folder(B, 'unassigned');
      await B.evaluate(() => { window.Inbox.state.wsTries = 1; window.Inbox.dropSocket(); }); // about 2 s before the retry
      await B.waitForSelector('#conn.down');
      const q = await queuedVisitor(srv, { name: 'Nora Quist' });
      visitors.push(q.v);
      assert(await B.locator('#conn.down').count() === 1, 'still disconnected when the visitor arrived');
      await B.waitForSelector('#conn:not(.down)', { state: 'attached', timeout: 20000 });
      await B.waitForSelector(item(q.id));
      S.nora = q.id;
    });

    await test('search by name or email; keyboard: / j k Enter', async () => {
      await folder(A, 'mine');
      await A.waitForSelector(item(S.botConv));
      await A.keyboard.press('Escape');
      await A.locator('body').press('/');
      assert(await A.evaluate(() => document.activeElement.id === 'search'), '/ focuses the search');
      await A.keyboard.type('ole han');
      await A.waitForFunction((id) => document.querySelectorAll('#list .conv').length === 1 && document.getElementById(`conv-${id}`), S.botConv);
      await A.fill('#search', 'nobody-like-this');
      await A.waitForSelector('#list-empty:not([hidden])');
      await A.fill('#search', '');
      await A.waitForSelector(item(S.botConv));
      await A.keyboard.press('Escape');
      await A.evaluate(() => document.activeElement.blur());
      await A.keyboard.press('k');
      await A.keyboard.press('j');
      await A.keyboard.press('Enter');
      await A.waitForFunction(() => /^#c\d+$/.test(location.hash) && !document.getElementById('thread').hidden);
      await A.keyboard.press('?');
      await A.waitForSelector('#help[open]');
      await A.keyboard.press('Escape');
    });

    await test('capacity: a full agent cannot be given another conversation', async () => {
      const u = await srv.http('PUT', '/api/users/ben', { capacity: 1 }, { token: 'T' });
      assertEq(u.status, 200, 'set Ben\'s capacity');
      // Ben takes one conversation: now full
      const q = await queuedVisitor(srv, { name: 'Karl Berg' });
      visitors.push(q.v);
      await folder(B, 'unassigned');
      await B.waitForSelector(item(q.id));
      await openConv(B, q.id);
      await B.click('#a-take');
      await B.waitForSelector('#t-status .st-agent');
      // another one: Anna tries to give it to Ben
      const q2 = await queuedVisitor(srv, { name: 'Eva Novak' });
      visitors.push(q2.v);
      await folder(A, 'unassigned');
      await A.waitForSelector(item(q2.id));
      await openConv(A, q2.id);
      await A.click('#a-reassign');
      await A.waitForSelector('#menu [data-agent="ben"]');
      assert(await A.locator('#menu [data-agent="ben"]').isDisabled(), 'Ben is shown full in the menu');
      await A.keyboard.press('Escape');
      const r = await A.evaluate(async (id) => {
        const me = await (await fetch('/api/me')).json();
        const res = await fetch(`/api/conversations/${id}/assign`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf }, body: JSON.stringify({ to: 'ben' }) });
        return res.status;
      }, q2.id);
      assertEq(r, 409, 'assigning to a full agent');
    });

    await test('admin: All folder and canned responses editable; agents cannot edit them', async () => {
      const ctxM = await agentContext(browser, srv);
      ctxs.push(ctxM);
      const M = await login(ctxM, srv, 'mia');
      assert(await M.locator('.folder[data-folder="all"]').isVisible(), 'admins have All');
      await folder(M, 'all', 'any');
      await M.waitForSelector(item(S.id));
      await M.waitForSelector(item(S.botConv));
      await M.click('#open-canned');
      await M.fill('#canned-form [name=shortcut]', 'hello');
      await M.fill('#canned-form [name=text]', 'Hello! How can I help you today?');
      await M.click('#canned-form button[type=submit]');
      await M.waitForFunction(() => /\/hello/.test(document.getElementById('canned-rows').textContent));
      const list = await srv.agent('GET', '/api/canned');
      assert(list.body.some((c) => c.shortcut === 'hello'), 'saved on the server');
      await M.locator('#canned-rows tr', { hasText: '/price' }).getByRole('button', { name: 'Delete' }).click();
      await M.waitForFunction(() => !/\/price/.test(document.getElementById('canned-rows').textContent));
      const after = await srv.agent('GET', '/api/canned');
      assert(!after.body.some((c) => c.shortcut === 'price'), `deleted on the server: ${JSON.stringify(after.body)}`);
      await A.click('#open-canned');
      assert(await A.locator('#canned-form').isHidden(), 'agents see no edit form');
      await A.keyboard.press('Escape');
      await ctxM.close();
    });

    await test('closing every tab turns an agent offline after the grace period', async () => {
      let on = await agentsOnline(srv);
      assertEq(on.ben, true, 'Ben online before');
      await ctxB.close();
      for (let i = 0; i < 80; i++) { on = await agentsOnline(srv); if (!on.ben) break; await sleep(100); }
      assertEq(on.ben, false, 'Ben offline after the grace');
      assertEq(on.anna, true, 'Anna still online');
    });

    // last: it blocks sign-ins from this address for a while
    await test('login: repeated failures are rate-limited and the page says so', async () => {
      const ctx = await agentContext(browser, srv);
      ctxs.push(ctx);
      const page = await ctx.newPage();
      await page.goto(`${srv.base}/login.html`);
      await page.fill('#user', 'anna');
      for (let i = 0; i < 7; i++) {
        await page.fill('#password', `wrong ${i}`);
        await page.click('#submit');
        await page.waitForFunction(() => document.getElementById('error').textContent !== '');
        if (/too many attempts/i.test(await page.locator('#error').textContent())) break;
        await page.evaluate(() => { document.getElementById('error').textContent = ''; });
      }
      assert(/too many attempts.*\d+ s/i.test(await page.locator('#error').textContent()), `rate limit shown: ${await page.locator('#error').textContent()}`);
      assert(await page.locator('#submit').isDisabled(), 'Sign in is off while blocked');
    });
  } finally {
    for (const v of visitors) await v.close().catch(() => {});
    for (const c of ctxs) await c.close().catch(() => {});
    await srv.stop();
  }
}

/* ---- screenshots over realistic data --------------------------------------- */

async function screenshots(browser) {
  const flows = flowsFolder('inbox-shots', { 'support.flow': SUPPORT });
  const srv = await new Flowd({ flowd, flows, data: tempDir('inbox-shots-data'), extra: ['--channel', 'demo=support'] }).start();
  const visitors = [];
  const ctxs = [];
  try {
    for (const [user, name, role] of [['anna', 'Anna Berg', 'agent'], ['ben', 'Ben Okafor', 'agent'], ['mia', 'Mia Larsen', 'admin']]) {
      await srv.http('POST', '/api/users', { user, name, role, password: PW, capacity: 6 }, { token: 'T' });
    }
    for (const [k, t] of [['price', 'Our plans start at 10 EUR a month; Team is 49 EUR per seat.'], ['demo', 'You can book a demo here: https://example.com/demo'], ['thanks', 'Thanks for reaching out! Anything else I can help with?']]) {
      await srv.http('PUT', `/api/canned/${k}`, { text: t }, { token: 'T' });
    }
    await srv.setAgents(2);
    const anna = await session(srv, 'anna'), ben = await session(srv, 'ben');
    const real = Math.floor(Date.now() / 1000);
    const at = (minAgo) => srv.setClock({ utc: real - minAgo * 60 });

    const V = async (hello) => {
      const v = await srv.visitor({ channel: 'demo', visitor: freshVisitorId('s'), ...hello });
      visitors.push(v);
      await v.waitFor((f) => f.type === 'buttons', 5000, 'buttons');
      return v;
    };

    // 1. a long thread, Anna's, high priority, lead created
    await at(38);
    const maria = await V({ name: 'Maria Lopez', email: 'maria.lopez@greenearth.org', page: '/pricing', device: 'desktop', country: 'ES', returning: true });
    await clickLabel(maria, 'a', 'Pricing');
    await at(37); await say(maria, 'b', 'maria.lopez@greenearth.org');
    await at(36); await clickLabel(maria, 'c', 'Talk to a person');
    await at(35); await say(maria, 'd', 'Hi, we are an NGO with 14 volunteers. Is there a discount for non-profits?');
    const mid = maria.welcome.conversation;
    await at(33); await anna('POST', `/api/conversations/${mid}/assign`, {});
    await anna('POST', `/api/conversations/${mid}/reply`, { text: 'Hi Maria, Anna here! Yes, registered non-profits get 30% off the Team plan.' });
    await at(31); await say(maria, 'e', 'That sounds great. Do we pay per volunteer or per seat that logs in?');
    await at(29); await anna('POST', `/api/conversations/${mid}/reply`, { text: 'Per seat that logs in during the month. Volunteers who only get emails are free.' });
    await at(27); await say(maria, 'f', 'Perfect. Could you send an offer for 6 seats to our treasurer?');
    await at(26); await anna('PUT', `/api/conversations/${mid}/lead`, { name: 'Maria Lopez', email: 'maria.lopez@greenearth.org', phone: '+34 612 345 678', organization: 'Green Earth Foundation', address: 'Carrer de Mallorca 120, Barcelona', deal_value: '2058', close_date: '2026-12-15', notes: 'NGO, 6 seats, 30% non-profit discount. Offer to the treasurer (Jordi).' });
    await anna('POST', `/api/conversations/${mid}/records`, { deal: false });
    await at(25); await anna('POST', `/api/conversations/${mid}/reply`, { text: 'Done: I created the offer for 6 seats with the non-profit discount. Jordi will get it within the hour.' });
    await maria.send({ type: 'read', seq: 999 });
    await at(3); await say(maria, 'g', 'Thanks! One more question: can we pay yearly by bank transfer?');
    await anna('PUT', `/api/conversations/${mid}/meta`, { priority: 'high', tags: ['ngo', 'pricing'] });
    await maria.send({ type: 'page', page: '/pricing/nonprofit' });

    // 2. queued, waiting 7 minutes (late)
    await at(9);
    const tom = await V({ name: 'Tom Becker', email: 'tom@becker-bikes.de', page: '/docs/api', device: 'desktop', country: 'DE' });
    await at(8); await clickLabel(tom, 'a', 'Talk to a person');
    await at(7); await say(tom, 'b', 'Our webhook deliveries fail with 401 since this morning. Did something change?');
    const tid = tom.welcome.conversation;
    await anna('PUT', `/api/conversations/${tid}/meta`, { priority: 'urgent', tags: ['bug'] });

    // 3. queued 4 minutes
    await at(5);
    const chen = await V({ name: 'Chen Wei', page: '/signup', device: 'mobile', country: 'SG' });
    await at(4); await clickLabel(chen, 'a', 'Talk to a person');
    await say(chen, 'b', 'Can I switch plans in the middle of the month?');

    // 4. queued just now
    await at(1);
    const sofia = await V({ name: 'Sofia Rossi', email: 'sofia@trattoria-rossi.it', page: '/', device: 'tablet', country: 'IT' });
    await clickLabel(sofia, 'a', 'Talk to a person');
    await say(sofia, 'b', 'Hello! Is the widget available in Italian?');

    // 5. the bot is still running (anonymous visitor)
    await at(2);
    await V({ page: '/features', device: 'mobile', country: 'NL' });

    // 6. Anna's, urgent, answered (nobody waits)
    await at(55);
    const priya = await V({ name: 'Priya Shah', email: 'priya@shahlogistics.in', page: '/account/billing', device: 'desktop', country: 'IN', returning: true });
    await clickLabel(priya, 'a', 'Talk to a person');
    await at(54); await say(priya, 'b', 'Our invoice for November shows 12 seats but we only have 9.');
    const pid = priya.welcome.conversation;
    await at(50); await anna('POST', `/api/conversations/${pid}/reply`, { text: 'Sorry about that, Priya. I\'m checking with billing now.' });
    await anna('PUT', `/api/conversations/${pid}/meta`, { priority: 'urgent', tags: ['billing', 'vip'] });
    await at(12); await say(priya, 'c', 'Any update? Our finance team closes the month today.');

    // 7. Anna's, low priority, answered
    await at(90);
    const jonas = await V({ name: 'Jonas Weber', email: 'jonas@weber-design.de', page: '/integrations', device: 'desktop', country: 'DE' });
    await clickLabel(jonas, 'a', 'Talk to a person');
    await say(jonas, 'b', 'Do you integrate with Pipedrive?');
    const jid = jonas.welcome.conversation;
    await at(85); await anna('POST', `/api/conversations/${jid}/reply`, { text: 'Yes, through webhooks today; a native app ships in January.' });
    await anna('PUT', `/api/conversations/${jid}/meta`, { priority: 'low', tags: ['integrations'] });
    await jonas.close();

    // 8. Ben's (not visible to Anna)
    await at(20);
    const lena = await V({ name: 'Lena Fischer', page: '/', device: 'desktop', country: 'AT' });
    await clickLabel(lena, 'a', 'Talk to a person');
    await ben('POST', `/api/conversations/${lena.welcome.conversation}/assign`, {});

    // 9. a closed one with a deal
    await at(180);
    const omar = await V({ name: 'Omar Haddad', email: 'omar@haddad.ae', page: '/pricing', device: 'desktop', country: 'AE' });
    await clickLabel(omar, 'a', 'Talk to a person');
    await say(omar, 'b', 'We would like the Team plan for 25 people.');
    const oid = omar.welcome.conversation;
    await at(175); await anna('POST', `/api/conversations/${oid}/reply`, { text: 'Great! I\'ve set up a yearly Team plan offer for 25 seats.' });
    await anna('PUT', `/api/conversations/${oid}/lead`, { name: 'Omar Haddad', email: 'omar@haddad.ae', organization: 'Haddad Trading LLC', deal_value: '14700', close_date: '2026-12-01', notes: 'Yearly, 25 seats' });
    await anna('POST', `/api/conversations/${oid}/records`, { deal: true });
    await at(170); await anna('POST', `/api/conversations/${oid}/close`, {});

    // a lead from the bot
    await at(60);
    const kim = await V({ name: 'Kim Andersen', page: '/pricing', device: 'mobile', country: 'DK' });
    await clickLabel(kim, 'a', 'Pricing');
    await say(kim, 'b', 'kim@andersen.dk');
    await kim.close();

    for (const [min, name, email, country] of [[240, 'Lucas Martin', 'lucas@martin-immo.fr', 'FR'], [130, 'Aiko Tanaka', 'aiko.tanaka@hoshi.jp', 'JP'], [75, 'Sam Carter', 'sam@carterco.us', 'US']]) {
      await at(min);
      const v = await V({ name, page: '/pricing', device: 'desktop', country });
      await clickLabel(v, 'a', 'Pricing');
      await say(v, 'b', email);
      if (name === 'Aiko Tanaka') {
        await clickLabel(v, 'c', 'Talk to a person');
        const id = v.welcome.conversation;
        await anna('POST', `/api/conversations/${id}/reply`, { text: 'Hi Aiko! Happy to set up the Team plan for your studio.' });
        await anna('PUT', `/api/conversations/${id}/lead`, { name, email, organization: 'Hoshi Design Studio', phone: '+81 3 1234 5678', deal_value: '5880', close_date: '2027-01-10', notes: '10 seats, yearly, wants SSO' });
        await anna('POST', `/api/conversations/${id}/records`, { deal: true });
        await anna('POST', `/api/conversations/${id}/close`, {});
      }
      await v.close();
    }

    await srv.setClock({ utc: 0 }); // back to the real clock

    const ctx = await agentContext(browser, srv);
    ctxs.push(ctx);
    const page = await login(ctx, srv, 'anna');
    await goOnline(page);
    await page.waitForSelector(item(tid));
    await page.waitForSelector(`${item(tid)} .wait.late`);
    // Unassigned: the waiting ones oldest first, then the one the bot still runs
    const order = await page.evaluate(() => [...document.querySelectorAll('#list .conv')].map((li) => Number(li.dataset.id)));
    assertEq(order.slice(0, 3), [tid, chen.welcome.conversation, sofia.welcome.conversation], 'Unassigned order');
    assert(await page.locator(`#list .conv:nth-child(4) .st-bot`).count() === 1, 'the bot conversation comes last');
    assert(!(await page.locator(`${item(sofia.welcome.conversation)} .wait.late`).count()), 'a 1-minute wait is not highlighted');
    await page.click(item(tid));       // the cursor on the oldest waiting one
    await page.waitForSelector('#thread:not([hidden])');
    await sleep(300);
    await screenshot(page, 'inbox');

    await folder(page, 'mine');
    await page.waitForSelector(item(mid));
    await openConv(page, mid);
    await page.waitForSelector('.sys.lead');
    await page.waitForSelector('#records li');
    await page.fill('#reply', 'Yes, yearly by bank transfer works: I\'ll add the IBAN to the off');
    await maria.send({ type: 'typing', typing: true });
    await page.waitForFunction(() => /typing/.test(document.getElementById('typing').textContent));
    await sleep(200);
    await screenshot(page, 'conversation');

    if (process.env.INBOX_MORE_SHOTS) {   // the menus and dialogs, for a look (build/screenshots/inbox-*.png)
      await page.click('#a-reassign'); await page.waitForSelector('#menu:not([hidden])');
      await screenshot(page, 'inbox-reassign'); await page.keyboard.press('Escape');
      await page.click('#a-snooze'); await page.waitForSelector('#menu:not([hidden])');
      await screenshot(page, 'inbox-snooze'); await page.keyboard.press('Escape');
      await page.click('#a-close'); await page.waitForSelector('#menu:not([hidden])');
      await screenshot(page, 'inbox-close'); await page.keyboard.press('Escape');
      await page.fill('#reply', ''); await page.click('#reply'); await page.keyboard.type('/');
      await page.waitForSelector('#canned-pop:not([hidden])');
      await screenshot(page, 'inbox-canned'); await page.keyboard.press('Escape'); await page.fill('#reply', '');
      await page.click('#open-help'); await screenshot(page, 'inbox-help'); await page.keyboard.press('Escape');
      await page.click('#open-canned'); await screenshot(page, 'inbox-canned-dialog'); await page.keyboard.press('Escape');
      await folder(page, 'closed'); await page.waitForSelector(item(oid)); await openConv(page, oid);
      await screenshot(page, 'inbox-closed');
    }

    const leads = await login(await agentContext(browser, srv).then((c) => { ctxs.push(c); return c; }), srv, 'anna', PW, '/leads.html');
    await leads.waitForFunction(() => document.querySelectorAll('#rows tr[data-id]').length >= 3);
    await screenshot(leads, 'leads');
    const n = await leads.locator('#rows tr[data-id]').count();
    assert(n >= 3, `leads listed: ${n}`);
  } finally {
    for (const v of visitors) await v.close().catch(() => {});
    for (const c of ctxs) await c.close().catch(() => {});
    await srv.stop();
  }
}

const browser = await launchBrowser();
try {
  await scenario(browser);
  await test('realistic inbox: Unassigned oldest first, waits red after 3 minutes; screenshots inbox, conversation, leads', () => screenshots(browser));
} finally {
  await browser.close();
  done();
}
