/**
 * Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core, with
 * the flags this workplace needs and a fresh profile each time (playwright's own). Where Chromium is missing
 * the tests skip with the reason; under CI=true that is a failure instead.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.SDFLEET_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** `false` when Chromium is there; else the reason to skip (and under CI=true, a thrown error). */
export function chromiumSkip(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set SDFLEET_CHROMIUM)`;
  if (process.env.CI === 'true') throw new Error(`${reason}: browser tests may not be skipped in CI`);
  return reason;
}

export interface Chrome {
  browser: Browser;
  /** A new context (its own cookies), like another person's browser. */
  context(): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** A fresh browser; playwright gives each launch a new, empty profile directory of its own. */
export async function launch(): Promise<Chrome> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
  return {
    browser,
    context: () => browser.newContext({ viewport: { width: 1280, height: 800 } }),
    close: () => browser.close(),
  };
}

/** Runs `fn`; when it fails, saves a screenshot of each page under test-results/ first. */
export async function withScreenshots<T>(name: string, pages: () => Page[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const dir = join(process.cwd(), 'test-results');
    mkdirSync(dir, { recursive: true });
    let i = 0;
    for (const p of pages()) {
      const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}-${i++}.png`);
      await p.screenshot({ path: file, fullPage: true }).catch(() => undefined);
      process.stderr.write(`screenshot of the failure: ${file}\n`);
    }
    throw err;
  }
}

/** Signs a page in (dev mode) on the start page. */
export async function signIn(page: Page, base: string, name: string): Promise<void> {
  await page.goto(`${base}/_sdfleet/`);
  await page.fill('#name', name);
  await page.click('#signin-button');
  await page.waitForSelector('#start:not([hidden])');
}
