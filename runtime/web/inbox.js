/* The agent inbox (docs/api.md, docs/inbox.md). Plain script over staff.js.
 *
 * State lives in S; the list and the thread are redrawn from it. Live
 * updates come from /ws/agent (reconnecting with backoff; every reconnect
 * refetches the list and the open conversation). Every text from the
 * server goes through textContent, never innerHTML. */
(function () {
  'use strict';

  const MAX = 512;                 // characters per message (code points)
  const LATE = 180;                // a visitor waiting longer than this is highlighted
  const FOLDERS = ['unassigned', 'mine', 'closed', 'all'];
  const FOLDER_NAMES = { unassigned: 'Unassigned', mine: 'Mine', closed: 'Closed', all: 'All' };
  const LEAD_FIELDS = ['name', 'email', 'phone', 'organization', 'address', 'deal_value', 'close_date', 'notes'];

  const S = {
    me: null,
    folder: 'unassigned', q: '', state: 'open',
    list: [], counts: {}, cursor: -1,
    openId: null, conv: null,
    agents: [], canned: [],
    ws: null, wsUp: false, wsTries: 0,
    online: false,
    visitorTyping: false, typingTimer: null, myTypingAt: 0, myTypingOff: null,
    leadDirty: false,
    listSeq: 0, convSeq: 0,
  };

  const $ = (sel, root = document) => root.querySelector(sel);
  const el = (tag, attrs, ...kids) => Staff.el(tag, attrs, ...kids);
  const now = () => Math.floor(Date.now() / 1000);
  const cps = (s) => Array.from(s || '').length;

  /* ---- icons (inline SVG: no icon font, no emoji font needed) ------------ */

  const ICONS = {
    clock: 'M8 1.75a6.25 6.25 0 1 0 0 12.5 6.25 6.25 0 0 0 0-12.5zM8 4.5V8l2.4 1.6',
    clip: 'M10.6 4.6 5.4 9.8a1.4 1.4 0 0 0 2 2l5.5-5.5a2.9 2.9 0 0 0-4.1-4.1L3.3 7.7a4.4 4.4 0 0 0 6.2 6.2l4-4',
    file: 'M4 1.75h5l3 3v9.5H4zM9 1.75v3h3M6 8.5h4M6 11h4',
    check: 'M3 8.5l3 3 7-7',
    checks: 'M1.5 8.5l3 3 6.5-6.5M7.5 11.5l6.5-6.5',
    pending: 'M8 1.75a6.25 6.25 0 1 0 0 12.5 6.25 6.25 0 0 0 0-12.5zM8 4.5V8h3',
  };
  function icon(name) {
    const NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('class', `ico ico-${name}`);
    svg.setAttribute('aria-hidden', 'true');
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', ICONS[name]);
    svg.append(p);
    return svg;
  }

  /* ---- formatting ------------------------------------------------------- */

  function dur(sec) {
    sec = Math.max(0, Math.floor(sec));
    if (sec < 60) return `${sec}s`;
    const m = Math.floor(sec / 60);
    if (m < 60) return `${m}m`;
    const h = Math.floor(m / 60);
    if (h < 24) return `${h}h ${m % 60 ? (m % 60) + 'm' : ''}`.trim();
    return `${Math.floor(h / 24)}d ${h % 24 ? (h % 24) + 'h' : ''}`.trim();
  }
  function hm(t) { return new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }); }
  function dayLabel(t) {
    const d = new Date(t * 1000), today = new Date();
    const y = new Date(); y.setDate(y.getDate() - 1);
    if (d.toDateString() === today.toDateString()) return 'Today';
    if (d.toDateString() === y.toDateString()) return 'Yesterday';
    return d.toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
  }
  function shortWhen(t) {
    if (!t) return '';
    const d = new Date(t * 1000);
    if (d.toDateString() === new Date().toDateString()) return hm(t);
    return d.toLocaleDateString([], { day: 'numeric', month: 'short' });
  }
  function ago(t) { return t ? (now() - t < 45 ? 'just now' : `${dur(now() - t)} ago`) : ''; }
  function fullTime(t) { return new Date(t * 1000).toLocaleString(); }

  function errText(e) { return (e && e.body && e.body.error) || (e && e.message) || String(e); }
  async function act(what, fn) {
    try { return await fn(); } catch (e) {
      if (e && e.status === 401) return null;
      Staff.toast(`${what}: ${errText(e)}`, 'error');
      return null;
    }
  }

  /* ---- the list --------------------------------------------------------- */

  async function loadList() {
    const seq = ++S.listSeq;
    const p = new URLSearchParams({ folder: S.folder, state: S.folder === 'closed' && S.state === 'open' ? 'closed' : S.state });
    if (S.q) p.set('q', S.q);
    let data;
    try { data = await Staff.api('GET', '/api/inbox?' + p); } catch (e) {
      if (e.status !== 401) Staff.toast(`Could not load the inbox: ${errText(e)}`, 'error');
      return;
    }
    if (seq !== S.listSeq) return;             // a newer request is on its way
    S.counts = data.counts || {};
    const keep = S.list[S.cursor] && S.list[S.cursor].id;
    S.list = Array.isArray(data.conversations) ? data.conversations : [];
    const i = S.list.findIndex((c) => c.id === keep);
    S.cursor = i >= 0 ? i : (S.list.length ? Math.min(Math.max(S.cursor, 0), S.list.length - 1) : -1);
    renderFolders();
    renderList();
    updateTitle();
    if (Date.now() - (S.agentsAt || 0) > 5000) { S.agentsAt = Date.now(); loadAgents(); }
  }
  let listTimer = null;
  function reloadListSoon(ms = 150) { clearTimeout(listTimer); listTimer = setTimeout(loadList, ms); }

  function renderFolders() {
    for (const f of FOLDERS) {
      const b = $(`.folder[data-folder="${f}"]`);
      b.classList.toggle('active', f === S.folder);
      b.setAttribute('aria-current', f === S.folder ? 'true' : 'false');
      const c = S.counts[f] || {};
      const span = $(`[data-count="${f}"]`);
      const unread = f !== 'closed' && f !== 'all' ? (c.unread || 0) : 0;
      const total = c.total || 0;
      span.className = 'fcount';
      if (f === 'unassigned' && total) { span.textContent = total; span.classList.add('unread', 'hot'); }
      else if (unread) { span.textContent = unread; span.classList.add('unread'); }
      else span.textContent = f === 'closed' ? '' : (total || '');
      b.title = `${FOLDER_NAMES[f]}: ${total} conversation${total === 1 ? '' : 's'}` + (unread ? `, ${unread} unread` : '');
    }
    $('#list-title').textContent = FOLDER_NAMES[S.folder] + (S.q ? ` · “${S.q}”` : '');
    renderCapacity();
  }
  function renderCapacity() {
    if (!S.me) return;
    const a = S.agents.find((x) => x.user === S.me.user);
    const cap = a && a.capacity !== undefined ? a.capacity : S.me.capacity;
    const open = a && a.open !== undefined ? a.open : (S.counts.mine && S.counts.mine.total) || 0;
    const box = $('#capacity');
    box.textContent = cap ? `Open: ${open} of ${cap}` : `Open: ${open}`;
    box.classList.toggle('full', !!cap && open >= cap);
  }

  function statusBadge(c) {
    if (c.state === 'closed' || c.status === 'closed') return el('span', { class: 'badge st-closed', text: 'Closed' });
    if (c.state === 'snoozed') {
      return el('span', { class: 'badge st-snoozed', text: c.snoozed_until ? `Snoozed · ${shortWhen(c.snoozed_until)}` : 'Snoozed · next message' });
    }
    if (c.status === 'bot') return el('span', { class: 'badge st-bot', text: 'Bot' });
    if (c.status === 'queued' || !c.assignee) return el('span', { class: 'badge st-queued', text: 'Waiting' });
    const mine = S.me && c.assignee === S.me.user;
    return el('span', { class: 'badge st-agent', text: mine ? 'You' : (c.assignee_name || c.assignee) });
  }
  function priorityBadge(p) {
    if (!p || p === 'normal') return null;
    return el('span', { class: `badge pr-${p}`, text: p === 'urgent' ? '‼ Urgent' : p === 'high' ? '! High' : 'Low' });
  }
  function waitBadge(c) {
    if (!c.waiting_since || c.state === 'closed') return null;
    const w = now() - c.waiting_since;
    const late = w >= LATE;
    return el('span', { class: 'wait' + (late ? ' late' : ''), 'data-since': c.waiting_since,
      title: `Waiting for a human reply since ${fullTime(c.waiting_since)}` }, icon('clock'), el('span', { class: 'w', text: dur(w) }));
  }
  function lastFrom(l) {
    if (!l) return '';
    if (l.from === 'visitor') return '';
    if (l.from === 'bot') return 'Bot: ';
    if (l.from === 'agent') return l.name && S.me && l.name !== S.me.name ? `${l.name}: ` : 'You: ';
    return '';
  }

  /* The list is redrawn from S.list; an item whose data did not change keeps
   * its node (no flicker, hover and focus stay). */
  const itemCache = new Map();   // id -> {sig, li}
  function itemNode(c, i) {
    const sig = JSON.stringify([c, c.id === S.openId, i === S.cursor, S.me && S.me.user]);
    const hit = itemCache.get(c.id);
    if (hit && hit.sig === sig) return hit.li;
    const name = (c.visitor && c.visitor.name) || `Visitor ${c.id}`;
    const li = el('li', {
      class: 'conv' + (c.unread ? ' unread' : '') + (c.id === S.openId ? ' open' : '') + (i === S.cursor ? ' cursor' : '') +
        (c.priority ? ` p-${c.priority}` : ''),
      role: 'option', id: `conv-${c.id}`, 'data-id': c.id, 'aria-selected': i === S.cursor ? 'true' : 'false',
    });
    li.append(el('span', { class: 'dot', title: c.unread ? `${c.unread} unread` : '' }));
    const on = c.visitor && c.visitor.online;
    li.append(el('span', { class: 'name', title: name },
      el('span', { class: 'vdot' + (on ? ' on' : ''), title: on ? 'visitor online' : 'visitor offline' }), name));
    li.append(el('span', { class: 'when', title: c.last ? fullTime(c.last.at) : '', text: c.last ? shortWhen(c.last.at) : shortWhen(c.updated_at) }));
    const last = c.last || {};
    const text = last.text || (last.kind === 'file' ? '[attachment]' : '');
    li.append(el('div', { class: 'preview' }, el('span', { class: 'from', text: lastFrom(last) }), text || '—'));
    const chips = el('div', { class: 'chips' });
    const w = waitBadge(c); if (w) chips.append(w);
    chips.append(statusBadge(c));
    const p = priorityBadge(c.priority); if (p) chips.append(p);
    for (const t of c.tags || []) chips.append(el('span', { class: 'badge tag', text: t }));
    if (c.unread) chips.append(el('span', { class: 'unread-n', title: 'unread messages', text: c.unread }));
    li.append(chips);
    li.addEventListener('click', () => {
      const k = S.list.findIndex((x) => x.id === c.id);
      if (k >= 0) S.cursor = k;
      openConversation(c.id);
    });
    itemCache.set(c.id, { sig, li });
    return li;
  }

  function renderList() {
    const ul = $('#list');
    const nodes = S.list.map((c, i) => itemNode(c, i));
    const keep = new Set(nodes);
    for (const li of [...ul.children]) if (!keep.has(li)) li.remove();
    nodes.forEach((li, i) => { if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null); });
    const ids = new Set(S.list.map((c) => c.id));
    for (const id of itemCache.keys()) if (!ids.has(id)) itemCache.delete(id);
    $('#list-empty').hidden = S.list.length > 0;
    $('#list-count').textContent = S.list.length ? String(S.list.length) : '';
  }

  function moveCursor(d) {
    if (!S.list.length) return;
    S.cursor = Math.min(S.list.length - 1, Math.max(0, (S.cursor < 0 ? (d > 0 ? -1 : S.list.length) : S.cursor) + d));
    renderList();
    const li = document.getElementById(`conv-${S.list[S.cursor].id}`);
    if (li) li.scrollIntoView({ block: 'nearest' });
  }

  function setFolder(f) {
    if (f === 'all' && (!S.me || S.me.role !== 'admin')) return;
    S.folder = f;
    if (f === 'closed') { S.state = 'closed'; $('#state-filter').value = 'closed'; }
    else if (S.state === 'closed') { S.state = 'open'; $('#state-filter').value = 'open'; }
    S.cursor = 0;
    renderFolders();
    loadList();
  }

  function updateTitle() {
    const un = (S.counts.unassigned && S.counts.unassigned.total) || 0;
    const mine = (S.counts.mine && S.counts.mine.unread) || 0;
    const n = un + mine;
    document.title = (n ? `(${n}) ` : '') + 'Inbox · flowd';
  }

  /* ---- one conversation -------------------------------------------------- */

  async function openConversation(id, { keepComposer = false } = {}) {
    const seq = ++S.convSeq;
    const changed = S.openId !== id;
    S.openId = id;
    let c;
    try { c = await Staff.api('GET', `/api/conversations/${id}`); } catch (e) {
      if (seq !== S.convSeq) return;
      if (e.status === 403 || e.status === 404) { closeView(e.status === 403 ? 'This conversation is now with another agent.' : 'This conversation does not exist.'); return; }
      if (e.status !== 401) Staff.toast(`Could not open the conversation: ${errText(e)}`, 'error');
      return;
    }
    if (seq !== S.convSeq) return;
    S.conv = c;
    S.visitorTyping = !!c.visitor_typing;
    if (changed) { S.leadDirty = false; if (!keepComposer) { $('#reply').value = ''; } }
    $('#thread-empty').hidden = true;
    $('#thread').hidden = false;
    $('#panel').hidden = false;
    $('#inbox').classList.remove('no-panel');
    renderHead();
    renderMessages(changed);
    renderPanel(changed || !S.leadDirty);
    renderTyping();
    updateCounter();
    renderList();
    if (changed) history.replaceState(null, '', `#c${id}`);
    markRead();
  }
  let convTimer = null;
  function reloadConvSoon(ms = 120) { clearTimeout(convTimer); convTimer = setTimeout(() => { if (S.openId) openConversation(S.openId); }, ms); }

  function closeView(note) {
    S.openId = null; S.conv = null;
    $('#thread').hidden = true;
    $('#thread-empty').hidden = false;
    $('#panel').hidden = true;
    $('#inbox').classList.add('no-panel');
    if (note) Staff.toast(note);
    history.replaceState(null, '', location.pathname + location.search);
    renderList();
  }

  function isClosed(c) { return c && (c.state === 'closed' || c.status === 'closed'); }

  function renderHead() {
    const c = S.conv;
    const v = c.visitor || {};
    $('#t-name').textContent = v.name || `Visitor ${c.id}`;
    $('#t-online').className = 'presence-dot' + (v.online ? ' on' : '');
    $('#t-online').title = v.online ? 'online' : 'offline';
    $('#t-status').replaceChildren(statusBadge(c));
    $('#t-priority').replaceChildren(priorityBadge(c.priority) || '');
    const bits = [`#${c.id}`, c.channel];
    if (c.team) bits.push(`team ${c.team}`);
    if (c.waiting_since && !isClosed(c)) bits.push(`waiting ${dur(now() - c.waiting_since)}`);
    bits.push(`started ${shortWhen(c.created_at)}`);
    $('#t-sub').textContent = bits.filter(Boolean).join(' · ');
    $('#t-sub').title = `started ${fullTime(c.created_at)}`;

    const closed = isClosed(c);
    const mine = S.me && c.assignee === S.me.user;
    const take = $('#a-take');
    take.hidden = closed || mine;
    take.textContent = c.status === 'bot' ? 'Stop the bot' : (c.assignee ? 'Take over' : 'Assign to me');
    take.title = c.status === 'bot' ? 'Stop the bot and take this conversation (a)' : 'Assign to me (a)';
    $('#a-reassign').hidden = closed;
    $('#a-unassign').hidden = closed || !c.assignee;
    $('#a-snooze').hidden = closed;
    $('#a-close').hidden = closed;
    $('#a-snooze').textContent = c.state === 'snoozed' ? 'Snoozed ▾' : 'Snooze ▾';

    const notice = $('#t-notice');
    notice.hidden = true; notice.className = 'notice';
    if (!closed && c.status === 'bot') {
      notice.hidden = false; notice.classList.add('info');
      notice.textContent = 'The bot is still running this conversation. “Stop the bot” takes it over; replying does too.';
    } else if (c.state === 'snoozed') {
      notice.hidden = false;
      notice.textContent = c.snoozed_until ? `Snoozed until ${fullTime(c.snoozed_until)} or the visitor's next message.` : 'Snoozed until the visitor writes again.';
    }
    $('#composer').hidden = closed;
    $('#closed-bar').hidden = !closed;
  }

  function sysText(m) {
    const b = m.body || {};
    const who = (u) => agentName(u);
    switch (m.kind) {
      case 'lead': case 'deal': {
        const f = b.fields || {};
        const what = m.kind === 'deal' ? 'Deal created' : 'Lead created';
        const name = f.name || f.email || f.organization || '';
        const by = b.source === 'panel' ? ' from the panel' : b.source === 'bot' ? ' by the bot' : '';
        return [m.kind === 'deal' ? '◆' : '★', `${what}${by}${name ? ': ' + name : ''}${f.deal_value ? ` (${f.deal_value})` : ''}`];
      }
      case 'handoff': return ['⇢', `Handed to a human${b.team ? ' (team ' + b.team + ')' : ''}; waiting in Unassigned`];
      case 'end': return ['■', b.outcome === 'handoff' ? 'The bot handed over' : `The bot finished${b.outcome ? ' (' + b.outcome + ')' : ''}`];
      case 'joined': return ['→', `${b.name || who(b.agent)} joined the chat`];
      case 'assigned': return ['→', `Assigned to ${b.name || who(b.to || b.agent)}${b.by ? ' by ' + who(b.by) : ''}`];
      case 'unassigned': return ['↩', `Unassigned${b.by ? ' by ' + who(b.by) : ''}`];
      case 'closed': return ['✓', `Closed${b.by ? (b.by === 'visitor' ? ' by the visitor' : ' by ' + who(b.by)) : ''}`];
      case 'snoozed': return ['☾', b.until && Number(b.until) ? `Snoozed until ${fullTime(Number(b.until))}` : 'Snoozed until the next visitor message'];
      case 'tag': return ['#', `Tagged ${b.tag || ''}`];
      default: return ['•', b.text || m.kind];
    }
  }
  function agentName(user) {
    if (!user) return 'someone';
    if (S.me && user === S.me.user) return 'you';
    const a = S.agents.find((x) => x.user === user);
    return a ? a.name : user;
  }

  const STATUS_TEXT = { pending: 'Pending', delivered: 'Delivered', read: 'Read' };
  const STATUS_ICON = { pending: 'pending', delivered: 'check', read: 'checks' };

  function fileNode(f) {
    if (!f) return document.createTextNode('(file)');
    // only a path on this server or an http(s) URL is ever used as a link
    const url = typeof f.url === 'string' && /^(\/(?!\/)|https?:\/\/)/.test(f.url) ? f.url : `/files/${encodeURIComponent(f.id || '')}`;
    if (/^image\//.test(f.type || '')) {
      const a = el('a', { href: url, target: '_blank', rel: 'noopener', title: f.name || '' });
      a.append(el('img', { class: 'att', src: url, alt: f.name || 'image', loading: 'lazy' }));
      return a;
    }
    const size = f.size ? ` · ${f.size > 1048576 ? (f.size / 1048576).toFixed(1) + ' MB' : Math.ceil(f.size / 1024) + ' KB'}` : '';
    return el('a', { class: 'file', href: url, target: '_blank', rel: 'noopener', download: f.name || '' }, icon('file'), f.name || 'file', size);
  }

  function messageNode(m) {
    const b = m.body || {};
    if (m.from === 'system') {
      const [ico, text] = sysText(m);
      return el('div', { class: `sys ${m.kind}`, 'data-seq': m.seq },
        el('span', { class: 'ico', 'aria-hidden': 'true', text: ico }), el('span', { text }),
        el('time', { datetime: new Date(m.at * 1000).toISOString(), title: fullTime(m.at), text: hm(m.at) }));
    }
    const node = el('div', { class: `msg ${m.from}` + (m.status ? ' ' + m.status : ''), 'data-seq': m.seq });
    if (m.kind === 'buttons') {
      const row = el('div', { class: 'buttons' });
      for (const label of b.buttons || []) row.append(el('span', { text: label }));
      node.append(row);
    } else if (m.kind === 'file') {
      node.append(el('div', { class: 'bubble' }, fileNode(b.file)));
    } else {
      const bubble = el('div', { class: 'bubble', text: b.text != null ? String(b.text) : '' });
      if (m.from === 'visitor' && b.button !== undefined) { bubble.classList.add('clicked'); bubble.title = 'clicked a button'; }
      node.append(bubble);
    }
    const meta = el('div', { class: 'meta' });
    const author = m.from === 'bot' ? 'Bot' : m.from === 'agent' ? (b.name || agentName(b.agent)) : '';
    if (author) meta.append(el('span', { class: 'author', text: author }));
    meta.append(el('time', { title: fullTime(m.at), text: hm(m.at) }));
    if (m.from === 'agent' && m.status) {
      meta.append(el('span', { class: `st ${m.status}`, title: m.status === 'pending' ? 'pending: the visitor is not connected'
        : m.status === 'delivered' ? 'delivered: the visitor is connected' : 'read by the visitor' },
      STATUS_ICON[m.status] ? icon(STATUS_ICON[m.status]) : '', STATUS_TEXT[m.status] || m.status));
    }
    node.append(meta);
    return node;
  }

  function renderMessages(toBottom) {
    const box = $('#messages');
    const atBottom = toBottom || box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    box.replaceChildren();
    let day = '';
    for (const m of S.conv.messages || []) {
      const d = new Date(m.at * 1000).toDateString();
      if (d !== day) { day = d; box.append(el('div', { class: 'day', text: dayLabel(m.at) })); }
      box.append(messageNode(m));
    }
    if (atBottom) box.scrollTop = box.scrollHeight;
    // images load later: keep the bottom in view
    for (const img of box.querySelectorAll('img')) img.addEventListener('load', () => { if (atBottom) box.scrollTop = box.scrollHeight; }, { once: true });
  }

  function addMessage(m) {
    if (!S.conv) return;
    const list = S.conv.messages || (S.conv.messages = []);
    const i = list.findIndex((x) => x.seq === m.seq);
    if (i >= 0) list[i] = m; else { list.push(m); list.sort((a, b) => a.seq - b.seq); }
    if (m.from === 'visitor') S.visitorTyping = false;
    renderMessages(false);
    renderTyping();
  }

  function renderTyping() {
    $('#typing').textContent = S.conv && S.visitorTyping ? `${(S.conv.visitor && S.conv.visitor.name) || 'The visitor'} is typing…` : '';
  }

  /* ---- the side panel ---------------------------------------------------- */

  function renderPanel(withForm) {
    const c = S.conv;
    const f = c.facts || {};
    const v = c.visitor || {};
    const dl = $('#facts');
    dl.replaceChildren();
    const row = (k, val) => {
      if (val === undefined || val === null || val === '') return;
      dl.append(el('dt', { text: k }), el('dd', typeof val === 'string' ? { title: val } : {}, val));
    };
    const online = f.online !== undefined ? f.online : v.online;
    row('Status', el('span', { class: 'online-fact ' + (online ? 'on' : 'off') },
      el('span', { class: 'presence-dot' + (online ? ' on' : '') }), online ? 'Online' : 'Offline'));
    if (!online && f.last_seen) row('Last seen', el('span', { title: fullTime(f.last_seen), text: ago(f.last_seen) }));
    row('Name', v.name || f.name);
    row('Email', v.email || f.email);
    const page = f.page || f.current_page;
    row(online ? 'Current page' : 'Last page', page);
    if (f.last_page && f.last_page !== page) row('Previous page', f.last_page);
    row('Device', f.device);
    row('Country', f.country);
    if (f.returning !== undefined) row('Returning', f.returning === true || f.returning === 'true' || f.returning === 'yes' ? 'Yes' : 'No, first visit');
    row('Channel', c.channel);
    row('Visitor id', el('code', { text: v.id || f.visitor || '' }));
    const known = new Set(['online', 'last_seen', 'name', 'email', 'page', 'current_page', 'last_page', 'device', 'country', 'returning', 'visitor']);
    for (const [k, val] of Object.entries(f)) if (!known.has(k) && (typeof val === 'string' || typeof val === 'number')) row(k, String(val));

    const vars = $('#vars');
    vars.replaceChildren();
    const entries = Object.entries(c.variables || {});
    if (!entries.length) vars.append(el('dd', { class: 'empty', text: 'none' }));
    for (const [k, val] of entries) {
      vars.append(el('dt', { text: k }), el('dd', { class: val === '' ? 'empty' : '', text: val === '' ? '—' : (typeof val === 'object' ? JSON.stringify(val) : String(val)) }));
    }

    $('#priority').value = c.priority || 'normal';
    renderTags();

    if (withForm) {
      const form = $('#lead-form');
      const lead = c.lead || {};
      for (const k of LEAD_FIELDS) {
        let val = lead[k];
        if ((val === undefined || val === '') && k === 'name') val = f.name || '';
        if ((val === undefined || val === '') && k === 'email') val = v.email || f.email || '';
        form.elements[k].value = val == null ? '' : String(val);
      }
      S.leadDirty = false;
      $('#lead-status').textContent = '';
    }
    const recs = $('#records');
    recs.replaceChildren();
    for (const r of c.records || []) {
      const fl = r.fields || {};
      recs.append(el('li', {}, el('span', { class: 'badge ' + (r.kind === 'deal' ? 'ok' : 'violet'), text: r.kind === 'deal' ? 'Deal' : 'Lead' }),
        el('span', { class: 'rname', text: `${fl.name || fl.email || fl.organization || '#' + r.id}${fl.deal_value ? ' · ' + fl.deal_value : ''}` }),
        el('span', { class: 'muted', title: `${r.source === 'panel' ? 'from the panel' : r.source === 'bot' ? 'from the bot' : ''} ${fullTime(r.at)}`, text: `${r.source === 'bot' ? 'bot' : 'panel'} · ${shortWhen(r.at)}` })));
    }
  }

  function renderTags() {
    const box = $('#tags');
    box.replaceChildren();
    for (const t of S.conv.tags || []) {
      box.append(el('span', { class: 'badge tag' }, t,
        el('button', { type: 'button', 'aria-label': `remove tag ${t}`, text: '×', onclick: () => setTags((S.conv.tags || []).filter((x) => x !== t)) })));
    }
  }

  async function setMeta(body) {
    const id = S.openId;
    const r = await act('Could not save', () => Staff.api('PUT', `/api/conversations/${id}/meta`, body));
    if (r && S.conv && S.conv.id === id) { Object.assign(S.conv, body); renderHead(); renderTags(); reloadListSoon(); }
  }
  function setTags(tags) { return setMeta({ tags }); }

  function leadBody() {
    const form = $('#lead-form');
    const o = {};
    for (const k of LEAD_FIELDS) o[k] = form.elements[k].value.trim();
    return o;
  }
  async function saveLead(quiet) {
    const id = S.openId;
    const body = leadBody();
    $('#lead-status').textContent = 'Saving…';
    const r = await act('Could not save the lead fields', () => Staff.api('PUT', `/api/conversations/${id}/lead`, body));
    if (r === null) { $('#lead-status').textContent = 'Not saved'; return false; }
    if (S.conv && S.conv.id === id) { S.conv.lead = body; S.leadDirty = false; }
    $('#lead-status').textContent = quiet ? 'Saved' : 'Saved ✓';
    return true;
  }
  async function createRecord(deal) {
    const id = S.openId;
    if (!(await saveLead(true))) return;
    const r = await act(`Could not create the ${deal ? 'deal' : 'lead'}`, () => Staff.api('POST', `/api/conversations/${id}/records`, { deal }));
    if (r !== null) { Staff.toast(deal ? 'Deal created' : 'Lead created'); reloadConvSoon(0); }
  }

  /* ---- actions ----------------------------------------------------------- */

  async function assign(to) {
    const id = S.openId;
    if (!id) return;
    const body = to ? { to } : {};
    const r = await act('Could not assign', () => Staff.api('POST', `/api/conversations/${id}/assign`, body));
    if (r !== null) { if (to && to !== S.me.user) Staff.toast(`Assigned to ${agentName(to)}`); reloadConvSoon(0); reloadListSoon(0); }
  }
  async function unassign() {
    const id = S.openId;
    if (!id || !S.conv.assignee) return;
    const r = await act('Could not unassign', () => Staff.api('POST', `/api/conversations/${id}/unassign`));
    if (r !== null) { reloadConvSoon(0); reloadListSoon(0); }
  }
  async function snooze(until) {
    const id = S.openId;
    const r = await act('Could not snooze', () => Staff.api('POST', `/api/conversations/${id}/snooze`, { until }));
    if (r !== null) { Staff.toast(until ? `Snoozed until ${fullTime(until)}` : 'Snoozed until the visitor writes'); reloadConvSoon(0); reloadListSoon(0); }
  }
  async function closeConv() {
    const id = S.openId;
    const r = await act('Could not close', () => Staff.api('POST', `/api/conversations/${id}/close`));
    if (r !== null) { reloadConvSoon(0); reloadListSoon(0); }
  }

  async function send() {
    const ta = $('#reply');
    const text = ta.value.trim();
    if (!text || !S.openId) return;
    if (cps(text) > MAX) { Staff.toast(`A message is at most ${MAX} characters.`, 'error'); return; }
    const id = S.openId;
    ta.value = '';                    // cleared at once; given back if the server refuses
    updateCounter();
    $('#canned-pop').hidden = true;
    stopTyping();
    const r = await act('Not sent', () => Staff.api('POST', `/api/conversations/${id}/reply`, { text }));
    if (r === null) {
      if (!ta.value && S.openId === id) { ta.value = text; updateCounter(); }
      return;
    }
    if (r && r.message) addMessage(r.message);
    reloadConvSoon(60);
    reloadListSoon();
  }

  async function uploadFile(file) {
    if (!file || !S.openId) return;
    if (file.size > 10 * 1024 * 1024) { Staff.toast('Files are at most 10 MB.', 'error'); return; }
    const id = S.openId;
    $('#composer-hint').textContent = `Uploading ${file.name}…`;
    const r = await act('Upload failed', () => Staff.upload(`/api/conversations/${id}/files`, file));
    $('#composer-hint').textContent = '';
    if (r !== null) reloadConvSoon(0);
  }

  /* typing indicator to the visitor: on at most every 3 s, off after 4 s idle */
  function typing() {
    if (!S.openId || isClosed(S.conv)) return;
    const id = S.openId;
    if (Date.now() - S.myTypingAt > 3000) {
      S.myTypingAt = Date.now();
      Staff.api('POST', `/api/conversations/${id}/typing`, { typing: true }).catch(() => {});
    }
    clearTimeout(S.myTypingOff);
    S.myTypingOff = setTimeout(stopTyping, 4000);
  }
  function stopTyping() {
    clearTimeout(S.myTypingOff);
    if (!S.myTypingAt || !S.openId) return;
    S.myTypingAt = 0;
    Staff.api('POST', `/api/conversations/${S.openId}/typing`, { typing: false }).catch(() => {});
  }

  let readBusy = false;
  async function markRead() {
    const c = S.conv;
    if (!c || !c.unread || document.hidden || !document.hasFocus() || readBusy) return;
    if (S.me.role !== 'admin' && c.assignee && c.assignee !== S.me.user) return;
    readBusy = true;
    try {
      await Staff.api('POST', `/api/conversations/${c.id}/read`);
      c.unread = 0;
      const item = S.list.find((x) => x.id === c.id);
      if (item) { item.unread = 0; renderList(); }
      reloadListSoon(300);
    } catch (e) { /* not important */ } finally { readBusy = false; }
  }

  function updateCounter() {
    const n = cps($('#reply').value);
    const c = $('#counter');
    c.textContent = `${n} / ${MAX}`;
    c.className = 'counter' + (n > MAX ? ' over' : n > MAX - 50 ? ' near' : '');
    $('#send').disabled = n === 0 || n > MAX;
  }

  /* ---- canned responses ------------------------------------------------- */

  const pop = { items: [], sel: 0 };
  function cannedToken() {
    const ta = $('#reply');
    const upto = ta.value.slice(0, ta.selectionStart);
    const m = /(^|\s)\/([\w-]*)$/.exec(upto);
    return m ? { start: upto.length - m[2].length - 1, word: m[2].toLowerCase() } : null;
  }
  function updateCannedPop() {
    const box = $('#canned-pop');
    const tok = cannedToken();
    pop.items = tok ? S.canned.filter((c) => c.shortcut.toLowerCase().startsWith(tok.word)).slice(0, 8) : [];
    if (!pop.items.length) { box.hidden = true; return; }
    pop.sel = Math.min(pop.sel, pop.items.length - 1);
    box.replaceChildren();
    pop.items.forEach((c, i) => {
      const o = el('div', { class: 'opt' + (i === pop.sel ? ' sel' : ''), role: 'option', 'aria-selected': String(i === pop.sel) },
        el('b', { text: '/' + c.shortcut }), el('span', { text: c.text }));
      o.addEventListener('mousedown', (e) => { e.preventDefault(); pop.sel = i; insertCanned(); });
      box.append(o);
    });
    box.hidden = false;
  }
  function insertCanned() {
    const c = pop.items[pop.sel];
    const tok = cannedToken();
    if (!c || !tok) return;
    const ta = $('#reply');
    const before = ta.value.slice(0, tok.start), after = ta.value.slice(ta.selectionStart);
    ta.value = before + c.text + after;
    const pos = before.length + c.text.length;
    ta.setSelectionRange(pos, pos);
    $('#canned-pop').hidden = true;
    pop.items = [];
    updateCounter();
  }
  async function loadCanned() {
    try { S.canned = (await Staff.api('GET', '/api/canned')) || []; } catch (e) { S.canned = []; }
    if (!Array.isArray(S.canned)) S.canned = [];
    renderCannedTable();
  }
  function renderCannedTable() {
    const admin = S.me && S.me.role === 'admin';
    const rows = $('#canned-rows');
    rows.replaceChildren();
    for (const c of S.canned) {
      const tools = el('td', {});
      if (admin) {
        tools.append(el('button', { type: 'button', class: 'btn small', text: 'Edit', onclick: () => {
          const f = $('#canned-form'); f.elements.shortcut.value = c.shortcut; f.elements.text.value = c.text; f.elements.text.focus();
        } }), ' ', el('button', { type: 'button', class: 'btn small danger', text: 'Delete', onclick: async () => {
          const r = await act('Could not delete', () => Staff.api('DELETE', `/api/canned/${encodeURIComponent(c.shortcut)}`));
          if (r !== null) loadCanned();
        } }));
      }
      rows.append(el('tr', {}, el('td', { text: '/' + c.shortcut }), el('td', { text: c.text }), tools));
    }
    if (!S.canned.length) rows.append(el('tr', {}, el('td', { colspan: 3, class: 'muted', text: 'No canned responses yet.' })));
    $('#canned-form').hidden = !admin;
    $('#canned-note').textContent = admin ? 'Type / and the shortcut in the message box. As an admin you can add, edit and delete them.'
      : 'Type / and the shortcut in the message box. Admins edit this list.';
  }

  /* ---- menus ------------------------------------------------------------- */

  function openMenu(anchor, build) {
    const m = $('#menu');
    m.replaceChildren();
    build(m);
    m.hidden = false;
    const r = anchor.getBoundingClientRect();
    const w = m.offsetWidth;
    m.style.top = `${r.bottom + 4}px`;
    m.style.left = `${Math.max(8, Math.min(r.right - w, window.innerWidth - w - 8))}px`;
    const first = m.querySelector('button:not(:disabled), input');
    if (first) first.focus();
  }
  function closeMenu() { $('#menu').hidden = true; }
  function mi(label, sub, fn, disabled) {
    const b = el('button', { type: 'button', class: 'mi', role: 'menuitem' }, label);
    if (sub) b.append(el('span', { class: 'sub', text: sub }));
    b.disabled = !!disabled;
    b.addEventListener('click', () => { closeMenu(); fn(); });
    return b;
  }

  async function reassignMenu() {
    await loadAgents();
    openMenu($('#a-reassign'), (m) => {
      m.append(el('div', { class: 'mh', text: 'Reassign to' }));
      for (const a of S.agents) {
        if (S.conv && a.user === S.conv.assignee) continue;
        const full = a.capacity && a.open >= a.capacity;
        const b = mi(`${a.name || a.user}${S.me && a.user === S.me.user ? ' (you)' : ''}`,
          `${a.open || 0}/${a.capacity || '∞'}${full ? ' full' : ''}`, () => assign(a.user), full);
        b.dataset.agent = a.user;
        b.prepend(el('span', { class: 'vdot' + (a.online ? ' on' : ''), title: a.online ? 'online' : 'offline' }));
        m.append(b);
      }
      if (S.conv && S.conv.assignee) m.append(mi('↩ Unassign (back to Unassigned)', '', unassign));
    });
  }

  function snoozeMenu() {
    const at = (d) => Math.floor(d.getTime() / 1000);
    const inH = (h) => at(new Date(Date.now() + h * 3600e3));
    const tomorrow9 = () => { const d = new Date(); d.setDate(d.getDate() + 1); d.setHours(9, 0, 0, 0); return at(d); };
    const monday9 = () => { const d = new Date(); d.setDate(d.getDate() + ((8 - d.getDay()) % 7 || 7)); d.setHours(9, 0, 0, 0); return at(d); };
    openMenu($('#a-snooze'), (m) => {
      m.append(el('div', { class: 'mh', text: 'Snooze until' }));
      const next = mi('The visitor writes again', '', () => snooze(null)); next.dataset.snooze = 'next'; m.append(next);
      const h1 = mi('In 1 hour', hm(inH(1)), () => snooze(inH(1))); h1.dataset.snooze = '1h'; m.append(h1);
      m.append(mi('In 3 hours', hm(inH(3)), () => snooze(inH(3))));
      m.append(mi('Tomorrow 09:00', '', () => snooze(tomorrow9())));
      m.append(mi('Next Monday 09:00', '', () => snooze(monday9())));
      const input = el('input', { type: 'datetime-local', 'aria-label': 'Snooze until a time' });
      const go = el('button', { type: 'button', class: 'btn small', text: 'Set' });
      go.addEventListener('click', () => { if (input.value) { closeMenu(); snooze(at(new Date(input.value))); } });
      m.append(el('div', { class: 'mrow' }, input, go));
      m.append(el('p', { text: 'A snoozed conversation also comes back as soon as the visitor writes.' }));
    });
  }

  function closeMenuConfirm() {
    openMenu($('#a-close'), (m) => {
      m.append(el('p', { text: 'Close for good? A closed conversation is never reopened; if the visitor writes again, a new one starts. The side panel stays editable.' }));
      const row = el('div', { class: 'mrow' });
      const yes = el('button', { type: 'button', class: 'btn danger', id: 'confirm-close', text: 'Close conversation' });
      yes.addEventListener('click', () => { closeMenu(); closeConv(); });
      const no = el('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: closeMenu });
      row.append(yes, no);
      m.append(row);
    });
  }

  /* ---- the team (who is online, how loaded) --------------------------------- */

  async function loadAgents() {
    try { const a = await Staff.api('GET', '/api/agents'); if (Array.isArray(a)) S.agents = a; } catch (e) { return; }
    renderTeam();
  }
  function renderTeam() {
    const ul = $('#team');
    ul.replaceChildren();
    const list = [...S.agents].sort((a, b) => (b.online - a.online) || String(a.name || a.user).localeCompare(b.name || b.user));
    for (const a of list) {
      const full = a.capacity && a.open >= a.capacity;
      const me = S.me && a.user === S.me.user;
      ul.append(el('li', { class: a.online ? 'on' : 'off', title: `${a.name || a.user}: ${a.online ? 'online' : 'offline'}, ${a.open || 0} open of ${a.capacity || 'no limit'}` },
        el('span', { class: 'vdot' + (a.online ? ' on' : '') }),
        el('span', { class: 'nm', text: (a.name || a.user) + (me ? ' (you)' : '') }),
        el('span', { class: 'load' + (full ? ' full' : ''), text: `${a.open || 0}/${a.capacity || '∞'}` })));
    }
    $('.team').hidden = !list.length;
    renderCapacity();
  }

  /* ---- presence ----------------------------------------------------------- */

  function renderPresence() {
    const b = $('#presence');
    b.setAttribute('aria-checked', S.online ? 'true' : 'false');
    $('.label', b).textContent = S.online ? 'Online' : 'Offline';
    $('#presence-note').hidden = S.online;
  }
  async function setOnline(on) {
    const r = await act('Could not change your status', () => Staff.api('POST', '/api/presence', { online: on }));
    if (r !== null) { S.online = r && typeof r.online === 'boolean' ? r.online : on; renderPresence(); loadAgents(); }
  }

  /* ---- notifications ----------------------------------------------------- */

  function notify(ev) {
    if (ev.event === 'message' && ev.id === S.openId && document.hasFocus() && !document.hidden) return;
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    try {
      const n = new Notification(ev.title || 'flowd inbox', { body: ev.body || '', tag: `flowd-${ev.event}-${ev.id}` });
      n.onclick = () => { window.focus(); if (ev.id) openConversation(ev.id); n.close(); };
    } catch (e) { /* some browsers only allow it from a service worker */ }
  }
  function renderNotifyButton() {
    const b = $('#enable-notify');
    b.hidden = !('Notification' in window) || Notification.permission !== 'default';
  }

  /* ---- the agent socket ---------------------------------------------------- */

  function connect() {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/agent`;
    let ws;
    try { ws = new WebSocket(url); } catch (e) { retry(); return; }
    S.ws = ws;
    let ping = null;
    ws.onopen = () => {
      const again = S.wsTries > 0 || S.wsEver;
      S.wsUp = true; S.wsTries = 0; S.wsEver = true;
      setConn('');
      ping = setInterval(() => { if (ws.readyState === 1) ws.send(JSON.stringify({ type: 'ping' })); }, 25000);
      if (again) { loadList(); if (S.openId) openConversation(S.openId); }
    };
    ws.onmessage = (e) => { let f; try { f = JSON.parse(e.data); } catch (x) { return; } onFrame(f); };
    ws.onclose = () => {
      clearInterval(ping);
      if (S.ws !== ws) return;
      S.wsUp = false;
      retry();
    };
    ws.onerror = () => { /* onclose follows */ };
  }
  function retry() {
    S.wsTries++;
    const ms = Math.min(15000, 500 * 2 ** Math.min(S.wsTries, 5)) + Math.floor(Math.random() * 400);
    setConn(`Reconnecting in ${Math.round(ms / 1000)} s…`);
    setTimeout(async () => {
      // a 401 here means the session is gone: Staff.me sends us to the login page
      try { await Staff.api('GET', '/api/me'); } catch (e) { if (e.status === 401) return; }
      connect();
    }, ms);
  }
  function setConn(text) { const c = $('#conn'); c.textContent = text; c.classList.toggle('down', !!text); }

  function onFrame(f) {
    switch (f.type) {
      case 'conversation': {
        const c = f.conversation;
        if (!c) break;
        const i = S.list.findIndex((x) => x.id === c.id);
        if (i >= 0) { S.list[i] = c; renderList(); }
        if (S.conv && S.conv.id === c.id) {
          const keep = { messages: S.conv.messages, facts: S.conv.facts, variables: S.conv.variables, lead: S.conv.lead, records: S.conv.records };
          S.conv = Object.assign({}, S.conv, c, keep);
          renderHead();
          reloadConvSoon(250);     // facts, records, statuses
        }
        reloadListSoon();
        break;
      }
      case 'removed':
        S.list = S.list.filter((x) => x.id !== f.id);
        renderList();
        if (S.openId === f.id) closeView('That conversation was assigned to another agent.');
        reloadListSoon();
        break;
      case 'message':
        if (S.conv && f.id === S.openId && f.message) {
          addMessage(f.message);
          if (f.message.from === 'visitor') { S.conv.unread = (S.conv.unread || 0) + 1; markRead(); }
        }
        reloadListSoon();
        break;
      case 'typing':
        if (f.id === S.openId && f.from !== 'agent') {
          S.visitorTyping = !!f.typing;
          renderTyping();
          clearTimeout(S.typingTimer);
          if (f.typing) S.typingTimer = setTimeout(() => { S.visitorTyping = false; renderTyping(); }, 8000);
        }
        break;
      case 'receipt':
        if (S.conv && f.id === S.openId) {
          const rank = { pending: 0, delivered: 1, read: 2 };
          let changed = false;
          for (const m of S.conv.messages || []) {
            if (m.from === 'agent' && m.seq <= f.seq && (rank[m.status] ?? -1) < rank[f.status]) { m.status = f.status; changed = true; }
          }
          if (changed) renderMessages(false);
        }
        break;
      case 'notify':
        notify(f);
        reloadListSoon();
        break;
      case 'presence':
        if (typeof f.online === 'boolean') { S.online = f.online; renderPresence(); }
        break;
      default: break;
    }
  }

  /* ---- keyboard ----------------------------------------------------------- */

  function typingInField(t) {
    return t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
  }
  function onKey(e) {
    if (e.key === 'Escape') {
      if (!$('#menu').hidden) { closeMenu(); e.preventDefault(); return; }
      if (!$('#canned-pop').hidden) { $('#canned-pop').hidden = true; return; }
      if (typingInField(e.target)) { e.target.blur(); $('#list').focus(); }
      return;
    }
    if (typingInField(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (document.querySelector('dialog[open]')) return;
    const k = e.key;
    if (k === 'j' || k === 'ArrowDown') { moveCursor(1); e.preventDefault(); }
    else if (k === 'k' || k === 'ArrowUp') { moveCursor(-1); e.preventDefault(); }
    else if (k === 'Enter') { if (S.list[S.cursor]) { openConversation(S.list[S.cursor].id); e.preventDefault(); } }
    else if (k === '/') { $('#search').focus(); $('#search').select(); e.preventDefault(); }
    else if (k === 'r') { if (S.conv && !isClosed(S.conv)) { $('#reply').focus(); e.preventDefault(); } }
    else if (k === 'a') { if (S.conv && !isClosed(S.conv) && S.conv.assignee !== S.me.user) assign(); }
    else if (k === 'u') { if (S.conv && S.conv.assignee && !isClosed(S.conv)) unassign(); }
    else if (k === 's') { if (S.conv && !isClosed(S.conv)) snoozeMenu(); }
    else if (k === 'c') { if (S.conv && !isClosed(S.conv)) closeMenuConfirm(); }
    else if (k === 'o') { setOnline(!S.online); }
    else if (k >= '1' && k <= '4') { setFolder(FOLDERS[Number(k) - 1]); }
    else if (k === '?') { $('#help').showModal(); }
  }

  /* ---- wiring ------------------------------------------------------------- */

  function wire() {
    for (const b of document.querySelectorAll('.folder')) b.addEventListener('click', () => setFolder(b.dataset.folder));
    let searchTimer = null;
    $('#search').addEventListener('input', () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => { S.q = $('#search').value.trim(); S.cursor = 0; loadList(); }, 200);
    });
    $('#search').addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); clearTimeout(searchTimer); S.q = $('#search').value.trim(); S.cursor = 0; loadList(); $('#list').focus(); }
      if (e.key === 'ArrowDown') { e.preventDefault(); $('#list').focus(); moveCursor(1); }
    });
    $('#state-filter').addEventListener('change', () => { S.state = $('#state-filter').value; S.cursor = 0; loadList(); });
    $('#presence').addEventListener('click', () => setOnline(!S.online));
    $('#a-take').addEventListener('click', () => assign());
    $('#a-reassign').addEventListener('click', reassignMenu);
    $('#a-unassign').addEventListener('click', unassign);
    $('#a-snooze').addEventListener('click', snoozeMenu);
    $('#a-close').addEventListener('click', closeMenuConfirm);
    document.addEventListener('mousedown', (e) => {
      const m = $('#menu');
      if (!m.hidden && !m.contains(e.target) && !e.target.closest('#t-actions')) closeMenu();
    });
    window.addEventListener('resize', closeMenu);

    const ta = $('#reply');
    ta.addEventListener('input', () => { updateCounter(); updateCannedPop(); if (ta.value) typing(); else stopTyping(); });
    ta.addEventListener('keydown', (e) => {
      const popOpen = !$('#canned-pop').hidden && pop.items.length;
      if (popOpen && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
        e.preventDefault(); pop.sel = (pop.sel + (e.key === 'ArrowDown' ? 1 : pop.items.length - 1)) % pop.items.length; updateCannedPop(); return;
      }
      if (popOpen && (e.key === 'Tab' || e.key === 'Enter')) { e.preventDefault(); insertCanned(); return; }
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
    });
    ta.addEventListener('blur', () => { setTimeout(() => { $('#canned-pop').hidden = true; }, 100); });
    $('#composer').addEventListener('submit', (e) => { e.preventDefault(); send(); });
    $('#file').addEventListener('change', () => { const f = $('#file').files[0]; $('#file').value = ''; uploadFile(f); });
    const comp = $('#composer');
    comp.addEventListener('dragover', (e) => { e.preventDefault(); comp.classList.add('dragging'); });
    comp.addEventListener('dragleave', () => comp.classList.remove('dragging'));
    comp.addEventListener('drop', (e) => { e.preventDefault(); comp.classList.remove('dragging'); uploadFile(e.dataTransfer.files[0]); });
    ta.addEventListener('paste', (e) => { const f = e.clipboardData && e.clipboardData.files[0]; if (f) { e.preventDefault(); uploadFile(f); } });

    $('#priority').addEventListener('change', () => setMeta({ priority: $('#priority').value }));
    $('#tag-input').addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' && e.key !== ',') return;
      e.preventDefault();
      const t = e.target.value.trim().replace(/^#/, '');
      e.target.value = '';
      if (t && !(S.conv.tags || []).includes(t)) setTags([...(S.conv.tags || []), t]);
    });
    const lf = $('#lead-form');
    lf.addEventListener('input', () => { S.leadDirty = true; $('#lead-status').textContent = 'Unsaved'; });
    lf.addEventListener('change', () => { if (S.leadDirty) saveLead(true); });
    lf.addEventListener('submit', (e) => { e.preventDefault(); saveLead(false); });
    $('#create-lead').addEventListener('click', () => createRecord(false));
    $('#create-deal').addEventListener('click', () => createRecord(true));

    $('#open-help').addEventListener('click', () => $('#help').showModal());
    $('#open-canned').addEventListener('click', () => { loadCanned(); $('#canned').showModal(); });
    $('#canned-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = e.target;
      const sc = f.elements.shortcut.value.trim().replace(/^\//, '');
      const r = await act('Could not save', () => Staff.api('PUT', `/api/canned/${encodeURIComponent(sc)}`, { text: f.elements.text.value.trim() }));
      if (r !== null) { f.reset(); loadCanned(); }
    });
    $('#enable-notify').addEventListener('click', async () => {
      try { await Notification.requestPermission(); } catch (e) { /* old API */ }
      renderNotifyButton();
    });

    document.addEventListener('keydown', onKey);
    window.addEventListener('hashchange', () => {
      const m = /^#c(\d+)$/.exec(location.hash);
      if (m && Number(m[1]) !== S.openId) openConversation(Number(m[1]));
    });
    document.addEventListener('visibilitychange', () => { if (!document.hidden) markRead(); });
    window.addEventListener('focus', markRead);
    // waiting times tick
    setInterval(() => {
      for (const w of document.querySelectorAll('.wait[data-since]')) {
        const s = now() - Number(w.dataset.since);
        w.querySelector('.w').textContent = dur(s);
        w.classList.toggle('late', s >= LATE);
      }
      if (S.conv) renderHead();
    }, 10000);
  }

  async function main() {
    Staff.nav('inbox');
    try { S.me = await Staff.me(); } catch (e) { return; }   // 401: on the way to the login page
    S.online = !!S.me.online;
    document.body.dataset.user = S.me.user;
    $('.folder[data-folder="all"]').hidden = S.me.role !== 'admin';
    wire();
    renderPresence();
    renderNotifyButton();
    $('#inbox').classList.add('no-panel');
    loadAgents();
    setInterval(loadAgents, 30000);
    loadCanned();
    connect();
    await loadList();
    const m = /^#c(\d+)$/.exec(location.hash);
    if (m) openConversation(Number(m[1]));
  }

  /* for debugging and the browser tests: the state and a way to drop the socket */
  window.Inbox = { state: S, dropSocket: () => { if (S.ws) S.ws.close(); } };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main); else main();
})();
