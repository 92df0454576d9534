// Black-box test of outgoing webhooks (docs/api.md "Webhooks"): a receiver
// on loopback gets every event of a conversation's life, signed with
// HMAC-SHA256; a receiver that fails gets retries; a dead receiver never
// slows a conversation down.
//
// usage: node webhooks.mjs FLOWD
import crypto from 'node:crypto';
import http from 'node:http';
import {
  Flowd, assert, assertEq, flowdPath, flowsFolder, freshVisitorId, runMain, tempDir, until,
} from './lib.mjs';

const flowd = flowdPath();

const FLOW = `flow "Hooks"

var email: email

node start {
  say "Hi!"
  choice {
    "Leave my email" -> leave
    "Human" -> human
  }
}

node leave {
  ask email "Your email?"
  lead { email: email }
  say "Thanks!"
  end
}

node human {
  handoff "support" {
    online "Connecting..."
    wait 10m
    offline -> leave
  }
}
`;

/* A receiver: records deliveries; `fail` answers 500 that many times first. */
async function receiver({ fail = 0 } = {}) {
  const got = [];
  let failures = fail;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      got.push({ headers: req.headers, body, at: Date.now() });
      if (failures > 0) { failures--; res.writeHead(500); res.end('no'); return; }
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, got, close: () => new Promise((r) => server.close(r)) };
}

function verify(delivery, secret) {
  const sig = delivery.headers['x-flowd-signature'];
  const ts = delivery.headers['x-flowd-timestamp'];
  const want = 'sha256=' + crypto.createHmac('sha256', secret).update(`${ts}.${delivery.body}`).digest('hex');
  return sig === want;
}

runMain(async (results) => {
  const flows = flowsFolder('hooks', { 'hooks.flow': FLOW });
  const srv = await new Flowd({ flowd, flows, data: tempDir('hooks-data'), extra: ['--channel', 'shop=hooks'] }).start();
  const rx = await receiver();
  const secret = 'a-secret-shared-with-the-crm';

  await results.check('subscriptions: bad url and unknown events refused; created with a secret', async () => {
    assertEq((await srv.agent('POST', '/api/webhooks', { url: 'ftp://x' })).status, 400, 'bad url');
    assertEq((await srv.agent('POST', '/api/webhooks', { url: rx.url, events: ['nope'] })).status, 400, 'unknown event');
    const r = await srv.agent('POST', '/api/webhooks', { url: rx.url, secret });
    assertEq(r.status, 201, 'created');
    const list = await srv.agent('GET', '/api/webhooks');
    assert(list.body.some((h) => h.url === rx.url), 'listed');
  });

  await results.check('a conversation\'s life arrives signed: created, message, lead, handoff, assigned, closed', async () => {
    await srv.setAgents(1);
    const v = await srv.visitor({ channel: 'shop', visitor: freshVisitorId('h') });
    await v.click('c1', 0);
    await v.text('c2', 'ann@example.com');
    const v2 = await srv.visitor({ channel: 'shop', visitor: freshVisitorId('h2') });
    await v2.click('d1', 1);
    const id2 = v2.welcome.conversation;
    assertEq((await srv.agent('POST', `/api/conversations/${id2}/reply`, { agent: 'Anna', text: 'Hello!' })).status, 200, 'reply');
    assertEq((await srv.agent('POST', `/api/conversations/${id2}/close`, {})).status, 200, 'close');
    const want = ['conversation.created', 'message.created', 'lead.created', 'conversation.closed', 'handoff.requested',
      'conversation.assigned'];
    await until(() => want.every((e) => rx.got.some((d) => JSON.parse(d.body).event === e)), 10000, `events ${want}`);
    for (const d of rx.got) {
      assert(verify(d, secret), `bad signature on ${d.body}`);
      const b = JSON.parse(d.body);
      assert(b.id && b.at && b.data && typeof b.data.conversation === 'number', `shape: ${d.body}`);
      assertEq(d.headers['x-flowd-event'], b.event, 'event header');
    }
    const lead = rx.got.map((d) => JSON.parse(d.body)).find((b) => b.event === 'lead.created');
    assertEq(lead.data.email, 'ann@example.com', 'lead data');
    await v.close(); await v2.close();
  });

  await results.check('a failing receiver gets retries until it answers 2xx', async () => {
    const flaky = await receiver({ fail: 2 });
    await srv.agent('POST', '/api/webhooks', { url: flaky.url, events: ['conversation.created'] });
    const v = await srv.visitor({ channel: 'shop', visitor: freshVisitorId('f') });
    await until(() => flaky.got.length >= 3, 20000, 'three attempts');
    const ids = new Set(flaky.got.map((d) => JSON.parse(d.body).id));
    assertEq(ids.size, 1, 'the same delivery retried');
    assert(flaky.got[2].at - flaky.got[1].at >= flaky.got[1].at - flaky.got[0].at - 50, 'backoff grows');
    await v.close();
    await flaky.close();
  });

  await results.check('a dead receiver does not slow conversations down', async () => {
    const dead = await receiver();
    await dead.close(); // nothing listens there any more
    await srv.agent('POST', '/api/webhooks', { url: dead.url });
    for (let i = 0; i < 5; i++) {
      const v = await srv.visitor({ channel: 'shop', visitor: freshVisitorId('d') });
      await v.click(`x${i}`, 0);
      await v.close();
    }
    // every conversation was answered while its deliveries still wait for retries
    const m = await srv.http('GET', '/metrics');
    const pending = Number((/^flowd_webhook_pending (\d+)$/m.exec(m.text) || [])[1]);
    assert(pending >= 5, `pending deliveries: ${pending}`);
  });

  await rx.close();
  await srv.stop();
}, 120000);
