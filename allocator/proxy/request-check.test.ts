import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRequest } from './request-check.ts';

const H = { host: 'app.example' };

describe('checkRequest', () => {
  const ok: [string, string, string][] = [
    ['plain path', '/', '/'],
    ['query kept as-is', '/a/b?x=../y&z=%2e%2e', '/a/b?x=../y&z=%2e%2e'],
    ['dots inside names', '/file=outputs/img.1.png', '/file=outputs/img.1.png'],
    ['encoded slash alone', '/file=%2Ftmp%2Fgradio%2Fx.png', '/file=%2Ftmp%2Fgradio%2Fx.png'],
    ['malformed escape', '/a%zz/100%', '/a%zz/100%'],
    ['three dots', '/a/.../b', '/a/.../b'],
    ['.. inside a name', '/a/b..c/..d', '/a/b..c/..d'],
    ['absolute-form for this host', 'http://APP.example/x?y', '/x?y'],
    ['absolute-form without a path', 'http://app.example', '/'],
  ];
  for (const [what, url, path] of ok) {
    it(`forwards ${what}`, () => assert.deepEqual(checkRequest('GET', url, H), { path }));
  }

  const refused: [string, string | undefined, string, string][] = [
    ['CONNECT', 'CONNECT', 'app.example:443', 'connect_refused'],
    ['absolute-form to another host', 'GET', 'http://evil/', 'absolute_url'],
    ['absolute-form with a port to another host', 'GET', 'https://app.example:444/', 'absolute_url'],
    ['OPTIONS *', 'OPTIONS', '*', 'bad_path'],
    ['a .. segment', 'GET', '/a/../b', 'bad_path'],
    ['a trailing ..', 'GET', '/a/..', 'bad_path'],
    ['an encoded ..', 'GET', '/a/%2e%2E/b', 'bad_path'],
    ['a double-encoded ..', 'GET', '/a/%252e%252e/b', 'bad_path'],
    ['.. behind an encoded slash', 'GET', '/file=..%2f..%2fetc%2fpasswd', 'bad_path'],
    ['.. behind a backslash', 'GET', '/x\\..\\secret', 'bad_path'],
    ['.. right after file=', 'GET', '/file=../../etc/passwd', 'bad_path'],
    ['an encoded .. right after file=', 'GET', '/file=%2e%2e%5csecret', 'bad_path'],
    ['.. behind an encoded backslash', 'GET', '/x/%5c..%5cy', 'bad_path'],
    ['NUL', 'GET', '/a%00b', 'bad_path'],
  ];
  for (const [what, method, url, code] of refused) {
    it(`refuses ${what}`, () => {
      const r = checkRequest(method, url, H);
      assert.equal(r.refusal?.status, 400);
      assert.equal(r.refusal?.code, code);
      assert.match(r.refusal?.message ?? '', /\w/);
    });
  }

  it('refuses Content-Length with Transfer-Encoding', () => {
    assert.equal(checkRequest('POST', '/', { ...H, 'content-length': '5', 'transfer-encoding': 'chunked' }).refusal?.code, 'bad_framing');
  });
  it('refuses a missing URL', () => {
    assert.equal(checkRequest('GET', undefined, H).refusal?.code, 'bad_path');
  });
});
