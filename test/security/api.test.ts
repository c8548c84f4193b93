/**
 * Attacks on the allocator's own surface, end to end: the REST API (another user's
 * sessions and images), admin routes, CSRF, forged and expired session cookies, socket.io.
 */
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { io } from 'socket.io-client';
import { createIdentity, userKey } from '../../allocator/identity/index.ts';
import { userDir } from '../../sdk-wrapper/user-store.ts';
import { Browser, COOKIE_SECRET } from '../helpers/allocator.ts';
import { arrivals, securityRig, seenIn, statusOf, type SecurityRig } from './rig.ts';
import { closedAfterAll } from '../helpers/cleanup.ts';

const closers = closedAfterAll();

const PNG = Buffer.from('89504e470d0a1a0a', 'hex');

describe('security: API, admin, CSRF, cookies, socket.io', { timeout: 50_000 }, () => {
  let s: SecurityRig;
  let alice: Browser;
  let bob: Browser;
  let aliceSession = '';
  before(async () => {
    s = await securityRig(closers, { replicas: 2, range: 45000 });
    alice = await s.browser('alice').signIn();
    bob = await s.browser('bob').signIn();
    aliceSession = (await alice.start()).body.session!.id;
    await bob.start();
  });

  it('another user’s session is unknown to the API: read, release, keep-alive', async () => {
    assert.equal((await bob.api('GET', `/sessions/${aliceSession}`)).status, 404);
    assert.equal((await bob.api('POST', `/sessions/${aliceSession}/keepalive`)).status, 404);
    assert.equal((await bob.api('DELETE', `/sessions/${aliceSession}`)).status, 404);
    assert.equal((await bob.api('DELETE', `/sessions/${encodeURIComponent('../sessions/' + aliceSession)}`)).status, 404);
    assert.equal((await alice.api('GET', `/sessions/${aliceSession}`)).status, 200, 'alice’s session is still there');
  });

  it('My images: another user’s files are out of reach by path tricks and by symlinks the instance may plant', async () => {
    const store = join(s.rig.dataDir, 'user-store');
    const aliceDir = userDir(store, userKey('alice'));
    const bobDir = userDir(store, userKey('bob'));
    await mkdir(join(bobDir, 'out'), { recursive: true });
    await mkdir(aliceDir, { recursive: true });
    await writeFile(join(bobDir, 'out', 'secret.png'), PNG);
    await writeFile(join(aliceDir, 'mine.png'), PNG);
    // What alice's own WebUI could do to her folder on the shared store.
    await symlink(join(bobDir, 'out'), join(aliceDir, 'linked'));
    await symlink(join(bobDir, 'out', 'secret.png'), join(aliceDir, 'stolen.png'));
    const bobKey = userKey('bob');
    const base = '/_sdfleet/api/v1/images/file/';
    assert.equal((await alice.fetch('GET', `${base}mine.png`)).status, 200, 'her own image');
    for (const p of [`..%2f${bobKey}%2fout%2fsecret.png`, `../${bobKey}/out/secret.png`, `%2e%2e/${bobKey}/out/secret.png`, `%252e%252e%252f${bobKey}%252fout%252fsecret.png`,
      `..%5c${bobKey}%5cout%5csecret.png`, encodeURIComponent(join(bobDir, 'out', 'secret.png')), `${encodeURIComponent('/')}${bobDir.slice(1)}/out/secret.png`, 'linked/secret.png', 'stolen.png', `x%00.png`]) {
      const r = await alice.fetch('GET', base + p);
      assert.ok([400, 404].includes(r.status), `${p} → ${r.status}`);
      const body = Buffer.from(await r.arrayBuffer());
      assert.ok(!body.equals(PNG), `${p} served bob’s image`);
    }
    const list = await alice.api<{ images: { path: string }[] }>('GET', '/images');
    assert.deepEqual(list.body.images.map((i) => i.path), ['mine.png'], 'symlinks are not listed');
  });

  it('admin routes and pages refuse non-admins, lookalike names included; the admin needs CSRF too', async () => {
    const eves = [await s.browser('eve').signIn(), await s.browser('Admin').signIn(), await s.browser('аdmin').signIn() /* Cyrillic а */, await s.browser('admin.').signIn()];
    const routes: [string, string, unknown?][] = [
      ['GET', '/admin/sessions'], ['GET', '/admin/queue'], ['GET', '/admin/overview'], ['GET', '/admin/fleets'], ['PUT', '/admin/fleets/sd-webui/scale', { replicas: 0 }],
      ['GET', '/sessions'], ['GET', '/fleets'], ['GET', '/queue'], ['PUT', '/fleets/sd-webui/scale', { replicas: 0 }], ['DELETE', `/sessions/${aliceSession}`],
    ];
    for (const eve of eves) {
      for (const [m, p, b] of routes) {
        const r = await eve.api(m, p, b);
        assert.ok([403, 404].includes(r.status), `${eve.name}: ${m} ${p} → ${r.status}`);
      }
      const page = await eve.fetch('GET', '/_sdfleet/admin', undefined, { accept: 'text/html' });
      assert.equal(page.status, 403, `${eve.name}: the admin page`);
      const status = await eve.fetch('GET', '/_sdfleet/autoscaler/status');
      assert.equal(status.status, 403, `${eve.name}: the autoscaler status`);
    }
    const anon = new Browser(s.alloc.url, 'anon');
    for (const [m, p, b] of routes) assert.ok([401, 403].includes((await anon.api(m, p, b)).status), `nobody: ${m} ${p}`);
    assert.equal((await anon.fetch('GET', '/_sdfleet/autoscaler/status')).status, 403);
    // A real admin, but the request is forged from another site or lacks the token.
    const admin = await s.browser('admin').signIn();
    assert.equal((await admin.api('PUT', '/fleets/sd-webui/scale', { replicas: 0 }, { origin: 'https://evil.example' })).status, 403);
    const noToken = new Browser(s.alloc.url, 'admin');
    noToken.cookie = admin.cookie;
    assert.equal((await noToken.api('PUT', '/fleets/sd-webui/scale', { replicas: 0 })).status, 403);
    const foreignToken = await fetch(`${s.alloc.url}/_sdfleet/api/v1/sessions/${aliceSession}`, { method: 'DELETE', headers: { cookie: admin.cookie, origin: s.alloc.url, 'x-sdfleet-csrf': alice.csrf! } });
    assert.equal(foreignToken.status, 403, 'another session’s token');
    assert.equal((await alice.api('GET', `/sessions/${aliceSession}`)).status, 200, 'nothing was released');
    assert.equal(s.rig.gameServers().length, 2, 'nothing was scaled');
  });

  it('CSRF on the API: no token, a wrong or another session’s token, another origin, Origin null, login CSRF', async () => {
    const mallory = await s.browser('mallory').signIn();
    const as = (csrf: string | undefined, extra: Record<string, string> = {}) => {
      const b = new Browser(s.alloc.url, 'mallory');
      b.cookie = mallory.cookie;
      b.csrf = csrf;
      return b.api('POST', '/sessions', {}, extra);
    };
    assert.equal((await as(undefined)).status, 403, 'no token');
    assert.equal((await as('x'.repeat(43))).status, 403, 'a made-up token');
    assert.equal((await as(alice.csrf)).status, 403, 'alice’s token with mallory’s cookie');
    for (const origin of ['https://evil.example', 'null', `http://${s.host}.evil.example`]) {
      assert.equal((await as(mallory.csrf, { origin })).status, 403, `Origin ${origin}`);
    }
    const viaReferer = new Browser(s.alloc.url, 'mallory');
    viaReferer.cookie = mallory.cookie;
    viaReferer.csrf = mallory.csrf;
    const res = await fetch(`${s.alloc.url}/_sdfleet/api/v1/sessions`, { method: 'POST', headers: { cookie: mallory.cookie, 'x-sdfleet-csrf': mallory.csrf!, referer: 'https://evil.example/x', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 403, 'a Referer of another site');
    // Login CSRF: another site signing the victim's browser in as the attacker.
    const login = await fetch(`${s.alloc.url}/_sdfleet/api/v1/signin`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ name: 'attacker' }) });
    assert.equal(login.status, 403);
    assert.deepEqual(login.headers.getSetCookie(), []);
    // A form post (text/plain, no preflight) carries no JSON and no token.
    const form = await fetch(`${s.alloc.url}/_sdfleet/api/v1/sessions`, { method: 'POST', headers: { cookie: mallory.cookie, 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(form.status, 403);
    assert.equal((await mallory.api('GET', '/sessions/me')).status, 404, 'mallory has no session after all that');
  });

  it('forged and expired session cookies: 401, cleared, and nothing proxied', async () => {
    const signer = (o: Parameters<typeof createIdentity>[0]) => createIdentity(o);
    const name = s.alloc.identity.cookieName;
    const pair = (setCookie: string) => setCookie.split(';')[0]!;
    const dev = signer({ mode: 'dev', cookieSecret: COOKIE_SECRET });
    const expired = pair(signer({ mode: 'dev', cookieSecret: COOKIE_SECRET, now: () => Date.now() - 13 * 3600_000 }).issueCookie(dev.devSignIn('alice')));
    const otherSecret = pair(signer({ mode: 'dev', cookieSecret: 'another-secret-0123456789abcdef0123456789' }).issueCookie(dev.devSignIn('alice')));
    const otherMode = pair(signer({ mode: 'token', cookieSecret: COOKIE_SECRET, secureCookies: false, tokens: new Map([['alice', 'alice-token-0123456789abcdef0123']]) }).issueCookie({ id: 'alice', name: 'alice', admin: false, provider: 'token' }));
    // Bob's cookie with the payload rewritten to alice, signature kept.
    const [, bobValue] = bob.cookie.split('=') as [string, string];
    const [v, payload, sig] = bobValue.split('.') as [string, string, string];
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const rewritten = `${name}=${v}.${Buffer.from(JSON.stringify({ ...body, id: 'alice', name: 'alice' })).toString('base64url')}.${sig}`;
    const unsigned = `${name}=${v}.${Buffer.from(JSON.stringify({ ...body, id: 'admin', name: 'admin' })).toString('base64url')}.`;
    const before = (await arrivals(alice)).arrivals.length;
    for (const [what, cookie] of [['expired', expired], ['another secret', otherSecret], ['another mode', otherMode], ['rewritten payload', rewritten], ['no signature', unsigned], ['garbage', `${name}=v1.%0d%0aX:1.x`]] as const) {
      const me = await fetch(`${s.alloc.url}/_sdfleet/api/v1/me`, { headers: { cookie, accept: 'application/json' } });
      assert.equal(me.status, 401, `${what}: /me`);
      assert.ok(me.headers.getSetCookie().some((c) => c.startsWith(`${name}=;`) || /max-age=0/i.test(c)), `${what}: the cookie is cleared`);
      const proxied = await s.raw(`GET / HTTP/1.1\r\nHost: ${s.host}\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`);
      assert.equal(statusOf(proxied), 401, `${what}: proxied → ${proxied.slice(0, 100)}`);
      assert.equal(seenIn(proxied), undefined);
      const start = await fetch(`${s.alloc.url}/_sdfleet/api/v1/sessions`, { method: 'POST', headers: { cookie, origin: s.alloc.url, 'content-type': 'application/json' }, body: '{}' });
      assert.equal(start.status, 401, `${what}: start`);
    }
    assert.equal((await arrivals(alice)).arrivals.length, before, 'nothing reached alice’s instance');
  });

  it('socket.io: no session, a forged cookie or another origin is refused; a user hears only their own state', async () => {
    const connect = (headers: Record<string, string>) => new Promise<string>((resolve) => {
      const sock = io(s.alloc.url, { path: '/_sdfleet/socket.io', transports: ['websocket'], extraHeaders: headers, reconnection: false, timeout: 3000 });
      closers.push(() => void sock.close());
      sock.once('connect', () => { resolve('connected'); sock.close(); });
      sock.once('connect_error', (e) => { resolve(`refused: ${e.message}`); sock.close(); });
    });
    assert.match(await connect({}), /^refused: unauthenticated/);
    assert.match(await connect({ cookie: `${s.alloc.identity.cookieName}=v1.e30.AAAA` }), /^refused/);
    assert.match(await connect({ cookie: alice.cookie, origin: 'https://evil.example' }), /^refused/);
    // Polling too (the handshake path every client starts with when allowed).
    const poll = await fetch(`${s.alloc.url}/_sdfleet/socket.io/?EIO=4&transport=polling`);
    const text = await poll.text();
    assert.ok(poll.status >= 400 || !text.includes('"sid"') || /unauthenticated/.test(text) || !(await connectPollingNamespace(text)), `polling without a session: ${poll.status} ${text.slice(0, 200)}`);
    const { events } = await alice.socket();
    const end = Date.now() + 1500;
    while (!events.some((e) => e.name === 'state') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const states = events.filter((e) => e.name === 'state').map((e) => JSON.stringify(e.data));
    assert.ok(states.length > 0);
    for (const st of states) assert.ok(st.includes(aliceSession), 'alice’s state is hers');
    assert.ok(!events.some((e) => e.name === 'admin'), 'no admin snapshots for a non-admin');
  });

  /** Opening the default namespace over polling without a cookie must fail: true when it did connect. */
  async function connectPollingNamespace(open: string): Promise<boolean> {
    const sid = /"sid":"([^"]+)"/.exec(open)?.[1];
    if (!sid) return false;
    const url = `${s.alloc.url}/_sdfleet/socket.io/?EIO=4&transport=polling&sid=${sid}`;
    await fetch(url, { method: 'POST', body: '40', headers: { 'content-type': 'text/plain' } });
    const reply = await (await fetch(url)).text();
    return reply.includes('40{') && !reply.includes('44{');
  }
});
