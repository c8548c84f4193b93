/**
 * A socket.io connection outlives the cookie it was opened with: the allocator checks
 * each open socket's handshake credential again and closes the connection once it no
 * longer passes; the browser can then only come back with a valid cookie.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { io } from 'socket.io-client';
import { allocatorOn, Browser, until } from '../helpers/allocator.ts';
import { embeddedRig } from '../helpers/embedded.ts';
import { closedAfterAll } from '../helpers/cleanup.ts';

const closers = closedAfterAll();

describe('security: socket.io and a credential that ends while the socket is open', { timeout: 60_000 }, () => {
  it('a socket whose cookie expires is closed within a recheck; its cookie opens no new one; a fresh sign-in does', async () => {
    const rig = await embeddedRig({ portRange: { min: 52000, max: 52999 } });
    closers.push(() => rig.close());
    // Cookies live 3 s here; sockets are checked again every 300 ms.
    const alloc = await allocatorOn(rig, { identity: { sessionTtlSeconds: 3 }, realtime: { tickMs: 100, recheckMs: 300 } });
    closers.push(() => alloc.stop());
    const alice = new Browser(alloc.url, 'alice');
    closers.push(() => alice.close());
    await alice.signIn();
    const signedInAt = Date.now();
    const oldCookie = alice.cookie;
    const { socket } = await alice.socket();
    let closedAt = 0;
    let reason = '';
    socket.on('disconnect', (r) => {
      closedAt = Date.now();
      reason = r;
    });

    // Rechecked several times while the cookie is good: still open.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(socket.connected, true, 'open while its cookie is valid');

    await until(() => closedAt, (t) => t > 0, 8000, 'the socket to be closed after its cookie expired');
    assert.equal(reason, 'transport close', 'the connection was closed by the server, so a client reconnects with the cookie it holds now');
    // The cookie's expiry is in whole seconds (it may end up to 1 s before 3 s have passed).
    assert.ok(closedAt - signedInAt >= 1900, `closed ${closedAt - signedInAt} ms after sign-in: not before the cookie expired`);

    const again = io(alloc.url, { path: '/_sdfleet/socket.io', transports: ['websocket'], extraHeaders: { cookie: oldCookie }, reconnection: false, timeout: 3000 });
    closers.push(() => void again.close());
    const err = await new Promise<Error>((resolve, reject) => {
      again.once('connect', () => reject(new Error('a socket opened with an expired cookie')));
      again.once('connect_error', resolve);
    });
    assert.match(err.message, /^unauthenticated: /);

    alice.cookie = ''; // a browser drops the expired cookie (Max-Age)
    await alice.signIn();
    const fresh = await alice.socket();
    assert.equal(fresh.socket.connected, true, 'a new sign-in opens a socket again');
  });
});
