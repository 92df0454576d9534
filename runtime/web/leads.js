/* The leads page: GET /api/leads, filtered in the page; CSV from
 * /api/leads.csv. Every value goes through textContent. */
(function () {
  'use strict';
  const $ = (s) => document.querySelector(s);
  const el = (...a) => Staff.el(...a);
  const KNOWN = ['name', 'email', 'phone', 'organization', 'address', 'deal_value', 'close_date', 'notes', 'note'];
  const state = { all: [], kind: '', q: '' };

  const money = (v) => {
    const n = Number(v);
    return v === '' || v == null || Number.isNaN(n) ? (v || '') : n.toLocaleString(undefined, { maximumFractionDigits: 2 });
  };
  const when = (t) => new Date(t * 1000).toLocaleString([], { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

  function matches(r) {
    if (state.kind && r.kind !== state.kind) return false;
    if (!state.q) return true;
    const q = state.q.toLowerCase();
    return Object.values(r.fields || {}).some((v) => String(v).toLowerCase().includes(q));
  }

  function render() {
    const rows = $('#rows');
    rows.replaceChildren();
    const list = state.all.filter(matches);
    for (const r of list) {
      const f = r.fields || {};
      const extra = Object.entries(f).filter(([k]) => !KNOWN.includes(k)).map(([k, v]) => `${k}: ${v}`).join(' · ');
      const contact = el('td', {}, el('span', { class: 'who', text: f.name || f.email || '—' }));
      if (f.name && f.email) contact.append(el('span', { class: 'extra', text: f.email }));
      if (f.address) contact.append(el('span', { class: 'extra', text: f.address }));
      if (extra) contact.append(el('span', { class: 'extra', text: extra }));
      const conv = el('td', {});
      if (r.conversation) conv.append(el('a', { href: `/inbox.html#c${r.conversation}`, text: `#${r.conversation}` }));
      if (r.channel) conv.append(' ', el('span', { class: 'muted', text: r.channel }));
      rows.append(el('tr', { 'data-id': r.id, 'data-kind': r.kind },
        el('td', {}, el('span', { class: 'badge ' + (r.kind === 'deal' ? 'ok' : 'violet'), text: r.kind === 'deal' ? 'Deal' : 'Lead' })),
        el('td', { class: 'when', text: r.at ? when(r.at) : '' }),
        contact,
        el('td', { text: f.organization || '' }),
        el('td', { class: 'nowrap', text: f.phone || '' }),
        el('td', { class: 'num', text: money(f.deal_value) }),
        el('td', { class: 'nowrap', text: f.close_date || '' }),
        el('td', { class: 'notes', text: f.notes || f.note || '' }),
        el('td', {}, el('span', { class: 'badge', text: r.source === 'panel' ? 'Agent' : r.source === 'bot' ? 'Bot' : (r.source || '') })),
        conv));
    }
    if (!list.length) rows.append(el('tr', { class: 'empty-row' }, el('td', { colspan: 10, text: state.all.length ? 'Nothing matches.' : 'No leads yet.' })));

    const leads = state.all.filter((r) => r.kind === 'lead').length;
    const deals = state.all.filter((r) => r.kind === 'deal');
    const value = deals.reduce((s, r) => s + (Number((r.fields || {}).deal_value) || 0), 0);
    const card = (n, l) => el('div', { class: 'card' }, el('div', { class: 'n', text: n }), el('div', { class: 'l', text: l }));
    $('#stats').replaceChildren(card(String(leads), 'leads'), card(String(deals.length), 'deals'),
      card(money(value), 'deal value'), card(String(new Set(state.all.map((r) => r.conversation)).size), 'conversations'));
  }

  async function load() {
    try {
      const data = await Staff.api('GET', '/api/leads');
      state.all = Array.isArray(data) ? data : [];
      state.all.sort((a, b) => (b.at || 0) - (a.at || 0) || (b.id || 0) - (a.id || 0));  // newest first
    } catch (e) {
      if (e.status !== 401) Staff.toast(`Could not load the leads: ${(e.body && e.body.error) || e.message}`, 'error');
      state.all = [];
    }
    render();
  }

  function main() {
    Staff.nav('leads');
    for (const b of document.querySelectorAll('.seg button')) {
      b.addEventListener('click', () => {
        state.kind = b.dataset.kind;
        for (const x of document.querySelectorAll('.seg button')) x.setAttribute('aria-pressed', String(x === b));
        render();
      });
    }
    $('#q').addEventListener('input', () => { state.q = $('#q').value.trim(); render(); });
    load();
    setInterval(load, 30000);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main); else main();
})();
