/**
 * A user's whole trip with real wrapper + sim-webui instances: Start, generate through the
 * proxy (HTTP and the WebSocket progress stream), the image in the user's store and in My
 * images, End session → the wrapper stores, shuts down, the Fleet replaces the instance.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { allocatorOn, Browser, until } from '../helpers/allocator.ts';
import { embeddedRig, fleetOf, ready } from '../helpers/embedded.ts';
import { closedAfterAll } from '../helpers/cleanup.ts';

const closers = closedAfterAll();

function wrapped(dataDir: string): string[] {
  return [
    'sdfleet', 'wrapper', '--lib-dir', join(dataDir, 'lib'), '--no-lib-require-mount', '--user-store', join(dataDir, 'user-store'),
    '--release-grace', '10', '--stop-grace', '3', '--log-level', 'warn',
    '--', 'sdfleet', 'sim-webui', '--port', '{port}', '--boot-ms', '100', '--step-ms', '30', '--log-level', 'warn',
  ];
}

describe('allocator with real WebUI instances', () => {
  it('generate through the proxy, see the image in My images, end the session, get a replacement', async () => {
    const rig = await embeddedRig({ portRange: { min: 43000, max: 43999 } });
    closers.push(() => rig.close());
    rig.e.controlPlane.store.create('fleets.agones.dev', fleetOf('sd-webui', 1, wrapped(rig.dataDir), { initialDelaySeconds: 30, periodSeconds: 2, failureThreshold: 3 }));
    await rig.until((g) => ready(g).length === 1, '1 Ready', 60_000);
    const alloc = await allocatorOn(rig);
    closers.push(() => alloc.stop());
    const user = await new Browser(alloc.url, 'painter').signIn();
    closers.push(() => user.close());
    const s = await user.start();
    assert.equal(s.status, 201);
    const instance = s.body.session!.instance;

    // The WebUI's page comes through the proxy.
    const page = await user.fetch('GET', '/', undefined, { accept: 'text/html' });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<textarea|<input/);

    // Its WebSocket progress stream too, while a generation runs through the proxy.
    const ws = new WebSocket(`${alloc.url.replace('http', 'ws')}/sim/ws/progress`, { headers: { cookie: user.cookie, origin: alloc.url } });
    const progress: unknown[] = [];
    ws.on('message', (m) => progress.push(JSON.parse(String(m))));
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    const gen = await user.fetch('POST', '/sdapi/v1/txt2img', { prompt: 'a lighthouse at dusk', seed: 42, steps: 20, save_images: true });
    assert.equal(gen.status, 200);
    const out = (await gen.json()) as { images: string[] };
    assert.ok(out.images[0]!.length > 1000, 'a PNG came back');
    await until(() => progress.length, (n) => n >= 2, 3000, 'progress messages over the proxied WebSocket');
    ws.close();

    // The image is in the user's store and in My images, and only theirs.
    const images = await user.api<{ images: { path: string; url: string }[] }>('GET', '/images');
    assert.equal(images.body.images.length, 1);
    assert.match(images.body.images[0]!.path, /^txt2img-images\/\d{4}-\d{2}-\d{2}\/\d{5}-42-a lighthouse at dusk\.png$/);
    const file = await user.fetch('GET', images.body.images[0]!.url);
    assert.equal(file.headers.get('content-type'), 'image/png');
    assert.equal(Buffer.from(await file.arrayBuffer()).subarray(1, 4).toString(), 'PNG');
    const stranger = await new Browser(alloc.url, 'stranger').signIn();
    assert.equal((await stranger.api<{ images: unknown[] }>('GET', '/images')).body.images.length, 0);
    assert.equal((await stranger.fetch('GET', images.body.images[0]!.url)).status, 404);
    const escape = await user.fetch('GET', '/_sdfleet/api/v1/images/file/..%2F..%2Flib%2F.sdfleet-ready.png');
    assert.equal(escape.status, 404, 'no way out of the user folder');

    // End the session: the wrapper shuts down, the Fleet brings a new Ready instance.
    const end = await user.api('DELETE', `/sessions/${s.body.session!.id}`);
    assert.equal(end.status, 202);
    await rig.until((g) => !g.some((x) => x.metadata.name === instance) && ready(g).length === 1, 'the replacement', 60_000);
    const me = await user.api<{ session: unknown }>('GET', '/me');
    assert.equal(me.body.session, null);
  });
});
