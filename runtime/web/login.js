/* The sign-in page: POST /api/login, then back to ?next= (a local path only)
 * or the inbox. */
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);

  function nextPage() {
    const n = new URLSearchParams(location.search).get('next') || '';
    // only a path on this site: no scheme, no //host, no backslashes
    return /^\/(?![\/\\])[^\s]*$/.test(n) && !n.startsWith('/login.html') ? n : '/inbox.html';
  }

  let retryTimer = null;
  async function submit(e) {
    e.preventDefault();
    const user = $('user').value.trim(), password = $('password').value;
    const err = $('error');
    if (!user || !password) { err.textContent = 'Enter your user name and password.'; return; }
    $('submit').disabled = true;
    err.textContent = '';
    try {
      const res = await fetch('/api/login', {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user, password }),
      });
      let body = {};
      try { body = await res.json(); } catch (x) { /* no body */ }
      if (res.ok) { location.href = nextPage(); return; }
      if (res.status === 429) {
        let left = Number(body.retry_after || res.headers.get('Retry-After') || 60);
        const tick = () => {
          err.textContent = `Too many attempts. Try again in ${left} s.`;
          if (left-- <= 0) { clearInterval(retryTimer); err.textContent = ''; $('submit').disabled = false; }
        };
        clearInterval(retryTimer);
        tick();
        retryTimer = setInterval(tick, 1000);
        return;
      }
      err.textContent = res.status === 401 ? 'Wrong user or password.' : (body.error || `Sign-in failed (HTTP ${res.status}).`);
      $('password').select();
    } catch (x) {
      err.textContent = 'The server did not answer. Check your connection.';
    }
    $('submit').disabled = false;
  }

  function main() {
    $('login').addEventListener('submit', submit);
    // already signed in: straight on
    fetch('/api/me', { credentials: 'same-origin' }).then((r) => { if (r.ok) location.replace(nextPage()); }, () => {});
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main); else main();
})();
