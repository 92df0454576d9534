// Browser tests of the admin pages: the channel settings page
// (runtime/web/admin/channels.html) and the statistics page
// (runtime/web/admin/stats.html), against docs/api.md. Debian's Chromium
// through playwright-core; one flowd with --test-hooks. Screenshots:
// build/screenshots/settings.png and build/screenshots/stats.png.
//
// usage: FLOWD=build/flowd node admin.test.mjs [FILTER]
import {
  Flowd, assert, assertEq, done, flowdPath, flowsFolder, freshVisitorId, launchBrowser, screenshot, sleep, tempDir,
  test, within,
} from './lib.mjs';

const FILTER = process.argv[2] || process.env.FILTER || '';
const run = (name, fn) => (!FILTER || name.includes(FILTER) ? test(name, fn) : null);

/* ---- flows ------------------------------------------------------------------------------------ */

const FUNNEL = `flow "Funnel test"

var email: email

node start {
  say "Hi! What brings you here?"
  choice "Pick one:" {
    "Prices" -> prices
    "Leave my email" -> capture
    "A person" -> human
  }
}

node prices {
  say "Plans start at 10 EUR a month."
  choice "Anything else?" {
    "Yes" -> start
    "No" { say "Bye!"; end }
  }
}

node capture {
  ask email "Your email?"
  lead { email: email }
  say "Thanks!"
  end
}

node human {
  handoff "sales" {
    wait 5m
  }
}
`;

const OTHER = `flow "Other"

node start {
  say "Hello from the other flow."
}
`;

/* The conversations driven over the visitor socket, per day (UTC: the flow
 * has no hours). "loop" goes prices -> start -> capture and ends as a lead. */
const PLAN = [
  ['2026-03-02', ['resolved', 'lead', 'missed', 'resolved']],
  ['2026-03-03', ['resolved', 'abandoned', 'handoff']],
  ['2026-03-04', ['lead', 'loop', 'resolved', 'resolved', 'missed']],
  ['2026-03-05', ['resolved', 'handoff']],
  ['2026-03-06', ['resolved', 'resolved', 'lead', 'abandoned', 'resolved']],
  ['2026-03-09', ['missed', 'lead', 'resolved']],
  ['2026-03-10', ['resolved', 'handoff', 'loop', 'resolved']],
  ['2026-03-11', ['abandoned', 'resolved', 'lead']],
];
const OUTCOME_OF = { resolved: 'resolved', lead: 'lead', loop: 'lead', missed: 'missed', abandoned: 'abandoned', handoff: 'handoff' };
const OUTCOMES = ['resolved', 'lead', 'handoff', 'missed', 'abandoned', 'error'];

/* ---- the server and the browser ------------------------------------------------------------------ */

const overall = setTimeout(() => {
  console.log('FAIL time limit: the admin tests ran over 300 s');
  done();
  process.exit(1);
}, 300000);
overall.unref();

const PASSWORD = 'root-password-123';
const flowd = new Flowd({
  flowd: flowdPath([]),
  flows: flowsFolder('admin', { 'funnel.flow': FUNNEL, 'other.flow': OTHER }),
  data: tempDir('admin-data'),
  extra: ['--channel', 'demo=funnel', '--abandon-after', '60'],
});
await flowd.start();
const admin = (method, p, body) => flowd.http(method, p, body, { token: 'T' });

const browser = await launchBrowser();
const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, baseURL: flowd.base });
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: flowd.base });
const requests = [];
context.on('request', (r) => requests.push({ url: r.url(), method: r.method() }));
const page = await context.newPage();
page.setDefaultTimeout(8000);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('dialog', (d) => d.dismiss().catch(() => {}));

/* ---- helpers ------------------------------------------------------------------------------------- */

async function openChannel(query) {
  await page.goto('/admin/channels.html' + query);
  await page.waitForSelector(`body[data-loaded="${query.startsWith('?new') ? 'new' : new URLSearchParams(query).get('channel')}"]`);
}

/* The widget inside the preview frame: computed styles from its shadow root
 * (null while the widget is not there). */
function widgetState() {
  return page.evaluate(() => {
    const d = document.querySelector('#preview').contentDocument;
    const host = d && d.querySelector('[data-flowd]');
    if (!host || !host.shadowRoot) return null;
    const w = d.defaultView, sr = host.shadowRoot;
    const l = sr.querySelector('.launcher'), head = sr.querySelector('.head'), win = sr.querySelector('.win');
    const cs = w.getComputedStyle(l), hs = w.getComputedStyle(head);
    return {
      bg: cs.backgroundColor, left: cs.left, right: cs.right, bottom: cs.bottom, headBg: hs.backgroundColor,
      headColor: hs.color, open: !!win && !win.hidden, name: (sr.querySelector('.name') || {}).textContent,
      welcome: (sr.querySelector('.sub') || {}).textContent,
    };
  });
}

/* Records what the page posts to the preview frame (the contract with the
 * widget), so the payload can be checked with or without a widget. */
async function recordPreview() {
  await page.waitForFunction(() => {
    const f = document.querySelector('#preview');
    return f.contentDocument && f.contentDocument.readyState === 'complete' && f.contentDocument.querySelector('script');
  });
  await page.evaluate(() => {
    const w = document.querySelector('#preview').contentWindow;
    w.__got = [];
    w.addEventListener('message', (e) => w.__got.push(e.data));
  });
}
const lastPreview = () => page.evaluate(() => {
  const got = document.querySelector('#preview').contentWindow.__got || [];
  return got[got.length - 1] || null;
});

async function untilWidget(pred, what) {
  const end = Date.now() + 5000;
  let last = null;
  for (;;) {
    last = await widgetState();
    const msg = await lastPreview();
    if (pred(last, msg)) return { widget: last, msg };
    if (Date.now() > end) throw new Error(`timed out waiting for the preview: ${what}; widget ${JSON.stringify(last)}; payload ${JSON.stringify(msg && { view: msg.view, settings: msg.settings })}`);
    await sleep(50);
  }
}

const fieldError = (key) => page.textContent(`#err-${key}`);
const channelWrites = (from) => requests.slice(from).filter((r) => /\/api\/channels/.test(r.url) && r.method !== 'GET');
const fmtInt = (n) => Number(n || 0).toLocaleString('en-US');

/* ---- login ----------------------------------------------------------------------------------------- */

await run('an admin account logs in', async () => {
  const made = await admin('POST', '/api/users', { user: 'root', name: 'Root Admin', role: 'admin', password: PASSWORD });
  assert(made.status === 201 || made.status === 200, `POST /api/users answered ${made.status} ${made.text}`);
  const agent = await admin('POST', '/api/users', { user: 'anna', name: 'Anna Nowak', role: 'agent', password: 'anna-password-1' });
  assert(agent.status === 201 || agent.status === 200, `POST /api/users (agent) answered ${agent.status} ${agent.text}`);
  // an admin page without a session sends the browser to the sign-in page and back
  await page.goto('/admin/channels.html?channel=demo');
  await page.waitForURL(/\/login\.html\?next=/);
  await page.fill('#user', 'root');
  await page.fill('#password', PASSWORD);
  await page.click('#submit');
  await page.waitForURL(/\/admin\/channels\.html\?channel=demo$/);
  await page.waitForSelector('body[data-loaded="demo"]');
  const me = await context.request.get('/api/me');
  assertEq((await me.json()).role, 'admin', 'role of /api/me');
});

/* ---- channel settings ------------------------------------------------------------------------------ */

await run('a channel is created through the form', async () => {
  await openChannel('?new');
  assert(await page.isVisible('nav.staff-nav'), 'the staff navigation is drawn');
  const flows = await page.$$eval('#f-flow option', (os) => os.map((o) => o.value));
  assert(flows.includes('funnel') && flows.includes('other'), `the flow selector lists GET /api/flows: ${flows}`);
  await page.fill('#f-name', 'Shop');
  assert(/lowercase/.test(await fieldError('name')), `name message: ${await fieldError('name')}`);
  await page.fill('#f-name', 'demo'); // exists: only the server knows
  await page.click('#save');
  await page.waitForFunction(() => /already exists/.test(document.querySelector('#err-name').textContent));
  await page.fill('#f-name', 'shop');
  assertEq(await fieldError('name'), '', 'the name message goes with the edit');
  await page.fill('#f-website', 'https://shop.example');
  await page.selectOption('#f-flow', 'other');
  const mark = requests.length;
  await page.fill('#f-bot_name', 'Shoppy');
  await page.fill('#f-welcome', 'Hi! Ask us about your order.');
  await page.fill('#f-pages', '/checkout/*\n/account/*');
  await page.click('label:has(#f-prechat)');
  await page.fill('#f-privacy_url', 'https://shop.example/privacy');
  await page.click('#save');
  await page.waitForFunction(() => /created/.test(document.querySelector('#form-status').textContent));
  assertEq(channelWrites(mark).map((r) => r.method), ['POST'], 'one POST /api/channels');
  assertEq((await admin('GET', '/api/channels/demo')).body.flow, 'funnel', 'the refused POST left demo alone');
  const got = await admin('GET', '/api/channels/shop');
  assertEq(got.status, 200, 'GET /api/channels/shop');
  const want = { name: 'shop', website: 'https://shop.example', flow: 'other', bot_name: 'Shoppy', welcome: 'Hi! Ask us about your order.',
    pages: ['/checkout/*', '/account/*'], prechat: true, privacy_url: 'https://shop.example/privacy', page_mode: 'deny', align: 'right', offset: 20 };
  for (const [k, v] of Object.entries(want)) assertEq(got.body[k], v, `saved ${k}`);
  assert(/^[0-9a-f]{32,}$/.test(got.body.identity_secret || ''), `an identity secret was set: ${got.body.identity_secret}`);
  assert(new URL(page.url()).searchParams.get('channel') === 'shop', `the URL names the channel: ${page.url()}`);
  assert(await page.isVisible('#channel-list a[data-channel="shop"][aria-current="page"]'), 'the list shows the new channel');
  assert(await page.$eval('#f-name', (e) => e.readOnly), 'the name cannot change after creation');
});

await run('the preview follows colours, alignment, offset and texts as they are typed', async () => {
  await openChannel('?channel=shop');
  await recordPreview();
  await page.click('#preview-views button[data-view="closed"]');
  await page.fill('#f-primary', '#ff0000');
  let r = await untilWidget((w, m) => m && m.settings.primary === '#ff0000' && (!w || w.bg === 'rgb(255, 0, 0)'), 'primary colour');
  assertEq(r.msg.type, 'flowd-preview', 'message type');
  assertEq(r.msg.view, 'closed', 'view');
  assert(!('identity_secret' in r.msg.settings), 'the secret is not sent to the preview');
  await page.click('label:has(#f-align-left)');
  r = await untilWidget((w, m) => m && m.settings.align === 'left' && (!w || w.left === '20px'), 'left alignment');
  await page.fill('#f-offset', '120');
  r = await untilWidget((w, m) => m && m.settings.offset === 120 && (!w || w.bottom === '120px'), 'offset 120');
  assertEq(await page.inputValue('#f-offset-range'), '120', 'the slider follows the number');
  await page.fill('#f-secondary', '#fafafa');
  await page.fill('#f-bot_name', 'Shop bot');
  await page.fill('#f-welcome', 'We answer within minutes');
  await page.click('#preview-views button[data-view="open"]');
  r = await untilWidget((w, m) => m && m.view === 'open' && m.settings.secondary === '#fafafa' &&
    (!w || (w.open && w.headBg === 'rgb(255, 0, 0)' && w.headColor === 'rgb(250, 250, 250)' && w.name === 'Shop bot' &&
      w.welcome === 'We answer within minutes')), 'open window with the new header');
  if (!r.widget) console.log('     (no widget in the preview frame: checked the postMessage payload only)');
  assertEq(await page.textContent('#form-status'), 'Unsaved changes', 'the page says the changes are not saved');
  await page.click('#save');
  await page.waitForFunction(() => /Saved/.test(document.querySelector('#form-status').textContent));
  const got = (await admin('GET', '/api/channels/shop')).body;
  for (const [k, v] of Object.entries({ primary: '#ff0000', secondary: '#fafafa', align: 'left', offset: 120, bot_name: 'Shop bot' })) {
    assertEq(got[k], v, `saved ${k}`);
  }
});

await run('invalid colour, offset and glob are refused next to the field and nothing is saved', async () => {
  await openChannel('?channel=shop');
  const before = (await admin('GET', '/api/channels/shop')).body;
  await recordPreview();
  const mark = requests.length;
  await page.fill('#f-primary', 'red');
  assert(/colour like #/.test(await fieldError('primary')), `colour message: ${await fieldError('primary')}`);
  assert(await page.$eval('.field[data-field="primary"]', (e) => e.classList.contains('invalid')), 'the colour field is marked');
  assertEq(await page.getAttribute('#f-primary', 'aria-invalid'), 'true', 'aria-invalid on the colour');
  await page.fill('#f-offset', '500');
  assert(/0 to 400/.test(await fieldError('offset')), `offset message: ${await fieldError('offset')}`);
  await page.fill('#f-pages', '/checkout/*\nshop/*');
  assert(/line 2/.test(await fieldError('pages')) && /start with \//.test(await fieldError('pages')), `glob message: ${await fieldError('pages')}`);
  await page.fill('#f-pages', '/checkout/*\n/my orders/*');
  assert(/spaces/.test(await fieldError('pages')), `glob with a space: ${await fieldError('pages')}`);
  await page.fill('#f-website', 'shop.example');
  assert(/http/.test(await fieldError('website')), `URL message: ${await fieldError('website')}`);
  await page.fill('#f-quota', '-1');
  assert(/10,000,000/.test(await fieldError('quota')), `quota message: ${await fieldError('quota')}`);
  // the preview keeps the last good values
  const r = await untilWidget((w, m) => m && m.settings.primary === '#ff0000' && m.settings.offset === 120, 'last good values');
  if (r.widget) assertEq(r.widget.bg, 'rgb(255, 0, 0)', 'the widget keeps the last good colour');
  await page.click('#save');
  await page.waitForFunction(() => /Not saved/.test(document.querySelector('#form-status').textContent));
  assertEq(channelWrites(mark), [], 'no write request was sent');
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  assertEq(focused, 'f-website', 'the first bad field has the focus');
  assertEq((await admin('GET', '/api/channels/shop')).body, before, 'GET shows the old settings');
  // fixing a field clears its message
  await page.fill('#f-primary', '#00aa00');
  assertEq(await fieldError('primary'), '', 'the colour message is gone');
});

await run("the server's 400 fields are shown next to the fields (an unknown flow)", async () => {
  await openChannel('?channel=shop');
  const before = (await admin('GET', '/api/channels/shop')).body;
  // a flow the page cannot know is gone: only the server can refuse it
  await page.evaluate(() => {
    const s = document.querySelector('#f-flow');
    s.add(new Option('no-such-flow', 'no-such-flow'));
    s.value = 'no-such-flow';
    s.dispatchEvent(new Event('change', { bubbles: true }));
  });
  assertEq(await fieldError('flow'), '', 'the page itself has nothing against it');
  const answer = page.waitForResponse((res) => res.url().endsWith('/api/channels/shop') && res.request().method() === 'PUT');
  await page.click('#save');
  const res = await answer;
  assertEq(res.status(), 400, 'the server refuses the settings');
  const body = await res.json();
  assert(body.fields && body.fields.flow, `the answer names the field: ${JSON.stringify(body)}`);
  await page.waitForFunction(() => document.querySelector('#err-flow').textContent !== '');
  assertEq(await fieldError('flow'), body.fields.flow, "the server's message is next to the flow selector");
  assert(/refused/.test(await page.textContent('#form-status')), 'the status says so');
  assertEq((await admin('GET', '/api/channels/shop')).body, before, 'GET shows the old settings');
  // choosing a loaded flow clears the message
  await page.selectOption('#f-flow', 'funnel');
  assertEq(await fieldError('flow'), '', 'the message goes with the edit');
});

await run('the server refuses every value the page refuses, naming the same field', async () => {
  const ch = (await admin('GET', '/api/channels/shop')).body;
  const bad = [['primary', 'red'], ['secondary', '#fff'], ['offset', 500], ['offset', 12.5], ['align', 'middle'],
    ['page_mode', 'everywhere'], ['pages', ['shop/*']], ['pages', ['/my orders']], ['website', 'ftp://shop.example'],
    ['website', 'shop.example'], ['privacy_url', 'example.com/privacy'], ['terms_url', 'javascript:alert(1)'],
    ['avatar', 'javascript:alert(1)'], ['quota', -1], ['quota', 10000001], ['agents', ['ghost']], ['flow', 'no-such-flow']];
  const wrong = [];
  try {
    for (const [key, value] of bad) {
      const r = await admin('PUT', '/api/channels/shop', { ...ch, [key]: value });
      if (r.status !== 400 || !r.body.fields || !r.body.fields[key]) wrong.push(`${key}=${JSON.stringify(value)}: ${r.status} ${r.text.slice(0, 120)}`);
    }
    const named = await admin('POST', '/api/channels', { ...ch, name: 'Shop Two' });
    if (named.status !== 400 || !named.body.fields || !named.body.fields.name) wrong.push(`name="Shop Two": ${named.status}`);
    assertEq(wrong, [], 'values the server accepted (docs/api.md says 400 with that field)');
    assertEq((await admin('GET', '/api/channels/shop')).body, ch, 'nothing was saved');
  } finally {
    await admin('PUT', '/api/channels/shop', ch); // the next tests start from the settings as they were
  }
});

await run('the embed code names the channel and the copy button puts it on the clipboard', async () => {
  await openChannel('?channel=shop');
  const code = await page.inputValue('#embed-code');
  assertEq(code, `<script src="${flowd.base}/widget.js" data-channel="shop" async></script>`, 'embed code');
  await page.click('#copy-embed');
  await page.waitForFunction(() => /Copied/.test(document.querySelector('#copy-note').textContent));
  assertEq(await page.evaluate(() => navigator.clipboard.readText()), code, 'clipboard');
});

await run('identity secret, allowed agents and quota are edited and saved', async () => {
  await openChannel('?channel=shop');
  const agents = await page.$$eval('#f-agents input', (is) => is.map((i) => i.value));
  assert(agents.includes('anna'), `the agents come from GET /api/agents: ${agents}`);
  assert(await page.$eval('#f-agents-all', (e) => e.checked), 'empty list: every agent');
  const old = await page.inputValue('#f-identity_secret');
  await page.click('#regen-secret');
  const secret = await page.inputValue('#f-identity_secret');
  assert(secret !== old && /^[0-9a-f]{64}$/.test(secret), `a new secret: ${secret}`);
  assert(/save/.test(await page.textContent('#hint-secret')), 'the page says the new secret needs saving');
  await page.click('label:has(#f-agents-some)');
  await page.click('#save');
  await page.waitForFunction(() => /Not saved/.test(document.querySelector('#form-status').textContent));
  assert(/at least one agent/.test(await fieldError('agents')), `agents message: ${await fieldError('agents')}`);
  await page.check('#f-agents input[value="anna"]');
  assertEq(await fieldError('agents'), '', 'the agents message goes');
  await page.fill('#f-quota', '500');
  await page.check('#f-identity_enforced');
  await page.click('#save');
  await page.waitForFunction(() => /Saved/.test(document.querySelector('#form-status').textContent));
  const got = (await admin('GET', '/api/channels/shop')).body;
  assertEq(got.agents, ['anna'], 'agents');
  assertEq(got.quota, 500, 'quota');
  assertEq(got.identity_secret, secret, 'identity secret');
  assertEq(got.identity_enforced, true, 'identity enforced');
  await page.waitForSelector('#quota-usage');
  const usage = await page.textContent('#quota-usage');
  assert(/^0 of 500 bot conversations used in \w+ \d{4} · renews on \d+ \w+ \d{4}$/.test(usage), `quota usage: ${usage}`);
});

await run('screenshot of the settings page (form and preview)', async () => {
  await openChannel('?channel=shop');
  await page.fill('#f-primary', '#4f46e5');
  await page.fill('#f-secondary', '#ffffff');
  await page.click('label:has(#f-align-right)');
  await page.fill('#f-offset', '20');
  await page.fill('#f-welcome', 'We usually reply in a few minutes');
  await page.click('#save');
  await page.waitForFunction(() => /Saved/.test(document.querySelector('#form-status').textContent));
  await page.click('#preview-views button[data-view="open"]');
  await sleep(700); // the window's opening animation
  await screenshot(page, 'settings');
});

/* ---- statistics ------------------------------------------------------------------------------------- */

/* Plays one conversation of a kind at a time (unix seconds). */
async function converse(kind, at) {
  await flowd.setClock({ utc: at });
  await flowd.setAgents(kind === 'handoff' ? 1 : 0);
  const v = await flowd.visitor({ channel: 'demo', visitor: freshVisitorId('adm'), page: '/' });
  const conv = v.welcome.conversation;
  let n = 0;
  const id = () => `${kind}-${at}-${n++}`;
  const ended = () => v.waitFor((f) => f.type === 'ended', 5000, `the end of a ${kind} conversation`);
  try {
    if (kind === 'resolved') { await v.click(id(), 0); await v.click(id(), 1); }
    if (kind === 'lead') { await v.click(id(), 1); await v.text(id(), 'eva@example.com'); }
    if (kind === 'loop') { await v.click(id(), 0); await v.click(id(), 0); await v.click(id(), 1); await v.text(id(), 'max@example.com'); }
    if (kind === 'missed') await v.click(id(), 2);
    if (kind === 'abandoned') await v.click(id(), 0); // then leaves at "Anything else?"
    if (kind === 'handoff') {
      await v.click(id(), 2);
      await v.waitFor((f) => f.type === 'status' && f.status === 'queued', 5000, 'queued');
      await flowd.setClock({ utc: at + 40 });
      const take = await admin('POST', `/api/conversations/${conv}/take`, { agent: 'Anna' });
      assert(take.status === 200, `take answered ${take.status} ${take.text}`);
      await v.waitFor((f) => f.type === 'agent_joined', 5000, 'agent_joined');
      await flowd.setClock({ utc: at + 100 });
      const reply = await admin('POST', `/api/conversations/${conv}/reply`, { text: 'Hi, Anna here.' });
      assert(reply.status === 200, `reply answered ${reply.status} ${reply.text}`);
      await flowd.setClock({ utc: at + 700 });
      const close = await admin('POST', `/api/conversations/${conv}/close`, {});
      assert(close.status === 200, `close answered ${close.status} ${close.text}`);
    }
    if (kind !== 'abandoned' && kind !== 'handoff') { // a handoff goes on with the agent: no "ended" frame
      const e = await ended();
      assertEq(e.outcome, OUTCOME_OF[kind], `outcome of a ${kind} conversation`);
    }
  } finally {
    await v.close();
  }
}

const expected = { started: 0, outcomes: Object.fromEntries(OUTCOMES.map((o) => [o, 0])), days: {} };
let lastAt = 0;
let driven = false;
await run('conversations are driven over the visitor socket on chosen days', async () => {
  for (const [day, kinds] of PLAN) {
    const [y, m, d] = day.split('-').map(Number);
    const dayOut = { started: 0, outcomes: {} };
    for (let i = 0; i < kinds.length; i++) {
      lastAt = Date.UTC(y, m - 1, d, 9, 0) / 1000 + i * 1200;
      await converse(kinds[i], lastAt);
      const o = OUTCOME_OF[kinds[i]];
      expected.started++;
      expected.outcomes[o]++;
      dayOut.started++;
      dayOut.outcomes[o] = (dayOut.outcomes[o] || 0) + 1;
    }
    expected.days[day] = dayOut;
  }
  // past --abandon-after for the last visitors who left while the bot waited
  await flowd.setClock({ utc: lastAt + 3600 });
  driven = true;
});

const MARCH = 'channel=demo&from=2026-03-01&to=2026-03-31';
let stats = null;
await run('the statistics API counts what the visitors did', async () => {
  assert(driven, 'the conversations were driven');
  let r;
  const end = Date.now() + 5000;
  do {
    r = await admin('GET', `/api/stats?${MARCH}`);
    if (r.status === 200 && r.body.outcomes && r.body.outcomes.abandoned === expected.outcomes.abandoned) break;
    await sleep(100);
  } while (Date.now() < end);
  assertEq(r.status, 200, 'GET /api/stats');
  stats = r.body;
  assertEq(stats.started, expected.started, 'started');
  for (const o of OUTCOMES) assertEq(stats.outcomes[o] || 0, expected.outcomes[o], `outcome ${o}`);
  for (const [day, want] of Object.entries(expected.days)) {
    const got = (stats.days || []).find((d) => d.date === day) || { started: 0, outcomes: {} };
    assertEq(got.started, want.started, `started on ${day}`);
    for (const o of OUTCOMES) assertEq(got.outcomes[o] || 0, want.outcomes[o] || 0, `${o} on ${day}`);
  }
  assertEq(stats.leads, expected.outcomes.lead, 'leads');
  assertEq(stats.first_reply.count, expected.outcomes.handoff, 'first replies measured');
  assertEq(stats.first_reply.median, 100, 'median time to the first agent reply (handoff at 0 s, reply at +100 s)');
  assertEq(stats.quota.used, expected.started, 'bot conversations used this month');
  assertEq(stats.quota.month, '2026-03', 'the quota month follows the server clock');
});

/* Texts of the elements carrying data-stat on the stats page. */
const shownStats = () => page.$$eval('[data-stat]', (els) => Object.fromEntries(els.map((e) => [e.dataset.stat, e.textContent])));

await run('the statistics page shows the numbers of the API and draws them in SVG, with no request elsewhere', async () => {
  assert(stats, 'the API answered');
  const ch = (await admin('GET', '/api/channels/demo')).body;
  assertEq((await admin('PUT', '/api/channels/demo', { ...ch, quota: 40 })).status, 200, 'a quota of 40 for demo');
  const mark = requests.length;
  await page.goto('/admin/stats.html?channel=demo&period=month&month=2026-03');
  await page.waitForSelector('body[data-loaded]');
  await page.waitForSelector('#svg-funnel');
  const api = (await admin('GET', `/api/stats?${MARCH}`)).body;
  const funnel = (await admin('GET', `/api/stats/funnel?${MARCH}`)).body;
  const shown = await shownStats();
  assertEq(shown.started, fmtInt(api.started), 'conversations started');
  for (const o of OUTCOMES) assertEq(shown['outcome-' + o], fmtInt(api.outcomes[o]), `outcome ${o}`);
  assertEq(shown.leads, fmtInt(api.leads), 'leads');
  assertEq(shown.deals, fmtInt(api.deals), 'deals');
  for (const k of ['first_reply', 'close']) {
    assertEq(shown[`${k}-count`], fmtInt(api[k].count), `${k} count`);
    const raw = await page.$eval(`[data-stat="${k}-median"]`, (e) => e.dataset.value);
    assertEq(Number(raw), api[k].median, `${k} median`);
  }
  assertEq(shown['first_reply-median'], '1 min 40 s', 'the median first reply, formatted');
  assertEq(shown['quota-used'], fmtInt(api.quota.used), 'quota used');
  assertEq(shown['quota-limit'], `of ${fmtInt(api.quota.limit)} · ${Math.round((api.quota.used / api.quota.limit) * 100)}%`, 'quota limit');
  assert(await page.isHidden('#quota-banner'), 'no banner while the quota lasts');
  // the daily chart: one bar segment per day and outcome, their sums per day
  const bars = await page.$$eval('#svg-daily rect.bar', (rs) => rs.map((r) => ({ date: r.dataset.date, outcome: r.dataset.outcome, count: Number(r.dataset.count) })));
  const wantBars = [];
  for (const d of api.days) {
    let ended = 0;
    for (const o of OUTCOMES) if ((d.outcomes[o] || 0) > 0) { wantBars.push({ date: d.date, outcome: o, count: d.outcomes[o] }); ended += d.outcomes[o]; }
    if (d.started > ended) wantBars.push({ date: d.date, outcome: 'open', count: d.started - ended });
  }
  assertEq(bars, wantBars, 'bars of the daily chart');
  assertEq(await page.$$eval('#svg-daily g[data-date]', (g) => g.length), 31, 'a column for every day of March');
  const slices = await page.$$eval('#svg-outcomes g.slice', (gs) => gs.map((g) => [g.dataset.outcome, Number(g.dataset.count)]));
  assertEq(slices, OUTCOMES.filter((o) => api.outcomes[o] > 0).map((o) => [o, api.outcomes[o]]), 'slices of the outcome chart');
  assert(await page.$('#svg-quota path'), 'the quota gauge is drawn');
  // the funnel: one box per node, its reach, its exits; one path per edge
  const nodes = await page.$$eval('#svg-funnel g.fn-node', (gs) => gs.map((g) => ({
    name: g.dataset.node, reached: Number(g.dataset.reached),
    exits: Array.from(g.querySelectorAll('rect.exit'), (r) => [r.dataset.outcome, Number(r.dataset.count)]),
  })));
  assertEq(nodes.map((n) => n.name).sort(), funnel.nodes.map((n) => n.name).sort(), 'funnel nodes');
  for (const n of funnel.nodes) {
    const g = nodes.find((x) => x.name === n.name);
    assertEq(g.reached, n.reached, `reach of ${n.name}`);
    assertEq(g.exits, OUTCOMES.filter((o) => (n.left[o] || 0) > 0).map((o) => [o, n.left[o]]), `exits of ${n.name}`);
  }
  const start = funnel.nodes.find((n) => n.name === 'start');
  assertEq(start.reached, expected.started, 'every conversation reached start');
  const edges = await page.$$eval('#svg-funnel path.fn-edge', (ps) => ps.map((p) => `${p.dataset.from}>${p.dataset.to}`).sort());
  assertEq(edges, [...new Set(funnel.edges.map((e) => `${e.from}>${e.to}`))].sort(), 'funnel edges');
  assert(await page.$('#svg-funnel path.fn-edge.back[data-from="prices"][data-to="start"]'), 'the loop back to start is drawn as a back edge');
  const rows = await page.$$eval('#table-funnel tbody tr', (trs) => trs.map((tr) => [tr.dataset.node, tr.querySelector('[data-col="reached"]').textContent]));
  assertEq(rows.map((r) => r[0]).sort(), funnel.nodes.map((n) => n.name).sort(), 'funnel table rows');
  for (const [name, reached] of rows) assertEq(reached, fmtInt(funnel.nodes.find((n) => n.name === name).reached), `table reach of ${name}`);
  // exports: CSV and JSON of every table
  const links = await page.$$eval('.export a', (as) => as.map((a) => a.getAttribute('href')));
  assert(links.length >= 8, `export links: ${links.length}`);
  for (const href of new Set(links)) {
    const res = await context.request.get(href);
    assertEq(res.status(), 200, `export ${href}`);
    const type = res.headers()['content-type'] || '';
    assert(href.includes('format=csv') ? /text\/csv/.test(type) : /json/.test(type), `type of ${href}: ${type}`);
  }
  const foreign = requests.slice(mark).filter((r) => !r.url.startsWith(flowd.base + '/') && !/^(about|data|blob):/.test(r.url));
  assertEq(foreign, [], 'requests to other origins');
  await page.hover('#table-funnel tbody tr[data-node="prices"]');
  assert(await page.$('#svg-funnel g.fn-node.hl[data-node="prices"]'), 'hovering a row highlights its node');
  await page.mouse.move(0, 0);
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'stats', { fullPage: true });
});

await run('day and custom-range periods ask the API for those days', async () => {
  await page.goto('/admin/stats.html?channel=demo&period=range&from=2026-03-03&to=2026-03-04');
  await page.waitForSelector('body[data-loaded]');
  const api = (await admin('GET', '/api/stats?channel=demo&from=2026-03-03&to=2026-03-04')).body;
  assertEq((await shownStats()).started, fmtInt(api.started), 'started in the range');
  assertEq(api.started, expected.days['2026-03-03'].started + expected.days['2026-03-04'].started, 'the API counts the two days');
  assertEq(await page.$$eval('#svg-daily g[data-date]', (g) => g.length), 2, 'two columns');
  assertEq(await page.$$eval('#table-days tbody tr', (t) => t.length), 2, 'two table rows');
  await page.click('#period button[data-period="day"]');
  await page.waitForFunction(() => new URLSearchParams(location.search).get('period') === 'day');
  await page.fill('#day', '2026-03-02');
  await page.dispatchEvent('#day', 'change');
  await page.waitForFunction(() => new URLSearchParams(location.search).get('day') === '2026-03-02');
  await page.waitForFunction((n) => document.querySelector('[data-stat="started"]').textContent === n, String(expected.days['2026-03-02'].started));
  const csv = await page.getAttribute('#export-csv', 'href');
  assertEq(csv, '/api/stats?channel=demo&from=2026-03-02&to=2026-03-02&format=csv', 'the export follows the period');
});

await run('a used-up quota shows a banner with its renewal date (stats and channel pages)', async () => {
  const ch = (await admin('GET', '/api/channels/demo')).body;
  const put = await admin('PUT', '/api/channels/demo', { ...ch, quota: 10 });
  assertEq(put.status, 200, `PUT /api/channels/demo ${put.text}`);
  const api = (await admin('GET', `/api/stats?${MARCH}`)).body;
  assertEq(api.quota.limit, 10, 'quota limit');
  assertEq(api.quota.exhausted, true, 'the API says the quota is used up');
  await page.goto('/admin/stats.html?channel=demo&period=month&month=2026-03');
  await page.waitForSelector('body[data-loaded]');
  await page.waitForSelector('#quota-banner:not([hidden])');
  const banner = await page.textContent('#quota-banner');
  assert(/used up/.test(banner) && /skip the bot/.test(banner), `banner: ${banner}`);
  assert(/renews on 1 April 2026/.test(banner), `the banner gives the renewal date: ${banner}`);
  await openChannel('?channel=demo');
  await page.waitForSelector('#quota-exhausted');
  assert(/renews on 1 April 2026/.test(await page.textContent('#quota-exhausted')), 'the channel page says it too');
});

await run('without dates the statistics page shows the month of the server clock', async () => {
  await page.goto('/admin/stats.html');
  await page.waitForSelector('body[data-loaded]');
  const q = new URLSearchParams(new URL(page.url()).search);
  assertEq([q.get('channel'), q.get('period'), q.get('month')], ['demo', 'month', '2026-03'], 'the period chosen');
  assertEq(await page.inputValue('#month'), '2026-03', 'the month field');
});

await run('an agent is told the admin pages are for admins', async () => {
  const ctx = await browser.newContext({ baseURL: flowd.base });
  try {
    const r = await ctx.request.post('/api/login', { data: { user: 'anna', password: 'anna-password-1' } });
    assertEq(r.status(), 200, 'agent login');
    const p = await ctx.newPage();
    for (const path of ['/admin/channels.html', '/admin/stats.html']) {
      await p.goto(path);
      await p.waitForFunction(() => !document.querySelector('#page-error').hidden, null, { timeout: 5000 });
      assert(/admins only/.test(await p.textContent('#page-error')), `${path} says so`);
    }
    assertEq((await ctx.request.get('/api/stats?channel=demo&from=2026-03-01&to=2026-03-31')).status(), 403, 'the API refuses the agent too');
  } finally {
    await ctx.close();
  }
});

await run('no script errors and no request to another origin on the admin pages', async () => {
  assertEq(pageErrors, [], 'page errors');
  const foreign = requests.filter((r) => !r.url.startsWith(flowd.base + '/') && !/^(about|data|blob):/.test(r.url));
  assertEq(foreign, [], 'requests to other origins');
});

await browser.close();
await flowd.stop();
clearTimeout(overall);
done();
