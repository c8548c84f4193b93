/**
 * Attacks on the allocator's reverse proxy, end to end: a real allocator in front of real
 * instances that report what reached them. Requests go as raw bytes where an HTTP client
 * would normalise them. Every attack must be refused, or land on the caller's own
 * instance with sdfleet's credentials removed; never on anyone else's.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Browser } from '../helpers/allocator.ts';
import { arrivals, bodyOf, headerValues, securityRig, seenIn, statusOf, wsHandshake, wsSeen, type SecurityRig } from './rig.ts';
import { closedAfterAll } from '../helpers/cleanup.ts';

const closers = closedAfterAll();

describe('security: the proxy', { timeout: 50_000 }, () => {
  let s: SecurityRig;
  let alice: Browser;
  let bob: Browser;
  let aliceGs = '';
  let bobGs = '';
  before(async () => {
    s = await securityRig(closers, { replicas: 2, range: 44000 });
    alice = await s.browser('alice').signIn();
    bob = await s.browser('bob').signIn();
    aliceGs = (await alice.start()).body.session!.instance;
    bobGs = (await bob.start()).body.session!.instance;
    assert.notEqual(aliceGs, bobGs);
  });

  /** Sends `lines` (a request without the final blank line) with alice's cookie, raw. */
  const asAlice = (requestLine: string, headers: string[] = [], body = ''): Promise<string> =>
    s.raw([requestLine, `Host: ${s.host}`, `Cookie: ${alice.cookie}`, 'Connection: close', ...headers, '', body].join('\r\n'));

  it('each cookie reaches only its owner’s instance, HTTP and WebSocket, whatever the request names', async () => {
    const a = seenIn(await asAlice('GET / HTTP/1.1'));
    assert.equal(a?.gs, aliceGs);
    // Bob names alice's instance every way a request can: Host, X-Forwarded-Host, query, path.
    const gsA = s.rig.gameServers().find((g) => g.metadata.name === aliceGs)!;
    const aliceAddr = `${gsA.status?.address}:${gsA.status?.ports?.[0]?.port}`;
    const tricks = await s.raw([`GET /?instance=${aliceGs}&gameServer=${aliceGs} HTTP/1.1`, `Host: ${aliceAddr}`, `X-Forwarded-Host: ${aliceAddr}`, `Cookie: ${bob.cookie}`, 'Connection: close', '', ''].join('\r\n'));
    assert.equal(seenIn(tricks)?.gs, bobGs, 'Host and query name nothing: the route is the cookie’s');
    const abs = await s.raw([`GET http://${s.host}/${aliceGs} HTTP/1.1`, `Host: ${s.host}`, `Cookie: ${bob.cookie}`, 'Connection: close', '', ''].join('\r\n'));
    assert.equal(seenIn(abs)?.gs, bobGs);
    // Two users pipelined on one connection: every request is routed by its own cookie.
    const piped = await s.raw(
      [`GET /1 HTTP/1.1`, `Host: ${s.host}`, `Cookie: ${alice.cookie}`, '', ''].join('\r\n') +
        [`GET /2 HTTP/1.1`, `Host: ${s.host}`, `Cookie: ${bob.cookie}`, '', ''].join('\r\n') +
        [`GET /3 HTTP/1.1`, `Host: ${s.host}`, 'Connection: close', '', ''].join('\r\n'),
      3000,
    );
    const gss = [...piped.matchAll(/"gs":"([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(gss, [aliceGs, bobGs], `the third request (no cookie) reaches no instance: ${piped.slice(-300)}`);
    assert.match(piped, /HTTP\/1\.1 401 /);

    // WebSockets: the owner's own instance, and nobody without a valid cookie.
    assert.equal(wsSeen(await s.raw(wsHandshake('/queue/join', s.host, [`Cookie: ${alice.cookie}`])))?.gs, aliceGs);
    assert.equal(wsSeen(await s.raw(wsHandshake('/queue/join', s.host, [`Cookie: ${bob.cookie}`, `Origin: http://${s.host}`])))?.gs, bobGs);
    const anon = await s.raw(wsHandshake('/queue/join', s.host));
    assert.equal(statusOf(anon), 401, anon.slice(0, 200));
    const [name, value] = alice.cookie.split('=') as [string, string];
    const tampered = `${name}=${value.slice(0, -3)}${value.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    const forged = await s.raw(wsHandshake('/queue/join', s.host, [`Cookie: ${tampered}`]));
    assert.equal(statusOf(forged), 401, forged.slice(0, 200));
    const other = await s.raw(wsHandshake('/queue/join', s.host, [`Cookie: ${alice.cookie}`, 'Origin: https://evil.example']));
    assert.equal(statusOf(other), 403, 'cross-site WebSocket hijacking: another origin is refused');
    const dotted = await s.raw(wsHandshake('/x/%2e%2e/y', s.host, [`Cookie: ${alice.cookie}`]));
    assert.equal(statusOf(dotted), 400);
    const absWs = await s.raw(wsHandshake('http://evil.example/x', s.host, [`Cookie: ${alice.cookie}`]));
    assert.equal(statusOf(absWs), 400);
    const log = await arrivals(alice);
    assert.deepEqual(log.arrivals.filter((l) => l.startsWith('UPGRADE')), ['UPGRADE /queue/join'], 'only the valid upgrade reached alice’s instance');
  });

  it('path tricks: refused with 400 before any instance sees them', async () => {
    const before = (await arrivals(alice)).arrivals.length;
    const refused = [
      'GET /a/../b HTTP/1.1',
      'GET /%2e%2e/etc/passwd HTTP/1.1',
      'GET /%2E%2e%2f%2e%2E%2fetc/passwd HTTP/1.1',
      'GET /file=%252e%252e%252fetc%252fpasswd HTTP/1.1',
      'GET /file=%25252e%25252e/x HTTP/1.1',
      'GET /file=../../etc/passwd HTTP/1.1',
      'GET /file=..%5c..%5csecret HTTP/1.1',
      'GET /x/%5c..%5cy HTTP/1.1',
      'GET /x\\..\\secret HTTP/1.1',
      'GET \\\\evil.example\\x HTTP/1.1',
      'GET /a%00b HTTP/1.1',
      'OPTIONS * HTTP/1.1',
      'GET http://evil.example/ HTTP/1.1',
      'GET https://evil.example/_sdfleet/api/v1/me HTTP/1.1',
      `GET http://${s.host}@evil.example/ HTTP/1.1`,
      'GET evil.example/x HTTP/1.1',
    ];
    for (const line of refused) {
      const reply = await asAlice(line);
      assert.equal(statusOf(reply), 400, `${line} → ${JSON.stringify(reply.slice(0, 160))}`);
      assert.equal(seenIn(reply), undefined, `${line} reached an instance`);
    }
    const connect = await s.raw(`CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\nCookie: ${alice.cookie}\r\n\r\n`);
    assert.ok(!connect.startsWith('HTTP/1.1 200'), `CONNECT answered ${JSON.stringify(connect.slice(0, 80))}`);
    const after = (await arrivals(alice)).arrivals;
    assert.equal(after.length, before, `nothing reached the instance: ${after.slice(before).join(', ')}`);
  });

  it('encoded slashes and a scheme-relative path pass, as sent, to the caller’s own instance only', async () => {
    const slash = seenIn(await asAlice('GET /file=%2Ftmp%2Fgradio%2Fx.png HTTP/1.1'));
    assert.equal(slash?.gs, aliceGs);
    assert.equal(slash?.url, '/file=%2Ftmp%2Fgradio%2Fx.png', 'forwarded as received, never re-encoded or decoded');
    const schemeRelative = await asAlice('GET //evil.example/x HTTP/1.1');
    if (statusOf(schemeRelative) !== 400) {
      assert.equal(seenIn(schemeRelative)?.gs, aliceGs, `//host is a path, not another host: ${schemeRelative.slice(0, 200)}`);
      assert.equal(seenIn(schemeRelative)?.url, '//evil.example/x');
    }
  });

  it('the allocator’s own static files and API cannot be walked out of', async () => {
    for (const p of ['/_sdfleet/static/..%2f..%2fpages.ts', '/_sdfleet/static/%2e%2e/%2e%2e/server.ts', '/_sdfleet/static/..%252f..%252fpages.ts', '/_sdfleet/static/../../pages.ts', '/_sdfleet/static/..\\..\\pages.ts', '/_sdfleet/api/v1/../../../package.json']) {
      const reply = await asAlice(`GET ${p} HTTP/1.1`);
      assert.ok([400, 403, 404].includes(statusOf(reply)), `${p} → ${reply.slice(0, 120)}`);
      assert.doesNotMatch(reply, /import |"dependencies"/, `${p} served source`);
    }
  });

  it('header injection: CR/LF and obs-fold in cookie or other headers are refused; nothing arrives split', async () => {
    const before = (await arrivals(alice)).arrivals.length;
    for (const h of [`X-A: a\rX-Injected: 1`, `X-A: a\nX-Injected: 1`, `Cookie: webui=1\r X-Injected: 1`, `X-A: a\r\n X-Injected: 1`]) {
      const reply = await asAlice('GET /inject HTTP/1.1', [h]);
      const seen = seenIn(reply);
      if (seen) assert.deepEqual(headerValues(seen.headers, 'x-injected'), [], `${JSON.stringify(h)} smuggled a header`);
      else assert.equal(statusOf(reply), 400, `${JSON.stringify(h)} → ${reply.slice(0, 120)}`);
    }
    const after = (await arrivals(alice)).arrivals;
    assert.ok(after.length - before <= 1, `only an obs-fold line may be taken (as one value): ${after.slice(before).join(', ')}`);
  });

  it('the instance never sees sdfleet’s credentials, however they are sent; X-Forwarded-* and hop-by-hop tricks do not stick', async () => {
    const reply = await asAlice('GET /creds HTTP/1.1', [
      `Cookie: webui=1`,
      `Cookie:  ${alice.cookie.replace('=', ' =')} ; other=2`,
      `X-Sdfleet-Csrf: ${alice.csrf}`,
      'Authorization: Bearer not-for-the-instance',
      'Proxy-Authorization: Basic eDp5',
      'X-Goog-Iap-Jwt-Assertion: a.b.c',
      'X-Forwarded-For: 6.6.6.6',
      'X-Forwarded-Host: evil.example',
      'X-Forwarded-Proto: https',
      'X-Forwarded-Port: 443',
      'X-Real-IP: 6.6.6.6',
      'Forwarded: for=6.6.6.6;host=evil.example',
      // Names the proxy's own headers as hop-by-hop, to have them dropped after they were set.
      'Connection: x-forwarded-for, x-forwarded-host, host, x-sdfleet-csrf',
      'Keep-Alive: timeout=1',
      'TE: trailers',
    ]);
    const seen = seenIn(reply);
    assert.equal(seen?.gs, aliceGs, reply.slice(0, 300));
    const h = (n: string) => headerValues(seen!.headers, n);
    const cookies = h('cookie').join('; ');
    assert.doesNotMatch(cookies, /sdfleet_session/, 'the session cookie is stripped from every Cookie line');
    assert.match(cookies, /webui=1/);
    assert.match(cookies, /other=2/);
    for (const n of ['x-sdfleet-csrf', 'authorization', 'proxy-authorization', 'x-goog-iap-jwt-assertion', 'x-real-ip', 'forwarded', 'connection', 'keep-alive', 'te']) {
      // The pool's own Connection: keep-alive is the only Connection header allowed.
      assert.deepEqual(h(n).filter((v) => n !== 'connection' || !/^(close|keep-alive)$/i.test(v)), [], `${n} reached the instance`);
    }
    assert.deepEqual(h('x-forwarded-for'), ['127.0.0.1'], 'the peer as the allocator saw it, not what the client claimed');
    assert.deepEqual(h('x-forwarded-host'), [s.host]);
    assert.deepEqual(h('x-forwarded-proto'), ['http']);
    const gsA = s.rig.gameServers().find((g) => g.metadata.name === aliceGs)!;
    assert.deepEqual(h('host'), [`${gsA.status?.address}:${gsA.status?.ports?.[0]?.port}`], 'Host is the instance’s own');
  });

  it('an instance cannot set or clear the allocator’s session cookie', async () => {
    const jar = alice.cookie;
    const r = await alice.fetch('GET', '/__set-cookie');
    alice.cookie = jar; // the test Browser keeps one cookie only
    assert.equal(r.status, 200);
    const set = r.headers.getSetCookie();
    assert.ok(set.some((c) => c.startsWith('webui_pref=')), 'the WebUI’s own cookies pass');
    assert.ok(!set.some((c) => c.startsWith(`${s.alloc.identity.cookieName}=`)), `planted: ${set.join(' | ')}`);
    assert.equal(seenIn(await asAlice('GET / HTTP/1.1'))?.gs, aliceGs, 'alice is still alice');
  });

  it('CSRF on instance traffic: a state change from another origin never reaches the instance', async () => {
    const before = (await arrivals(alice)).arrivals.length;
    for (const h of ['Origin: https://evil.example', 'Origin: null', 'Referer: https://evil.example/page', `Origin: http://${s.host}.evil.example`, 'Origin: http://127.0.0.1.evil.example']) {
      const reply = await asAlice('POST /sdapi/v1/txt2img HTTP/1.1', [h, 'Content-Type: application/json', 'Content-Length: 2'], '{}');
      assert.equal(statusOf(reply), 403, `${h} → ${reply.slice(0, 160)}`);
      assert.match(bodyOf(reply), /another site/);
    }
    assert.equal((await arrivals(alice)).arrivals.length, before, 'nothing reached the instance');
    const same = await asAlice('POST /sdapi/v1/txt2img HTTP/1.1', [`Origin: http://${s.host}`, 'Content-Type: application/json', 'Content-Length: 2'], '{}');
    assert.equal(seenIn(same)?.gs, aliceGs, 'the page’s own origin passes');
  });

  it('oversized requests: headers over the limit are 431 and reach nothing; a lying Content-Length on the API is 413 at once', async () => {
    const before = (await arrivals(alice)).arrivals.length;
    const big = await asAlice('GET /big HTTP/1.1', [`X-Big: ${'a'.repeat(20_000)}`]);
    assert.equal(statusOf(big), 431, big.slice(0, 120));
    const bigCookie = await asAlice('GET /big HTTP/1.1', [`Cookie: junk=${'b'.repeat(20_000)}`]);
    assert.equal(statusOf(bigCookie), 431);
    assert.equal((await arrivals(alice)).arrivals.length, before);
    const t0 = Date.now();
    const lie = await s.raw(['POST /_sdfleet/api/v1/signin HTTP/1.1', `Host: ${s.host}`, 'Content-Type: application/json', 'Content-Length: 999999999', '', '{"name":"x"'].join('\r\n'), 3000);
    assert.equal(statusOf(lie), 413, lie.slice(0, 200));
    assert.ok(Date.now() - t0 < 2500, 'answered without waiting for the body');
    const body = JSON.stringify({ name: 'x'.repeat(100_000) });
    const huge = await s.raw(['POST /_sdfleet/api/v1/signin HTTP/1.1', `Host: ${s.host}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close', '', body].join('\r\n'), 3000);
    assert.equal(statusOf(huge), 413);
  });
});
