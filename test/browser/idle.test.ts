/**
 * The idle warning in a real browser: it appears above the WebUI with a countdown, "I'm
 * still here" keeps the session, and left alone the session is reclaimed and the page
 * says so and offers to start again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { allocatorOn } from '../helpers/allocator.ts';
import { embeddedRig, fleetOf, ready, type EmbeddedRig } from '../helpers/embedded.ts';
import type { RunningAllocator } from '../../allocator/server.ts';
import { chromiumSkip, launch, signIn, withScreenshots, type Chrome } from './browser.ts';

const skip = chromiumSkip();

describe('idle warning in a browser', { skip }, () => {
  let rig: EmbeddedRig;
  let alloc: RunningAllocator;
  let chrome: Chrome;
  let page: Page;

  before(async () => {
    rig = await embeddedRig({ portRange: { min: 46000, max: 46999 } });
    rig.e.controlPlane.store.create('fleets.agones.dev', fleetOf('sd-webui', 1));
    await rig.until((g) => ready(g).length === 1, '1 Ready');
    alloc = await allocatorOn(rig, { policy: { idleLimitMs: 7000, warnBeforeMs: 5000 } });
    chrome = await launch();
    page = await (await chrome.context()).newPage();
  });
  after(async () => {
    await chrome?.close();
    await alloc?.stop();
    await rig?.close();
  });

  it("warns with a countdown; I'm still here keeps it; then, left alone, it is reclaimed", async () => {
    await withScreenshots('idle', () => [page], async () => {
      await signIn(page, alloc.url, 'dozer');
      await page.click('#start-button');
      await page.waitForURL('**/_sdfleet/session');
      // No traffic after the page loaded: the warning comes ~2 s in.
      await page.waitForSelector('#idle:not([hidden])', { timeout: 10_000 });
      assert.match(await page.textContent('#idle-text') ?? '', /this session ends in \d/);
      await page.click('#still-here');
      await page.waitForSelector('#idle', { state: 'hidden' });
      const instance = await page.textContent('#instance');
      // Now leave it alone: warned again, then reclaimed.
      await page.waitForSelector('#ended:not([hidden])', { timeout: 20_000 });
      assert.match(await page.textContent('#ended') ?? '', /Your session has ended/);
      assert.ok(await page.isVisible('#start-again'));
      const gs = rig.gameServers().find((g) => g.metadata.name === instance);
      assert.ok(!gs || gs.metadata.annotations?.['sdfleet.dev/release'] === 'idle', 'released as idle');
    });
  });
});
