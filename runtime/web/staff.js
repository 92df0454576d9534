/* Shared helpers of the staff pages (inbox, leads, admin pages). A plain
 * script, no modules: it defines window.Staff.
 *
 *   Staff.api(method, path, body) -> Promise<json>
 *       fetch with the session cookie; adds X-CSRF-Token (from /api/me) to
 *       POST/PUT/DELETE; a 401 sends the browser to /login.html?next=<here>;
 *       any other non-2xx rejects with an Error carrying .status and .body
 *       (the parsed JSON answer, e.g. {"error": "..."}). A body that is not
 *       JSON resolves as text.
 *   Staff.call(method, path, body) -> Promise<{ok, status, body}>
 *       Staff.api that never rejects: failures answer ok false with the
 *       status (0: no answer) and the server's JSON body ({error, fields})
 *   Staff.me() -> Promise<user>   /api/me, fetched once and cached
 *                                 ({user, name, role, csrf, online, capacity})
 *   Staff.nav(activeName)         draws the top navigation ('inbox', 'leads',
 *                                 'channels', 'stats', 'team'); admin links appear
 *                                 for admins only. Returns the <nav>.
 *   Staff.toast(text, kind?)      a short message at the bottom right
 *                                 (kind 'error' for a red one)
 *   Staff.logout()                ends the session, back to the login page
 *
 * Nothing from the server is ever inserted as HTML: text goes through
 * textContent. */
(function () {
  'use strict';

  let csrf = '';
  let mePromise = null;
  let redirecting = false;

  function toLogin() {
    if (redirecting) return;
    redirecting = true;
    const next = location.pathname + location.search + location.hash;
    location.href = '/login.html?next=' + encodeURIComponent(next);
  }

  async function parse(res) {
    const text = await res.text();
    if (!text) return null;
    const type = res.headers.get('Content-Type') || '';
    if (type.includes('json') || /^[[{]/.test(text.trim())) {
      try { return JSON.parse(text); } catch (e) { /* fall through */ }
    }
    return text;
  }

  async function raw(method, path, body, retried) {
    const headers = {};
    let payload;
    // every POST/PUT/DELETE carries a JSON object, {} when there is nothing to say
    if ((body === undefined || body === null) && method !== 'GET' && method !== 'HEAD') body = {};
    if (body !== undefined && body !== null) {
      if (body instanceof Blob || body instanceof ArrayBuffer) {
        payload = body;
      } else {
        headers['Content-Type'] = 'application/json';
        payload = JSON.stringify(body);
      }
    }
    if (method !== 'GET' && method !== 'HEAD') {
      if (!csrf && path !== '/api/me') { try { await me(); } catch (e) { /* 401 handled below */ } }
      if (csrf) headers['X-CSRF-Token'] = csrf;
    }
    const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
    const data = await parse(res);
    if (res.status === 401) {
      mePromise = null;
      toLogin();
      const err = new Error((data && data.error) || 'not signed in');
      err.status = 401; err.body = data;
      throw err;
    }
    if (res.status === 403 && data && /csrf/i.test(data.error || '') && !retried) {
      csrf = ''; mePromise = null;           // a new session: fetch the token again, once
      return raw(method, path, body, true);
    }
    if (!res.ok) {
      const err = new Error((data && data.error) || `HTTP ${res.status}`);
      err.status = res.status; err.body = data && typeof data === 'object' ? data : { error: String(data || res.status) };
      throw err;
    }
    return data;
  }

  /* Extra options for uploads: Staff.upload(path, file) sends the raw bytes
   * with Content-Type and X-File-Name. */
  async function upload(path, file) {
    if (!csrf) await me();
    const res = await fetch(path, {
      method: 'POST', credentials: 'same-origin', body: file,
      headers: { 'Content-Type': file.type || 'application/octet-stream',
        // a header holds Latin-1 only: plain ASCII names go as they are, others percent-encoded
        'X-File-Name': /^[\x20-\x7e]*$/.test(file.name || '') ? (file.name || 'file') : encodeURIComponent(file.name),
        'X-CSRF-Token': csrf },
    });
    const data = await parse(res);
    if (res.status === 401) { toLogin(); }
    if (!res.ok) {
      const err = new Error((data && data.error) || `HTTP ${res.status}`);
      err.status = res.status; err.body = data;
      throw err;
    }
    return data;
  }

  function me() {
    if (!mePromise) {
      mePromise = raw('GET', '/api/me').then((m) => { csrf = (m && m.csrf) || ''; return m; },
        (e) => { mePromise = null; throw e; });
    }
    return mePromise;
  }

  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') n.className = v;
      else if (k === 'text') n.textContent = v;
      else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) n.append(k);
    return n;
  }

  const LINKS = [
    { name: 'inbox', label: 'Inbox', href: '/inbox.html' },
    { name: 'leads', label: 'Leads', href: '/leads.html' },
    { name: 'channels', label: 'Channels', href: '/admin/channels.html', admin: true },
    { name: 'stats', label: 'Statistics', href: '/admin/stats.html', admin: true },
    { name: 'team', label: 'Team', href: '/admin/team.html', admin: true },
  ];

  function nav(active) {
    let bar = document.querySelector('nav.staff-nav');
    if (bar) bar.remove();
    const links = el('div', { class: 'links' });
    for (const l of LINKS) {
      const a = el('a', { href: l.href, 'data-nav': l.name, text: l.label });
      if (l.name === active) { a.classList.add('active'); a.setAttribute('aria-current', 'page'); }
      if (l.admin) a.hidden = true;
      links.append(a);
    }
    const who = el('div', { class: 'who' });
    const slot = el('div', { class: 'slot', id: 'staff-nav-slot' });
    bar = el('nav', { class: 'staff-nav', 'aria-label': 'Main' },
      el('a', { class: 'brand', href: '/inbox.html' }, el('span', { class: 'logo', 'aria-hidden': 'true', text: 'f' }), 'flowd'),
      links, el('span', { class: 'spacer' }), slot, who);
    document.body.prepend(bar);
    me().then((m) => {
      if (!m) return;
      for (const l of LINKS) if (l.admin) bar.querySelector(`[data-nav="${l.name}"]`).hidden = m.role !== 'admin';
      const initials = (m.name || m.user || '?').split(/\s+/).map((w) => w[0]).join('').slice(0, 2).toUpperCase();
      who.replaceChildren(
        el('span', { class: 'avatar', 'aria-hidden': 'true', text: initials }),
        el('span', {}, el('span', { class: 'name', text: m.name || m.user }), ' ', el('span', { class: 'role', text: m.role })),
        el('button', { class: 'logout', type: 'button', text: 'Log out', onclick: logout }));
    }, () => {});
    return bar;
  }

  async function logout() {
    try { await raw('POST', '/api/logout'); } catch (e) { /* gone anyway */ }
    csrf = ''; mePromise = null;
    location.href = '/login.html';
  }

  function toast(text, kind) {
    let box = document.querySelector('.staff-toasts');
    if (!box) { box = el('div', { class: 'staff-toasts', role: 'status', 'aria-live': 'polite' }); document.body.append(box); }
    const t = el('div', { class: 'staff-toast' + (kind ? ' ' + kind : ''), text });
    box.append(t);
    setTimeout(() => t.remove(), kind === 'error' ? 6000 : 3500);
  }

  async function call(method, path, body) {
    try {
      return { ok: true, status: 200, body: await raw(method, path, body) };
    } catch (e) {
      const b = e && e.body && typeof e.body === 'object' ? e.body : { error: (e && e.message) || String(e) };
      return { ok: false, status: (e && e.status) || 0, body: b };
    }
  }

  window.Staff = { api: (m, p, b) => raw(m, p, b), call, me, nav, toast, logout, upload, el };
})();
