import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientResponseHeaders, hostHeader, upstreamRequestHeaders, withoutCookies, type RequestHeaderInput } from './headers.ts';
import { headerValues } from './testing.ts';

const policy = { cookies: new Set(['sdfleet_session']), strip: new Set(['x-sdfleet-csrf', 'authorization']), xForwarded: true };

function input(raw: string[], extra: Partial<RequestHeaderInput> = {}): RequestHeaderInput {
  return { rawHeaders: raw, contentLength: undefined, host: 'app.example:8443', remoteAddress: '::ffff:10.1.2.3', encrypted: false, trusted: false, ...extra };
}

describe('upstreamRequestHeaders', () => {
  it('drops hop-by-hop headers and those Connection names, keeps end-to-end ones in order and case', () => {
    const out = upstreamRequestHeaders(input([
      'Host', 'app.example:8443', 'Connection', 'keep-alive, X-Secret-Hop', 'Keep-Alive', 'timeout=5', 'TE', 'trailers',
      'Trailer', 'x-t', 'Upgrade', 'h2c', 'Proxy-Connection', 'keep-alive', 'Proxy-Authorization', 'Basic x', 'Expect', '100-continue',
      'X-Secret-Hop', '1', 'Accept', 'text/html', 'X-Custom', 'a', 'x-custom', 'b',
    ]), '10.0.0.5:7860', policy, false);
    for (const h of ['connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-connection', 'proxy-authorization', 'expect', 'x-secret-hop']) {
      assert.deepEqual(headerValues(out, h), [], `${h} must not be forwarded`);
    }
    assert.deepEqual(headerValues(out, 'x-custom'), ['a', 'b']);
    assert.ok(out.includes('Accept') && out.includes('X-Custom'), 'case kept');
    assert.deepEqual(headerValues(out, 'host'), ['10.0.0.5:7860']);
  });

  it('strips the allocator cookie (keeping the others) and the configured headers', () => {
    const out = upstreamRequestHeaders(input([
      'Cookie', 'a=1; sdfleet_session=v1.secret.sig; b=2', 'cookie', 'sdfleet_session=again', 'X-Sdfleet-Csrf', 'tok', 'Authorization', 'Bearer t',
    ]), 'h:1', policy, false);
    assert.deepEqual(headerValues(out, 'cookie'), ['a=1; b=2'], 'the second Cookie header held only the session: dropped');
    assert.deepEqual(headerValues(out, 'x-sdfleet-csrf'), []);
    assert.deepEqual(headerValues(out, 'authorization'), []);
    assert.ok(!out.join('\n').includes('secret'));
  });

  it('sets framing from the parsed request, not from the client headers', () => {
    const cl = upstreamRequestHeaders(input(['Content-Length', '5', 'Connection', 'content-length']), 'h:1', policy, false);
    assert.deepEqual(headerValues(cl, 'content-length'), [], 'only when parsed');
    const parsed = upstreamRequestHeaders(input(['Content-Length', '5'], { contentLength: '5' }), 'h:1', policy, false);
    assert.deepEqual(headerValues(parsed, 'content-length'), ['5']);
    const chunked = upstreamRequestHeaders(input(['Transfer-Encoding', 'chunked']), 'h:1', policy, false);
    assert.deepEqual(headerValues(chunked, 'transfer-encoding'), [], 'the client chunks a body without a length itself');
  });

  it('from an untrusted peer: drops X-Forwarded-*/Forwarded/X-Real-IP and sets its own', () => {
    const out = upstreamRequestHeaders(input([
      'X-Forwarded-For', '6.6.6.6', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil', 'X-Forwarded-Prefix', '/x', 'Forwarded', 'for=6.6.6.6', 'X-Real-IP', '6.6.6.6',
    ]), 'h:1', policy, false);
    assert.deepEqual(headerValues(out, 'x-forwarded-for'), ['10.1.2.3']);
    assert.deepEqual(headerValues(out, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(headerValues(out, 'x-forwarded-host'), ['app.example:8443']);
    assert.deepEqual(headerValues(out, 'x-forwarded-port'), ['8443']);
    for (const h of ['x-forwarded-prefix', 'forwarded', 'x-real-ip']) assert.deepEqual(headerValues(out, h), [], h);
  });

  it('from a trusted peer: appends to X-Forwarded-For and keeps its Proto/Host/Port', () => {
    const out = upstreamRequestHeaders(input([
      'X-Forwarded-For', '1.2.3.4', 'x-forwarded-for', '5.6.7.8', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'public.example', 'X-Forwarded-Port', '443', 'X-Forwarded-Prefix', '/p',
    ], { trusted: true, remoteAddress: '35.191.0.9' }), 'h:1', policy, false);
    assert.deepEqual(headerValues(out, 'x-forwarded-for'), ['1.2.3.4, 5.6.7.8, 35.191.0.9']);
    assert.deepEqual(headerValues(out, 'x-forwarded-proto'), ['https']);
    assert.deepEqual(headerValues(out, 'x-forwarded-host'), ['public.example']);
    assert.deepEqual(headerValues(out, 'x-forwarded-port'), ['443']);
    assert.deepEqual(headerValues(out, 'x-forwarded-prefix'), ['/p']);
  });

  it('derives proto and port from TLS and a port-less Host; can be switched off', () => {
    const out = upstreamRequestHeaders(input([], { encrypted: true, host: 'app.example' }), 'h:1', policy, false);
    assert.deepEqual(headerValues(out, 'x-forwarded-proto'), ['https']);
    assert.deepEqual(headerValues(out, 'x-forwarded-port'), ['443']);
    const v6 = upstreamRequestHeaders(input([], { host: '[::1]' }), 'h:1', policy, false);
    assert.deepEqual(headerValues(v6, 'x-forwarded-port'), ['80']);
    const off = upstreamRequestHeaders(input(['X-Forwarded-For', '6.6.6.6']), 'h:1', { ...policy, xForwarded: false }, false);
    assert.deepEqual(off.filter((h) => h.toLowerCase().startsWith('x-forwarded')), []);
  });

  it('for a WebSocket, asks for the upgrade itself', () => {
    const out = upstreamRequestHeaders(input(['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k', 'Sec-WebSocket-Version', '13']), 'h:1', policy, true);
    assert.deepEqual(headerValues(out, 'connection'), ['Upgrade']);
    assert.deepEqual(headerValues(out, 'upgrade'), ['websocket']);
    assert.deepEqual(headerValues(out, 'sec-websocket-key'), ['k']);
  });
});

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop headers (and named ones) but keeps Content-Length and repeated Set-Cookie', () => {
    const out = clientResponseHeaders([
      'Content-Length', '3', 'Connection', 'keep-alive, X-Hop', 'Keep-Alive', 'timeout=5', 'X-Hop', '1', 'Transfer-Encoding', 'chunked',
      'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Proxy-Authenticate', 'Basic', 'X-Ok', 'yes',
    ], policy, false);
    assert.deepEqual(out, ['Content-Length', '3', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Ok', 'yes']);
  });

  it("drops a Set-Cookie for the allocator's cookie", () => {
    const out = clientResponseHeaders(['Set-Cookie', 'sdfleet_session=forged; Path=/', 'Set-Cookie', 'sdfleet_session_x=1', 'set-cookie', ' sdfleet_session =x'], policy, false);
    assert.deepEqual(out, ['Set-Cookie', 'sdfleet_session_x=1']);
  });
});

describe('withoutCookies / hostHeader', () => {
  it('handles odd spacing, valueless cookies and lookalike names', () => {
    assert.equal(withoutCookies('sdfleet_session=1', policy.cookies), '');
    assert.equal(withoutCookies(' a=1 ;sdfleet_session=2;; sdfleet_session_other=3;flag', policy.cookies), 'a=1; sdfleet_session_other=3; flag');
    assert.equal(withoutCookies('a=1; b=2', policy.cookies), 'a=1; b=2');
  });
  it('brackets IPv6 literals', () => {
    assert.equal(hostHeader('::1', 80), '[::1]:80');
    assert.equal(hostHeader('10.0.0.1', 7860), '10.0.0.1:7860');
  });
});
