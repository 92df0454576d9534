// The statistics page (/admin/stats.html): per channel and period, the
// numbers of GET /api/stats and the per-node funnel of GET /api/stats/funnel
// (docs/api.md, "Statistics (admins)"), drawn as SVG by this file alone: no
// library and no request to any other origin. Texts from the server go in
// through textContent only.
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
  const errText = (r) => (r.body && r.body.error) || (r.status ? `HTTP ${r.status}` : 'no answer');

  /* ---- outcomes, numbers, dates ------------------------------------------------ */

  const OUTCOMES = [
    ['resolved', 'Resolved by bot'], ['lead', 'Lead captured'], ['handoff', 'Handed to a human'],
    ['missed', 'Missed'], ['abandoned', 'Abandoned'], ['error', 'Error'],
  ];
  const OPEN = ['open', 'Still open'];
  const css = getComputedStyle(document.body);
  const COLOUR = {};
  for (const [k, fallback] of [['resolved', '#16a34a'], ['lead', '#7c3aed'], ['handoff', '#2563eb'], ['missed', '#ea8a0c'],
    ['abandoned', '#8a94a6'], ['error', '#dc2626'], ['open', '#d4dae2']]) {
    COLOUR[k] = css.getPropertyValue('--oc-' + k).trim() || fallback;
  }
  const colourOf = (k) => COLOUR[k] || '#b7c0cc';
  const labelOf = (k) => (OUTCOMES.find((o) => o[0] === k) || (k === 'open' ? OPEN : [k, k]))[1];
  /* The outcome keys of an object: the six known ones in order, then others. */
  const outcomeKeys = (obj) => [...OUTCOMES.map((o) => o[0]), ...Object.keys(obj || {}).filter((k) => !OUTCOMES.some((o) => o[0] === k))];

  const fmtInt = (n) => Number(n || 0).toLocaleString('en-US');
  const pct = (a, b) => (b ? `${((a / b) * 100).toFixed(a / b < 0.1 && a ? 1 : 0)}%` : '—');
  function fmtDur(sec) {
    if (sec === null || sec === undefined || !Number.isFinite(Number(sec))) return '—';
    const t = Math.round(Number(sec));
    if (t < 60) return `${t} s`;
    if (t < 3600) { const m = Math.floor(t / 60), s = t % 60; return s ? `${m} min ${s} s` : `${m} min`; }
    if (t < 86400) { const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60); return m ? `${h} h ${m} min` : `${h} h`; }
    const d = Math.floor(t / 86400), h = Math.floor((t % 86400) / 3600);
    return h ? `${d} d ${h} h` : `${d} d`;
  }

  // Dates are the server's days (YYYY-MM-DD in the flow's zone); the page
  // does its arithmetic on them in UTC so the browser's zone never matters.
  const parseDay = (s) => { const [y, m, d] = s.split('-').map(Number); return new Date(Date.UTC(y, m - 1, d)); };
  const dayStr = (d) => d.toISOString().slice(0, 10);
  const addDays = (s, n) => { const d = parseDay(s); d.setUTCDate(d.getUTCDate() + n); return dayStr(d); };
  const lastOfMonth = (ym) => { const [y, m] = ym.split('-').map(Number); return dayStr(new Date(Date.UTC(y, m, 0))); };
  const addMonths = (ym, n) => { const [y, m] = ym.split('-').map(Number); return dayStr(new Date(Date.UTC(y, m - 1 + n, 1))).slice(0, 7); };
  const isDay = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s || '') && !Number.isNaN(parseDay(s).getTime());
  const isMonth = (s) => /^\d{4}-(0[1-9]|1[0-2])$/.test(s || '');
  const fmt = (opts) => new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', ...opts });
  const longDay = (s) => fmt({ weekday: 'short', day: 'numeric', month: 'long', year: 'numeric' }).format(parseDay(s));
  const shortDay = (s) => fmt({ day: 'numeric', month: 'short' }).format(parseDay(s));
  const monthName = (ym) => (isMonth(ym) ? fmt({ month: 'long', year: 'numeric' }).format(parseDay(ym + '-01')) : ym || '');
  function whenIn(ts, zone) {
    const opts = { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' };
    try { return new Intl.DateTimeFormat('en-GB', { ...opts, timeZone: zone || undefined }).format(new Date(ts * 1000)); } catch {
      return new Intl.DateTimeFormat('en-GB', opts).format(new Date(ts * 1000));
    }
  }
  function browserToday() {
    const d = new Date();
    return dayStr(new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate())));
  }

  /* ---- SVG helpers -------------------------------------------------------------- */

  const NS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs = {}, ...kids) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
    for (const k of kids) if (k) el.append(k);
    return el;
  }
  function text(x, y, str, attrs = {}) { const t = svg('text', { x, y, ...attrs }); t.textContent = str; return t; }
  function tip(str) { const t = svg('title'); t.textContent = str; return t; }
  const r1 = (v) => Math.round(v * 10) / 10;

  /* A "nice" axis: a step of 1, 2 or 5 times a power of ten, about 4 ticks. */
  function niceAxis(max) {
    if (max <= 0) return { top: 4, step: 1 };
    const raw = max / 4, p = 10 ** Math.floor(Math.log10(raw));
    const step = Math.max(1, [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw));
    return { top: Math.ceil(max / step) * step, step };
  }

  /* ---- page state ------------------------------------------------------------------ */

  const state = { channels: [], channel: '', period: 'month', day: '', month: '', from: '', to: '', stats: null, funnel: null, seq: 0 };

  function showError(text) {
    const box = $('#page-error');
    box.textContent = text;
    box.hidden = !text;
  }

  function range() {
    if (state.period === 'day') return [state.day, state.day];
    if (state.period === 'month') return [state.month + '-01', lastOfMonth(state.month)];
    return [state.from, state.to];
  }

  /* Picks the period that describes [from, to]. */
  function periodFrom(from, to) {
    if (from === to) Object.assign(state, { period: 'day', day: from });
    else if (from.endsWith('-01') && from.slice(0, 7) === to.slice(0, 7)) Object.assign(state, { period: 'month', month: from.slice(0, 7) });
    else Object.assign(state, { period: 'range', from, to });
    fillPeriodInputs();
  }

  function fillPeriodInputs() {
    const [from, to] = isPeriodValid() ? range() : [state.from, state.to];
    if (!state.day) state.day = to || browserToday();
    if (!state.month) state.month = (to || browserToday()).slice(0, 7);
    if (!state.from) state.from = from || state.month + '-01';
    if (!state.to) state.to = to || lastOfMonth(state.month);
    $('#day').value = state.day;
    $('#month').value = state.month;
    $('#from').value = state.from;
    $('#to').value = state.to;
    for (const b of $$('#period button')) b.setAttribute('aria-pressed', String(b.dataset.period === state.period));
    for (const f of $$('.filters [data-for]')) f.hidden = f.dataset.for !== state.period;
  }

  function isPeriodValid() {
    if (state.period === 'day') return isDay(state.day);
    if (state.period === 'month') return isMonth(state.month);
    return isDay(state.from) && isDay(state.to) && state.from <= state.to;
  }
  function periodError() {
    if (state.period === 'day') return isDay(state.day) ? '' : 'Choose a day.';
    if (state.period === 'month') return isMonth(state.month) ? '' : 'Choose a month.';
    if (!isDay(state.from) || !isDay(state.to)) return 'Choose both days of the range.';
    return state.from <= state.to ? '' : 'The range must start before it ends.';
  }

  function writeUrl() {
    const p = new URLSearchParams({ channel: state.channel, period: state.period });
    if (state.period === 'day') p.set('day', state.day);
    else if (state.period === 'month') p.set('month', state.month);
    else { p.set('from', state.from); p.set('to', state.to); }
    history.replaceState(null, '', '?' + p.toString());
  }

  function readUrl() {
    const p = new URLSearchParams(location.search);
    state.channel = p.get('channel') || '';
    const period = p.get('period');
    if (period === 'day' && isDay(p.get('day'))) Object.assign(state, { period, day: p.get('day') });
    else if (period === 'month' && isMonth(p.get('month'))) Object.assign(state, { period, month: p.get('month') });
    else if (isDay(p.get('from')) && isDay(p.get('to'))) periodFrom(p.get('from'), p.get('to'));
    else return false;
    return true;
  }

  /* ---- exports -------------------------------------------------------------------- */

  function exportLinks(from, to) {
    const q = `channel=${encodeURIComponent(state.channel)}&from=${from}&to=${to}`;
    const base = `${state.channel}-${from}-${to}`;
    const links = {
      stats: { csv: `/api/stats?${q}&format=csv`, json: `/api/stats?${q}`, file: `stats-${base}` },
      funnel: { csv: `/api/stats/funnel?${q}&format=csv`, json: `/api/stats/funnel?${q}`, file: `funnel-${base}` },
    };
    $('#export-csv').href = links.stats.csv;
    $('#export-csv').download = links.stats.file + '.csv';
    $('#export-json').href = links.stats.json;
    $('#export-json').download = links.stats.file + '.json';
    for (const span of $$('.export[data-export]')) {
      const l = links[span.dataset.export];
      span.replaceChildren();
      for (const [kind, label] of [['csv', 'CSV'], ['json', 'JSON']]) {
        const a = document.createElement('a');
        a.href = l[kind];
        a.download = `${l.file}.${kind}`;
        a.textContent = label;
        a.dataset.format = kind;
        a.title = `Download this table as ${label}`;
        span.append(a);
      }
    }
  }

  /* ---- KPIs ------------------------------------------------------------------------------ */

  function renderKpis(st) {
    const o = st.outcomes || {};
    const cards = [
      { label: 'Conversations', value: st.started, stat: 'started', sub: `started on ${fmtInt(st.days ? st.days.filter((d) => d.started > 0).length : 0)} day${st.days && st.days.filter((d) => d.started > 0).length === 1 ? '' : 's'}` },
      { label: 'Resolved by bot', value: o.resolved, kpi: 'resolved', sub: `${pct(o.resolved || 0, st.started)} of started`, colour: colourOf('resolved') },
      { label: 'Handed to a human', value: o.handoff, kpi: 'handoff', sub: `${pct(o.handoff || 0, st.started)} of started`, colour: colourOf('handoff') },
      { label: 'Missed', value: o.missed, kpi: 'missed', sub: 'handoffs nobody took', colour: colourOf('missed') },
      { label: 'Leads', value: st.leads, stat: 'leads', sub: 'from the bot and agents', colour: colourOf('lead') },
      { label: 'Deals', value: st.deals, stat: 'deals', sub: 'with a value', colour: '#0f766e' },
    ];
    const box = $('#kpis');
    box.replaceChildren();
    for (const c of cards) {
      const el = document.createElement('div');
      el.className = 'kpi';
      if (c.colour) el.style.setProperty('--kpi-colour', c.colour);
      const l = document.createElement('div');
      l.className = 'k-label';
      l.textContent = c.label;
      const v = document.createElement('div');
      v.className = 'k-value';
      v.textContent = fmtInt(c.value);
      if (c.stat) v.dataset.stat = c.stat;
      if (c.kpi) v.dataset.kpi = c.kpi;
      v.dataset.value = String(c.value ?? 0);
      const s = document.createElement('div');
      s.className = 'k-sub';
      s.textContent = c.sub;
      el.append(l, v, s);
      box.append(el);
    }
  }

  /* ---- conversations per day (stacked bars) ------------------------------------------ */

  /* Every day of the range (or only the days the server listed, for very
   * long ranges), each with its outcomes and the still-open rest. */
  function dailySeries(st, from, to) {
    const byDate = new Map((st.days || []).map((d) => [d.date, d]));
    const dates = [];
    if (isDay(from) && isDay(to) && (parseDay(to) - parseDay(from)) / 864e5 <= 1100) {
      for (let d = from; d <= to; d = addDays(d, 1)) dates.push(d);
    } else dates.push(...[...byDate.keys()].sort());
    return dates.map((date) => {
      const d = byDate.get(date) || { date, started: 0, outcomes: {} };
      const parts = outcomeKeys(d.outcomes).map((k) => [k, Number((d.outcomes || {})[k] || 0)]).filter(([, n]) => n > 0);
      const ended = parts.reduce((a, [, n]) => a + n, 0);
      const started = Number(d.started || 0);
      if (started > ended) parts.push(['open', started - ended]);
      return { date, started, parts, total: Math.max(started, ended) };
    });
  }

  function renderDaily(st, from, to) {
    const box = $('#chart-daily');
    const series = dailySeries(st, from, to);
    const W = Math.max(420, box.clientWidth || 640), H = 270;
    const m = { l: 40, r: 12, t: 14, b: 34 };
    const pw = W - m.l - m.r, ph = H - m.t - m.b;
    const max = Math.max(0, ...series.map((d) => d.total));
    const { top, step } = niceAxis(max);
    const y = (v) => m.t + ph - (v / top) * ph;
    const root = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', id: 'svg-daily',
      'aria-label': `Conversations per day from ${from} to ${to}, stacked by outcome` });
    const grid = svg('g', { class: 'grid' });
    for (let v = 0; v <= top; v += step) {
      grid.append(svg('line', { x1: m.l, x2: W - m.r, y1: r1(y(v)), y2: r1(y(v)), class: v === 0 ? 'base' : '' }));
      grid.append(text(m.l - 8, r1(y(v)) + 4, fmtInt(v), { 'text-anchor': 'end' }));
    }
    root.append(grid);
    const n = series.length || 1, band = pw / n, bw = Math.max(2, Math.min(44, band * 0.72));
    const bars = svg('g', { class: 'bars' });
    series.forEach((d, i) => {
      const x = m.l + i * band + (band - bw) / 2;
      const col = svg('g', { 'data-date': d.date });
      const summary = `${longDay(d.date)}: ${fmtInt(d.started)} started` + (d.parts.length ? ' — ' + d.parts.map(([k, c]) => `${labelOf(k).toLowerCase()} ${c}`).join(', ') : '');
      col.append(svg('rect', { x: m.l + i * band, y: m.t, width: band, height: ph, fill: 'transparent' }, tip(summary)));
      let acc = 0;
      for (const [k, c] of d.parts) {
        const y0 = y(acc), y1 = y(acc + c);
        col.append(svg('rect', { class: 'bar', x: r1(x), y: r1(y1), width: r1(bw), height: r1(Math.max(1, y0 - y1)),
          fill: colourOf(k), 'data-date': d.date, 'data-outcome': k, 'data-count': c, rx: Math.min(3, bw / 4) }, tip(summary)));
        acc += c;
      }
      bars.append(col);
    });
    root.append(bars);
    // date labels, thinned to fit
    const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(pw / 58))));
    const labels = svg('g', { class: 'axis' });
    series.forEach((d, i) => {
      if (i % every) return;
      labels.append(text(r1(m.l + i * band + band / 2), H - m.b + 18, n === 1 ? longDay(d.date) : shortDay(d.date), { 'text-anchor': 'middle' }));
    });
    root.append(labels);
    if (!max) root.append(text(m.l + pw / 2, m.t + ph / 2, 'No conversations in this period', { 'text-anchor': 'middle', class: 'empty-msg' }));
    box.replaceChildren(root);

    const legend = $('#legend-daily');
    legend.replaceChildren();
    for (const [k, label] of [...OUTCOMES, OPEN]) {
      const li = document.createElement('li');
      const i = document.createElement('i');
      i.style.setProperty('--c', colourOf(k));
      li.append(i, document.createTextNode(label));
      legend.append(li);
    }
  }

  /* ---- outcome breakdown (donut and table) ------------------------------------------- */

  /* A ring segment from angle a0 to a1 (radians, clockwise from the top). */
  function ringPath(cx, cy, r0, r1_, a0, a1) {
    const p = (r, a) => `${r1(cx + r * Math.sin(a))} ${r1(cy - r * Math.cos(a))}`;
    const large = a1 - a0 > Math.PI ? 1 : 0;
    return `M ${p(r1_, a0)} A ${r1_} ${r1_} 0 ${large} 1 ${p(r1_, a1)} L ${p(r0, a1)} A ${r0} ${r0} 0 ${large} 0 ${p(r0, a0)} Z`;
  }

  function renderOutcomes(st) {
    const o = st.outcomes || {};
    const keys = outcomeKeys(o);
    const started = Number(st.started || 0);
    const rows = keys.map((k) => [k, Number(o[k] || 0)]);
    const ended = rows.reduce((a, [, n]) => a + n, 0);
    const parts = rows.filter(([, n]) => n > 0);
    if (started > ended) parts.push(['open', started - ended]);
    const total = parts.reduce((a, [, n]) => a + n, 0);

    const S = 164, cx = S / 2, cy = S / 2, R = 76, r = 51;
    const root = svg('svg', { width: S, height: S, viewBox: `0 0 ${S} ${S}`, role: 'img', id: 'svg-outcomes',
      'aria-label': 'Outcome breakdown' });
    if (!total) root.append(svg('circle', { cx, cy, r: (R + r) / 2, fill: 'none', stroke: '#e7ebf0', 'stroke-width': R - r }));
    let a = 0;
    for (const [k, c] of parts) {
      const da = (c / total) * Math.PI * 2;
      const seg = svg('g', { class: 'slice', 'data-outcome': k, 'data-count': c }, tip(`${labelOf(k)}: ${fmtInt(c)} (${pct(c, total)})`));
      if (da >= Math.PI * 2 - 1e-9) {
        seg.append(svg('path', { d: ringPath(cx, cy, r, R, 0, Math.PI), fill: colourOf(k) }));
        seg.append(svg('path', { d: ringPath(cx, cy, r, R, Math.PI, Math.PI * 2), fill: colourOf(k) }));
      } else {
        seg.append(svg('path', { d: ringPath(cx, cy, r, R, a, a + da), fill: colourOf(k), stroke: '#fff', 'stroke-width': parts.length > 1 ? 1.5 : 0 }));
      }
      root.append(seg);
      a += da;
    }
    root.append(text(cx, cy + 2, fmtInt(started), { 'text-anchor': 'middle', style: 'font-size:24px;font-weight:700;fill:#1b2430' }));
    root.append(text(cx, cy + 20, 'started', { 'text-anchor': 'middle', style: 'font-size:11.5px' }));
    $('#chart-outcomes').replaceChildren(root);

    const tb = $('#table-outcomes tbody');
    tb.replaceChildren();
    const shown = rows.filter(([k, n]) => n > 0 || OUTCOMES.some((x) => x[0] === k));
    if (started > ended) shown.push(['open', started - ended]);
    for (const [k, n] of shown) {
      const tr = document.createElement('tr');
      tr.dataset.outcome = k;
      const td0 = document.createElement('td');
      const sw = document.createElement('span');
      sw.className = 'sw';
      sw.style.setProperty('--c', colourOf(k));
      td0.append(sw, document.createTextNode(labelOf(k)));
      const td1 = document.createElement('td');
      td1.textContent = fmtInt(n);
      if (k !== 'open') td1.dataset.stat = 'outcome-' + k;
      td1.dataset.value = String(n);
      const td2 = document.createElement('td');
      td2.textContent = pct(n, started);
      tr.append(td0, td1, td2);
      tb.append(tr);
    }
  }

  /* ---- response times ------------------------------------------------------------------- */

  function renderTimes(st) {
    const tb = $('#table-times tbody');
    tb.replaceChildren();
    for (const [key, label] of [['first_reply', 'Time to first agent reply'], ['close', 'Time to close']]) {
      const t = st[key] || {};
      const tr = document.createElement('tr');
      const none = !Number(t.count); // no conversation measured: no time to show
      const cells = [[label], [fmtInt(t.count), `${key}-count`, t.count], [none ? '—' : fmtDur(t.median), `${key}-median`, t.median],
        [none ? '—' : fmtDur(t.p90), `${key}-p90`, t.p90]];
      for (const [txt, stat, raw] of cells) {
        const td = document.createElement('td');
        td.textContent = txt;
        if (stat) { td.dataset.stat = stat; td.dataset.value = raw === null || raw === undefined ? '' : String(raw); }
        tr.append(td);
      }
      tb.append(tr);
    }
  }

  /* ---- quota (gauge and banner) ---------------------------------------------------------- */

  function renderQuota(st) {
    const q = st.quota || {};
    const limit = Number(q.limit || 0), used = Number(q.used || 0);
    const frac = limit > 0 ? Math.min(1, used / limit) : 0;
    const full = !!q.exhausted || (limit > 0 && used >= limit);
    const colour = full ? '#dc2626' : frac >= 0.8 ? '#ea8a0c' : '#16a34a';
    const W = 240, H = 140, cx = W / 2, cy = 118, R = 96, r = 74;
    // t in [0, 1] runs over the top half from the left end to the right end
    const pt = (rad, t) => `${r1(cx - rad * Math.cos(t * Math.PI))} ${r1(cy - rad * Math.sin(t * Math.PI))}`;
    const band = (t0, t1) => `M ${pt(R, t0)} A ${R} ${R} 0 0 1 ${pt(R, t1)} L ${pt(r, t1)} A ${r} ${r} 0 0 0 ${pt(r, t0)} Z`;
    const root = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', id: 'svg-quota',
      'aria-label': limit ? `${used} of ${limit} bot conversations used` : `${used} bot conversations, no limit` });
    root.append(svg('path', { d: band(0, 1), fill: '#e7ebf0' }));
    if (frac > 0) root.append(svg('path', { d: band(0, Math.max(0.004, frac)), fill: colour, class: 'gauge-value', 'data-fraction': frac.toFixed(4) }));
    root.append(text(cx, cy - 26, fmtInt(used), { 'text-anchor': 'middle', style: 'font-size:28px;font-weight:700;fill:#1b2430', 'data-stat': 'quota-used', 'data-value': used }));
    root.append(text(cx, cy - 6, limit ? `of ${fmtInt(limit)} · ${pct(used, limit)}` : 'no limit', { 'text-anchor': 'middle', style: 'font-size:12px', 'data-stat': 'quota-limit', 'data-value': limit }));
    root.append(text(cx - (R + r) / 2, cy + 16, '0', { 'text-anchor': 'middle' }));
    root.append(text(cx + (R + r) / 2, cy + 16, limit ? fmtInt(limit) : '∞', { 'text-anchor': 'middle' }));
    $('#chart-quota').replaceChildren(root);
    $('#quota-month').textContent = q.month ? monthName(q.month) : '';
    $('#quota-text').textContent = (limit ? 'Bot conversations this month against the monthly quota.' : 'This channel has no monthly quota.')
      + (limit && q.renews_at ? ` Renews on ${whenIn(q.renews_at, st.zone)}.` : '');

    const banner = $('#quota-banner');
    banner.replaceChildren();
    banner.hidden = !q.exhausted;
    if (q.exhausted) {
      const icon = svg('svg', { class: 'icon', width: 20, height: 20, viewBox: '0 0 24 24', 'aria-hidden': 'true' },
        svg('path', { d: 'M12 2 1 21h22L12 2z', fill: '#c62828' }),
        svg('path', { d: 'M11 9h2v6h-2zm0 8h2v2h-2z', fill: '#fff' }));
      const body = document.createElement('div');
      const strong = document.createElement('strong');
      strong.textContent = `The bot quota of “${st.channel || state.channel}” is used up`;
      const rest = document.createElement('span');
      rest.textContent = `: ${fmtInt(used)} of ${fmtInt(limit)} bot conversations in ${monthName(q.month)}. `
        + 'New conversations skip the bot and go straight to live chat (an agent, or the offline form)'
        + (q.renews_at ? ` until the quota renews on ${whenIn(q.renews_at, st.zone)}.` : '.');
      const link = document.createElement('a');
      link.href = `/admin/channels.html?channel=${encodeURIComponent(state.channel)}`;
      link.textContent = 'Raise the quota';
      body.append(strong, rest, ' ', link);
      banner.append(icon, body);
    }
  }

  /* ---- day-by-day table ------------------------------------------------------------------- */

  function renderDays(st, from, to) {
    const series = dailySeries(st, from, to);
    const byDate = new Map((st.days || []).map((d) => [d.date, d]));
    const keys = outcomeKeys(Object.assign({}, ...(st.days || []).map((d) => d.outcomes || {})));
    const table = $('#table-days');
    const head = document.createElement('tr');
    for (const h of ['Day', 'Started', ...keys.map(labelOf)]) {
      const th = document.createElement('th');
      th.textContent = h;
      head.append(th);
    }
    table.tHead.replaceChildren(head);
    const tb = table.tBodies[0];
    tb.replaceChildren();
    const totals = keys.map(() => 0);
    let totalStarted = 0;
    for (const { date } of series) {
      const d = byDate.get(date) || { started: 0, outcomes: {} };
      const tr = document.createElement('tr');
      tr.dataset.date = date;
      const cells = [date, fmtInt(d.started), ...keys.map((k) => fmtInt((d.outcomes || {})[k] || 0))];
      keys.forEach((k, i) => { totals[i] += Number((d.outcomes || {})[k] || 0); });
      totalStarted += Number(d.started || 0);
      for (const c of cells) {
        const td = document.createElement('td');
        td.textContent = c;
        tr.append(td);
      }
      tb.append(tr);
    }
    const foot = document.createElement('tr');
    for (const c of ['Total', fmtInt(totalStarted), ...totals.map(fmtInt)]) {
      const td = document.createElement('td');
      td.textContent = c;
      foot.append(td);
    }
    table.tFoot.replaceChildren(foot);
  }

  /* ---- the funnel: a layered drawing of the flow's graph ------------------------------------
   *
   * Sugiyama in small: (1) a depth-first search from `start` finds the edges
   * that go back (loops) and turns them around so the graph has no cycle;
   * (2) longest-path layering puts every node one layer right of its furthest
   * predecessor; (3) an edge over several layers gets a dummy point in each
   * layer between; (4) barycentre sweeps order each layer to cut crossings,
   * keeping the order with the fewest; (5) y positions follow the neighbours'
   * mean under the order and spacing (isotonic regression, pool adjacent
   * violators); (6) x comes from the layer. */

  function layoutFunnel(fn) {
    const nodes = (fn.nodes || []).map((n) => ({ ...n, name: String(n.name), reached: Number(n.reached || 0), left: n.left || {} }));
    const index = new Map(nodes.map((n, i) => [n.name, i]));
    const edgesIn = [];
    for (const e of fn.edges || []) {
      for (const end of [e.from, e.to]) {
        if (!index.has(String(end))) { index.set(String(end), nodes.length); nodes.push({ name: String(end), reached: 0, left: {} }); }
      }
      edgesIn.push([index.get(String(e.from)), index.get(String(e.to))]);
    }
    const N = nodes.length;
    const seen = new Set();
    const selfLoops = new Set();
    const edges = [];
    for (const [f, t] of edgesIn) {
      const key = f + '>' + t;
      if (seen.has(key)) continue;
      seen.add(key);
      if (f === t) selfLoops.add(f); else edges.push({ f, t });
    }
    const out = Array.from({ length: N }, () => []);
    edges.forEach((e, i) => out[e.f].push(i));

    // (1) back edges by an iterative DFS, start first
    const start = index.has('start') ? index.get('start') : 0;
    const mark = new Array(N).fill(0), pre = new Array(N).fill(0);
    let counter = 0;
    for (const root of [start, ...nodes.keys()]) {
      if (root === undefined || mark[root]) continue;
      const stack = [[root, 0]];
      mark[root] = 1;
      pre[root] = counter++;
      while (stack.length) {
        const top = stack[stack.length - 1];
        const [v, k] = top;
        if (k < out[v].length) {
          top[1]++;
          const e = edges[out[v][k]];
          if (mark[e.t] === 1) e.back = true;
          else if (!mark[e.t]) { mark[e.t] = 1; pre[e.t] = counter++; stack.push([e.t, 0]); }
        } else { mark[v] = 2; stack.pop(); }
      }
    }
    for (const e of edges) { e.u = e.back ? e.t : e.f; e.v = e.back ? e.f : e.t; }

    // (2) longest-path layers over the acyclic graph
    const layer = new Array(N).fill(0), indeg = new Array(N).fill(0);
    const dag = Array.from({ length: N }, () => []);
    for (const e of edges) { dag[e.u].push(e.v); indeg[e.v]++; }
    const queue = [...nodes.keys()].filter((v) => !indeg[v]);
    for (let qi = 0; qi < queue.length; qi++) {
      const v = queue[qi];
      for (const w of dag[v]) { layer[w] = Math.max(layer[w], layer[v] + 1); if (!--indeg[w]) queue.push(w); }
    }
    const L = Math.max(0, ...layer) + 1;

    // (3) items: the nodes and one dummy per edge per layer crossed
    const maxReach = Math.max(1, ...nodes.map((n) => n.reached));
    const items = nodes.map((n, i) => ({ node: i, layer: layer[i], h: Math.round(56 + 26 * Math.sqrt(n.reached / maxReach)), up: [], down: [], key: pre[i] }));
    for (const e of edges) {
      e.chain = [e.u];
      for (let l = layer[e.u] + 1; l < layer[e.v]; l++) {
        items.push({ node: -1, layer: l, h: 0, up: [], down: [], key: pre[e.u] + 0.5 });
        e.chain.push(items.length - 1);
      }
      e.chain.push(e.v);
      for (let i = 1; i < e.chain.length; i++) { items[e.chain[i - 1]].down.push(e.chain[i]); items[e.chain[i]].up.push(e.chain[i - 1]); }
    }
    const layers = Array.from({ length: L }, () => []);
    items.forEach((it, i) => layers[it.layer].push(i));
    for (const ly of layers) ly.sort((a, b) => items[a].key - items[b].key);

    // (4) ordering by barycentre sweeps
    const pos = new Array(items.length);
    const setPos = () => layers.forEach((ly) => ly.forEach((it, i) => { pos[it] = i; }));
    const crossings = () => {
      let c = 0;
      for (let l = 0; l + 1 < L; l++) {
        const segs = [];
        for (const it of layers[l]) for (const w of items[it].down) segs.push([pos[it], pos[w]]);
        for (let i = 0; i < segs.length; i++) {
          for (let j = i + 1; j < segs.length; j++) {
            if ((segs[i][0] - segs[j][0]) * (segs[i][1] - segs[j][1]) < 0) c++;
          }
        }
      }
      return c;
    };
    const sweep = (l, dir) => {
      const bc = new Map(layers[l].map((it) => {
        const nb = dir > 0 ? items[it].up : items[it].down;
        return [it, nb.length ? nb.reduce((a, w) => a + pos[w], 0) / nb.length : pos[it]];
      }));
      layers[l].sort((a, b) => bc.get(a) - bc.get(b) || pos[a] - pos[b]);
      layers[l].forEach((it, i) => { pos[it] = i; });
    };
    setPos();
    let best = crossings(), bestOrder = layers.map((ly) => ly.slice());
    for (let iter = 0; iter < 12 && best > 0; iter++) {
      if (iter % 2 === 0) for (let l = 1; l < L; l++) sweep(l, 1);
      else for (let l = L - 2; l >= 0; l--) sweep(l, -1);
      const c = crossings();
      if (c < best) { best = c; bestOrder = layers.map((ly) => ly.slice()); }
    }
    bestOrder.forEach((ly, l) => { layers[l] = ly; });
    setPos();

    return { nodes, items, edges, layers, selfLoops, start, maxReach };
  }

  const BOX_W = 172;

  /* (5) and (6): places the ordered layers left to right ('lr') or top to
   * bottom ('tb'). Along a layer, an item goes to the mean of its neighbours
   * as far as the order and the spacing allow (isotonic regression by pool
   * adjacent violators, a few rounds); across, the layer's place. Sets every
   * item's box {x, y, w, h} and every edge's ports; returns the size. */
  function placeFunnel(lay, orient) {
    const { items, layers, edges } = lay;
    const lr = orient === 'lr';
    const size = (i) => (items[i].node < 0 ? 0 : lr ? items[i].h : BOX_W);
    const depth = (i) => (items[i].node < 0 ? 0 : lr ? BOX_W : items[i].h);
    const gap = (a, b) => (items[a].node < 0 && items[b].node < 0 ? 10 : items[a].node < 0 || items[b].node < 0 ? 16 : lr ? 26 : 24);
    const sep = (a, b) => size(a) / 2 + gap(a, b) + size(b) / 2;
    const o = new Array(items.length).fill(0);
    for (const ly of layers) ly.forEach((it, i) => { o[it] = i ? o[ly[i - 1]] + sep(ly[i - 1], it) : 0; });
    const fit = (ly, want) => {
      const off = [0];
      for (let i = 1; i < ly.length; i++) off.push(off[i - 1] + sep(ly[i - 1], ly[i]));
      const blocks = [];
      ly.forEach((it, i) => {
        const w = items[it].node < 0 ? 0.5 : 1;
        blocks.push({ sum: (want[i] - off[i]) * w, w, n: 1 });
        while (blocks.length > 1) {
          const b = blocks[blocks.length - 1], a = blocks[blocks.length - 2];
          if (a.sum / a.w <= b.sum / b.w) break;
          blocks.pop();
          a.sum += b.sum; a.w += b.w; a.n += b.n;
        }
      });
      let i = 0;
      for (const b of blocks) for (let k = 0; k < b.n; k++, i++) o[ly[i]] = b.sum / b.w + off[i];
    };
    for (let iter = 0; iter < 16; iter++) {
      const order = iter % 2 ? [...layers.keys()].reverse() : [...layers.keys()];
      for (const l of order) {
        const ly = layers[l];
        fit(ly, ly.map((it) => {
          const nb = [...items[it].up, ...items[it].down];
          return nb.length ? nb.reduce((a, w) => a + o[w], 0) / nb.length : o[it];
        }));
      }
    }
    const PAD = lay.selfLoops.size ? 40 : 28, ENTRY = 24, GR = lr ? 74 : 54;
    const minO = Math.min(...items.map((it, i) => o[i] - size(i) / 2));
    let rank = PAD + ENTRY;
    for (const ly of layers) {
      const ext = Math.max(0, ...ly.map(depth));
      for (const i of ly) {
        const it = items[i];
        it.o = o[i] - minO + PAD;
        it.rb = it.node < 0 ? rank : rank + (ext - depth(i)) / 2;
        it.re = it.node < 0 ? rank + ext : it.rb + depth(i);
        it.x = lr ? it.rb : it.o - BOX_W / 2;
        it.y = lr ? it.o - it.h / 2 : it.rb;
      }
      rank += ext + GR;
    }
    // ports: a node's edges leave and enter spread over its side, in the
    // order of the other end, so that they do not all meet in one point
    const spread = (i, segs, key) => {
      segs.sort((a, b) => a.other - b.other);
      const room = Math.max(0, size(i) / 2 - 14);
      const step = segs.length > 1 ? Math.min(lr ? 9 : 16, (2 * room) / (segs.length - 1)) : 0;
      segs.forEach((sg, k) => { sg.edge[key] = items[i].o + (k - (segs.length - 1) / 2) * step; });
    };
    const outs = new Map(), ins = new Map();
    for (const e of edges) {
      if (!outs.has(e.u)) outs.set(e.u, []);
      if (!ins.has(e.v)) ins.set(e.v, []);
      outs.get(e.u).push({ edge: e, other: items[e.chain[1]].o });
      ins.get(e.v).push({ edge: e, other: items[e.chain[e.chain.length - 2]].o });
    }
    for (const [v, segs] of outs) spread(v, segs, 'p0');
    for (const [v, segs] of ins) spread(v, segs, 'p1');
    let width = 0, height = 0;
    items.forEach((it, i) => {
      width = Math.max(width, lr ? it.re : it.o + size(i) / 2);
      height = Math.max(height, lr ? it.o + size(i) / 2 : it.re);
    });
    return { orient, width: width + PAD, height: height + PAD };
  }

  /* The edge's path: smooth curves between layers, straight through the
   * layers it crosses. */
  function edgePath(lay, e, orient) {
    const it = lay.items, lr = orient === 'lr';
    const P = (r, o) => (lr ? `${r1(r)} ${r1(o)}` : `${r1(o)} ${r1(r)}`);
    const pts = [[it[e.u].re, e.p0]];
    for (let i = 1; i < e.chain.length - 1; i++) {
      const d = it[e.chain[i]];
      pts.push([d.rb, d.o], [d.re, d.o]);
    }
    pts.push([it[e.v].rb, e.p1]);
    let d = `M ${P(...pts[0])}`;
    for (let i = 1; i < pts.length; i++) {
      const [r0, o0] = pts[i - 1], [r1_, o1] = pts[i];
      if (i % 2 === 0 && i < pts.length - 1) { d += ` L ${P(r1_, o1)}`; continue; }
      const m = (r1_ - r0) / 2;
      d += ` C ${P(r0 + m, o0)} ${P(r1_ - m, o1)} ${P(r1_, o1)}`;
    }
    return d;
  }

  function renderFunnel(fn) {
    const wrap = $('#funnel-graph');
    const tableHead = $('#table-funnel thead'), tableBody = $('#table-funnel tbody');
    $('#funnel-flow').textContent = fn && fn.flow ? `flow “${fn.flow}”` : '';
    if (!fn || !Array.isArray(fn.nodes) || !fn.nodes.length) {
      const p = document.createElement('p');
      p.className = 'hint';
      p.style.padding = '24px';
      p.textContent = fn && fn.error ? `The funnel is not available: ${fn.error}` : 'No nodes to show.';
      wrap.replaceChildren(p);
      tableHead.replaceChildren();
      tableBody.replaceChildren();
      return;
    }
    const lay = layoutFunnel(fn);
    const { items } = lay;
    const W = BOX_W;
    // left to right when it fits the box, else whichever needs less scrolling
    const room = Math.max(320, wrap.clientWidth - 2);
    let size = placeFunnel(lay, 'lr');
    if (size.width > room) {
      const tb = placeFunnel(lay, 'tb');
      const cost = (z) => Math.max(0, z.width - room) * 3 + Math.max(0, z.height - 640);
      if (cost(tb) < cost(size)) size = tb; else placeFunnel(lay, 'lr');
    }
    const lr = size.orient === 'lr';
    const root = svg('svg', { width: r1(size.width), height: r1(size.height), viewBox: `0 0 ${r1(size.width)} ${r1(size.height)}`, role: 'img',
      id: 'svg-funnel', 'data-orient': size.orient, 'aria-label': `Funnel of the flow ${fn.flow || ''}: ${lay.nodes.length} nodes` });
    const defs = svg('defs', {},
      svg('marker', { id: 'fn-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#8592a3' })));
    root.append(defs);

    // edges under the nodes
    const eg = svg('g', { class: 'fn-edges' });
    for (const e of lay.edges) {
      const from = lay.nodes[e.f].name, to = lay.nodes[e.t].name;
      eg.append(svg('path', { class: 'fn-edge' + (e.back ? ' back' : ''), d: edgePath(lay, e, size.orient), 'data-from': from, 'data-to': to,
        [e.back ? 'marker-start' : 'marker-end']: 'url(#fn-arrow)' }, tip(`${from} → ${to}${e.back ? ' (back)' : ''}`)));
    }
    for (const v of lay.selfLoops) {
      const it = items[v];
      const d = lr ? `M ${r1(it.x + W - 44)} ${r1(it.y)} C ${r1(it.x + W - 44)} ${r1(it.y - 26)} ${r1(it.x + W - 12)} ${r1(it.y - 26)} ${r1(it.x + W - 12)} ${r1(it.y)}`
        : `M ${r1(it.x + W)} ${r1(it.y + 12)} C ${r1(it.x + W + 26)} ${r1(it.y + 12)} ${r1(it.x + W + 26)} ${r1(it.y + 36)} ${r1(it.x + W)} ${r1(it.y + 36)}`;
      eg.append(svg('path', { class: 'fn-edge back', d, 'marker-end': 'url(#fn-arrow)', 'data-from': lay.nodes[v].name,
        'data-to': lay.nodes[v].name }, tip(`${lay.nodes[v].name} → itself`)));
    }
    root.append(eg);

    // the way in: an arrow into start
    const st = items[lay.start];
    if (st) {
      const d = lr ? `M ${r1(st.x - 24)} ${r1(st.o)} L ${r1(st.x - 2)} ${r1(st.o)}` : `M ${r1(st.o)} ${r1(st.y - 24)} L ${r1(st.o)} ${r1(st.y - 2)}`;
      root.append(svg('path', { d, stroke: '#1b2430', 'stroke-width': 1.6, 'marker-end': 'url(#fn-arrow)' }));
    }

    // nodes
    const ng = svg('g', { class: 'fn-nodes' });
    const order = [];
    lay.layers.forEach((ly) => ly.forEach((i) => { if (items[i].node >= 0) order.push(items[i].node); }));
    for (const v of order) {
      const n = lay.nodes[v], it = items[v];
      const ratio = n.reached / lay.maxReach;
      const leftKeys = outcomeKeys(n.left).filter((k) => Number(n.left[k] || 0) > 0);
      const leftTotal = leftKeys.reduce((a, k) => a + Number(n.left[k]), 0);
      const g = svg('g', { class: 'fn-node', 'data-node': n.name, 'data-reached': n.reached, 'data-left': leftTotal,
        transform: `translate(${r1(it.x)} ${r1(it.y)})`, tabindex: 0 });
      const fill = n.reached ? `rgba(37, 99, 235, ${(0.05 + 0.3 * ratio).toFixed(3)})` : '#ffffff';
      g.append(svg('rect', { class: 'box', width: W, height: it.h, rx: 9, fill: '#fff' }));
      g.append(svg('rect', { width: W, height: it.h, rx: 9, fill, stroke: n.reached ? '#2563eb' : '#b8c1cc',
        'stroke-width': r1(1 + 1.4 * ratio), 'stroke-dasharray': n.reached ? null : '4 3', 'stroke-opacity': n.reached ? 0.35 + 0.65 * ratio : 1 }));
      const label = n.name.length > 21 ? n.name.slice(0, 20) + '…' : n.name;
      g.append(text(11, 20, label, { style: 'font-size:12.5px;font-weight:650;fill:#1b2430' }));
      g.append(text(11, 37, `${fmtInt(n.reached)} reached`, { style: 'font-size:11.5px;fill:#334155', class: 'reached' }));
      g.append(text(W - 11, 37, leftTotal ? `${fmtInt(leftTotal)} ended` : '', { 'text-anchor': 'end', style: 'font-size:11px;fill:#5f6b7a' }));
      // the exit bar: the whole width is everyone who reached the node
      const bx = 11, bw = W - 22, by = it.h - 14;
      g.append(svg('rect', { x: bx, y: by, width: bw, height: 6, rx: 3, fill: '#e3e8ee' }));
      let acc = 0;
      for (const k of leftKeys) {
        const c = Number(n.left[k]);
        const w = n.reached ? (c / Math.max(n.reached, leftTotal)) * bw : 0;
        g.append(svg('rect', { class: 'exit', x: r1(bx + acc), y: by, width: r1(Math.max(1.5, w)), height: 6, fill: colourOf(k), 'data-outcome': k, 'data-count': c }));
        acc += w;
      }
      const details = leftKeys.map((k) => `${labelOf(k).toLowerCase()} ${n.left[k]}`).join(', ');
      g.append(tip(`${n.name}\nreached by ${fmtInt(n.reached)} conversation${n.reached === 1 ? '' : 's'}` +
        (leftTotal ? `\nended here: ${fmtInt(leftTotal)} (${details})` : '\nnone ended here') +
        (n.reached ? `\nwent on: ${fmtInt(Math.max(0, n.reached - leftTotal))}` : '')));
      ng.append(g);
    }
    root.append(ng);
    wrap.replaceChildren(root);

    // the table beside: the same numbers, in the drawing's order
    const cols = outcomeKeys(Object.assign({}, ...lay.nodes.map((n) => n.left)))
      .filter((k) => lay.nodes.some((n) => Number(n.left[k] || 0) > 0));
    const head = document.createElement('tr');
    for (const h of ['Node', 'Reached', 'Ended here', ...cols.map(labelOf), 'Drop-off']) {
      const th = document.createElement('th');
      th.textContent = h;
      head.append(th);
    }
    tableHead.replaceChildren(head);
    tableBody.replaceChildren();
    for (const v of order) {
      const n = lay.nodes[v];
      const leftTotal = outcomeKeys(n.left).reduce((a, k) => a + Number(n.left[k] || 0), 0);
      const tr = document.createElement('tr');
      tr.dataset.node = n.name;
      const td0 = document.createElement('td');
      td0.textContent = n.name;
      tr.append(td0);
      for (const [val, cls] of [[n.reached, 'reached'], [leftTotal, 'left'], ...cols.map((k) => [Number(n.left[k] || 0), 'left-' + k])]) {
        const td = document.createElement('td');
        td.textContent = fmtInt(val);
        td.dataset.col = cls;
        tr.append(td);
      }
      const drop = document.createElement('td');
      drop.textContent = pct(leftTotal, n.reached);
      tr.append(drop);
      tableBody.append(tr);
      // hovering a row or a node lights up both
      const nodeEl = root.querySelector(`g.fn-node[data-node="${CSS.escape(n.name)}"]`);
      const on = () => { tr.classList.add('hl'); if (nodeEl) nodeEl.classList.add('hl'); };
      const off = () => { tr.classList.remove('hl'); if (nodeEl) nodeEl.classList.remove('hl'); };
      tr.addEventListener('mouseenter', on);
      tr.addEventListener('mouseleave', off);
      if (nodeEl) {
        nodeEl.addEventListener('mouseenter', on);
        nodeEl.addEventListener('mouseleave', off);
        nodeEl.addEventListener('focus', on);
        nodeEl.addEventListener('blur', off);
      }
    }

    const legend = $('#legend-funnel');
    legend.replaceChildren();
    for (const k of cols.length ? cols : OUTCOMES.map((o) => o[0])) {
      const li = document.createElement('li');
      const i = document.createElement('i');
      i.style.setProperty('--c', colourOf(k));
      li.append(i, document.createTextNode(`ended: ${labelOf(k).toLowerCase()}`));
      legend.append(li);
    }
  }

  /* ---- loading ------------------------------------------------------------------------------- */

  function periodText(st, from, to) {
    let p;
    if (state.period === 'day') p = longDay(from);
    else if (state.period === 'month') p = monthName(state.month);
    else p = `${longDay(from)} – ${longDay(to)}`;
    return `${state.channel} · ${p}` + (st && st.zone ? ` · days in ${st.zone}` : '');
  }

  async function load() {
    const err = periodError();
    $('#period-error').textContent = err;
    if (err || !state.channel) return;
    const [from, to] = range();
    writeUrl();
    exportLinks(from, to);
    const seq = ++state.seq;
    $('#content').classList.add('loading');
    const q = `channel=${encodeURIComponent(state.channel)}&from=${from}&to=${to}`;
    const [st, fn] = await Promise.all([call('GET', `/api/stats?${q}`), call('GET', `/api/stats/funnel?${q}`)]);
    if (seq !== state.seq) return; // a newer request is on its way
    $('#content').classList.remove('loading');
    showError(st.ok ? '' : `Could not load the statistics: ${errText(st)}`);
    $('#period-text').textContent = periodText(st.ok ? st.body : null, from, to);
    if (st.ok && st.body) {
      state.stats = st.body;
      renderKpis(st.body);
      renderDaily(st.body, from, to);
      renderOutcomes(st.body);
      renderTimes(st.body);
      renderQuota(st.body);
      renderDays(st.body, from, to);
    }
    state.funnel = fn.ok ? fn.body : { error: errText(fn), nodes: [] };
    renderFunnel(state.funnel);
    document.body.dataset.loaded = String(seq);
  }

  function wire() {
    $('#channel').addEventListener('change', () => { state.channel = $('#channel').value; load(); });
    for (const b of $$('#period button')) {
      b.addEventListener('click', () => {
        const [from, to] = isPeriodValid() ? range() : [state.from, state.to];
        state.period = b.dataset.period;
        if (state.period === 'range' && isDay(from) && isDay(to)) Object.assign(state, { from, to });
        if (state.period === 'day' && !isDay(state.day)) state.day = to;
        fillPeriodInputs();
        load();
      });
    }
    $('#day').addEventListener('change', () => { state.day = $('#day').value; load(); });
    $('#month').addEventListener('change', () => { state.month = $('#month').value; load(); });
    $('#from').addEventListener('change', () => { state.from = $('#from').value; load(); });
    $('#to').addEventListener('change', () => { state.to = $('#to').value; load(); });
    for (const b of $$('[data-step]')) {
      b.addEventListener('click', () => {
        const n = Number(b.dataset.step);
        if (state.period === 'day' && isDay(state.day)) state.day = addDays(state.day, n);
        if (state.period === 'month' && isMonth(state.month)) state.month = addMonths(state.month, n);
        fillPeriodInputs();
        load();
      });
    }
    $('#filters').addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
    let t = 0;
    new ResizeObserver(() => {
      clearTimeout(t);
      t = setTimeout(() => {
        if (state.stats) renderDaily(state.stats, ...range());
        if (state.funnel) renderFunnel(state.funnel);
      }, 150);
    }).observe($('#content'));
  }

  async function main() {
    Staff.nav('stats');
    let me;
    try { me = await Staff.me(); } catch (e) {
      showError(`Not signed in (${(e && e.message) || e}).`);
      return;
    }
    if (!me || me.role !== 'admin') {
      showError('This page is for admins only.');
      $('#content').hidden = true;
      return;
    }
    wire();
    const hadPeriod = readUrl();
    const ch = await call('GET', '/api/channels');
    if (!ch.ok || !Array.isArray(ch.body)) {
      showError(`Could not load the channels: ${errText(ch)}`);
      return;
    }
    state.channels = ch.body.map((c) => c.name).sort();
    if (state.channel && !state.channels.includes(state.channel)) state.channels.unshift(state.channel);
    const sel = $('#channel');
    for (const name of state.channels) sel.add(new Option(name, name));
    if (!state.channels.length) {
      showError('There is no channel yet: create one on the Channels page.');
      $('#content').hidden = true;
      return;
    }
    state.channel = state.channel || state.channels[0];
    sel.value = state.channel;
    if (!hadPeriod) {
      // the server's clock decides what "this month" is: its quota month
      const today = browserToday();
      const r = await call('GET', `/api/stats?channel=${encodeURIComponent(state.channel)}&from=${today}&to=${today}`);
      const month = r.ok && r.body && r.body.quota && isMonth(r.body.quota.month) ? r.body.quota.month : today.slice(0, 7);
      Object.assign(state, { period: 'month', month });
    }
    fillPeriodInputs();
    await load();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main); else main();
})();
