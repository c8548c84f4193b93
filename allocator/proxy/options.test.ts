import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { resolveOptions, trustFunction } from './options.ts';
import { PROXY_DEFAULTS } from './types.ts';

const base = { resolve: () => ({ kind: 'no-session' as const }), startPage: '/_sdfleet/', stripCookies: ['s'] };

describe('resolveOptions', () => {
  it('fills in the documented defaults', () => {
    const o = resolveOptions(base);
    assert.equal(o.connectTimeoutMs, PROXY_DEFAULTS.connectTimeoutMs);
    assert.equal(o.idleTimeoutMs, PROXY_DEFAULTS.idleTimeoutMs);
    assert.deepEqual([...o.strip], [...PROXY_DEFAULTS.stripHeaders]);
    assert.equal(o.trusted('127.0.0.1'), false);
    assert.equal(o.metrics, undefined);
  });
  it('refuses what would leak the session or make no sense, saying what is expected', () => {
    assert.throws(() => resolveOptions({ ...base, stripCookies: [] }), /stripCookies must list/);
    assert.throws(() => resolveOptions({ ...base, startPage: 'start' }), /startPage must be a path/);
    assert.throws(() => resolveOptions({ ...base, connectTimeoutMs: 0 }), /connectTimeoutMs must be a positive number/);
    assert.throws(() => resolveOptions({ ...base, trustedProxies: ['10.0.0.0/8', 'nonsense'] }), /"nonsense" is not an IP address or CIDR/);
  });
  it('lower-cases strip headers and wraps a Registry in metric hooks', async () => {
    const registry = new Registry();
    const o = resolveOptions({ ...base, stripHeaders: ['X-Token'], metrics: registry });
    assert.deepEqual([...o.strip], ['x-token']);
    o.metrics!.request(204, 0.001, 'upstream');
    o.metrics!.bytes('out', 10);
    o.metrics!.websockets(1);
    const text = await registry.metrics();
    assert.match(text, /sdfleet_proxy_requests_total\{code="2xx"\} 1/);
    assert.match(text, /sdfleet_proxy_bytes_total\{direction="out"\} 10/);
    assert.match(text, /sdfleet_proxy_websockets 1/);
    // A second proxy on the same registry shares the metrics instead of throwing.
    resolveOptions({ ...base, metrics: registry }).metrics!.request(500, 0.001, 'proxy');
    assert.match(await registry.metrics(), /sdfleet_proxy_requests_total\{code="5xx"\} 1/);
  });
});

describe('trustFunction', () => {
  it('matches addresses and CIDRs, IPv4-mapped IPv6 included', () => {
    const t = trustFunction(['10.0.0.0/8', '::1', '35.191.0.0/16']);
    assert.equal(t('10.200.1.1'), true);
    assert.equal(t('::ffff:10.9.9.9'), true);
    assert.equal(t('::1'), true);
    assert.equal(t('35.191.4.4'), true);
    assert.equal(t('11.0.0.1'), false);
    assert.equal(t(''), false);
  });
  it('true trusts everyone, false nobody, a function decides itself', () => {
    assert.equal(trustFunction(true)('1.1.1.1'), true);
    assert.equal(trustFunction(false)('127.0.0.1'), false);
    assert.equal(trustFunction((a) => a === 'x')('x'), true);
  });
});
