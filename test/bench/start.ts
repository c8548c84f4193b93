/**
 * `sdfleet bench start`: click Start → the WebUI usable in the page (its prompt box shown
 * inside the session view), measured in a real browser with a warm instance waiting, on
 * the embedded control plane with real wrapper + sim-webui instances.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../common/log.ts';
import type { GameServer } from '../../fleet/agones/types.ts';
import { startEmbedded } from '../../fleet/control-plane/embedded.ts';
import { RESOURCES } from '../../fleet/control-plane/resources/registry.ts';
import { kubeClients } from '../../allocator/kube/clients.ts';
import { defaultProfiles } from '../../allocator/profiles.ts';
import { startAllocator } from '../../allocator/server.ts';
import { launch, signIn } from '../browser/browser.ts';
import { fleetOf } from '../helpers/embedded.ts';
import { ms, summarize, type Summary } from './stats.ts';

export interface StartBenchOptions {
  /** Measured runs. Default 20. */
  runs: number;
  /** Warm instances kept in the Fleet. Default 3. */
  warm: number;
  progress?: (line: string) => void;
}

export interface StartBenchResult {
  runs: number;
  /** Click → the WebUI's prompt box visible in the session view. */
  clickToUsable: Summary;
  /** Click → the session view loaded (before the WebUI inside it). */
  clickToSessionPage: Summary;
}

export async function runStartBench(o: StartBenchOptions): Promise<StartBenchResult> {
  const say = o.progress ?? (() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'sdfleet-bench-start-'));
  await mkdir(join(dir, 'lib'), { recursive: true });
  await writeFile(join(dir, 'lib', '.sdfleet-ready'), JSON.stringify({ image: 'local', version: 'local', mountedAt: new Date().toISOString() }));
  const embedded = await startEmbedded({ dataDir: dir, port: 0, portRange: { min: 47000, max: 47999 }, logger: silentLogger() });
  const command = [
    'sdfleet', 'wrapper', '--lib-dir', join(dir, 'lib'), '--no-lib-require-mount', '--user-store', join(dir, 'user-store'), '--log-level', 'warn',
    '--', 'sdfleet', 'sim-webui', '--port', '{port}', '--boot-ms', '100', '--log-level', 'warn',
  ];
  const store = embedded.controlPlane.store;
  const readyCount = (): number => store.list(RESOURCES.gameServers).items.filter((g) => (g as unknown as GameServer).status?.state === 'Ready').length;
  let allocator: Awaited<ReturnType<typeof startAllocator>> | undefined;
  let chrome: Awaited<ReturnType<typeof launch>> | undefined;
  try {
    store.create(RESOURCES.fleets, fleetOf('sd-webui', o.warm, command, { initialDelaySeconds: 30, periodSeconds: 2, failureThreshold: 3 }));
    allocator = await startAllocator({
      k: kubeClients({ kubeconfig: embedded.controlPlane.kubeconfigPath!, namespace: 'default' }),
      identity: { mode: 'dev', cookieSecret: 'bench-secret-0123456789abcdef0123456789abcdef' },
      profiles: defaultProfiles('sd-webui'),
      policy: { idleLimitMs: 3600_000, warnBeforeMs: 60_000, maxSessionMs: 8 * 3600_000 },
      userStore: join(dir, 'user-store'),
      port: 0,
      logger: silentLogger(),
    });
    chrome = await launch();
    const usable: number[] = [];
    const sessionPage: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const until = Date.now() + 120_000;
      while (readyCount() < 1) {
        if (Date.now() > until) throw new Error('no warm instance within 120 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      const ctx = await chrome.context();
      const page = await ctx.newPage();
      await signIn(page, allocator.url, `bench${i}`);
      const t0 = performance.now();
      await page.click('#start-button');
      await page.waitForURL('**/_sdfleet/session', { timeout: 30_000 });
      const t1 = performance.now();
      await page.frameLocator('#webui').locator('#prompt').waitFor({ timeout: 30_000 });
      const t2 = performance.now();
      sessionPage.push(t1 - t0);
      usable.push(t2 - t0);
      say(`run ${i + 1}/${o.runs}: usable after ${ms(t2 - t0)} ms`);
      // Give the instance back; the Fleet replaces it while the next run takes another.
      await page.evaluate(async () => {
        const me = (await (await fetch('/_sdfleet/api/v1/me')).json()) as { csrfToken: string; session: { id: string } };
        await fetch(`/_sdfleet/api/v1/sessions/${me.session.id}`, { method: 'DELETE', headers: { 'x-sdfleet-csrf': me.csrfToken } });
      });
      await ctx.close();
    }
    return { runs: o.runs, clickToUsable: summarize(usable), clickToSessionPage: summarize(sessionPage) };
  } finally {
    await chrome?.close();
    await allocator?.stop();
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export function startReport(r: StartBenchResult): string {
  return [
    `| measured in the browser (${r.runs} runs, a warm instance waiting) | p50 ms | p90 ms | p95 ms | max ms |`,
    '| --- | --- | --- | --- | --- |',
    `| click Start → session view loaded | ${ms(r.clickToSessionPage.p50)} | ${ms(r.clickToSessionPage.p90)} | ${ms(r.clickToSessionPage.p95)} | ${ms(r.clickToSessionPage.max)} |`,
    `| click Start → WebUI usable in the page | ${ms(r.clickToUsable.p50)} | ${ms(r.clickToUsable.p90)} | ${ms(r.clickToUsable.p95)} | ${ms(r.clickToUsable.max)} |`,
    '',
    `Target p95 ≤ 2 s: ${r.clickToUsable.p95 <= 2000 ? 'met' : 'NOT met'} (${ms(r.clickToUsable.p95)} ms).`,
  ].join('\n');
}
