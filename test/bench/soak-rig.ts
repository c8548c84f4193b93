/**
 * The processes of `sdfleet bench soak`, as in production: `sdfleet control-plane` with a
 * Fleet of wrapped `sdfleet sim-webui` instances (run by its process runner) and
 * `sdfleet allocator` (dev sign-in), each a child in a process group of its own, in a temp
 * dir whose path is on every command line — so what is left of the bench after it stopped
 * everything can be found.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GameServer } from '../../fleet/agones/types.ts';
import { SDFLEET_BIN } from '../../common/self.ts';
import { COOKIE_SECRET } from '../helpers/allocator.ts';
import { fleetOf } from '../helpers/embedded.ts';
import { freePort } from '../helpers/net.ts';
import type { SoakPorts } from './soak-analysis.ts';
import { groupSurvivors, processesNaming, startTimeOf } from './soak-probe.ts';
import { killGroup } from '../helpers/processes.ts';

/** Host ports of the instances: away from those the tests use (47000–47999). */
const INSTANCE_PORTS: [number, number] = [45000, 45999];

/** A child whose output is kept (the last lines) for a message when it fails. */
export class SoakChild {
  readonly proc: ChildProcess;
  readonly name: string;
  readonly #tail: string[] = [];
  readonly exited: Promise<void>;

  constructor(name: string, args: string[], env: NodeJS.ProcessEnv) {
    this.name = name;
    this.proc = spawn(process.execPath, [SDFLEET_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const keep = (b: Buffer): void => {
      this.#tail.push(b.toString('utf8'));
      if (this.#tail.length > 50) this.#tail.shift();
    };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    this.exited = new Promise((r) => this.proc.once('exit', () => r()));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  tail(): string {
    return this.#tail.join('').slice(-2000);
  }

  /** SIGTERM, then SIGKILL to the whole group after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    if (this.running) killGroup(this.pid);
    await this.exited;
  }
}

/** GET a JSON document over a connection of its own, closed after the answer (no idle socket to count). */
function getJson<T>(url: string, timeoutMs = 5000): Promise<{ status: number; body: T | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as T) : undefined });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: undefined });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} took over ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface SoakRig {
  dir: string;
  ports: SoakPorts;
  allocatorUrl: string;
  allocator: SoakChild;
  controlPlane: SoakChild;
  /** GameServers by state; undefined when the control plane does not answer. */
  gameServerStates(): Promise<Record<string, number> | undefined>;
  /** Throws with the output of a child that has exited. */
  check(): void;
  /**
   * Stops both (the control plane stops its instances), then lists what of the bench is
   * still alive — a process naming its temp dir, a member of its children's process groups
   * or of the instances' groups in `instanceGroups` (leader pid → start time) — or left a
   * pid file, and kills it.
   */
  stop(instanceGroups?: ReadonlyMap<number, string>): Promise<string[]>;
}

export async function startSoakRig(o: { replicas: number; say: (line: string) => void }): Promise<SoakRig> {
  const dir = await mkdtemp(join(tmpdir(), 'sdfleet-bench-soak-'));
  const cpDir = join(dir, 'cp');
  await mkdir(join(dir, 'lib'), { recursive: true });
  await writeFile(join(dir, 'lib', '.sdfleet-ready'), JSON.stringify({ image: 'local', version: 'local', mountedAt: new Date().toISOString() }));
  // As k8s/local/fleet.yaml, with short graces so a release is over in seconds.
  const command = [
    'sdfleet', 'wrapper', '--lib-dir', join(dir, 'lib'), '--no-lib-require-mount', '--user-store', join(dir, 'user-store'),
    '--release-grace', '5', '--stop-grace', '2', '--log-level', 'warn',
    '--', 'sdfleet', 'sim-webui', '--port', '{port}', '--boot-ms', '100', '--step-ms', '5', '--output-dir', join(dir, 'scratch'), '--log-level', 'warn',
  ];
  await writeFile(join(dir, 'fleet.json'), JSON.stringify(fleetOf('sd-webui', o.replicas, command, { initialDelaySeconds: 30, periodSeconds: 5, failureThreshold: 3 })));
  const cpPort = await freePort();
  const allocPort = await freePort();
  const api = `http://127.0.0.1:${cpPort}`;
  const allocatorUrl = `http://127.0.0.1:${allocPort}`;
  const cp = new SoakChild('control plane', ['control-plane', '--port', String(cpPort), '--data-dir', cpDir, '--port-range', INSTANCE_PORTS.join('-'), '-f', join(dir, 'fleet.json'), '--log-level', 'warn'], process.env);
  let alloc: SoakChild | undefined;
  /** The children's own process groups (each leads one), with their start times. */
  const childGroups = new Map<number, string>();
  const started = (c: SoakChild): void => void childGroups.set(c.pid, startTimeOf(c.pid) ?? '');
  started(cp);
  const check = (): void => {
    for (const c of [cp, alloc]) if (c && !c.running) throw new Error(`the ${c.name} exited during the bench (${c.proc.signalCode ?? c.proc.exitCode}); its last output:\n${c.tail()}`);
  };
  const answers = async (url: string): Promise<boolean> => (await getJson(url).catch(() => ({ status: 0 }))).status === 200;
  const waitFor = async (what: string, ms: number, ok: () => Promise<boolean>): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      check();
      if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
      await sleep(250);
    }
  };
  const gameServerStates = async (): Promise<Record<string, number> | undefined> => {
    const r = await getJson<{ items: GameServer[] }>(`${api}/apis/agones.dev/v1/namespaces/default/gameservers`).catch(() => undefined);
    if (!r?.body?.items) return undefined;
    const out: Record<string, number> = {};
    for (const g of r.body.items) out[g.status?.state ?? 'Creating'] = (out[g.status?.state ?? 'Creating'] ?? 0) + 1;
    return out;
  };
  const stop = async (instanceGroups: ReadonlyMap<number, string> = new Map()): Promise<string[]> => {
    const groups = new Map([...instanceGroups, ...childGroups]);
    await alloc?.stop(15_000);
    // The control plane stops every instance (terminationGracePeriodSeconds 5 each, in parallel).
    await cp.stop(30_000);
    const alive = (): { pid: number; what: string }[] => {
      const named = processesNaming(dir);
      return [...named, ...groupSurvivors(groups).filter((g) => !named.some((n) => n.pid === g.pid))];
    };
    let left = alive();
    for (let i = 0; i < 40 && left.length > 0; i++) {
      await sleep(250);
      left = alive();
    }
    const pidDir = join(cpDir, 'logs', 'default');
    const pidFiles = existsSync(pidDir) ? readdirSync(pidDir).filter((f) => f.endsWith('.pid')) : [];
    for (const p of left) killGroup(p.pid);
    const leftovers = [...left.map((p) => p.what), ...pidFiles.map((f) => `pid file ${f} left in ${pidDir}`)];
    // Kept for a look when something was left behind; gone otherwise.
    if (leftovers.length === 0) await rm(dir, { recursive: true, force: true });
    return leftovers;
  };
  try {
    await waitFor("the control plane's API", 60_000, () => answers(`${api}/version`));
    alloc = new SoakChild('allocator', ['allocator', '--port', String(allocPort), '--kubeconfig', join(cpDir, 'kubeconfig'), '--user-store', join(dir, 'user-store'), '--log-level', 'warn'],
      { ...process.env, SDFLEET_IDENTITY: 'dev', SDFLEET_COOKIE_SECRET: COOKIE_SECRET });
    started(alloc);
    await waitFor('the allocator ready', 60_000, () => answers(`${allocatorUrl}/_sdfleet/readyz`));
    o.say(`control plane pid ${cp.pid} at ${api}, allocator pid ${alloc.pid} at ${allocatorUrl}; waiting for ${o.replicas} Ready instances`);
    await waitFor(`${o.replicas} Ready instances`, 180_000, async () => ((await gameServerStates())?.Ready ?? 0) >= o.replicas);
  } catch (err) {
    const left = await stop();
    if (left.length) o.say(`left after a failed start (killed; the temp dir ${dir} is kept): ${left.join('; ')}`);
    throw err;
  }
  return { dir, ports: { allocator: allocPort, controlPlane: cpPort, instances: INSTANCE_PORTS }, allocatorUrl, allocator: alloc, controlPlane: cp, gameServerStates, check, stop };
}
