/* flowd website widget (docs/widget.md).
 *
 *   <script src="https://chat.example.com/widget.js" data-channel="demo" async></script>
 *
 * One script, no dependencies, no request to any host but the one it was
 * loaded from. Draws a launcher and a chat window inside a Shadow DOM and
 * talks to flowd's visitor socket (docs/protocol.md, docs/api.md). Every
 * text from the server or the visitor goes into the page as text nodes:
 * bot messages through a small Markdown renderer that builds elements, the
 * rest as plain text. Nothing here ever assigns HTML.
 */
(() => {
  'use strict';
  const me = document.currentScript;
  if (!me || !me.src) return;
  const D = me.dataset;
  const ORIGIN = new URL(me.src, location.href).origin;
  const CHANNEL = D.channel || '';
  const PREVIEW = D.preview === '1';
  const FLAG = '__flowdWidget:' + CHANNEL;
  if (window[FLAG]) return;
  window[FLAG] = true;

  const MAX_CHARS = 512;
  const DEFAULT_OFFLINE = 'Nobody is available right now. Leave your details and we will get back to you.';
  const MAX_FILE = 10 * 1024 * 1024;
  const FILE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'text/plain'];
  const IMAGE_TYPES = FILE_TYPES.slice(0, 4);
  const DEFAULTS = {
    primary: '#0b5fff', secondary: '#ffffff', align: 'right', offset: 20, bot_name: 'Chat', avatar: '',
    welcome: '', prechat: false, privacy_url: '', terms_url: '', visible: true, open_now: true,
    after_hours: 'message', after_hours_message: 'We are away right now. Please come back during our opening hours.',
    identity_required: false,
  };

  /* ---- small helpers ------------------------------------------------------------------ */

  const enc = encodeURIComponent;
  const now = () => Date.now();
  const chars = (s) => [...s].length; /* code points, as the server counts */

  /* h('div', {class: 'x', onclick: f}, child, 'text', ...): text children become text nodes */
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v == null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids) if (c != null && c !== false) e.append(c);
    return e;
  }

  /* An inline icon from a trusted path string (24x24 viewBox). */
  function icon(d, size = 22) {
    const ns = 'http://www.w3.org/2000/svg';
    const s = document.createElementNS(ns, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('width', size);
    s.setAttribute('height', size);
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('focusable', 'false');
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    p.setAttribute('fill', 'currentColor');
    s.append(p);
    return s;
  }
  const I = {
    chat: 'M12 3C6.5 3 2 6.9 2 11.7c0 2.4 1.1 4.6 3 6.2-.2 1.4-.8 2.7-1.8 3.7-.2.2 0 .5.3.5 2.1-.1 3.9-.9 5.2-1.9 1 .3 2.1.4 3.3.4 5.5 0 10-3.9 10-8.8S17.5 3 12 3zm-4.5 10a1.3 1.3 0 110-2.6 1.3 1.3 0 010 2.6zm4.5 0a1.3 1.3 0 110-2.6 1.3 1.3 0 010 2.6zm4.5 0a1.3 1.3 0 110-2.6 1.3 1.3 0 010 2.6z',
    down: 'M5.3 8.3a1 1 0 011.4 0L12 13.6l5.3-5.3a1 1 0 111.4 1.4l-6 6a1 1 0 01-1.4 0l-6-6a1 1 0 010-1.4z',
    close: 'M6.3 5L12 10.6 17.7 5 19 6.3 13.4 12l5.6 5.7-1.3 1.3-5.7-5.6L6.3 19 5 17.7l5.6-5.7L5 6.3z',
    send: 'M3.4 20.4l17.5-7.5a1 1 0 000-1.8L3.4 3.6a.7.7 0 00-1 .8L4 10.5l9 1.5-9 1.5-1.6 6.1a.7.7 0 001 .8z',
    clip: 'M16.5 6.5v10a4.5 4.5 0 01-9 0V5a3 3 0 016 0v10.5a1.5 1.5 0 01-3 0V6.5H9v9a3 3 0 006 0V5a4.5 4.5 0 00-9 0v11.5a6 6 0 0012 0v-10z',
    end: 'M12 2a1 1 0 011 1v9a1 1 0 01-2 0V3a1 1 0 011-1zM6.3 5.8a1 1 0 01.1 1.4 7 7 0 1011.2 0 1 1 0 111.5-1.3A9 9 0 115 5.9a1 1 0 011.3-.1z',
    file: 'M14 2H6a2 2 0 00-2 2v16a2 2 0 002 2h12a2 2 0 002-2V8zm-1 7V3.5L18.5 9z',
    moon: 'M12.3 2a.8.8 0 01.6 1.2 7.5 7.5 0 009.9 9.9.8.8 0 011.2.6A10.5 10.5 0 1112.3 2z',
  };

  /* localStorage of the host page, namespaced per channel; memory when it is
   * unavailable (private modes, blocked storage). */
  const KEY = 'flowd:' + CHANNEL + ':';
  const mem = {};
  const store = {
    get(k, d) {
      try {
        const v = localStorage.getItem(KEY + k);
        return v == null ? d : JSON.parse(v);
      } catch { return k in mem ? mem[k] : d; }
    },
    set(k, v) {
      if (PREVIEW) return;
      try {
        if (v == null) localStorage.removeItem(KEY + k);
        else localStorage.setItem(KEY + k, JSON.stringify(v));
      } catch { mem[k] = v; }
    },
  };

  function randomId() {
    const b = new Uint8Array(9);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }
  let VID = store.get('visitor', '');
  if (typeof VID !== 'string' || !/^[\w-]{1,40}$/.test(VID)) {
    VID = 'v-' + randomId();
    store.set('visitor', VID);
  }

  /* A URL from flowd's settings that may be shown: http(s) for links; the
   * avatar only from flowd's own origin (no request to any other host). */
  function safeLink(u) {
    return typeof u === 'string' && /^https?:\/\/[^\s]+$/i.test(u) ? u : '';
  }
  function ownUrl(u) {
    if (typeof u !== 'string' || !u) return '';
    try {
      const url = new URL(u, ORIGIN);
      return url.origin === ORIGIN ? url.href : '';
    } catch { return ''; }
  }

  /* Settings as received, checked field by field; anything odd falls back. */
  function settings(s) {
    const c = { ...DEFAULTS };
    if (!s || typeof s !== 'object') return c;
    const str = (k, max) => { if (typeof s[k] === 'string') c[k] = s[k].slice(0, max); };
    for (const k of ['primary', 'secondary']) if (/^#[0-9a-f]{6}$/i.test(s[k])) c[k] = s[k];
    if (s.align === 'left' || s.align === 'right') c.align = s.align;
    if (Number.isFinite(+s.offset) && s.offset !== '' && s.offset !== null) c.offset = Math.max(0, Math.min(400, Math.round(+s.offset)));
    str('bot_name', 60);
    if (!c.bot_name.trim()) c.bot_name = DEFAULTS.bot_name;
    str('welcome', 400);
    str('after_hours_message', 1000);
    c.avatar = ownUrl(s.avatar);
    c.privacy_url = safeLink(s.privacy_url);
    c.terms_url = safeLink(s.terms_url);
    for (const k of ['prechat', 'visible', 'open_now', 'identity_required']) if (typeof s[k] === 'boolean') c[k] = s[k];
    if (s.after_hours === 'hide' || s.after_hours === 'message') c.after_hours = s.after_hours;
    return c;
  }

  /* ---- Markdown subset of the flow language ---------------------------------------------
   * **bold**, *italic*, [label](https://url) (http, https, mailto only) and
   * lines starting with "- " as a bullet list; line breaks kept. Everything
   * else is text. Builds elements; never parses HTML. */
  function markdown(text) {
    const frag = document.createDocumentFragment();
    let list = null, para = null;
    for (const line of String(text).split('\n')) {
      if (line.startsWith('- ')) {
        if (!list) frag.append(list = h('ul'));
        list.append(inline(h('li'), line.slice(2)));
        para = null;
      } else {
        list = null;
        if (para) para.append(h('br'));
        else frag.append(para = h('p'));
        inline(para, line);
      }
    }
    return frag;
  }
  function inline(el, s) {
    let buf = '';
    const flush = () => { if (buf) el.append(buf); buf = ''; };
    for (let i = 0; i < s.length;) {
      const c = s[i];
      if (c === '*' && s[i + 1] === '*') {
        const end = s.indexOf('**', i + 2);
        if (end > i + 2 && s[i + 2] !== ' ' && s[end - 1] !== ' ') {
          flush();
          el.append(inline(h('strong'), s.slice(i + 2, end)));
          i = end + 2;
          continue;
        }
      } else if (c === '*') {
        let end = i + 1;
        while ((end = s.indexOf('*', end)) !== -1 && s[end + 1] === '*') end += 2;
        if (end > i + 1 && s[i + 1] !== ' ' && s[end - 1] !== ' ') {
          flush();
          el.append(inline(h('em'), s.slice(i + 1, end)));
          i = end + 1;
          continue;
        }
      } else if (c === '[') {
        const m = /^\[([^\]\n]+)\]\(((?:https?:\/\/|mailto:)[^)\s]+)\)/i.exec(s.slice(i));
        if (m) {
          flush();
          el.append(h('a', { href: m[2], target: '_blank', rel: 'noopener noreferrer' }, m[1]));
          i += m[0].length;
          continue;
        }
      }
      buf += c;
      i++;
    }
    flush();
    return el;
  }

  /* ---- styles (inside the shadow root) ------------------------------------------------ */

  const STYLE = `
:host{all:initial}
*{box-sizing:border-box}
.fw{--p:#0b5fff;--s:#fff;--off:20px;--ring:color-mix(in srgb,var(--p) 55%,#fff);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d2230;-webkit-font-smoothing:antialiased;text-align:left;letter-spacing:normal}
button,input,textarea{font:inherit;color:inherit;letter-spacing:inherit}
button{cursor:pointer}
[hidden]{display:none!important}
:focus-visible{outline:3px solid var(--ring);outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.launcher{position:fixed;z-index:2147483000;bottom:var(--off);right:20px;width:60px;height:60px;border:0;border-radius:50%;padding:0;background:var(--p);color:var(--s);display:grid;place-items:center;box-shadow:0 8px 24px rgba(16,24,40,.22),0 2px 6px rgba(16,24,40,.12);transition:transform .18s ease,box-shadow .18s ease}
.li{display:contents}
.launcher:hover{transform:translateY(-2px) scale(1.04);box-shadow:0 12px 28px rgba(16,24,40,.26)}
.left .launcher{left:20px;right:auto}
.launcher svg{transition:transform .2s ease}
.badge{position:absolute;top:-3px;right:-3px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#e5484d;color:#fff;font-size:12px;font-weight:700;line-height:18px;text-align:center;border:2px solid #fff}
.left .badge{right:auto;left:-3px}
.win{position:fixed;z-index:2147483000;bottom:calc(var(--off) + 76px);right:20px;width:384px;height:min(640px,calc(100vh - var(--off) - 100px));min-height:320px;display:flex;flex-direction:column;background:#fff;border-radius:18px;overflow:hidden;box-shadow:0 16px 48px rgba(16,24,40,.22),0 3px 8px rgba(16,24,40,.10);transform-origin:bottom right;animation:pop .2s cubic-bezier(.2,.8,.3,1)}
.left .win{left:20px;right:auto;transform-origin:bottom left}
@keyframes pop{from{opacity:0;transform:translateY(14px) scale(.97)}}
.head{flex:none;display:flex;align-items:center;gap:12px;padding:16px 10px 16px 16px;background:var(--p);color:var(--s)}
.av{flex:none;width:42px;height:42px;border-radius:50%;display:grid;place-items:center;font-size:18px;font-weight:700;overflow:hidden;background:color-mix(in srgb,var(--s) 22%,transparent);box-shadow:0 0 0 2px color-mix(in srgb,var(--s) 35%,transparent)}
.av img{width:100%;height:100%;object-fit:cover}
.who{flex:1;min-width:0}
.name{margin:0;font-size:16px;font-weight:650;line-height:1.25;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.sub{margin:3px 0 0;font-size:12.5px;line-height:1.35;opacity:.9;overflow:hidden;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical}
.hb{flex:none;width:36px;height:36px;border:0;border-radius:10px;background:transparent;color:inherit;display:grid;place-items:center;opacity:.92}
.hb:hover{background:color-mix(in srgb,var(--s) 18%,transparent);opacity:1}
.hb:focus-visible{outline-color:var(--s)}
.note{flex:none;padding:8px 16px;font-size:12.5px;background:#fff7e0;color:#6b4e00;border-bottom:1px solid #f3e3b5;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.note.err{background:#fdecec;color:#8c1d18;border-color:#f5c6c4}
.note button{border:0;border-radius:8px;padding:4px 10px;background:#fff;color:#1d2230;box-shadow:0 0 0 1px #d6d9e0}
.note button.danger{background:#d1242f;color:#fff;box-shadow:none}
.body{flex:1;min-height:0;display:flex;flex-direction:column;background:#f5f6f8}
.log{flex:1;min-height:0;overflow-y:auto;overscroll-behavior:contain;padding:16px 14px 8px;display:flex;flex-direction:column;gap:4px}
.msg{display:flex;flex-direction:column;align-items:flex-start;max-width:84%;animation:in .18s ease-out}
@keyframes in{from{opacity:0;transform:translateY(6px)}}
.msg.me{align-self:flex-end;align-items:flex-end}
.by{font-size:11.5px;font-weight:600;color:#6b7280;margin:8px 0 3px 4px}
.bub{padding:9px 13px;border-radius:18px 18px 18px 6px;background:#fff;color:#1d2230;box-shadow:0 1px 2px rgba(16,24,40,.07),0 0 0 1px rgba(16,24,40,.04);overflow-wrap:anywhere;max-width:100%}
.me .bub{background:var(--p);color:var(--s);border-radius:18px 18px 6px 18px;box-shadow:none}
.plain{white-space:pre-wrap}
.bub p{margin:0}
.bub ul{margin:4px 0;padding-left:20px}
.bub li{margin:2px 0}
.bub a{color:inherit;text-decoration:underline;text-underline-offset:2px}
.msg.pending .bub{opacity:.7}
.msg.failed .bub{opacity:.55}
.meta{font-size:11px;color:#8a90a0;margin:3px 4px 2px;display:none}
.me.last .meta,.pending .meta,.failed .meta{display:block}
.failed .meta{color:#c0262f}
.sys{align-self:center;margin:8px 0;max-width:92%;padding:4px 12px;border-radius:12px;background:#e9ebf0;color:#5b6172;font-size:12px;text-align:center}
.hr{align-self:stretch;text-align:center;color:#8a90a0;font-size:11.5px;margin:10px 0;display:flex;gap:8px;align-items:center}
.hr::before,.hr::after{content:"";flex:1;border-top:1px solid #dfe2e8}
.img{display:block;border-radius:12px;overflow:hidden;line-height:0}
.img img{display:block;max-width:100%;max-height:220px;object-fit:cover;background:#e9ebf0}
.me .bub.has-img,.bub.has-img{padding:4px;background:#fff;box-shadow:0 0 0 1px rgba(16,24,40,.08)}
.doc{display:flex;align-items:center;gap:8px;color:inherit;text-decoration:none}
.doc span{text-decoration:underline}
.doc small{opacity:.75;white-space:nowrap}
.card{align-self:stretch;margin:4px 0 8px;padding:16px;border-radius:14px;background:#fff;box-shadow:0 1px 2px rgba(16,24,40,.07),0 0 0 1px rgba(16,24,40,.04);display:flex;gap:12px;align-items:flex-start}
.card svg{flex:none;color:var(--p)}
.card p{margin:0;white-space:pre-wrap}
.quick{flex:none;display:flex;flex-wrap:wrap;justify-content:flex-end;gap:6px;padding:4px 14px 10px;max-height:40%;overflow-y:auto}
.quick button{border:1.5px solid var(--p);border-radius:18px;padding:6px 14px;background:#fff;color:var(--p);font-weight:600;line-height:1.3;text-align:left;transition:background .15s,color .15s}
.quick button:hover{background:var(--p);color:var(--s)}
.typing{flex:none;align-self:flex-start;display:flex;align-items:center;gap:8px;margin:0 14px 10px;font-size:12px;color:#6b7280}
.dots{display:inline-flex;gap:4px;padding:11px 13px;border-radius:18px 18px 18px 6px;background:#fff;box-shadow:0 1px 2px rgba(16,24,40,.07)}
.dots i{width:7px;height:7px;border-radius:50%;background:#9aa1b1;animation:blink 1.2s infinite ease-in-out}
.dots i:nth-child(2){animation-delay:.15s}.dots i:nth-child(3){animation-delay:.3s}
@keyframes blink{0%,60%,100%{opacity:.35;transform:none}30%{opacity:1;transform:translateY(-3px)}}
.legal{flex:none;margin:0;padding:6px 16px 8px;font-size:11.5px;color:#6b7280;text-align:center;background:#f5f6f8}
.legal a{color:#4b5263}
.comp{flex:none;border-top:1px solid #e6e8ee;background:#fff;padding:8px 10px 8px 14px}
.comp textarea,.comp input{display:block;width:100%;border:0;outline:0;resize:none;background:transparent;padding:6px 0;min-height:34px;max-height:120px;line-height:1.45}
.comp ::placeholder{color:#9096a5}
.comp :disabled{cursor:not-allowed}
.row{display:flex;align-items:center;gap:6px}
.tool{width:34px;height:34px;border:0;border-radius:10px;background:transparent;color:#6b7280;display:grid;place-items:center}
.tool:hover:not(:disabled){background:#f0f1f5;color:#1d2230}
.count{margin-left:auto;font-size:11.5px;color:#8a90a0;font-variant-numeric:tabular-nums}
.count.over{color:#c0262f;font-weight:600}
.warn{font-size:12px;color:#c0262f;margin:2px 0 4px}
.send{width:36px;height:36px;border:0;border-radius:50%;background:var(--p);color:var(--s);display:grid;place-items:center;transition:opacity .15s}
.send:disabled,.tool:disabled{opacity:.35;cursor:not-allowed}
.ended{flex:none;padding:12px 16px 14px;border-top:1px solid #e6e8ee;background:#fff;text-align:center}
.ended p{margin:0 0 8px;color:#5b6172;font-size:13px}
.primary{border:0;border-radius:12px;padding:10px 18px;background:var(--p);color:var(--s);font-weight:650}
.pre{flex:1;min-height:0;overflow-y:auto;padding:18px 18px 16px;display:flex;flex-direction:column;gap:12px;background:#fff}
.pre h3{margin:0;font-size:15px;font-weight:650}
.pre .lead{margin:-6px 0 2px;color:#5b6172;font-size:13px}
.f label{display:block;font-size:12.5px;font-weight:600;margin:0 0 4px;color:#3b4150}
.f input,.f textarea{display:block;width:100%;border:1px solid #d4d8e0;border-radius:10px;padding:9px 11px;background:#fff;outline:0;resize:vertical}
.f textarea{min-height:76px}
.f input:focus,.f textarea:focus{border-color:var(--p);box-shadow:0 0 0 3px color-mix(in srgb,var(--p) 20%,transparent)}
.f [aria-invalid=true]{border-color:#c0262f}
.f .warn{margin-top:4px}
.pre .primary{width:100%;margin-top:4px}
.pre .legal{background:none;padding:0}
@media (max-width:450px){
.fw .win{inset:0;width:auto;height:auto;min-height:0;border-radius:0;animation:none}
.open .launcher{display:none}
.comp textarea,.comp input,.f input,.f textarea{font-size:16px}
.head{padding-top:calc(14px + env(safe-area-inset-top,0px))}
.comp,.ended{padding-bottom:calc(8px + env(safe-area-inset-bottom,0px))}
}
@media (prefers-reduced-motion:reduce){*,*::before,*::after{animation:none!important;transition:none!important}}
`;

  /* ---- the DOM ------------------------------------------------------------------------- */

  let cfg = settings(null);
  let host, root, ui = {};

  function build() {
    host = h('div', { id: 'flowd-chat' + (CHANNEL ? '-' + CHANNEL.replace(/[^\w-]/g, '') : ''), 'data-flowd': '' });
    const shadow = host.attachShadow({ mode: 'open' });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
      shadow.adoptedStyleSheets = [sheet]; /* not subject to the host page's style-src CSP */
    } catch {
      shadow.append(h('style', null, STYLE));
    }
    const id = (s) => 'fw-' + s;
    ui.name = h('h2', { class: 'name', id: id('name') });
    ui.sub = h('p', { class: 'sub' });
    ui.av = h('span', { class: 'av', 'aria-hidden': 'true' });
    ui.endBtn = h('button', { class: 'hb', type: 'button', 'aria-label': 'End chat', title: 'End chat', onclick: askEnd }, icon(I.end, 20));
    ui.closeBtn = h('button', { class: 'hb', type: 'button', 'aria-label': 'Close chat window', title: 'Close', onclick: () => toggle(false) }, icon(I.down, 24));
    ui.note = h('div', { class: 'note', role: 'status', hidden: true });
    ui.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': 'Messages', tabindex: '0' });
    ui.log.addEventListener('scroll', () => { stick = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80; }, { passive: true });
    ui.typing = h('div', { class: 'typing', hidden: true },
      h('span', { class: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), ui.typingText = h('span', { role: 'status' }));
    ui.quick = h('div', { class: 'quick', role: 'group', 'aria-label': 'Suggested answers', hidden: true });
    ui.legal = h('p', { class: 'legal', hidden: true });
    /* a textarea for text; an input of the matching type while the bot asks for an email, phone or number */
    ui.ta = h('textarea', { rows: '1', 'aria-label': 'Message', placeholder: 'Write a message…', enterkeyhint: 'send', autocomplete: 'off', 'aria-describedby': id('warn') });
    ui.line = h('input', { type: 'text', 'aria-label': 'Message', enterkeyhint: 'send', 'aria-describedby': id('warn'), hidden: true });
    for (const el of [ui.ta, ui.line]) {
      el.addEventListener('input', onInput);
      el.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submitText(); }
      });
    }
    ui.file = h('input', { type: 'file', hidden: true, accept: FILE_TYPES.join(','), tabindex: '-1', 'aria-hidden': 'true' });
    ui.file.addEventListener('change', () => { const f = ui.file.files[0]; ui.file.value = ''; if (f) upload(f); });
    ui.attach = h('button', { class: 'tool', type: 'button', 'aria-label': 'Attach a file', title: 'Attach a file (images, PDF, text; up to 10 MB)', onclick: () => ui.file.click() }, icon(I.clip, 20));
    ui.count = h('span', { class: 'count', 'aria-hidden': 'true' });
    ui.warn = h('div', { class: 'warn', id: id('warn'), 'aria-live': 'assertive', hidden: true });
    ui.send = h('button', { class: 'send', type: 'submit', 'aria-label': 'Send message', title: 'Send' }, icon(I.send, 18));
    ui.comp = h('form', { class: 'comp', novalidate: true, onsubmit: (e) => { e.preventDefault(); submitText(); } },
      ui.ta, ui.line, ui.warn, h('div', { class: 'row' }, ui.attach, ui.file, ui.count, ui.send));
    ui.endedText = h('p');
    ui.ended = h('div', { class: 'ended', hidden: true }, ui.endedText,
      h('button', { class: 'primary', type: 'button', onclick: restart }, 'Start a new chat'));
    ui.pre = h('form', { class: 'pre', novalidate: true, hidden: true, onsubmit: submitForm });
    ui.body = h('div', { class: 'body' }, ui.log, ui.typing, ui.quick, ui.legal);
    ui.win = h('section', { class: 'win', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': id('name'), hidden: true, tabindex: '-1' },
      h('header', { class: 'head' }, ui.av, h('div', { class: 'who' }, ui.name, ui.sub), ui.endBtn, ui.closeBtn),
      ui.note, ui.pre, ui.body, ui.comp, ui.ended);
    ui.badge = h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true });
    ui.launcherIcon = h('span', { class: 'li' });
    ui.launcher = h('button', { class: 'launcher', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'fw-win', onclick: () => toggle() }, ui.launcherIcon, ui.badge);
    ui.win.id = 'fw-win';
    ui.root = h('div', { class: 'fw', hidden: true }, ui.win, ui.launcher);
    ui.root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && isOpen) { e.stopPropagation(); toggle(false); }
    });
    shadow.append(ui.root);
    root = shadow;
    const attach = () => (document.body || document.documentElement).append(host);
    if (document.body) attach();
    else document.addEventListener('DOMContentLoaded', attach, { once: true });
  }

  /* Applies the settings: colours, side, offset, names, avatar, links. */
  function applySettings() {
    const st = ui.root.style;
    st.setProperty('--p', cfg.primary);
    st.setProperty('--s', cfg.secondary);
    st.setProperty('--off', cfg.offset + 'px');
    ui.root.classList.toggle('left', cfg.align === 'left');
    ui.root.hidden = !shown();
    ui.sub.textContent = cfg.welcome;
    ui.sub.hidden = !cfg.welcome;
    ui.legal.replaceChildren();
    legalLinks(ui.legal);
    header();
    composerState();
  }

  function legalLinks(el) {
    const links = [];
    if (cfg.privacy_url) links.push(h('a', { href: cfg.privacy_url, target: '_blank', rel: 'noopener noreferrer' }, 'Privacy Policy'));
    if (cfg.terms_url) links.push(h('a', { href: cfg.terms_url, target: '_blank', rel: 'noopener noreferrer' }, 'Terms'));
    if (!links.length) return false;
    el.append('By chatting, you agree to our ', links[0]);
    if (links[1]) el.append(' and ', links[1]);
    el.append('.');
    return true;
  }

  const shown = () => cfg.visible && !(!cfg.open_now && cfg.after_hours === 'hide');
  const afterHours = () => !cfg.open_now && cfg.after_hours === 'message';
  const displayName = () => agentName || cfg.bot_name;

  function header() {
    const name = displayName();
    ui.name.textContent = name;
    const img = !agentName && cfg.avatar;
    if (img) {
      if (!ui.av.firstChild || ui.av.firstChild.src !== img) ui.av.replaceChildren(h('img', { src: img, alt: '' }));
    } else {
      ui.av.replaceChildren((name.trim()[0] || '?').toUpperCase());
    }
    const label = isOpen ? 'Close chat' : 'Open chat with ' + name + (unread ? `, ${unread} unread message${unread > 1 ? 's' : ''}` : '');
    ui.launcher.setAttribute('aria-label', label);
    ui.launcher.setAttribute('aria-expanded', String(isOpen));
    ui.launcherIcon.replaceChildren(icon(isOpen ? I.down : I.chat, isOpen ? 28 : 30));
    ui.badge.textContent = unread > 99 ? '99+' : String(unread);
    ui.badge.hidden = !unread || isOpen;
    ui.endBtn.hidden = !conv || ended || PREVIEW && !previewEnd;
  }

  /* ---- state ---------------------------------------------------------------------------- */

  let isOpen = false;
  let conv = null;            /* {id, read}: the open conversation (stored) */
  let ended = false;
  let agentName = '';
  let unread = 0;
  let maxSeq = 0;
  let readSent = 0;
  let agentRead = 0;          /* agents read the visitor's messages up to this seq */
  let seen = new Map();       /* seq -> element (or true): every seq shown once */
  let outbox = [];            /* [{id, t: 'text'|'click', text, button, sent}] until acked */
  let counter = 0;
  let askType = 'text';
  let lastButtons = null;     /* labels of the offered buttons */
  let prechatData = null;     /* hello fields of a new conversation */
  let offlineForm = null;     /* the offline form's text while it is open (the quota is used up) */
  let stopped = '';           /* why the widget gave up connecting for good */
  let previewEnd = false;

  /* ---- the socket ----------------------------------------------------------------------- */

  let ws = null, welcomed = false, gen = 0, attempt = 0, retryTimer = 0, pingTimer = 0, pongDue = 0, pageTimer = 0;
  let lastPage = location.pathname, quietUntil = 0;
  const waiters = [];

  function wanted() { return !stopped && !PREVIEW && (!!conv || outbox.length > 0 || isOpen && !needsPrechat() && !afterHours() && !ended); }

  function connect() {
    if (ws || stopped || PREVIEW) return;
    clearTimeout(retryTimer);
    let sock;
    try {
      sock = new WebSocket(ORIGIN.replace(/^http/, 'ws') + '/ws/visitor');
    } catch { retry(); return; }
    ws = sock;
    welcomed = false;
    const mine = ++gen;
    sock.onopen = () => {
      const hello = { type: 'hello', channel: CHANNEL, visitor: VID, page: location.pathname };
      if (D.userId) { hello.user_id = D.userId; hello.user_hash = D.userHash || ''; }
      if (prechatData) Object.assign(hello, prechatData);
      /* a returning visitor's page load only looks: it never starts a conversation */
      else if (!isOpen && !outbox.length) hello.resume_only = true;
      sock.send(JSON.stringify(hello));
    };
    sock.onmessage = (e) => {
      if (mine !== gen) return;
      let f;
      try { f = JSON.parse(e.data); } catch { return; }
      if (f && typeof f === 'object') frame(f);
    };
    sock.onclose = () => { if (mine === gen) lost(); };
  }

  /* Closes the socket without reconnecting. */
  function hangup() {
    const sock = ws;
    ws = null;
    welcomed = false;
    gen++;
    clearInterval(pingTimer);
    clearInterval(pageTimer);
    if (sock) {
      sock.onclose = sock.onmessage = sock.onopen = null;
      try { sock.close(); } catch { /* already closed */ }
    }
    flushQueue();
  }

  /* The connection dropped: reconnect with exponential backoff and jitter. */
  function lost() {
    hangup();
    if (wanted()) {
      note(navigator.onLine === false ? 'You are offline. Messages will be sent when you are back.' : 'Reconnecting…');
      retry();
    }
  }
  function retry() {
    clearTimeout(retryTimer);
    const cap = Math.min(30000, 800 * 2 ** Math.min(attempt++, 6));
    retryTimer = setTimeout(() => { if (wanted()) connect(); }, cap / 2 + Math.random() * cap / 2);
  }
  function reconnectNow() {
    if (!wanted()) return;
    attempt = 0;
    if (!ws) connect();
  }

  function send(f) {
    if (!ws || !welcomed || ws.readyState !== 1) return false;
    try { ws.send(JSON.stringify(f)); return true; } catch { return false; }
  }

  /* Resolves at the next welcome (or after 15 s). */
  function connected() {
    if (welcomed) return Promise.resolve(true);
    connect();
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), 15000);
      waiters.push(() => { clearTimeout(t); resolve(true); });
    });
  }

  window.addEventListener('online', reconnectNow);
  window.addEventListener('offline', () => { if (ws) lost(); });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) { markRead(); reconnectNow(); } });

  /* ---- frames from the server ------------------------------------------------------------- */

  /* Frames that show something go through a queue, so a bot's `pause`
   * (typing with seconds) delays what follows it. */
  const queue = [];
  let holdUntil = 0, holdTimer = 0;

  function frame(f) {
    switch (f.type) {
      case 'welcome': flushQueue(); welcome(f); return;
      case 'ack': ack(f); return;
      case 'error': error(f); return;
      case 'pong': pongDue = 0; return;
      case 'read': agentReadUpTo(+f.seq || 0); return;
      case 'typing': if (f.from === 'agent') { agentTyping(f); return; } break;
    }
    queue.push(f);
    pump();
  }
  function pump() {
    while (queue.length && now() >= holdUntil) {
      const f = queue.shift();
      if (f.type === 'typing') {
        const ms = Math.min(Math.max(+f.seconds || 0, 0), 8) * 1000;
        if (ms > 0) {
          holdUntil = now() + ms;
          typing(displayName() + ' is typing…');
          clearTimeout(holdTimer);
          holdTimer = setTimeout(() => { holdUntil = 0; typing(''); pump(); }, ms);
        }
        continue;
      }
      show(f);
    }
  }
  function flushQueue() {
    clearTimeout(holdTimer);
    if (holdUntil) typing('');
    holdUntil = 0;
    pump();
  }

  function welcome(f) {
    if (f.status === 'none') { /* their conversation was closed while they were away: nothing to show */
      hangup();
      if (conv) newConversation();
      conv = null;
      store.set('conv', null);
      view();
      if (wanted()) connect(); /* they opened the window meanwhile */
      return;
    }
    welcomed = true;
    attempt = 0;
    note('');
    const id = f.conversation;
    if (conv && conv.id !== id) newConversation();
    if (!conv || conv.id !== id) conv = { id, read: 0 };
    if (Number.isFinite(f.read_seq)) conv.read = Math.max(conv.read, f.read_seq);
    if (!f.resumed && !isOpen) quietUntil = now() + 2000; /* a conversation the visitor did not start yet: no badge */
    store.set('conv', conv);
    prechatData = null;
    ended = false;
    offlineForm = f.status === 'offline' || f.offline_form ? offlineForm || DEFAULT_OFFLINE : null;
    if (typeof f.agent === 'string' && f.agent) agentName = f.agent;
    readSent = 0;
    for (const e of outbox) e.sent = 0;
    flushOutbox();
    send({ type: 'window', open: isOpen });
    clearInterval(pingTimer);
    pingTimer = setInterval(ping, 20000);
    clearInterval(pageTimer);
    pageTimer = setInterval(pageCheck, 1000);
    view();
    waiters.splice(0).forEach((w) => w());
    setTimeout(markRead, 0);
  }

  function ping() {
    if (pongDue && now() > pongDue) { lost(); return; } /* no pong for a whole round: the line is dead */
    if (send({ type: 'ping' })) pongDue = pongDue || now() + 15000;
  }
  function pageCheck() {
    if (location.pathname !== lastPage) {
      lastPage = location.pathname;
      send({ type: 'page', page: lastPage });
    }
  }

  function ack(f) {
    const i = outbox.findIndex((e) => e.id === f.id);
    if (i < 0) return;
    const e = outbox[i];
    outbox.splice(i, 1);
    saveOutbox();
    const el = e.el || ui.log.querySelector(`[data-id="${CSS.escape(e.id)}"]`);
    if (el) {
      el.classList.remove('pending');
      if (f.seq && !el.dataset.seq) setSeq(el, +f.seq);
      showStatus(el);
    }
  }

  function error(f) {
    const msg = typeof f.message === 'string' ? f.message : f.code;
    if (f.code === 'bad_hello' || f.code === 'bad_identity') {
      stopped = f.code;
      hangup();
      note(f.code === 'bad_identity' ? 'We could not verify your identity, so the chat is unavailable. Please sign in again.' : 'The chat is unavailable right now.', true);
      composerState();
      waiters.splice(0).forEach((w) => w());
      return;
    }
    if (f.code === 'bad_form') {
      offlineForm = offlineForm || DEFAULT_OFFLINE;
      view();
      note('Please check the form: a name, a valid email address and a message are needed.', true);
      return;
    }
    if (f.code === 'rate_limited' && !f.id) {
      /* a dropped frame is not named: send every unacknowledged input and the read mark again (the server dedupes) */
      for (const x of outbox) x.sent = 0;
      readSent = 0;
      clearTimeout(flushTimer);
      flushTimer = setTimeout(() => { flushOutbox(); markRead(); }, 1100);
      return;
    }
    const e = f.id && outbox.find((x) => x.id === f.id);
    if (!e) return;
    if (f.code === 'rate_limited' || f.code === 'server_busy') {
      e.sent = 0;
      setTimeout(flushOutbox, 1500);
      return;
    }
    outbox.splice(outbox.indexOf(e), 1);
    saveOutbox();
    const el = e.el || ui.log.querySelector(`[data-id="${CSS.escape(e.id)}"]`);
    if (el) fail(el, f.code === 'ended' ? 'Not sent: this chat has ended.' : f.code === 'too_long' ? 'Not sent: messages are at most 512 characters.' : 'Not sent: ' + msg);
    if (f.code === 'ended') over('This chat has ended.');
  }

  function show(f) {
    const seq = +f.seq || 0;
    if (seq && seen.has(seq)) return;
    switch (f.type) {
      case 'message': {
        const text = typeof f.text === 'string' ? f.text : '';
        if (f.from === 'visitor') return visitorEcho(seq, text);
        if (f.from === 'system') return system(text, seq);
        if (f.from === 'agent') {
          const name = typeof f.name === 'string' && f.name ? f.name : agentName || 'Agent';
          if (name !== agentName && f.name) { agentName = name; header(); }
          typing('');
        }
        incoming(seq, f.from === 'agent' ? 'agent' : 'bot', f.from === 'agent' ? agentName || 'Agent' : cfg.bot_name, text);
        return;
      }
      case 'file': {
        const file = f.file && typeof f.file === 'object' ? f.file : {};
        if (f.from === 'visitor') {
          const el = unmatched(fileKey(file));
          if (el) { setSeq(el, seq); return; }
          const m = message('me', null, fileNode(file));
          m.dataset.key = fileKey(file);
          setSeq(m, seq);
          lastMine(m);
          return;
        }
        if (typeof f.name === 'string' && f.name && f.from === 'agent') { agentName = f.name; header(); }
        const m = message(f.from === 'agent' ? 'agent' : 'bot', byline(f.from === 'agent' ? agentName || 'Agent' : cfg.bot_name), fileNode(file));
        setSeq(m, seq);
        arrived(seq);
        return;
      }
      case 'buttons':
        if (seq) seen.set(seq, true);
        bump(seq);
        offer(Array.isArray(f.buttons) ? f.buttons.filter((b) => typeof b === 'string') : []);
        setAsk('text');
        return;
      case 'ask': setAsk(f.input); return;
      case 'offline_form': {
        const wasIn = isOpen && ui.win.contains(root.activeElement);
        offlineForm = typeof f.message === 'string' && f.message ? f.message.slice(0, 1000) : offlineForm || DEFAULT_OFFLINE;
        offer([]);
        typing('');
        formMode = '';
        view();
        if (wasIn || isOpen) focusInside();
        if (!isOpen) { unread++; header(); }
        return;
      }
      case 'agent_joined': {
        const name = typeof f.name === 'string' && f.name ? f.name : 'An agent';
        agentName = name;
        typing('');
        offer([]);
        setAsk('text');
        system(name + ' joined the chat', seq);
        header();
        return;
      }
      case 'status':
        if (f.status === 'queued' || f.status === 'agent') { offer([]); setAsk('text'); }
        if (f.status === 'closed') over('This chat was closed.');
        return;
      case 'ended':
        if (f.outcome !== 'handoff') over('This chat has ended.');
        return;
    }
  }

  /* ---- the transcript ----------------------------------------------------------------------- */

  let lastBy = '';

  function byline(name) {
    if (lastBy === name) return null;
    return name;
  }

  /* Adds a message element: seq'd messages go before the visitor's pending
   * ones (they are older than anything not acknowledged yet). */
  function message(kind, by, content, extra) {
    const atBottom = stick || ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80;
    const who = kind === 'me' ? 'You' : by || lastBy || displayName();
    const bub = h('div', { class: 'bub' }, h('span', { class: 'sr' }, who + ': '), content);
    if (content && content.classList && content.classList.contains('img')) bub.classList.add('has-img');
    const el = h('div', { class: 'msg ' + kind + (extra ? ' ' + extra : '') },
      kind !== 'me' && by ? h('div', { class: 'by', 'aria-hidden': 'true' }, by) : null, bub);
    if (kind === 'me') el.append(h('div', { class: 'meta' }));
    add(el);
    lastBy = kind === 'me' ? '' : who;
    if (atBottom || kind === 'me') scrollDown();
    return el;
  }
  function add(el) {
    const first = ui.log.querySelector('.pending:not([data-seq])');
    if (first && !el.classList.contains('pending')) ui.log.insertBefore(el, first);
    else ui.log.append(el);
  }
  /* whether the transcript follows new messages (the visitor has not scrolled up) */
  let stick = true;
  function scrollDown() { requestAnimationFrame(() => { ui.log.scrollTop = ui.log.scrollHeight; }); }

  function setSeq(el, seq) {
    if (!seq) return;
    el.dataset.seq = seq;
    seen.set(seq, el);
    bump(seq);
    showStatus(el);
  }
  function bump(seq) { if (seq > maxSeq) maxSeq = seq; }

  function system(text, seq) {
    if (seq) { seen.set(seq, true); bump(seq); }
    add(h('div', { class: 'sys' }, text));
    lastBy = '';
    scrollDown();
  }

  /* A bot or agent message. */
  function incoming(seq, kind, name, text) {
    const m = message(kind, byline(name), kind === 'bot' ? markdown(text) : h('span', { class: 'plain' }, text));
    setSeq(m, seq);
    arrived(seq);
  }

  /* Counts it as unread unless the visitor can see it now. */
  function arrived(seq) {
    if (visible()) { clearTimeout(readTimer); readTimer = setTimeout(markRead, 120); return; }
    if (seq && conv && seq <= conv.read) return;
    if (now() < quietUntil) return;
    unread++;
    header();
  }
  const visible = () => isOpen && !document.hidden;
  let readTimer = 0;

  function markRead() {
    if (!visible() || !conv) return;
    if (unread) { unread = 0; header(); }
    if (maxSeq > conv.read) { conv.read = maxSeq; store.set('conv', conv); }
    if (maxSeq > readSent && send({ type: 'read', seq: maxSeq })) readSent = maxSeq;
  }

  /* A visitor message from the server (history): the pending bubble with
   * the same text takes its seq, so nothing shows twice. */
  function visitorEcho(seq, text) {
    const el = unmatched(text);
    if (el) { el.classList.remove('pending'); setSeq(el, seq); return; }
    const m = message('me', null, h('span', { class: 'plain' }, text));
    m.dataset.key = text;
    setSeq(m, seq);
    lastMine(m);
    offer([]);
  }
  function unmatched(key) {
    for (const el of ui.log.querySelectorAll('.msg.me:not([data-seq])')) if (el.dataset.key === key && !el.classList.contains('failed')) return el;
    return null;
  }
  function lastMine(el) {
    for (const x of ui.log.querySelectorAll('.msg.me.last')) x.classList.remove('last');
    el.classList.add('last');
    legalState();
  }
  function showStatus(el) {
    const meta = el.querySelector('.meta');
    if (!meta || el.classList.contains('failed')) return;
    const seq = +el.dataset.seq || 0;
    meta.textContent = el.classList.contains('pending') ? 'Sending…' : seq && seq <= agentRead ? 'Read' : 'Sent';
  }
  function fail(el, why) {
    el.classList.remove('pending');
    el.classList.add('failed');
    el.querySelector('.meta').textContent = why;
  }
  function agentReadUpTo(seq) {
    if (seq <= agentRead) return;
    agentRead = seq;
    for (const el of ui.log.querySelectorAll('.msg.me[data-seq]')) showStatus(el);
  }

  function typing(text) {
    ui.typingText.textContent = text;
    ui.typing.hidden = !text;
    if (text) scrollDown();
  }
  let agentTypingTimer = 0;
  function agentTyping(f) {
    clearTimeout(agentTypingTimer);
    if (f.typing === false) { typing(''); return; }
    typing((typeof f.name === 'string' && f.name ? f.name : agentName || 'An agent') + ' is typing…');
    agentTypingTimer = setTimeout(() => typing(''), 15000);
  }

  function offer(labels) {
    lastButtons = labels.length ? labels : null;
    ui.quick.replaceChildren(...labels.map((label, i) => h('button', { type: 'button', onclick: () => click(i, label) }, label)));
    ui.quick.hidden = !labels.length || ended;
    if (labels.length) scrollDown();
  }

  function setAsk(type) {
    askType = ['email', 'phone', 'number'].includes(type) ? type : 'text';
    const line = ui.line, old = cur();
    const next = askType === 'text' ? ui.ta : line;
    /* type=number would refuse answers the bot accepts ("1 200", "2,5"): a number is text with a decimal keypad */
    line.type = { email: 'email', phone: 'tel' }[askType] || 'text';
    line.setAttribute('inputmode', { email: 'email', phone: 'tel', number: 'decimal' }[askType] || 'text');
    line.setAttribute('autocomplete', { email: 'email', phone: 'tel' }[askType] || 'off');
    line.placeholder = { email: 'Your email address…', phone: 'Your phone number…', number: 'Type a number…' }[askType] || '';
    ui.ta.placeholder = 'Write a message…';
    ui.comp.dataset.ask = askType;
    if (next !== old) {
      const focused = root && root.activeElement === old;
      next.value = old.value.replace(/\n/g, ' ');
      old.value = '';
      ui.ta.hidden = next !== ui.ta;
      line.hidden = next !== line;
      if (focused) next.focus();
    }
  }
  const cur = () => (ui.ta.hidden ? ui.line : ui.ta);

  function note(text, err) {
    ui.note.replaceChildren();
    if (text) ui.note.append(text);
    ui.note.hidden = !text;
    ui.note.classList.toggle('err', !!err);
  }

  /* ---- sending --------------------------------------------------------------------------- */

  function nextId() {
    counter = (store.get('n', counter) | 0) + 1;
    store.set('n', counter);
    return `${VID}-${counter.toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  }
  function saveOutbox() {
    store.set('outbox', outbox.length ? outbox.map(({ id, t, text, button }) => ({ id, t, text, button })) : null);
  }

  /* Sends the unacknowledged inputs in order (again after a reconnect; the
   * server acknowledges a known id again without running it twice). */
  let flushTimer = 0;
  function flushOutbox() {
    if (!welcomed) return;
    let n = 0;
    for (const e of outbox) {
      if (e.sent === gen) continue;
      if (n >= 10) { clearTimeout(flushTimer); flushTimer = setTimeout(flushOutbox, 1100); return; }
      const f = e.t === 'click' ? { type: 'click', id: e.id, button: e.button } : { type: 'text', id: e.id, text: e.text };
      if (!send(f)) return;
      e.sent = gen;
      n++;
    }
  }

  function pendingBubble(e) {
    const el = message('me', null, h('span', { class: 'plain' }, e.text), 'pending');
    el.dataset.id = e.id;
    el.dataset.key = e.text;
    e.el = el;
    lastMine(el);
    showStatus(el);
    return el;
  }

  function input(e) {
    if (PREVIEW) { const el = message('me', null, h('span', { class: 'plain' }, e.text)); lastMine(el); return; }
    e.id = nextId();
    e.sent = 0;
    outbox.push(e);
    saveOutbox();
    pendingBubble(e);
    offer([]);
    if (welcomed) flushOutbox();
    else connect();
  }

  function submitText() {
    const el = cur();
    const text = el.value.replace(/^\s+|\s+$/g, '');
    if (!text || sendingDisabled()) return;
    if (chars(text) > MAX_CHARS) { onInput(); el.focus(); return; }
    el.value = '';
    onInput();
    stopTyping();
    input({ t: 'text', text });
  }
  function click(i, label) {
    if (sendingDisabled()) return;
    input({ t: 'click', button: i, text: label });
    cur().focus();
  }
  const sendingDisabled = () => ended || afterHours() || !!stopped;

  /* The counter, the 512-character warning, the height, typing frames. */
  let typingSent = 0, typingIdle = 0;
  function onInput() {
    const ta = cur();
    const n = chars(ta.value);
    const over = n > MAX_CHARS;
    ui.count.textContent = n ? `${n}/${MAX_CHARS}` : '';
    ui.count.classList.toggle('over', over);
    ui.warn.hidden = !over;
    ui.warn.textContent = over ? `Messages can be at most ${MAX_CHARS} characters (${n - MAX_CHARS} too many).` : '';
    ui.send.disabled = over || sendingDisabled() || !ta.value.trim();
    if (ta === ui.ta) {
      ta.style.height = 'auto';
      ta.style.height = Math.min(ta.scrollHeight, 120) + 'px';
    }
    if (!n) { stopTyping(); return; }
    if (now() - typingSent > 3000 && send({ type: 'typing', typing: true })) typingSent = now();
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, 4000);
  }
  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSent) send({ type: 'typing', typing: false });
    typingSent = 0;
  }

  function composerState() {
    const off = sendingDisabled();
    ui.ta.disabled = ui.line.disabled = off;
    ui.attach.disabled = off;
    setAsk(askType);
    if (afterHours()) ui.ta.placeholder = 'Chat is closed right now';
    else if (stopped) ui.ta.placeholder = 'Chat unavailable';
    ui.comp.hidden = ended || prechatShown();
    ui.ended.hidden = !ended;
    ui.quick.hidden = ended || !lastButtons;
    onInputQuiet();
    legalState();
    header();
  }
  function onInputQuiet() {
    const v = cur().value;
    ui.send.disabled = chars(v) > MAX_CHARS || sendingDisabled() || !v.trim();
  }
  function legalState() {
    ui.legal.hidden = !ui.legal.firstChild || !!ui.log.querySelector('.msg.me') || prechatShown() || ended;
  }

  /* ---- attachments ---------------------------------------------------------------------- */

  /* An upload and its echo from the server are matched by type and size
   * (the server may clean the name). */
  const fileKey = (f) => `file:${f.type}:${f.size}`;
  function fileUrl(file) {
    let u = typeof file.url === 'string' && /^\/[^/\\]/.test(file.url) ? file.url : file.id != null ? '/files/' + enc(file.id) : '';
    if (!u) return '';
    if (!/[?&]visitor=/.test(u)) u += (u.includes('?') ? '&' : '?') + 'visitor=' + enc(VID);
    return ORIGIN + u;
  }
  function size(n) {
    n = +n || 0;
    return n >= 1048576 ? (n / 1048576).toFixed(1) + ' MB' : n >= 1024 ? Math.round(n / 1024) + ' KB' : n + ' B';
  }
  function fileNode(file, localUrl) {
    const name = typeof file.name === 'string' && file.name ? file.name : 'file';
    const url = localUrl || fileUrl(file);
    if (IMAGE_TYPES.includes(file.type) && url) {
      return h('a', { class: 'img', href: url, target: '_blank', rel: 'noopener noreferrer', title: name },
        h('img', { src: url, alt: name, onload: () => { if (stick) scrollDown(); } }));
    }
    const kids = [icon(I.file, 20), h('span', null, name), h('small', null, size(file.size))];
    return url ? h('a', { class: 'doc', href: url, target: '_blank', rel: 'noopener noreferrer', download: name }, ...kids)
      : h('span', { class: 'doc' }, ...kids);
  }

  async function upload(file) {
    if (sendingDisabled()) return;
    if (!FILE_TYPES.includes(file.type)) { system(`“${file.name}” was not sent: only images (PNG, JPEG, GIF, WebP), PDF and text files can be sent.`); return; }
    if (file.size > MAX_FILE) { system(`“${file.name}” was not sent: files can be at most 10 MB.`); return; }
    const local = IMAGE_TYPES.includes(file.type) ? URL.createObjectURL(file) : '';
    const el = message('me', null, fileNode({ name: file.name, type: file.type, size: file.size }, local), 'pending');
    el.dataset.key = fileKey(file);
    lastMine(el);
    el.querySelector('.meta').textContent = 'Uploading…';
    if (!(await connected()) || !conv) { fail(el, 'Not sent: no connection.'); return; }
    try {
      const r = await fetch(`${ORIGIN}/api/visitor/files?channel=${enc(CHANNEL)}&visitor=${enc(VID)}&conversation=${enc(conv.id)}`, {
        method: 'POST', body: file, credentials: 'omit',
        /* the name's UTF-8 bytes (a header carries bytes, not text) */
        headers: { 'Content-Type': file.type, 'X-File-Name': String.fromCharCode(...new TextEncoder().encode(file.name.replace(/[\0-\x1f\x7f]/g, '_').slice(0, 200))) },
      });
      const j = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error(r.status === 413 ? 'the file is too large' : r.status === 415 ? 'this file type is not allowed' : j.error || 'upload failed');
      el.classList.remove('pending');
      const seq = +(j.seq || j.file && j.file.seq || 0);
      if (seq && !seen.has(seq)) setSeq(el, seq);
      else showStatus(el);
    } catch (err) {
      fail(el, 'Not sent: ' + (err && err.message && !/fetch/i.test(err.message) ? err.message : 'upload failed') + '.');
    }
  }

  /* ---- open, close, end, pre-chat ---------------------------------------------------------- */

  function toggle(open = !isOpen) {
    if (open === isOpen) return;
    isOpen = open;
    store.set('open', open || null);
    ui.win.hidden = !open;
    ui.root.classList.toggle('open', open);
    header();
    if (open) {
      view();
      if (!PREVIEW) {
        if (wanted()) connect();
        send({ type: 'window', open: true });
        markRead();
      }
      scrollDown();
      focusInside();
    } else {
      send({ type: 'window', open: false });
      ui.launcher.focus();
    }
  }
  function focusInside() {
    const narrow = matchMedia('(max-width: 450px)').matches;
    setTimeout(() => {
      if (!isOpen) return;
      const first = prechatShown() ? ui.pre.querySelector('input') : !cur().disabled && !ui.comp.hidden && !narrow ? cur() : null;
      (first || ui.win).focus();
    }, 30);
  }

  /* The body of the window: a form (pre-chat or offline), the after-hours
   * card, or the transcript. */
  const needsPrechat = () => cfg.prechat && !conv && !prechatData && !afterHours();
  const prechatShown = () => !ui.pre.hidden;
  let formMode = '';
  function view() {
    const mode = PREVIEW ? (previewView === 'prechat' ? 'pre' : '')
      : stopped || ended ? '' : offlineForm !== null ? 'off' : needsPrechat() ? 'pre' : '';
    if (mode && (mode !== formMode || ui.pre.hidden)) buildForm(mode);
    formMode = mode;
    ui.pre.hidden = !mode;
    ui.body.hidden = !!mode;
    const card = ui.log.querySelector('.card');
    if (afterHours() && !card) ui.log.prepend(h('div', { class: 'card' }, icon(I.moon, 22), h('p', null, cfg.after_hours_message)));
    if (!afterHours() && card) card.remove();
    composerState();
  }

  const FORMS = {
    pre: ['Start a conversation', 'Tell us a little about yourself and we will be right with you.', 'Start chat',
      [['name', 'Name', 'text', 'name'], ['email', 'Email', 'email', 'email'], ['subject', 'Subject', 'text', 'off'], ['message', 'Message', 'textarea']]],
    off: ['Leave us a message', '', 'Send message',
      [['name', 'Name', 'text', 'name'], ['email', 'Email', 'email', 'email'], ['message', 'Message', 'textarea']]],
  };
  function buildForm(mode) {
    const saved = store.get('me', {}) || {};
    const [title, lead, button, fields] = FORMS[mode];
    const field = ([name, label, type, auto]) => {
      const id = 'fw-pre-' + name;
      const ctl = type === 'textarea' ? h('textarea', { id, name, rows: '3', required: true, 'aria-describedby': id + '-e' })
        : h('input', { id, name, type, required: true, autocomplete: auto, 'aria-describedby': id + '-e' });
      if (typeof saved[name] === 'string') ctl.value = saved[name];
      return h('div', { class: 'f' }, h('label', { for: id }, label), ctl, h('div', { class: 'warn', id: id + '-e', hidden: true }));
    };
    const legal = h('p', { class: 'legal' });
    ui.pre.replaceChildren(h('h3', null, title), h('p', { class: 'lead' }, mode === 'off' ? offlineForm : lead),
      ...fields.map(field), h('button', { class: 'primary', type: 'submit' }, button));
    if (legalLinks(legal)) ui.pre.append(legal);
  }

  function submitForm(e) {
    e.preventDefault();
    if (PREVIEW) return;
    const data = {};
    let bad = null;
    for (const [n] of FORMS[formMode][3]) {
      const ctl = ui.pre.elements[n];
      const v = ctl.value.trim();
      let why = v ? '' : 'Please fill this in.';
      if (!why && n === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) why = 'Please enter a valid email address.';
      if (!why && n !== 'message' && v.length > 200) why = 'At most 200 characters.';
      if (!why && n === 'message' && chars(v) > MAX_CHARS) why = `At most ${MAX_CHARS} characters.`;
      const warn = ui.pre.querySelector('#fw-pre-' + n + '-e');
      warn.textContent = why;
      warn.hidden = !why;
      ctl.setAttribute('aria-invalid', String(!!why));
      if (why && !bad) bad = ctl;
      data[n] = v;
    }
    if (bad) { bad.focus(); return; }
    store.set('me', { name: data.name, email: data.email });
    if (formMode === 'off') {
      if (!send({ type: 'offline_form', ...data })) { note('You are offline; send the form again when the connection is back.', true); return; }
      offlineForm = null;
      view();
      const m = message('me', null, h('span', { class: 'plain' }, data.message));
      m.dataset.key = data.message;
      lastMine(m);
      system(`Thanks, ${data.name}! We will get back to you at ${data.email}.`);
      focusInside();
      return;
    }
    prechatData = data;
    view();
    const m = message('me', null, h('span', { class: 'plain' }, data.message));
    m.dataset.key = data.message;
    lastMine(m);
    composerState();
    connect();
    focusInside();
  }

  function askEnd() {
    if (!conv || ended || PREVIEW) return;
    note('');
    ui.note.append('End this chat?',
      h('button', { type: 'button', class: 'danger', onclick: endChat }, 'End chat'),
      h('button', { type: 'button', onclick: () => { note(''); ui.endBtn.focus(); } }, 'Cancel'));
    ui.note.hidden = false;
    ui.note.querySelector('button').focus();
  }
  function endChat() {
    note('');
    if (!send({ type: 'end' })) { note('You are offline; try again when the connection is back.', true); return; }
    over('You ended the chat.');
  }

  /* The conversation is closed for good: writing again starts a new one. */
  function over(text) {
    if (ended) return;
    ended = true;
    offlineForm = null;
    system(text);
    typing('');
    offer([]);
    setAsk('text');
    conv = null;
    store.set('conv', null);
    outbox = outbox.filter((e) => { if (e.el) fail(e.el, 'Not sent: this chat has ended.'); return false; });
    saveOutbox();
    ui.endedText.textContent = 'This chat has ended.';
    hangup();
    composerState();
    if (isOpen && ui.win.contains(root.activeElement) && !ui.ended.hidden) ui.ended.querySelector('button').focus();
  }

  function newConversation() {
    seen = new Map();
    maxSeq = 0;
    agentRead = 0;
    agentName = '';
    if (ui.log.querySelector('.msg')) add(h('div', { class: 'hr' }, 'New conversation'));
    lastBy = '';
  }

  function restart() {
    hangup();
    ended = false;
    conv = null;
    offlineForm = null;
    agentName = '';
    seen = new Map();
    maxSeq = agentRead = 0;
    ui.log.replaceChildren();
    lastBy = '';
    offer([]);
    view();
    if (!prechatShown()) connect();
    focusInside();
  }

  /* ---- preview (admin settings page) ------------------------------------------------------ */

  let previewView = 'closed';
  function preview(msg) {
    cfg = settings({ ...msg.settings, visible: true, open_now: msg.view !== 'after-hours' });
    previewView = ['closed', 'open', 'prechat', 'after-hours'].includes(msg.view) ? msg.view : 'closed';
    ui.log.replaceChildren();
    lastBy = '';
    ended = false;
    agentName = '';
    unread = 0;
    conv = null;
    applySettings();
    if (previewView === 'open') {
      previewEnd = true;
      conv = { id: 0, read: 0 };
      incoming(0, 'bot', cfg.bot_name, 'Hi! I am ' + cfg.bot_name + '. How can we help you today?');
      const m = message('me', null, h('span', { class: 'plain' }, 'How much does it cost?'));
      lastMine(m);
      m.querySelector('.meta').textContent = 'Read';
      incoming(0, 'bot', cfg.bot_name, 'Our plans:\n- **Starter**: 10 EUR a month\n- **Team**: 49 EUR a month\nSee [all prices](https://example.com/pricing).');
      offer(['Book a demo', 'Talk to a person']);
    } else {
      previewEnd = false;
      offer([]);
    }
    const open = previewView !== 'closed';
    if (open !== isOpen) {
      isOpen = open;
      ui.win.hidden = !open;
      ui.root.classList.toggle('open', open);
    }
    ui.pre.hidden = true;
    view();
    header();
  }

  /* ---- start ------------------------------------------------------------------------------ */

  function start() {
    build();
    if (PREVIEW) {
      window.addEventListener('message', (e) => {
        const m = e.data;
        if (m && m.type === 'flowd-preview' && m.settings && typeof m.settings === 'object' &&
          (e.source === window.parent || e.source === window)) preview(m);
      });
      applySettings();
      return;
    }
    conv = store.get('conv', null);
    if (!conv || typeof conv.id !== 'number') conv = null;
    const saved = store.get('outbox', null);
    outbox = Array.isArray(saved) ? saved.filter((e) => e && typeof e.id === 'string' && typeof e.text === 'string') : [];
    fetch(`${ORIGIN}/api/widget/config?channel=${enc(CHANNEL)}&page=${enc(location.pathname)}`, { credentials: 'omit' })
      .then(async (r) => {
        const j = await r.json().catch(() => null);
        if (r.ok) return j;
        if (r.status === 404 && j && /channel/i.test(j.error || '')) return { visible: false };
        return null; /* an older server: the defaults */
      }, () => null)
      .then((j) => {
        cfg = settings(j);
        applySettings();
        if (!shown()) return;
        for (const e of outbox) pendingBubble(e);
        if (store.get('open', false)) toggle(true);
        else if (conv || outbox.length) connect(); /* a returning visitor: history and unread count */
      });
  }
  start();
})();
