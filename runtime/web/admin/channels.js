// The channel settings page (/admin/channels.html): create and edit channels
// (docs/api.md, "Channels (admins)") with a live preview of the widget.
//
// The page checks every field as the admin types; the server stays the
// authority, and the `fields` of its 400 answer are shown next to the same
// fields. Nothing from the server is ever inserted as HTML: every text goes
// through textContent or an attribute.
'use strict';
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  /* ---- talking to the server ------------------------------------------------ */

  // staff.js (shared by the staff pages): Staff.api adds the CSRF token,
  // sends the browser to the sign-in page on 401 and rejects other errors
  // with .status and .body; Staff.me, Staff.nav.
  const Staff = window.Staff;

  /* Every call answers {ok, status, body} and never throws (staff.js). */
  const call = Staff.call;

  /* The statistics of a channel, for its quota. */
  async function quotaOf(channel) {
    // the quota is always the server's current month, whatever the days asked
    const d = new Date();
    const today = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate())).toISOString().slice(0, 10);
    return call('GET', `/api/stats?channel=${encodeURIComponent(channel)}&from=${today}&to=${today}`);
  }

  /* ---- the settings ---------------------------------------------------------- */

  const DEFAULTS = {
    name: '', website: '', flow: '', primary: '#0b5fff', secondary: '#ffffff', align: 'right', offset: 20,
    bot_name: 'Assistant', avatar: '', welcome: 'Hi! How can we help?', prechat: false, privacy_url: '',
    terms_url: '', page_mode: 'deny', pages: [], after_hours: 'message',
    after_hours_message: "We're away right now. Leave a message and we'll get back to you.",
    agents: [], quota: 0, identity_secret: '', identity_enforced: false,
  };

  const COLOUR = /^#[0-9a-fA-F]{6}$/;
  const URL_RE = /^https?:\/\/[^\s/?#]+[^\s]*$/i;
  const NAME_RE = /^[a-z0-9_-]{1,63}$/;

  function urlError(v) { return !v || URL_RE.test(v) ? '' : 'must start with http:// or https:// (or be empty)'; }
  function wholeIn(v, lo, hi, text) { return Number.isInteger(v) && v >= lo && v <= hi ? '' : text; }

  /* One checker per field: the message to show, or ''. They follow the rules
   * of docs/api.md so that the page refuses what the server would. */
  const CHECKS = {
    name: (v) => (!v ? 'a name is required'
      : NAME_RE.test(v) ? '' : 'at most 63 lowercase letters a-z, digits, - and _'),
    website: urlError,
    flow: (v) => (v ? '' : 'choose a flow'),
    primary: (v) => (COLOUR.test(v) ? '' : 'must be a colour like #0b5fff'),
    secondary: (v) => (COLOUR.test(v) ? '' : 'must be a colour like #ffffff'),
    align: (v) => (v === 'left' || v === 'right' ? '' : 'choose left or right'),
    offset: (v) => wholeIn(v, 0, 400, 'must be a whole number of pixels from 0 to 400'),
    bot_name: (v) => (v.length <= 64 ? '' : 'at most 64 characters'),
    avatar: (v) => (!v || URL_RE.test(v) || /^\/[^\s]*$/.test(v) ? '' : 'must be an http(s):// URL or a path starting with /'),
    welcome: (v) => (v.length <= 512 ? '' : 'at most 512 characters'),
    privacy_url: urlError,
    terms_url: urlError,
    page_mode: (v) => (v === 'allow' || v === 'deny' ? '' : 'choose a rule'),
    pages: (list) => {
      for (let i = 0; i < list.length; i++) {
        const g = list[i];
        if (!g.startsWith('/')) return `line ${i + 1}: "${g}" must start with /`;
        if (/\s/.test(g)) return `line ${i + 1}: "${g}" must not contain spaces`;
        if (/[\u0000-\u001f\u007f]/.test(g)) return `line ${i + 1}: control characters are not allowed`;
      }
      return '';
    },
    after_hours: (v) => (v === 'message' || v === 'hide' ? '' : 'choose what happens after hours'),
    after_hours_message: (v) => (v.length <= 512 ? '' : 'at most 512 characters'),
    agents: (list) => ($('#f-agents-some').checked && !list.length ? 'tick at least one agent, or choose "Every agent"' : ''),
    quota: (v) => wholeIn(v, 0, 10000000, 'must be a whole number from 0 (no limit) to 10,000,000'),
  };

  const radio = (name) => { const r = $(`input[name="${name}"]:checked`); return r ? r.value : ''; };
  function numberOf(input) {
    if (input.validity && input.validity.badInput) return NaN;
    const t = input.value.trim();
    return t === '' ? NaN : Number(t);
  }
  const pagesOf = () => $('#f-pages').value.split('\n').map((s) => s.trim()).filter(Boolean);
  const agentsOf = () => ($('#f-agents-some').checked ? $$('#f-agents input:checked').map((i) => i.value) : []);

  /* The form as settings; keys the page does not know are kept as loaded. */
  function readForm() {
    const v = (id) => $('#f-' + id).value.trim();
    return {
      ...state.loaded,
      name: v('name'), website: v('website'), flow: $('#f-flow').value,
      primary: v('primary'), secondary: v('secondary'), align: radio('align'), offset: numberOf($('#f-offset')),
      bot_name: v('bot_name'), avatar: v('avatar'), welcome: v('welcome'), prechat: $('#f-prechat').checked,
      privacy_url: v('privacy_url'), terms_url: v('terms_url'), page_mode: radio('page_mode'), pages: pagesOf(),
      after_hours: radio('after_hours'), after_hours_message: $('#f-after_hours_message').value.trim(),
      agents: agentsOf(), quota: numberOf($('#f-quota')),
      identity_secret: $('#f-identity_secret').value, identity_enforced: $('#f-identity_enforced').checked,
    };
  }

  function fillForm(s) {
    const set = (id, val) => { $('#f-' + id).value = val == null ? '' : String(val); };
    for (const k of ['name', 'website', 'primary', 'secondary', 'offset', 'bot_name', 'avatar', 'welcome',
      'privacy_url', 'terms_url', 'after_hours_message', 'quota', 'identity_secret']) set(k, s[k]);
    fillFlows(s.flow);
    $('#f-pages').value = (s.pages || []).join('\n');
    $('#f-prechat').checked = !!s.prechat;
    $('#f-identity_enforced').checked = !!s.identity_enforced;
    for (const name of ['align', 'page_mode', 'after_hours']) {
      for (const r of $$(`input[name="${name}"]`)) r.checked = r.value === s[name];
    }
    fillAgents(s.agents || []);
    syncPickers();
  }

  /* ---- page state -------------------------------------------------------------- */

  const state = {
    channels: [], flows: [], agents: [], loaded: {}, baseline: '', creating: true,
    serverErrors: {}, view: 'open', previewReady: false,
  };

  function showPageError(text) {
    const box = $('#page-error');
    box.textContent = text;
    box.hidden = !text;
  }
  function setStatus(text, kind = '') {
    const s = $('#form-status');
    s.textContent = text;
    s.className = 'form-status' + (kind ? ' ' + kind : '');
  }
  function isDirty() { return !!state.baseline && JSON.stringify(readForm()) !== state.baseline; }
  function markBaseline() { state.baseline = JSON.stringify(readForm()); }

  /* ---- field messages ------------------------------------------------------------ */

  function fieldBox(key) { return $(`.field[data-field="${key}"]`); }
  function setFieldError(key, msg) {
    const box = fieldBox(key);
    if (!box) return false;
    const err = $('#err-' + key);
    err.textContent = msg || '';
    box.classList.toggle('invalid', !!msg);
    for (const el of $$('input, select, textarea', box)) {
      if (msg) el.setAttribute('aria-invalid', 'true'); else el.removeAttribute('aria-invalid');
    }
    return true;
  }

  /* The message of one field: the server's (until the field is edited), else
   * the page's own check. */
  function checkField(key, s = readForm()) {
    const own = CHECKS[key] ? CHECKS[key](s[key]) : '';
    const msg = state.serverErrors[key] || own;
    setFieldError(key, msg);
    return msg;
  }
  function checkAll() {
    const s = readForm();
    const bad = [];
    for (const key of Object.keys(CHECKS)) {
      if (key === 'name' && !state.creating) continue;
      if (checkField(key, s)) bad.push(key);
    }
    return bad;
  }
  function focusField(key) {
    const box = fieldBox(key);
    const el = box && $('input:not([type=hidden]):not([tabindex="-1"]), select, textarea', box);
    if (el) el.focus();
  }

  /* The server's field names map to ours; "pages.2" or "pages[2]" is pages. */
  function showServerErrors(fields) {
    state.serverErrors = {};
    const unknown = [];
    for (const [k, msg] of Object.entries(fields || {})) {
      const key = fieldBox(k) ? k : String(k).split(/[.[]/)[0];
      if (fieldBox(key)) state.serverErrors[key] = state.serverErrors[key] ? state.serverErrors[key] + '; ' + msg : String(msg);
      else unknown.push(`${k}: ${msg}`);
    }
    for (const key of Object.keys(state.serverErrors)) setFieldError(key, state.serverErrors[key]);
    return unknown;
  }

  /* ---- flows, agents ------------------------------------------------------------- */

  function fillFlows(selected) {
    const sel = $('#f-flow');
    sel.replaceChildren();
    const names = state.flows.map((f) => f.name);
    if (!selected || !names.includes(selected)) {
      const o = new Option(selected ? `${selected} (not loaded)` : 'Choose a flow…', selected || '');
      if (!selected) o.disabled = true;
      sel.add(o);
    }
    for (const f of state.flows) {
      const bits = [];
      if (f.version !== undefined && f.version !== '') {
        const v = String(f.version);
        bits.push(/^\d+$/.test(v) ? `v${v}` : `build ${v.slice(0, 7)}`); // a content hash: its head is enough
      }
      if (f.nodes !== undefined) bits.push(`${f.nodes} node${f.nodes === 1 ? '' : 's'}`);
      sel.add(new Option(bits.length ? `${f.name} (${bits.join(', ')})` : f.name, f.name));
    }
    sel.value = selected || '';
  }

  function fillAgents(allowed) {
    const box = $('#f-agents');
    box.replaceChildren();
    const known = new Set(state.agents.map((a) => a.user));
    const list = [...state.agents];
    for (const u of allowed) if (!known.has(u)) list.push({ user: u, name: `${u} (unknown)`, online: false });
    if (!list.length) {
      const p = document.createElement('p');
      p.className = 'hint';
      p.textContent = 'No agent accounts yet.';
      box.append(p);
    }
    for (const a of list) {
      const label = document.createElement('label');
      const cb = document.createElement('input');
      cb.type = 'checkbox';
      cb.value = a.user;
      cb.checked = allowed.includes(a.user);
      const dot = document.createElement('span');
      dot.className = 'dot' + (a.online ? ' on' : '');
      dot.title = a.online ? 'online' : 'offline';
      const name = document.createElement('span');
      name.textContent = a.name && a.name !== a.user ? `${a.name} (${a.user})` : a.user;
      label.append(cb, dot, name);
      box.append(label);
    }
    $('#f-agents-all').checked = !allowed.length;
    $('#f-agents-some').checked = !!allowed.length;
    syncAgentsMode();
  }
  function syncAgentsMode() {
    const some = $('#f-agents-some').checked;
    $('#f-agents').setAttribute('aria-disabled', some ? 'false' : 'true');
    for (const cb of $$('#f-agents input')) cb.disabled = !some;
  }

  /* ---- identity secret ------------------------------------------------------------ */

  function newSecret() {
    const b = new Uint8Array(32);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  /* ---- embed code ------------------------------------------------------------------ */

  function embedCode(name) {
    const esc = (t) => t.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    return `<script src="${esc(location.origin)}/widget.js" data-channel="${esc(name || 'NAME')}" async></` + 'script>';
  }
  function updateEmbed() {
    $('#embed-code').value = embedCode($('#f-name').value.trim());
  }
  async function copyEmbed() {
    const text = $('#embed-code').value;
    const note = $('#copy-note');
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const ta = $('#embed-code');
      ta.focus();
      ta.select();
      if (!document.execCommand('copy')) { note.textContent = 'Select the code and copy it with Ctrl+C.'; return; }
    }
    note.textContent = '✓ Copied to the clipboard';
    clearTimeout(copyEmbed.timer);
    copyEmbed.timer = setTimeout(() => { note.textContent = ''; }, 4000);
  }

  /* ---- live preview ----------------------------------------------------------------- */

  // The widget runs in preview mode inside a same-origin frame that imitates a
  // web page; the page sends it the settings as they are typed. A field that
  // does not pass its check keeps its last good value in the preview.
  const lastGood = {};
  function previewSettings() {
    const s = readForm();
    const out = {};
    for (const k of ['primary', 'secondary', 'align', 'offset', 'bot_name', 'avatar', 'welcome', 'prechat',
      'privacy_url', 'terms_url', 'after_hours', 'after_hours_message']) {
      const ok = !CHECKS[k] || !CHECKS[k](s[k]);
      if (ok) lastGood[k] = s[k];
      out[k] = k in lastGood ? lastGood[k] : DEFAULTS[k];
    }
    out.channel = s.name || 'preview';
    out.visible = true;
    out.open_now = state.view !== 'after-hours';
    out.identity_required = false;
    return out;
  }

  function previewDoc(channel) {
    const esc = (t) => t.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    const bar = (w, h = 10, c = '#e6e9ee') => `<div style="width:${w};height:${h}px;background:${c};border-radius:5px;margin:0 0 10px"></div>`;
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Preview</title>
<style>body{margin:0;font:14px system-ui,sans-serif;background:#fff;color:#333;min-height:100vh}
header{display:flex;align-items:center;gap:14px;padding:16px 22px;border-bottom:1px solid #eef0f3}
.logo{width:26px;height:26px;border-radius:7px;background:#d9dee5}.nav{display:flex;gap:12px;margin-left:auto}
.nav span{width:46px;height:8px;border-radius:4px;background:#e6e9ee}
.hero{padding:28px 22px 10px}.cards{display:grid;grid-template-columns:1fr 1fr;gap:12px;padding:10px 22px}
.cards div{height:84px;border-radius:8px;background:#f3f5f8}</style></head><body>
<header><div class="logo"></div>${bar('90px', 10, '#dfe3e9').replace('margin:0 0 10px', 'margin:0')}<div class="nav"><span></span><span></span><span></span></div></header>
<div class="hero">${bar('70%', 18, '#dfe3e9')}${bar('92%')}${bar('84%')}${bar('60%')}</div>
<div class="cards"><div></div><div></div><div></div><div></div></div>
<div class="hero">${bar('88%')}${bar('76%')}</div>
<script src="${esc(location.origin)}/widget.js" data-channel="${esc(channel)}" data-preview="1"></` + `script>
</body></html>`;
  }

  function sendPreview() {
    const frame = $('#preview');
    if (!frame.contentWindow) return;
    const msg = { type: 'flowd-preview', settings: previewSettings(), view: state.view };
    frame.contentWindow.postMessage(msg, location.origin);
  }
  let previewTimer = 0;
  function schedulePreview() {
    cancelAnimationFrame(previewTimer);
    previewTimer = requestAnimationFrame(sendPreview);
  }
  function loadPreview(channel) {
    const frame = $('#preview');
    frame.onload = () => {
      state.previewReady = true;
      sendPreview();
      // a widget that sets itself up asynchronously gets the settings again
      setTimeout(sendPreview, 150);
      setTimeout(sendPreview, 600);
    };
    frame.srcdoc = previewDoc(channel || 'preview');
  }
  /* The widget switches to its full-screen phone layout under 480 px, so a
   * narrower panel shows a 500 px wide page scaled down. */
  const PREVIEW_W = 500, PREVIEW_H = 640;
  function fitPreview() {
    const stage = $('#preview-stage'), frame = $('#preview');
    const w = stage.clientWidth;
    if (!w) return;
    const scale = Math.min(1, w / PREVIEW_W);
    frame.style.width = scale < 1 ? PREVIEW_W + 'px' : '100%';
    frame.style.height = PREVIEW_H + 'px';
    frame.style.transform = scale < 1 ? `scale(${scale})` : '';
    stage.style.height = Math.round(PREVIEW_H * scale) + 'px';
  }

  function setView(view) {
    state.view = view;
    for (const b of $$('#preview-views button')) b.setAttribute('aria-pressed', String(b.dataset.view === view));
    sendPreview();
  }
  function updatePreviewUrl() {
    const w = $('#f-website').value.trim();
    $('#preview-url').textContent = URL_RE.test(w) ? w.replace(/\/?$/, '/') : 'https://example.com/';
  }

  /* ---- colour pickers and the offset slider mirror their text fields ------------- */

  function syncPickers() {
    for (const k of ['primary', 'secondary']) {
      const v = $('#f-' + k).value.trim();
      if (COLOUR.test(v)) $(`#f-${k}-pick`).value = v.toLowerCase();
    }
    const off = numberOf($('#f-offset'));
    if (Number.isInteger(off) && off >= 0 && off <= 400) $('#f-offset-range').value = String(off);
  }

  /* ---- quota ----------------------------------------------------------------------- */

  function fmtInt(n) { return Number(n || 0).toLocaleString('en-US'); }
  function fmtDay(ts, zone) {
    const opts = { day: 'numeric', month: 'long', year: 'numeric' };
    try { return new Intl.DateTimeFormat('en-GB', { ...opts, timeZone: zone || undefined }).format(new Date(ts * 1000)); } catch {
      return new Intl.DateTimeFormat('en-GB', opts).format(new Date(ts * 1000));
    }
  }
  function monthName(ym) {
    const m = /^(\d{4})-(\d{2})$/.exec(ym || '');
    if (!m) return ym || 'this month';
    return new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' })
      .format(new Date(Date.UTC(+m[1], +m[2] - 1, 1)));
  }

  async function showQuota(channel) {
    const box = $('#quota-status');
    box.replaceChildren();
    if (!channel) {
      box.textContent = '';
      return;
    }
    const r = await quotaOf(channel);
    if ($('#f-name').value.trim() !== channel) return; // another channel was opened meanwhile
    if (!r.ok || !r.body || !r.body.quota) {
      const p = document.createElement('p');
      p.className = 'hint';
      p.textContent = `Usage this month is not available (${(r.body && r.body.error) || 'no statistics'}).`;
      box.append(p);
      return;
    }
    const q = r.body.quota, zone = r.body.zone;
    const limit = Number(q.limit) || 0, used = Number(q.used) || 0;
    const line = document.createElement('p');
    line.id = 'quota-usage';
    line.style.margin = '0';
    if (limit > 0) {
      const meter = document.createElement('div');
      const pct = Math.min(100, (used / limit) * 100);
      meter.className = 'meter' + (q.exhausted || used >= limit ? ' full' : pct >= 80 ? ' warn' : '');
      meter.setAttribute('role', 'meter');
      meter.setAttribute('aria-valuemin', '0');
      meter.setAttribute('aria-valuemax', String(limit));
      meter.setAttribute('aria-valuenow', String(used));
      meter.setAttribute('aria-label', 'Bot conversations used this month');
      const fill = document.createElement('span');
      fill.style.width = pct.toFixed(1) + '%';
      meter.append(fill);
      box.append(meter);
      line.textContent = `${fmtInt(used)} of ${fmtInt(limit)} bot conversations used in ${monthName(q.month)}`;
    } else {
      line.textContent = `No limit · ${fmtInt(used)} bot conversations in ${monthName(q.month)}`;
    }
    if (q.renews_at) line.textContent += ` · renews on ${fmtDay(q.renews_at, zone)}`;
    box.append(line);
    if (q.exhausted) {
      const c = document.createElement('div');
      c.className = 'callout danger';
      c.id = 'quota-exhausted';
      c.style.margin = '10px 0 0';
      c.setAttribute('role', 'status');
      const strong = document.createElement('strong');
      strong.textContent = 'Quota used up. ';
      const rest = document.createElement('span');
      rest.textContent = 'New conversations skip the bot and go straight to live chat'
        + (q.renews_at ? ` until the quota renews on ${fmtDay(q.renews_at, zone)}.` : '.');
      const d = document.createElement('div');
      d.append(strong, rest);
      c.append(d);
      box.append(c);
    }
  }

  /* ---- the channel list ------------------------------------------------------------ */

  function renderList(current) {
    const ul = $('#channel-list');
    ul.replaceChildren();
    if (!state.channels.length) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = 'No channels yet.';
      ul.append(li);
    }
    for (const c of state.channels) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = `?channel=${encodeURIComponent(c.name)}`;
      a.dataset.channel = c.name;
      if (c.name === current) a.setAttribute('aria-current', 'page');
      const n = document.createElement('span');
      n.textContent = c.name;
      const sub = document.createElement('small');
      sub.textContent = c.website ? c.website.replace(/^https?:\/\//, '') : c.flow || '';
      a.append(n, sub);
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        open(c.name, true);
      });
      li.append(a);
      ul.append(li);
    }
  }

  async function refreshList(current) {
    const r = await call('GET', '/api/channels');
    if (r.ok && Array.isArray(r.body)) state.channels = r.body.slice().sort((a, b) => a.name.localeCompare(b.name));
    else showPageError(`Could not load the channels: ${(r.body && r.body.error) || 'HTTP ' + r.status}`);
    renderList(current);
  }

  /* ---- opening a channel or a new one ---------------------------------------------- */

  function clearMessages() {
    state.serverErrors = {};
    for (const box of $$('.field[data-field]')) setFieldError(box.dataset.field, '');
    $('#form-error').hidden = true;
    setStatus('');
  }

  function setMode(creating, name) {
    state.creating = creating;
    $('#f-name').readOnly = !creating;
    $('#form-title').textContent = creating ? 'New channel' : `Channel “${name}”`;
    $('#save').textContent = creating ? 'Create channel' : 'Save changes';
    const stats = $('#stats-link');
    stats.hidden = creating;
    stats.href = `/admin/stats.html?channel=${encodeURIComponent(name || '')}`;
    $('#hint-secret').textContent = '';
    document.title = (creating ? 'New channel' : name) + ' · Channels · flowd admin';
  }

  async function open(name, push) {
    if (isDirty() && !confirm('Discard the unsaved changes?')) return;
    showPageError('');
    clearMessages();
    if (push) history.pushState(null, '', name ? `?channel=${encodeURIComponent(name)}` : '?new');
    if (!name) {
      state.loaded = {};
      fillForm({ ...DEFAULTS, flow: state.flows.length ? state.flows[0].name : '', identity_secret: newSecret() });
      setMode(true, '');
      renderList('');
      afterFill('');
      $('#f-name').focus();
      return;
    }
    const r = await call('GET', `/api/channels/${encodeURIComponent(name)}`);
    if (!r.ok) {
      showPageError(`Could not load the channel “${name}”: ${(r.body && r.body.error) || 'HTTP ' + r.status}`);
      return;
    }
    state.loaded = { ...r.body };
    fillForm({ ...DEFAULTS, ...r.body });
    setMode(false, r.body.name || name);
    renderList(r.body.name || name);
    afterFill(r.body.name || name);
  }

  function afterFill(channel) {
    Object.keys(lastGood).forEach((k) => delete lastGood[k]);
    updateEmbed();
    updatePreviewUrl();
    markBaseline();
    loadPreview(channel);
    showQuota(channel);
    document.body.dataset.loaded = channel || 'new';
  }

  /* ---- saving ----------------------------------------------------------------------- */

  async function save(ev) {
    ev.preventDefault();
    state.serverErrors = {};
    $('#form-error').hidden = true;
    const bad = checkAll();
    if (bad.length) {
      setStatus(`Not saved: fix ${bad.length === 1 ? 'the marked field' : bad.length + ' fields'}.`, 'error');
      focusField(bad[0]);
      return;
    }
    const s = readForm();
    const btn = $('#save');
    btn.disabled = true;
    setStatus('Saving…');
    const r = state.creating ? await call('POST', '/api/channels', s)
      : await call('PUT', `/api/channels/${encodeURIComponent(s.name)}`, s);
    btn.disabled = false;
    if (r.ok) {
      const wasCreating = state.creating;
      history.replaceState(null, '', `?channel=${encodeURIComponent(s.name)}`);
      const g = await call('GET', `/api/channels/${encodeURIComponent(s.name)}`);
      const saved = g.ok && g.body && typeof g.body === 'object' ? g.body : (r.body && r.body.name ? r.body : s);
      state.loaded = { ...saved };
      fillForm({ ...DEFAULTS, ...saved });
      setMode(false, s.name);
      Object.keys(lastGood).forEach((k) => delete lastGood[k]);
      updateEmbed();
      markBaseline();
      await refreshList(s.name);
      if (wasCreating) loadPreview(s.name); else sendPreview();
      setStatus(wasCreating ? '✓ Channel created' : '✓ Saved', 'ok');
      showQuota(s.name);
      return;
    }
    const body = r.body || {};
    let unknown = [];
    if (r.status === 409) {
      state.serverErrors = { name: `a channel named “${s.name}” already exists` };
      setFieldError('name', state.serverErrors.name);
    } else if (body.fields) {
      unknown = showServerErrors(body.fields);
    }
    const shown = Object.keys(state.serverErrors);
    if (!shown.length || unknown.length) {
      const box = $('#form-error');
      box.textContent = `The server refused the settings: ${[body.error || 'HTTP ' + r.status, ...unknown].join('; ')}`;
      box.hidden = false;
    }
    setStatus('Not saved: the server refused ' + (shown.length ? (shown.length === 1 ? 'one field.' : shown.length + ' fields.') : 'the settings.'), 'error');
    if (shown.length) focusField(shown[0]);
  }

  /* ---- wiring ------------------------------------------------------------------------- */

  function fieldKeyOf(el) {
    const box = el.closest('.field[data-field]');
    return box ? box.dataset.field : '';
  }

  function onEdit(ev) {
    const el = ev.target;
    if (el.id === 'f-primary-pick' || el.id === 'f-secondary-pick') {
      const k = el.id.slice(2, -5);
      $('#f-' + k).value = el.value;
    } else if (el.id === 'f-offset-range') {
      $('#f-offset').value = el.value;
    } else if (el.name === 'agents_mode') {
      syncAgentsMode();
    }
    const key = fieldKeyOf(el);
    if (key) {
      delete state.serverErrors[key];
      checkField(key);
    }
    if (key === 'prechat' && $('#f-prechat').checked) setView('prechat');
    if (key === 'after_hours' || key === 'after_hours_message') {
      if (state.view !== 'after-hours') setView('after-hours');
    }
    if (key === 'name') updateEmbed();
    if (key === 'website') updatePreviewUrl();
    syncPickers();
    schedulePreview();
    if (isDirty()) setStatus('Unsaved changes', 'dirty');
    else if ($('#form-status').classList.contains('dirty')) setStatus('');
  }

  function wire() {
    const form = $('#form');
    form.addEventListener('input', onEdit);
    form.addEventListener('change', onEdit);
    form.addEventListener('submit', save);
    $('#new-channel').addEventListener('click', () => open('', true));
    $('#copy-embed').addEventListener('click', copyEmbed);
    $('#regen-secret').addEventListener('click', () => {
      $('#f-identity_secret').value = newSecret();
      $('#hint-secret').textContent = state.creating ? 'A new secret; it is kept when you create the channel.'
        : 'New secret: save to use it. Sites that sign with the old secret stop verifying once you save.';
      onEdit({ target: $('#f-identity_secret') });
    });
    for (const b of $$('#preview-views button')) b.addEventListener('click', () => setView(b.dataset.view));
    new ResizeObserver(fitPreview).observe($('#preview-stage'));
    window.addEventListener('popstate', () => start());
    window.addEventListener('message', (ev) => {
      // a widget that announces it is ready gets the current settings
      if (ev.source === $('#preview').contentWindow && ev.data && ev.data.type === 'flowd-preview-ready') sendPreview();
    });
  }

  async function start() {
    const params = new URLSearchParams(location.search);
    const wanted = params.get('channel');
    if (params.has('new') || (!wanted && !state.channels.length)) await open('', false);
    else await open(wanted || state.channels[0].name, false);
  }

  async function main() {
    Staff.nav('channels');
    let me;
    try { me = await Staff.me(); } catch (e) {
      showPageError(`Not signed in (${(e && e.message) || e}).`);
      return;
    }
    if (!me || me.role !== 'admin') {
      showPageError('This page is for admins only.');
      $('#form').hidden = true;
      return;
    }
    wire();
    const [flows, agents] = await Promise.all([call('GET', '/api/flows'), call('GET', '/api/agents'), refreshList('')]);
    if (flows.ok && Array.isArray(flows.body)) state.flows = flows.body;
    else showPageError(`Could not load the flows: ${(flows.body && flows.body.error) || 'HTTP ' + flows.status}`);
    if (agents.ok && Array.isArray(agents.body)) state.agents = agents.body;
    await start();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main); else main();
})();
