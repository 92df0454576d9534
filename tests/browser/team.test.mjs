// Browser tests of the admin team page (runtime/web/admin/team.html): the
// accounts of docs/api.md ("Accounts and sessions") managed through the
// page. Debian's Chromium through playwright-core; one flowd with
// --test-hooks. Screenshot: build/screenshots/team.png (also team-add.png
// and team-delete.png).
//
// usage: FLOWD=build/flowd node team.test.mjs [FILTER]
import WebSocket from 'ws';
import {
  Flowd, assert, assertEq, done, flowdPath, flowsFolder, freshVisitorId, launchBrowser, screenshot, sleep, tempDir,
  test, within,
} from './lib.mjs';

const FILTER = process.argv[2] || process.env.FILTER || '';
const run = (name, fn) => (!FILTER || name.includes(FILTER) ? test(name, fn) : null);

const overall = setTimeout(() => {
  console.log('FAIL time limit: the team tests ran over 240 s');
  done();
  process.exit(1);
}, 240000);
overall.unref();

/* A flow that hands every conversation to a person, for open counts. */
const DESK = `flow "Desk"

node start {
  say "Hi! Connecting you to the team."
  handoff "support" {
    wait 30m
  }
}
`;

const flowd = new Flowd({
  flowd: flowdPath([]),
  flows: flowsFolder('team', { 'desk.flow': DESK }),
  data: tempDir('team-data'),
  extra: ['--channel', 'demo=desk'],
});
await flowd.start();
const bearer = (method, p, body) => flowd.http(method, p, body, { token: 'T' });

/* A signed-in session outside the browser: cookie + CSRF token. */
async function login(user, password) {
  const r = await flowd.http('POST', '/api/login', { user, password });
  const m = /flowd_session=([0-9a-f]+)/.exec(r.headers.get('set-cookie') || '');
  return { status: r.status, body: r.body, cookie: m ? `flowd_session=${m[1]}` : '', csrf: r.body && r.body.csrf };
}
function asSession(s, method, p, body) {
  const headers = { Cookie: s.cookie };
  if (method !== 'GET') headers['X-CSRF-Token'] = s.csrf;
  return flowd.http(method, p, body, { headers });
}
const users = async () => (await bearer('GET', '/api/users')).body;
const userOf = async (u) => (await users()).find((x) => x.user === u);

const ADMIN = { user: 'maria', name: 'Maria Schmidt', password: 'maria-long-password' };

const browser = await launchBrowser();
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, baseURL: flowd.base });
const requests = [];
context.on('request', (r) => requests.push({ url: r.url(), method: r.method() }));
const page = await context.newPage();
page.setDefaultTimeout(8000);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
const nativeDialogs = [];
page.on('dialog', (d) => { nativeDialogs.push(d.type()); d.dismiss().catch(() => {}); });

const err = (key) => page.textContent(`#err-${key}`);
const usersWrites = (from) => requests.slice(from).filter((r) => /\/api\/users/.test(r.url) && r.method !== 'GET');
const rowSel = (u) => `#team-rows tr[data-user="${u}"]`;

async function openTeam(query = '') {
  await page.goto('/admin/team.html' + query);
  await page.waitForSelector('body[data-loaded="team"]');
}
async function fillAdd({ user, name = '', role = 'agent', capacity = '10', password, confirm = password }) {
  await page.fill('#a-user', user);
  await page.fill('#a-name', name);
  await page.check(`#a-role-${role}`);
  await page.fill('#a-capacity', String(capacity));
  await page.fill('#a-password', password);
  await page.fill('#a-confirm', confirm);
}
async function editPerson(u) {
  await page.click(`${rowSel(u)} [data-action="edit"]`);
  await page.waitForSelector('#edit-panel:not([hidden])');
  await page.waitForFunction((login) => document.querySelector('#e-login').textContent === login, u);
}

/* ---- signing in --------------------------------------------------------------------------- */

await run('an admin made with the bearer token signs in through /login.html', async () => {
  const made = await bearer('POST', '/api/users', { ...ADMIN, role: 'admin' });
  assertEq(made.status, 201, `POST /api/users answered ${made.text}`);
  await page.goto('/admin/team.html');
  await page.waitForURL(/\/login\.html\?next=/);
  await page.fill('#user', ADMIN.user);
  await page.fill('#password', ADMIN.password);
  await page.click('#submit');
  await page.waitForURL(/\/admin\/team\.html$/);
  await page.waitForSelector('body[data-loaded="team"]');
  assert(await page.isVisible(rowSel('maria')), 'the admin is in the table');
  assertEq(await page.textContent(`${rowSel('maria')} .badge.you`), 'You', 'own row is marked');
});

await run('the Team link is in the navigation for admins, next to Channels and Statistics', async () => {
  const links = await page.$$eval('nav.staff-nav .links a:not([hidden])', (as) => as.map((a) => a.dataset.nav));
  assertEq(links, ['inbox', 'leads', 'channels', 'stats', 'team'], 'visible links');
  assertEq(await page.getAttribute('[data-nav="team"]', 'aria-current'), 'page', 'Team is the current page');
  assertEq(await page.getAttribute('[data-nav="team"]', 'href'), '/admin/team.html', 'href');
  await page.goto('/leads.html');
  await page.waitForSelector('[data-nav="team"]:not([hidden])');
});

/* ---- adding ---------------------------------------------------------------------------------- */

await run('a person is added through the form and can then sign in', async () => {
  await openTeam();
  await fillAdd({ user: 'anna', name: 'Anna Nowak', capacity: 8, password: 'anna-first-pass' });
  const answer = page.waitForResponse((r) => r.url().endsWith('/api/users') && r.request().method() === 'POST');
  await page.click('#add-submit');
  assertEq((await answer).status(), 201, 'POST /api/users');
  await page.waitForSelector(rowSel('anna'));
  await page.waitForFunction(() => /anna can sign in/.test(document.querySelector('#add-status').textContent));
  assertEq(await page.inputValue('#a-user'), '', 'the form is emptied');
  const row = await page.textContent(rowSel('anna'));
  assert(/Anna Nowak/.test(row) && /anna/.test(row) && /Agent/.test(row) && /0\s*\/ 8/.test(row), `row: ${row}`);
  const u = await userOf('anna');
  assertEq([u.name, u.role, u.capacity], ['Anna Nowak', 'agent', 8], 'GET /api/users');
  const s = await login('anna', 'anna-first-pass');
  assertEq([s.status, s.body.role], [200, 'agent'], 'POST /api/login as the new agent');
});

await run('a bad login name, a short password and a mismatched confirmation are refused in the page', async () => {
  await openTeam();
  const mark = requests.length;
  await page.fill('#a-user', 'Anna K');
  await page.press('#a-user', 'Tab');
  assert(/lowercase|letters/.test(await err('a-user')), `login message: ${await err('a-user')}`);
  await page.fill('#a-user', '-anna');
  assert(/start with/.test(await err('a-user')), `leading dash: ${await err('a-user')}`);
  await page.fill('#a-user', 'anna k');
  assert(/spaces not allowed/.test(await err('a-user')), `space: ${await err('a-user')}`);
  await page.fill('#a-user', 'anna@home');
  assert(/“@” not allowed/.test(await err('a-user')), `at sign: ${await err('a-user')}`);
  await page.fill('#a-password', 'short');
  await page.press('#a-password', 'Tab');
  assert(/at least 8/.test(await err('a-password')), `password message: ${await err('a-password')}`);
  await page.fill('#a-confirm', 'something else');
  await page.press('#a-confirm', 'Tab');
  assert(/does not match/.test(await err('a-confirm')), `confirm message: ${await err('a-confirm')}`);
  await page.fill('#a-capacity', '0');
  await page.click('#add-submit');
  assert(/1 to 1000/.test(await err('a-capacity')), `capacity message: ${await err('a-capacity')}`);
  assert(/Fix 4 fields/.test(await page.textContent('#add-status')), `status: ${await page.textContent('#add-status')}`);
  assertEq(await page.getAttribute('#a-user', 'aria-invalid'), 'true', 'aria-invalid on the login');
  assertEq(await page.evaluate(() => document.activeElement.id), 'a-user', 'focus goes to the first bad field');
  // a password of 8 characters that differs from the confirmation is still refused
  await page.fill('#a-user', 'bob');
  await page.fill('#a-capacity', '5');
  await page.fill('#a-password', 'exactly8');
  await page.fill('#a-confirm', 'exactly9');
  await page.click('#add-submit');
  assertEq(await err('a-user'), '', 'the login is fine now');
  assertEq(await err('a-password'), '', '8 characters are enough');
  assert(/does not match/.test(await err('a-confirm')), 'still a mismatch');
  await sleep(200);
  assertEq(usersWrites(mark), [], 'nothing was sent to the server');
  assertEq((await users()).map((u) => u.user).sort(), ['anna', 'maria'], 'no account was made');
});

await run("a duplicate login shows the server's 409 next to the login field", async () => {
  await openTeam();
  await fillAdd({ user: 'anna', name: 'Another Anna', password: 'another-pass-1' });
  const answer = page.waitForResponse((r) => r.url().endsWith('/api/users') && r.request().method() === 'POST');
  await page.click('#add-submit');
  const res = await answer;
  assertEq(res.status(), 409, 'POST /api/users');
  const serverMsg = (await res.json()).error;
  await page.waitForFunction(() => document.querySelector('#err-a-user').textContent !== '');
  const shown = await err('a-user');
  assert(shown.includes(serverMsg), `the field shows the server's "${serverMsg}": ${shown}`);
  assertEq(await page.getAttribute('.field[data-field="a-user"]', 'class'), 'field invalid', 'the login field is marked');
  for (const k of ['a-name', 'a-password', 'a-confirm']) assertEq(await err(k), '', `no message on ${k}`);
  assertEq(await page.evaluate(() => document.activeElement.id), 'a-user', 'focus on the login field');
  await page.fill('#a-user', 'anna2');
  assertEq(await err('a-user'), '', 'the message goes with the edit');
  assertEq((await userOf('anna')).name, 'Anna Nowak', 'the existing account is untouched');
});

/* ---- editing ----------------------------------------------------------------------------------- */

await run('role and capacity are edited in the side panel and saved', async () => {
  assertEq((await bearer('POST', '/api/users', { user: 'priya', name: 'Priya Raman', role: 'agent', capacity: 10, password: 'priya-pass-123' })).status, 201, 'priya');
  await openTeam();
  await editPerson('priya');
  assertEq(await page.textContent('#h-edit'), 'Edit Priya Raman', 'panel title');
  assertEq(await page.getAttribute(rowSel('priya'), 'aria-current'), 'true', 'the row is marked');
  assert(await page.isHidden('#add-panel'), 'the add form gives way');
  assert(await page.$eval('#e-role-agent', (e) => e.checked), 'role agent loaded');
  assertEq(await page.inputValue('#e-capacity'), '10', 'capacity loaded');
  await page.fill('#e-capacity', '1001');
  await page.click('#edit-save');
  assert(/1 to 1000/.test(await err('e-capacity')), 'capacity over 1000 refused in the page');
  await page.fill('#e-capacity', '6');
  await page.click('label:has(#e-role-admin)');
  assertEq(await page.textContent('#edit-status'), 'Unsaved changes', 'dirty');
  const answer = page.waitForResponse((r) => r.url().endsWith('/api/users/priya') && r.request().method() === 'PUT');
  await page.click('#edit-save');
  assertEq((await answer).status(), 200, 'PUT /api/users/priya');
  await page.waitForFunction(() => /Saved/.test(document.querySelector('#edit-status').textContent));
  const u = await userOf('priya');
  assertEq([u.role, u.capacity, u.name], ['admin', 6, 'Priya Raman'], 'GET /api/users');
  const row = await page.textContent(rowSel('priya'));
  assert(/Admin/.test(row) && /0\s*\/ 6/.test(row), `the row follows: ${row}`);
  // after a reload the panel comes back from the address
  await openTeam('?user=priya');
  assert(await page.$eval('#e-role-admin', (e) => e.checked), 'admin after reload');
  assertEq(await page.inputValue('#e-capacity'), '6', 'capacity after reload');
});

await run('the display name is edited; an empty one is refused in the page', async () => {
  await openTeam('?user=priya');
  await page.fill('#e-name', '');
  await page.click('#edit-save');
  assert(/required/.test(await err('e-name')), `empty name: ${await err('e-name')}`);
  await page.fill('#e-name', 'Priya R. Raman');
  await page.click('#edit-save');
  await page.waitForFunction(() => /Saved/.test(document.querySelector('#edit-status').textContent));
  assertEq((await userOf('priya')).name, 'Priya R. Raman', 'saved');
  await page.fill('#e-name', 'Priya Raman');
  await page.click('#edit-save');
  await page.waitForFunction(() => /Saved/.test(document.querySelector('#edit-status').textContent));
});

/* ---- passwords ---------------------------------------------------------------------------------- */

await run('reset password: the old one stops working, the new one works, open sessions end', async () => {
  const before = await login('anna', 'anna-first-pass');
  assertEq(before.status, 200, 'anna signs in');
  assertEq((await asSession(before, 'GET', '/api/me')).status, 200, 'her session works');
  await openTeam();
  await editPerson('anna');
  const note = await page.textContent('#reset-note');
  assert(/signs Anna Nowak out everywhere/.test(note), `the admin is told: ${note}`);
  await page.fill('#r-password', 'anna-second-pass');
  await page.fill('#r-confirm', 'anna-second-pas');
  await page.click('#reset-submit');
  assert(/does not match/.test(await err('r-confirm')), 'a mismatch is refused');
  await page.fill('#r-confirm', 'anna-second-pass');
  const answer = page.waitForResponse((r) => r.url().endsWith('/api/users/anna') && r.request().method() === 'PUT');
  await page.click('#reset-submit');
  assertEq((await answer).status(), 200, 'PUT /api/users/anna');
  await page.waitForFunction(() => /signed out everywhere/.test(document.querySelector('#reset-status').textContent));
  assertEq(await page.inputValue('#r-password'), '', 'the field is emptied');
  assertEq((await asSession(before, 'GET', '/api/me')).status, 401, 'the existing session gets 401');
  assertEq((await login('anna', 'anna-first-pass')).status, 401, 'the old password');
  const after = await login('anna', 'anna-second-pass');
  assertEq(after.status, 200, 'the new password');
  assertEq((await asSession(after, 'GET', '/api/me')).status, 200, 'a new session works');
  assertEq((await userOf('anna')).role, 'agent', 'nothing else changed');
});

/* ---- deleting -------------------------------------------------------------------------------------- */

await run('delete asks for confirmation in the page, then removes the account and ends its session', async () => {
  assertEq((await bearer('POST', '/api/users', { user: 'kai.m', name: 'Kai Müller', role: 'agent', password: 'kai-pass-1234' })).status, 201, 'kai');
  const s = await login('kai.m', 'kai-pass-1234');
  assertEq(s.status, 200, 'kai signs in');
  await openTeam();
  // from the panel: the dialog opens with focus on Cancel; Escape cancels
  await editPerson('kai.m');
  await page.click('#delete-btn');
  await page.waitForSelector('#confirm-dialog[open]');
  const text = await page.textContent('#confirm-dialog');
  assert(/Delete Kai Müller\?/.test(text) && /kai\.m/.test(text), `dialog text: ${text}`);
  assertEq(await page.evaluate(() => document.activeElement.id), 'confirm-cancel', 'focus on Cancel');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#confirm-dialog:not([open])', { state: 'attached' });
  assert(await userOf('kai.m'), 'still there after Escape');
  assertEq(await page.evaluate(() => document.activeElement.id), 'delete-btn', 'focus back on the button');
  // Cancel keeps it too
  await page.click('#delete-btn');
  await page.click('#confirm-cancel');
  await page.waitForSelector('#confirm-dialog:not([open])', { state: 'attached' });
  assert(await userOf('kai.m'), 'still there after Cancel');
  // from the table: confirm
  await page.click(`${rowSel('kai.m')} [data-action="delete"]`);
  await page.waitForSelector('#confirm-dialog[open]');
  await screenshot(page, 'team-delete');
  const answer = page.waitForResponse((r) => r.url().endsWith('/api/users/kai.m') && r.request().method() === 'DELETE');
  await page.click('#confirm-ok');
  assertEq((await answer).status(), 200, 'DELETE /api/users/kai.m');
  await page.waitForSelector(rowSel('kai.m'), { state: 'detached' });
  assert(await page.isVisible('#add-panel'), 'the panel is closed');
  assertEq(await userOf('kai.m'), undefined, 'gone from GET /api/users');
  assertEq((await asSession(s, 'GET', '/api/me')).status, 401, 'its session gets 401');
  assertEq(nativeDialogs, [], 'no window.confirm/alert');
});

await run("the admin's own row cannot be deleted (and the server answers 409)", async () => {
  await openTeam();
  assert(await page.isDisabled(`${rowSel('maria')} [data-action="delete"]`), 'the row button is disabled');
  assert(await page.isEnabled(`${rowSel('anna')} [data-action="delete"]`), 'others can be deleted');
  await editPerson('maria');
  assertEq(await page.textContent('#h-edit'), 'Your account', 'panel title');
  assert(await page.isDisabled('#delete-btn'), 'the panel button is disabled');
  assert(/cannot delete your own account/.test(await page.textContent('#delete-note')), 'and says why');
  assert(await page.isDisabled('#e-role-agent'), 'own role cannot be changed here');
  const mark = requests.length;
  await page.click(`${rowSel('maria')} [data-action="delete"]`, { force: true });
  await sleep(200);
  assert(!(await page.isVisible('#confirm-dialog')), 'no dialog for yourself');
  assertEq(usersWrites(mark), [], 'no DELETE sent');
  const status = await page.evaluate(() => window.Staff.api('DELETE', '/api/users/maria').then(() => 200, (e) => e.status));
  assertEq(status, 409, 'DELETE of your own account with the session');
  assert(await userOf('maria'), 'still there');
});

/* ---- keyboard and labels ----------------------------------------------------------------------------- */

await run('keyboard: Edit with Enter, Escape closes the panel; every field has a label', async () => {
  await openTeam();
  await page.focus(`${rowSel('anna')} [data-action="edit"]`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#edit-panel:not([hidden])');
  assertEq(await page.evaluate(() => document.activeElement.id), 'e-name', 'focus in the panel');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#add-panel:not([hidden])');
  assertEq(await page.evaluate(() => document.activeElement.id), 'a-user', 'focus back on the add form');
  await page.focus('#add-person');
  await page.keyboard.press('Tab');
  assertEq(await page.evaluate(() => document.activeElement.dataset.action), 'edit', 'Tab reaches the row buttons');
  // the live refresh of online/open redraws the rows and keeps the focus
  await page.focus(`${rowSel('priya')} [data-action="delete"]`);
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/agents'));
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  await refreshed;
  await sleep(100);
  assertEq(await page.evaluate(() => [document.activeElement.closest('tr').dataset.user, document.activeElement.dataset.action]),
    ['priya', 'delete'], 'focus after a refresh');
  const unlabelled = await page.evaluate(() => {
    for (const s of document.querySelectorAll('section[hidden]')) s.hidden = false;
    const bad = [...document.querySelectorAll('input, select, textarea, button')]
      .filter((i) => !(i.labels && i.labels.length) && !i.getAttribute('aria-label') && !i.getAttribute('aria-labelledby')
        && !(i.tagName === 'BUTTON' && i.textContent.trim()))
      .map((i) => i.id || i.outerHTML.slice(0, 60));
    return bad;
  });
  assertEq(unlabelled, [], 'fields without a label');
});

/* ---- agents ------------------------------------------------------------------------------------------ */

await run('an agent is told the page is for admins and has no Team link', async () => {
  const ctx = await browser.newContext({ baseURL: flowd.base });
  ctx.on('request', (r) => requests.push({ url: r.url(), method: r.method() }));
  try {
    const r = await ctx.request.post('/api/login', { data: { user: 'anna', password: 'anna-second-pass' } });
    assertEq(r.status(), 200, 'agent login');
    const p = await ctx.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto('/admin/team.html');
    await p.waitForFunction(() => !document.querySelector('#page-error').hidden, null, { timeout: 5000 });
    assert(/admins only/.test(await p.textContent('#page-error')), 'the page says so');
    assert(await p.isHidden('#content'), 'no table or form');
    await p.waitForSelector('.staff-nav .who .name');
    assert(await p.locator('[data-nav="team"]').isHidden(), 'no Team link for an agent');
    assert(await p.locator('[data-nav="channels"]').isHidden(), 'nor Channels');
    assertEq((await ctx.request.get('/api/users')).status(), 403, 'the API refuses the agent too');
  } finally {
    await ctx.close();
  }
});

/* ---- the screenshot, with realistic data ---------------------------------------------------------------- */

const keep = []; // sockets kept open for the screenshot
async function goOnline(user, password) {
  const s = await login(user, password);
  assertEq(s.status, 200, `${user} signs in`);
  const p = await asSession(s, 'POST', '/api/presence', { online: true });
  assertEq(p.status, 200, `presence of ${user}: ${p.text}`);
  const ws = new WebSocket(`ws://127.0.0.1:${flowd.port}/ws/agent`, { headers: { Cookie: s.cookie, Origin: flowd.base } });
  await within(5000, new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); }), `${user}'s socket`);
  keep.push({ close: () => ws.close() });
}
async function openConversations(agent, n) {
  for (let i = 0; i < n; i++) {
    const v = await flowd.visitor({ channel: 'demo', visitor: freshVisitorId('team'), page: '/' });
    keep.push(v);
    await v.waitFor((f) => f.type === 'status' && f.status === 'queued', 5000, 'queued');
    const take = await bearer('POST', `/api/conversations/${v.welcome.conversation}/take`, { agent });
    assertEq(take.status, 200, `take for ${agent}: ${take.text}`);
  }
}

await run('screenshot of the team page with realistic data', async () => {
  for (const [user, name, role, capacity] of [['tomas', 'Tomás Ruiz', 'agent', 5], ['lea', 'Lea Fischer', 'agent', 12],
    ['jonas', 'Jonas Berg', 'agent', 10]]) {
    const r = await bearer('POST', '/api/users', { user, name, role, capacity, password: `${user}-pass-1234` });
    assertEq(r.status, 201, `${user}: ${r.text}`);
  }
  await goOnline('anna', 'anna-second-pass');
  await goOnline('tomas', 'tomas-pass-1234');
  await goOnline('lea', 'lea-pass-1234');
  await goOnline('maria', ADMIN.password);
  await openConversations('anna', 3);
  await openConversations('tomas', 5);
  await openConversations('lea', 1);
  const agents = (await bearer('GET', '/api/agents')).body;
  const of = (u) => agents.find((a) => a.user === u);
  assertEq([of('anna').online, of('anna').open, of('tomas').open, of('jonas').online], [true, 3, 5, false], 'GET /api/agents');
  await openTeam('?user=anna');
  const row = await page.textContent(rowSel('tomas'));
  assert(/Online/.test(row) && /5\s*\/ 5/.test(row), `tomas: ${row}`);
  assert(/Offline/.test(await page.textContent(rowSel('jonas'))), 'jonas offline');
  assertEq(await page.getAttribute(`${rowSel('tomas')} .load`, 'class'), 'load full', 'a full agent stands out');
  const chips = await page.textContent('#team-stats');
  assert(/6people/.test(chips.replace(/\s/g, '')) && /4online/.test(chips.replace(/\s/g, '')), `chips: ${chips}`);
  await page.mouse.move(0, 0);
  await screenshot(page, 'team');
  // the add form with messages, for review
  await openTeam();
  await page.fill('#a-user', 'Sam Lee');
  await page.fill('#a-name', 'Sam Lee');
  await page.fill('#a-password', 'short');
  await page.fill('#a-confirm', 'shorter');
  await page.click('#add-submit');
  await screenshot(page, 'team-add');
  for (const k of keep) await k.close();
});

await run('no script errors, no window dialogs and no request to another origin', async () => {
  assertEq(pageErrors, [], 'page errors');
  assertEq(nativeDialogs, [], 'native dialogs');
  const foreign = requests.filter((r) => !r.url.startsWith(flowd.base + '/') && !/^(about|data|blob):/.test(r.url));
  assertEq(foreign, [], 'requests to other origins');
});

await browser.close();
await flowd.stop();
clearTimeout(overall);
done();
