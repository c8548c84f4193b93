/**
 * The pages in a real browser (Chromium through playwright-core), against the embedded
 * control plane and real wrapper + sim-webui instances: sign in, Start, progress, work in
 * the WebUI through the proxy, My images, End session, Start again while the last session
 * ends; a queued user getting in when one ends; the admin page following live; a
 * non-admin refused.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { allocatorOn } from '../helpers/allocator.ts';
import { embeddedRig, fleetOf, ready, type EmbeddedRig } from '../helpers/embedded.ts';
import type { RunningAllocator } from '../../allocator/server.ts';
import { chromiumSkip, launch, signIn, withScreenshots, type Chrome } from './browser.ts';

const skip = chromiumSkip();

function wrapped(dataDir: string): string[] {
  return [
    'sdfleet', 'wrapper', '--lib-dir', join(dataDir, 'lib'), '--no-lib-require-mount', '--user-store', join(dataDir, 'user-store'),
    '--release-grace', '5', '--stop-grace', '3', '--log-level', 'warn',
    '--', 'sdfleet', 'sim-webui', '--port', '{port}', '--boot-ms', '100', '--step-ms', '10', '--log-level', 'warn',
  ];
}

describe('the pages in a browser', { skip }, () => {
  let rig: EmbeddedRig;
  let alloc: RunningAllocator;
  let chrome: Chrome;
  const pages: Page[] = [];
  const newPage = async (): Promise<Page> => {
    const p = await (await chrome.context()).newPage();
    pages.push(p);
    return p;
  };

  before(async () => {
    rig = await embeddedRig({ portRange: { min: 45000, max: 45999 } });
    rig.e.controlPlane.store.create('fleets.agones.dev', fleetOf('sd-webui', 2, wrapped(rig.dataDir), { initialDelaySeconds: 30, periodSeconds: 2, failureThreshold: 3 }));
    await rig.until((g) => ready(g).length === 2, '2 Ready', 90_000);
    alloc = await allocatorOn(rig, { core: { defaultColdStartMs: 4000 } });
    chrome = await launch();
  });
  after(async () => {
    await chrome?.close();
    await alloc?.stop();
    await rig?.close();
  });

  it('two users: sign in, Start, work in the WebUI, see the image in My images; a third waits in the queue and gets in when one ends; the admin page follows live', async () => {
    const admin = await newPage();
    const alice = await newPage();
    const bob = await newPage();
    const carol = await newPage();
    await withScreenshots('pages-flow', () => pages, async () => {
      await signIn(admin, alloc.url, 'admin');
      await admin.goto(`${alloc.url}/_sdfleet/admin`);
      await admin.waitForSelector('#fleets tbody tr[data-fleet="sd-webui"]');
      assert.match(await admin.textContent('#sessions tbody') ?? '', /No sessions/);

      // Alice and Bob each get an instance and land in the session view; the start page says, live, how many are free.
      for (const [page, name, free] of [[alice, 'alice', '2 instances free'], [bob, 'bob', '1 instance free']] as const) {
        await signIn(page, alloc.url, name);
        assert.match(await page.textContent('#profiles') ?? '', /free now/);
        await page.locator('#fleet-line', { hasText: free }).waitFor({ timeout: 10_000 });
        await page.click('#start-button');
        await page.waitForURL('**/_sdfleet/session', { timeout: 20_000 });
        assert.equal(await page.textContent('#who'), name);
        await page.frameLocator('#webui').locator('#prompt').waitFor();
      }
      // The admin page shows both sessions without a reload.
      await admin.locator('#sessions tbody tr[data-session]').nth(1).waitFor({ timeout: 10_000 });

      // Alice generates through the proxy, inside the page.
      const frame = alice.frameLocator('#webui');
      await frame.locator('#prompt').fill('a lighthouse in a storm');
      await frame.locator('#generate').click();
      await frame.locator('#result img').waitFor();
      await frame.locator('#progress-text').filter({ hasText: /idle|done/i }).waitFor({ timeout: 10_000 }).catch(() => undefined);

      // Carol finds the fleet full: the page says none is free; she starts and sees her place in the queue, and the count of those waiting.
      await signIn(carol, alloc.url, 'carol');
      await carol.locator('#fleet-line', { hasText: 'No instance free' }).waitFor({ timeout: 10_000 });
      await carol.click('#start-button');
      await carol.waitForSelector('#queue-box:not([hidden])');
      assert.equal(await carol.textContent('#queue-position'), '1');
      await carol.locator('#fleet-line', { hasText: /^No instance free( · \d+ starting)? · 1 waiting$/ }).waitFor({ timeout: 10_000 });
      await admin.locator('#queue tbody tr', { hasText: 'carol' }).waitFor({ timeout: 10_000 });

      // My images (in a new tab from the bar) has Alice's picture; Bob's has none.
      const images = await alice.context().newPage();
      pages.push(images);
      await images.goto(`${alloc.url}/_sdfleet/images`);
      await images.waitForSelector('.tile img');
      assert.equal(await images.locator('.tile').count(), 1);
      await images.click('.tile button');
      await images.waitForSelector('#viewer[open] #viewer-img');
      const bobImages = await bob.context().newPage();
      pages.push(bobImages);
      await bobImages.goto(`${alloc.url}/_sdfleet/images`);
      await bobImages.waitForSelector('#count');
      assert.equal(await bobImages.textContent('#count'), '0 images');

      // Alice ends her session (with confirmation); the page says so.
      await alice.click('#end-button');
      await alice.waitForSelector('#confirm-end[open]');
      await alice.click('#confirm-end-button');
      await alice.waitForSelector('#ended:not([hidden])');
      assert.match(await alice.textContent('#ended') ?? '', /Your session has ended/);

      // The Fleet replaces Alice's instance; Carol is taken into hers without doing anything.
      await carol.waitForURL('**/_sdfleet/session', { timeout: 60_000 });
      await carol.frameLocator('#webui').locator('#prompt').waitFor();
      await admin.locator('#sessions tbody tr', { hasText: 'carol' }).waitFor({ timeout: 10_000 });

      // Alice wants another ("Start again", Start). Were her last session still ending (its
      // images being saved), the API would answer 409 session_releasing: the page says so
      // and asks again a few seconds later. Her first POST is answered so here (the sim's
      // release is over too fast to catch); the second goes through: the fleet is full, she queues.
      await alice.click('#start-again');
      await alice.waitForSelector('#start-button:not([disabled])');
      let posts = 0;
      await alice.route('**/_sdfleet/api/v1/sessions', async (route) => {
        if (route.request().method() !== 'POST' || posts++ > 0) return route.continue();
        await route.fulfill({ status: 409, headers: { 'retry-after': '3' }, contentType: 'application/json', body: JSON.stringify({ error: { code: 'session_releasing', message: 'your last session is still ending' } }) });
      });
      await alice.click('#start-button');
      await alice.locator('#message', { hasText: 'will be asked for as soon as it has ended' }).waitFor({ timeout: 5_000 });
      await alice.waitForSelector('#queue-box:not([hidden])', { timeout: 15_000 });
      assert.equal(posts, 2, 'asked again after the 409');
      assert.equal(await alice.textContent('#queue-position'), '1');
    });
  });

  it('a non-admin is refused the admin page', async () => {
    const page = await newPage();
    await withScreenshots('pages-non-admin', () => [page], async () => {
      await signIn(page, alloc.url, 'mallory');
      const res = await page.goto(`${alloc.url}/_sdfleet/admin`);
      assert.equal(res?.status(), 403);
      assert.match(await page.textContent('h1') ?? '', /Admins only/);
    });
  });
});
