// The team page (/admin/team.html): the accounts of docs/api.md, "Accounts
// and sessions". A table of everyone (from GET /api/users, with online and
// open/capacity from GET /api/agents), a form to add a person, and a side
// panel to edit one, set a new password or delete the account.
//
// The page checks every field as the admin types; the server stays the
// authority, and its 400/409 messages are shown next to the field they are
// about. Nothing from the server is ever inserted as HTML: every text goes
// through textContent or an attribute.
'use strict';
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  /* ---- talking to the server ------------------------------------------------ */

  // staff.js: Staff.api adds the CSRF token, sends the browser to the sign-in
  // page on 401 and rejects other errors with .status and .body.
  const Staff = window.Staff;
  const el = (tag, attrs, ...kids) => Staff.el(tag, attrs, ...kids);

  /* Every call answers {ok, status, body} and never throws (staff.js). */
  const call = Staff.call;
  const errorText = (r) => (r.body && r.body.error) || (r.status ? `HTTP ${r.status}` : 'no answer from the server');
  const userPath = (user) => `/api/users/${encodeURIComponent(user)}`;

  /* ---- state ------------------------------------------------------------------ */

  const state = {
    me: null,
    users: [],            // [{user, name, role, capacity}] from GET /api/users
    live: new Map(),      // user -> {online, open, capacity} from GET /api/agents
    selected: '',         // the person in the edit panel ('' = the add form)
    baseline: '',         // the edit form as loaded, to tell unsaved changes
  };
  const byLogin = (u) => state.users.find((x) => x.user === u) || null;
  const isMe = (u) => !!state.me && u === state.me.user;

  /* ---- checks (the rules of rt_auth.c, so the page refuses what the server would) */

  const LOGIN_RE = /^[a-z0-9][a-z0-9._-]*$/;
  const bytes = (s) => new TextEncoder().encode(s).length;
  const chars = (s) => Array.from(s).length;

  function checkLogin(v) {
    if (!v) return 'a login name is required';
    if (v.length > 63) return 'at most 63 characters';
    const lower = v.toLowerCase();
    if (lower !== v) return LOGIN_RE.test(lower) ? `lowercase letters only: “${lower}”` : 'lowercase letters only, no spaces';
    if (!/^[a-z0-9]/.test(v)) return 'must start with a letter a–z or a digit';
    const bad = [...new Set(Array.from(v).filter((c) => !/[a-z0-9._-]/.test(c)))];
    if (bad.length) {
      const shown = bad.slice(0, 3).map((c) => (c === ' ' ? 'spaces' : `“${c}”`)).join(', ');
      return `${shown} not allowed: only a–z, 0–9, “.”, “_” and “-”`;
    }
    return '';
  }
  function checkName(v, required) {
    if (!v) return required ? 'a display name is required' : '';
    if (bytes(v) > 63) return `too long: at most 63 bytes (this is ${bytes(v)})`;
    if (/[\u0000-\u001f\u007f]/.test(v)) return 'control characters are not allowed';
    return '';
  }
  function checkCapacity(n) {
    return Number.isInteger(n) && n >= 1 && n <= 1000 ? '' : 'a whole number from 1 to 1000';
  }
  function checkPassword(v) {
    const n = chars(v);
    if (!n) return 'a password is required';
    if (n < 8) return `at least 8 characters (${n} so far)`;
    if (n > 256) return 'at most 256 characters';
    return '';
  }
  function checkConfirm(v, password) {
    if (!v) return 'type the password again';
    return v === password ? '' : 'does not match the password';
  }
  function numberOf(input) {
    if (input.validity && input.validity.badInput) return NaN;
    const t = input.value.trim();
    return t === '' ? NaN : Number(t);
  }
  const radio = (name) => { const r = $(`input[name="${name}"]:checked`); return r ? r.value : ''; };

  /* ---- field messages ----------------------------------------------------------- */

  // A form: its fields (keys of .field[data-field]), their checks, and the
  // server's messages, kept until the field is edited.
  function makeForm(form, checks) {
    const f = { form, checks, server: {}, touched: new Set(), submitted: false };
    f.set = (key, msg) => {
      const box = $(`.field[data-field="${key}"]`, form);
      if (!box) return;
      $('#err-' + key).textContent = msg || '';
      box.classList.toggle('invalid', !!msg);
      for (const i of $$('input, select, textarea', box)) {
        if (msg) i.setAttribute('aria-invalid', 'true'); else i.removeAttribute('aria-invalid');
      }
    };
    f.check = (key) => {
      const msg = f.server[key] || (checks[key] ? checks[key]() : '');
      f.set(key, msg);
      return msg;
    };
    f.checkAll = () => Object.keys(checks).filter((k) => f.check(k));
    f.clear = () => {
      f.server = {};
      f.touched.clear();
      f.submitted = false;
      for (const box of $$('.field[data-field]', form)) f.set(box.dataset.field, '');
    };
    f.focus = (key) => {
      const box = $(`.field[data-field="${key}"]`, form);
      const i = box && ($('input:checked:not(:disabled)', box) || $('input:not(:disabled), select, textarea', box));
      if (i) i.focus();
    };
    const keyOf = (t) => { const b = t.closest('.field[data-field]'); return b ? b.dataset.field : ''; };
    form.addEventListener('input', (ev) => {
      const key = keyOf(ev.target);
      if (!key) return;
      delete f.server[key];
      if (f.submitted || f.touched.has(key) || ev.target.type === 'radio') f.check(key);
      else f.set(key, ''); // typing clears an old message; the check waits for the end of the field
      for (const dep of (f.deps && f.deps[key]) || []) if (f.submitted || f.touched.has(dep)) f.check(dep);
      if (f.onEdit) f.onEdit(key);
    });
    form.addEventListener('focusout', (ev) => {
      const key = keyOf(ev.target);
      if (!key || ev.target.type === 'radio') return;
      if (!ev.target.value && !f.submitted) return; // leaving an empty field alone is not an error yet
      // a press on the submit button: a message appearing now would move the
      // button from under the pointer, and the submit checks everything anyway
      if (f.pressingSubmit) return;
      f.touched.add(key);
      f.check(key);
    });
    form.addEventListener('pointerdown', (ev) => {
      if (ev.target.closest('[type=submit]')) f.pressingSubmit = true;
    });
    document.addEventListener('pointerup', () => { setTimeout(() => { f.pressingSubmit = false; }, 0); });
    document.addEventListener('pointercancel', () => { f.pressingSubmit = false; });
    return f;
  }

  /* The server's messages (rt_auth.c) belong to one field each. */
  function fieldOfServerError(status, msg) {
    const m = String(msg || '');
    if (status === 409 || /^exists/.test(m) || /login name/.test(m)) return 'user';
    if (/display name/.test(m)) return 'name';
    if (/role/.test(m)) return 'role';
    if (/capacity/.test(m)) return 'capacity';
    if (/password/.test(m)) return 'password';
    return '';
  }

  function setStatus(id, text, kind = '') {
    const s = $('#' + id);
    s.textContent = text;
    s.className = 'form-status' + (kind ? ' ' + kind : '');
  }
  function showBox(id, text) {
    const box = $('#' + id);
    box.textContent = text || '';
    box.hidden = !text;
  }
  function showPageError(text) { showBox('page-error', text); }

  /* ---- the confirmation dialog (in the page, never window.confirm) ---------------- */

  function ask({ title, body, ok, danger = true }) {
    const dlg = $('#confirm-dialog');
    const opener = document.activeElement;
    $('#confirm-title-text').textContent = title;
    $('#confirm-text').replaceChildren(...body.map((t) => (typeof t === 'string' ? el('p', { text: t }) : t)));
    const okBtn = $('#confirm-ok');
    okBtn.textContent = ok;
    okBtn.className = 'btn ' + (danger ? 'danger solid' : 'primary');
    $('#confirm-title .icon').hidden = !danger;
    dlg.returnValue = '';
    return new Promise((resolve) => {
      dlg.addEventListener('close', () => {
        if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
        resolve(dlg.returnValue === 'ok');
      }, { once: true });
      dlg.showModal();
      $('#confirm-cancel').focus();
    });
  }

  /* ---- the table ------------------------------------------------------------------ */

  const PALETTE = ['#2563eb', '#7c3aed', '#0891b2', '#059669', '#d97706', '#db2777', '#4f46e5', '#0d9488', '#b45309', '#9333ea'];
  function avatarColour(login) {
    let h = 0;
    for (const c of login) h = (h * 31 + c.codePointAt(0)) >>> 0;
    return PALETTE[h % PALETTE.length];
  }
  function initials(name) {
    const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
    const first = (w) => Array.from(w)[0] || '';
    return ((words.length > 1 ? first(words[0]) + first(words[words.length - 1]) : first(words[0] || '?'))).toUpperCase();
  }
  function avatar(u, cls = 'av') {
    const a = el('span', { class: cls, 'aria-hidden': 'true', text: initials(u.name || u.user) });
    a.style.setProperty('--av', avatarColour(u.user));
    return a;
  }
  const liveOf = (u) => state.live.get(u.user) || { online: false, open: 0, capacity: u.capacity };

  function statusCell(u) {
    const on = !!liveOf(u).online;
    return el('span', { class: 'status ' + (on ? 'on' : 'off') }, el('span', { class: 'dot', 'aria-hidden': 'true' }),
      on ? 'Online' : 'Offline');
  }
  function loadCell(u) {
    const open = Number(liveOf(u).open) || 0, cap = Number(u.capacity) || 0;
    const pct = cap ? Math.min(100, (open / cap) * 100) : 0;
    const kind = cap && open >= cap ? ' full' : pct >= 75 ? ' busy' : '';
    const fill = el('span');
    fill.style.width = pct.toFixed(1) + '%';
    return el('span', { class: 'load' + kind, title: `${open} open conversation${open === 1 ? '' : 's'} of ${cap}` },
      el('span', { class: 'n' }, String(open), el('small', { text: ` / ${cap}` })),
      el('span', { class: 'bar', 'aria-hidden': 'true' }, fill));
  }

  function row(u) {
    const me = isMe(u.user);
    const tr = el('tr', { 'data-user': u.user });
    if (u.user === state.selected) tr.setAttribute('aria-current', 'true');
    const nm = el('div', { class: 'nm' }, el('span', { text: u.name || u.user }));
    if (me) nm.append(el('span', { class: 'badge you', text: 'You' }));
    const edit = el('button', { type: 'button', class: 'btn small', 'data-action': 'edit', text: 'Edit',
      'aria-label': `Edit ${u.name || u.user}` });
    const del = el('button', { type: 'button', class: 'btn small danger', 'data-action': 'delete', text: 'Delete',
      'aria-label': me ? 'You cannot delete your own account' : `Delete ${u.name || u.user}` });
    if (me) { del.disabled = true; del.title = 'You cannot delete your own account'; }
    tr.append(
      el('td', {}, el('div', { class: 'person' }, avatar(u), el('div', { class: 'who' }, nm))),
      el('td', { class: 'col-login' }, el('span', { class: 'login', text: u.user })),
      el('td', {}, el('span', { class: 'badge ' + (u.role === 'admin' ? 'violet' : 'role-agent'), text: u.role === 'admin' ? 'Admin' : 'Agent' })),
      el('td', { class: 'col-status' }, statusCell(u)),
      el('td', { class: 'num' }, loadCell(u)),
      el('td', { class: 'actions' }, edit, del));
    return tr;
  }

  function sortUsers() {
    state.users.sort((a, b) => (a.name || a.user).localeCompare(b.name || b.user, undefined, { sensitivity: 'base' })
      || a.user.localeCompare(b.user));
  }

  function renderTable() {
    const body = $('#team-rows');
    // a refresh must not take the keyboard focus away from a row's button
    const had = document.activeElement && body.contains(document.activeElement) ? document.activeElement : null;
    const keep = had && had.closest('tr[data-user]') ? { user: had.closest('tr[data-user]').dataset.user, action: had.dataset.action } : null;
    if (!state.users.length) {
      body.replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: '6', text: 'No accounts yet.' })));
    } else {
      body.replaceChildren(...state.users.map(row));
    }
    if (keep) {
      const tr = $(`tr[data-user="${CSS.escape(keep.user)}"]`, body);
      const btn = tr && $(`[data-action="${keep.action}"]:not(:disabled)`, tr);
      if (btn) btn.focus();
    }
    const n = state.users.length;
    const admins = state.users.filter((u) => u.role === 'admin').length;
    const online = state.users.filter((u) => liveOf(u).online).length;
    const open = state.users.reduce((s, u) => s + (Number(liveOf(u).open) || 0), 0);
    const chip = (num, text) => el('span', { class: 'chip' }, el('b', { text: String(num) }), text);
    $('#team-stats').replaceChildren(
      chip(n, n === 1 ? 'person' : 'people'), chip(admins, admins === 1 ? 'admin' : 'admins'),
      chip(online, 'online'), chip(open, 'open conversations'));
    document.body.dataset.count = String(n);
  }

  async function load() {
    const [users, agents] = await Promise.all([call('GET', '/api/users'), call('GET', '/api/agents')]);
    if (!users.ok || !Array.isArray(users.body)) {
      showPageError(`Could not load the accounts: ${errorText(users)}`);
      return false;
    }
    state.users = users.body.map((u) => ({ user: u.user, name: u.name, role: u.role, capacity: u.capacity }));
    applyLive(agents);
    sortUsers();
    renderTable();
    return true;
  }
  function applyLive(agents) {
    if (!agents.ok || !Array.isArray(agents.body)) return;
    state.live = new Map(agents.body.map((a) => [a.user, { online: !!a.online, open: a.open, capacity: a.capacity }]));
  }
  /* Online and open counts change all the time: the table follows them. */
  async function refreshLive() {
    if (document.hidden) return;
    const agents = await call('GET', '/api/agents');
    if (!agents.ok) return;
    applyLive(agents);
    renderTable();
    if (state.selected) fillIdentity(byLogin(state.selected));
  }

  /* ---- the side panel ------------------------------------------------------------ */

  const editIsDirty = () => !!state.selected && !!state.baseline && JSON.stringify(readEdit()) !== state.baseline;

  async function select(user, { focus = true } = {}) {
    if (user === state.selected) {
      if (focus) $(user ? '#e-name' : '#a-user').focus();
      return;
    }
    if (editIsDirty()) {
      const cur = byLogin(state.selected);
      const discard = await ask({ title: 'Discard your changes?', ok: 'Discard changes',
        body: [`The changes to ${cur ? cur.name || cur.user : state.selected} are not saved yet.`] });
      if (!discard) return;
    }
    const u = user ? byLogin(user) : null;
    state.selected = u ? u.user : '';
    state.baseline = '';
    const url = new URL(location.href);
    if (state.selected) url.searchParams.set('user', state.selected); else url.searchParams.delete('user');
    history.replaceState(null, '', url);
    for (const tr of $$('#team-rows tr[data-user]')) {
      if (tr.dataset.user === state.selected) tr.setAttribute('aria-current', 'true'); else tr.removeAttribute('aria-current');
    }
    $('#add-panel').hidden = !!u;
    for (const id of ['edit-panel', 'reset-panel', 'delete-panel']) $('#' + id).hidden = !u;
    if (!u) {
      if (focus) $('#a-user').focus();
      return;
    }
    fillEdit(u);
    if (focus) $('#e-name').focus();
  }

  function fillIdentity(u) {
    if (!u) return;
    const av = $('#e-avatar');
    av.textContent = initials(u.name || u.user);
    av.style.setProperty('--av', avatarColour(u.user));
    $('#e-display').textContent = u.name || u.user;
    $('#e-login').textContent = u.user;
    const live = liveOf(u);
    $('#e-state').textContent = `${live.online ? 'online' : 'offline'} · ${Number(live.open) || 0} open`;
    $('#e-you').hidden = !isMe(u.user);
  }

  function fillEdit(u) {
    const me = isMe(u.user);
    const who = u.name || u.user;
    edit.clear(); reset.clear();
    for (const id of ['edit-error', 'reset-error']) showBox(id, '');
    for (const id of ['edit-status', 'reset-status', 'delete-status']) setStatus(id, '');
    $('#h-edit').textContent = me ? 'Your account' : `Edit ${who}`;
    fillIdentity(u);
    $('#e-name').value = u.name || '';
    for (const r of $$('input[name="e-role"]')) { r.checked = r.value === u.role; r.disabled = me; }
    $('#hint-e-role').textContent = me ? 'You cannot change your own role; another admin can.' : '';
    $('#e-capacity').value = String(u.capacity);
    $('#r-password').value = '';
    $('#r-confirm').value = '';
    $('#reset-note').textContent = me
      ? 'A new password signs you out everywhere, this tab included: you sign in again with the new one.'
      : `A new password signs ${who} out everywhere at once: every open inbox tab has to sign in again with the new password. Tell them the new password yourself.`;
    const del = $('#delete-btn');
    del.disabled = me;
    del.textContent = me ? 'Delete…' : `Delete ${who}…`;
    $('#delete-note').textContent = me
      ? 'You cannot delete your own account. Another admin can.'
      : `${who} can no longer sign in and is signed out at once. Their open conversations stay assigned to them until someone reassigns them.`;
    state.baseline = JSON.stringify(readEdit());
  }

  /* ---- add a person ----------------------------------------------------------------- */

  const addForm = () => ({
    user: $('#a-user').value.trim(), name: $('#a-name').value.trim(), role: radio('a-role'),
    capacity: numberOf($('#a-capacity')), password: $('#a-password').value, confirm: $('#a-confirm').value,
  });
  const add = makeForm($('#add-form'), {
    'a-user': () => checkLogin(addForm().user),
    'a-name': () => checkName(addForm().name, false),
    'a-role': () => (['agent', 'admin'].includes(addForm().role) ? '' : 'choose a role'),
    'a-capacity': () => checkCapacity(addForm().capacity),
    'a-password': () => checkPassword(addForm().password),
    'a-confirm': () => checkConfirm(addForm().confirm, addForm().password),
  });
  add.deps = { 'a-password': ['a-confirm'] };
  add.onEdit = () => { showBox('add-error', ''); if ($('#add-status').classList.contains('error')) setStatus('add-status', ''); };

  async function submitAdd(ev) {
    ev.preventDefault();
    add.submitted = true;
    showBox('add-error', '');
    const bad = add.checkAll();
    if (bad.length) {
      setStatus('add-status', `Fix ${bad.length === 1 ? 'the marked field' : bad.length + ' fields'}.`, 'error');
      add.focus(bad[0]);
      return;
    }
    const v = addForm();
    const btn = $('#add-submit');
    btn.disabled = true;
    setStatus('add-status', 'Adding…');
    const r = await call('POST', '/api/users', { user: v.user, name: v.name || v.user, role: v.role, capacity: v.capacity, password: v.password });
    btn.disabled = false;
    if (!r.ok) {
      const field = fieldOfServerError(r.status, r.body && r.body.error);
      const msg = errorText(r);
      if (field) {
        const key = 'a-' + field;
        add.server[key] = r.status === 409 ? `${msg}: choose another login name` : msg;
        add.set(key, add.server[key]);
        add.focus(key);
        setStatus('add-status', 'Not added: the server refused it.', 'error');
      } else {
        showBox('add-error', `Not added: ${msg}`);
        setStatus('add-status', '');
      }
      return;
    }
    $('#add-form').reset();
    add.clear();
    await load();
    setStatus('add-status', `✓ ${v.user} can sign in now.`, 'ok');
    Staff.toast(`${v.name || v.user} was added`);
    const tr = $(`#team-rows tr[data-user="${CSS.escape(v.user)}"]`);
    if (tr) tr.scrollIntoView({ block: 'nearest' });
    $('#a-user').focus();
  }

  /* ---- edit a person ------------------------------------------------------------------ */

  const readEdit = () => ({ name: $('#e-name').value.trim(), role: radio('e-role'), capacity: numberOf($('#e-capacity')) });
  const edit = makeForm($('#edit-form'), {
    'e-name': () => checkName(readEdit().name, true),
    'e-role': () => (['agent', 'admin'].includes(readEdit().role) ? '' : 'choose a role'),
    'e-capacity': () => checkCapacity(readEdit().capacity),
  });
  edit.onEdit = () => {
    showBox('edit-error', '');
    if (editIsDirty()) setStatus('edit-status', 'Unsaved changes', 'dirty');
    else setStatus('edit-status', '');
  };

  async function submitEdit(ev) {
    ev.preventDefault();
    const u = byLogin(state.selected);
    if (!u) return;
    edit.submitted = true;
    showBox('edit-error', '');
    const bad = edit.checkAll();
    if (bad.length) {
      setStatus('edit-status', `Fix ${bad.length === 1 ? 'the marked field' : bad.length + ' fields'}.`, 'error');
      edit.focus(bad[0]);
      return;
    }
    if (!editIsDirty()) { setStatus('edit-status', 'Nothing to save.'); return; }
    const v = readEdit();
    const body = { name: v.name, capacity: v.capacity };
    if (!isMe(u.user)) body.role = v.role;
    const btn = $('#edit-save');
    btn.disabled = true;
    setStatus('edit-status', 'Saving…');
    const r = await call('PUT', userPath(u.user), body);
    btn.disabled = false;
    if (!r.ok) {
      if (r.status === 404) {
        showBox('edit-error', `${u.user} no longer exists (deleted meanwhile).`);
        setStatus('edit-status', '');
        await load();
        return;
      }
      const field = fieldOfServerError(r.status, r.body && r.body.error);
      if (field && field !== 'user' && field !== 'password') {
        edit.server['e-' + field] = errorText(r);
        edit.set('e-' + field, edit.server['e-' + field]);
        edit.focus('e-' + field);
        setStatus('edit-status', 'Not saved: the server refused it.', 'error');
      } else {
        showBox('edit-error', `Not saved: ${errorText(r)}`);
        setStatus('edit-status', '');
      }
      return;
    }
    const saved = r.body && typeof r.body === 'object' && r.body.user ? r.body : { ...u, ...body };
    Object.assign(u, { name: saved.name, role: saved.role, capacity: saved.capacity });
    sortUsers();
    renderTable();
    fillEdit(u);
    setStatus('edit-status', '✓ Saved', 'ok');
  }

  /* ---- reset a password ---------------------------------------------------------------- */

  const readReset = () => ({ password: $('#r-password').value, confirm: $('#r-confirm').value });
  const reset = makeForm($('#reset-form'), {
    'r-password': () => checkPassword(readReset().password),
    'r-confirm': () => checkConfirm(readReset().confirm, readReset().password),
  });
  reset.deps = { 'r-password': ['r-confirm'] };
  reset.onEdit = () => { showBox('reset-error', ''); if (!$('#reset-status').classList.contains('dirty')) setStatus('reset-status', ''); };

  async function submitReset(ev) {
    ev.preventDefault();
    const u = byLogin(state.selected);
    if (!u) return;
    reset.submitted = true;
    showBox('reset-error', '');
    const bad = reset.checkAll();
    if (bad.length) {
      setStatus('reset-status', `Fix ${bad.length === 1 ? 'the marked field' : bad.length + ' fields'}.`, 'error');
      reset.focus(bad[0]);
      return;
    }
    const me = isMe(u.user);
    const btn = $('#reset-submit');
    btn.disabled = true;
    setStatus('reset-status', 'Setting the password…');
    const r = await call('PUT', userPath(u.user), { password: readReset().password });
    btn.disabled = false;
    if (!r.ok) {
      if (r.status === 404) {
        showBox('reset-error', `${u.user} no longer exists (deleted meanwhile).`);
        setStatus('reset-status', '');
        await load();
        return;
      }
      if (fieldOfServerError(r.status, r.body && r.body.error) === 'password') {
        reset.server['r-password'] = errorText(r);
        reset.set('r-password', reset.server['r-password']);
        reset.focus('r-password');
        setStatus('reset-status', 'Not set: the server refused it.', 'error');
      } else {
        showBox('reset-error', `Not set: ${errorText(r)}`);
        setStatus('reset-status', '');
      }
      return;
    }
    if (me) {
      // the new password ended this session too
      location.href = '/login.html?next=' + encodeURIComponent(location.pathname + location.search);
      return;
    }
    $('#r-password').value = '';
    $('#r-confirm').value = '';
    reset.clear();
    setStatus('reset-status', `✓ New password set. ${u.name || u.user} is signed out everywhere.`, 'ok');
    Staff.toast(`New password set for ${u.user}`);
  }

  /* ---- delete a person ------------------------------------------------------------------ */

  async function deletePerson(login) {
    const u = byLogin(login);
    if (!u) return;
    if (isMe(u.user)) {
      Staff.toast('You cannot delete your own account.', 'error');
      return;
    }
    const who = u.name || u.user;
    const open = Number(liveOf(u).open) || 0;
    const strong = el('strong', { text: who });
    const body = [
      el('p', {}, 'Delete ', strong, ' (', el('code', { text: u.user }), ')? ',
        'They can no longer sign in, and any session they have ends at once.'),
      open ? `Their ${open} open conversation${open === 1 ? '' : 's'} stay${open === 1 ? 's' : ''} assigned to them until someone reassigns ${open === 1 ? 'it' : 'them'}.`
        : 'This cannot be undone.',
    ];
    const yes = await ask({ title: `Delete ${who}?`, body, ok: 'Delete account' });
    if (!yes) return;
    const inPanel = state.selected === u.user;
    if (inPanel) setStatus('delete-status', 'Deleting…');
    const r = await call('DELETE', userPath(u.user));
    if (!r.ok && r.status !== 404) {
      if (inPanel) setStatus('delete-status', `Not deleted: ${errorText(r)}`, 'error');
      Staff.toast(`Not deleted: ${errorText(r)}`, 'error');
      return;
    }
    state.baseline = '';
    if (inPanel) await select('', { focus: false });
    await load();
    Staff.toast(`${who} was deleted`);
    const next = $('#team-rows tr[data-user] [data-action="edit"]');
    if (next && (!document.activeElement || document.activeElement === document.body)) next.focus();
  }

  /* ---- wiring ------------------------------------------------------------------------------ */

  function wire() {
    $('#add-form').addEventListener('submit', submitAdd);
    $('#edit-form').addEventListener('submit', submitEdit);
    $('#reset-form').addEventListener('submit', submitReset);
    $('#add-person').addEventListener('click', () => select(''));
    $('#edit-close').addEventListener('click', () => select(''));
    $('#delete-btn').addEventListener('click', () => deletePerson(state.selected));
    $('#team-rows').addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr[data-user]');
      if (!tr) return;
      const btn = ev.target.closest('button[data-action]');
      if (btn && btn.disabled) return;
      if (btn && btn.dataset.action === 'delete') { deletePerson(tr.dataset.user); return; }
      select(tr.dataset.user, { focus: !!btn });
    });
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && state.selected && !$('#confirm-dialog').open && !ev.defaultPrevented) select('');
    });
    window.addEventListener('beforeunload', (ev) => {
      if (editIsDirty()) { ev.preventDefault(); ev.returnValue = ''; }
    });
    setInterval(refreshLive, 20000);
    document.addEventListener('visibilitychange', refreshLive);
  }

  async function main() {
    Staff.nav('team');
    let me;
    try { me = await Staff.me(); } catch (e) {
      showPageError(`Not signed in (${(e && e.message) || e}).`);
      return;
    }
    if (!me || me.role !== 'admin') {
      showPageError('This page is for admins only.');
      return;
    }
    state.me = me;
    wire();
    $('#content').hidden = false;
    if (!(await load())) return;
    const wanted = new URLSearchParams(location.search).get('user');
    if (wanted && byLogin(wanted)) await select(wanted, { focus: false });
    document.body.dataset.loaded = 'team';
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main); else main();
})();
