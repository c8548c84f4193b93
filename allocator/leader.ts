import type { Logger } from '../common/log.ts';
import type { FleetView } from './fleet-view.ts';
import type { KubeClients } from './kube/clients.ts';
import type { Profile } from './profiles.ts';
import type { WaitQueue } from './queue/queue.ts';
import { idleVerdict, type IdlePolicy } from './reclaim/idle.ts';
import type { AllocationService } from './sessions/allocate.ts';
import type { SessionRegistry } from './sessions/registry.ts';
import { ANNOTATION_RELEASE_AT, forceDelete, requestRelease } from './sessions/release.ts';

export interface LeaderWorkOptions {
  k: KubeClients;
  registry: SessionRegistry;
  fleet: FleetView;
  queue: WaitQueue;
  allocation: AllocationService;
  profiles: Profile[];
  policy: IdlePolicy;
  /** A release the wrapper has not finished after this long → the GameServer is deleted. Default 5 min. */
  releaseTimeoutMs: number;
  log: Logger;
  /** How often the loops run besides the events that trigger them. Default 1 s. */
  intervalMs?: number;
  onReclaim?: (reason: string) => void;
  onServed?: (waitedMs: number) => void;
}

/**
 * What only one replica does, the leader: serve the queue the moment a matching instance
 * is Ready (oldest waiter first), release sessions past their idle limit or maximum
 * length, delete GameServers whose release never finished, drop expired queue entries.
 */
export class LeaderWork {
  readonly #o: LeaderWorkOptions;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;
  #againFull = false;
  #active = false;
  #releasing = new Set<string>();

  constructor(o: LeaderWorkOptions) {
    this.#o = o;
    const kick = (): void => this.kick();
    o.fleet.on('change', kick);
    o.queue.on('change', kick);
  }

  /** Leadership gained or lost. */
  setActive(active: boolean): void {
    this.#active = active;
    clearInterval(this.#timer);
    if (active) {
      this.#timer = setInterval(() => this.kick(true), this.#o.intervalMs ?? 1000);
      this.#timer.unref();
      this.kick(true);
    }
  }

  stop(): void {
    this.setActive(false);
  }

  /**
   * Run a pass soon (merged with one already running). An event (a GameServer or the
   * queue changed) can only make someone servable: it runs the dispatch alone. Idle
   * verdicts, release timeouts and queue expiry are matters of time: they run on the
   * timer (`full`), once per interval, not once per event — at 10,000 sessions a verdict
   * of every one on each of the fleet's many changes held the event loop ~20 ms each time.
   */
  kick(full = false): void {
    if (!this.#active) return;
    if (this.#running) {
      this.#again = true;
      this.#againFull ||= full;
      return;
    }
    this.#running = true;
    void this.#pass(full).finally(() => {
      this.#running = false;
      if (this.#again) {
        const nextFull = this.#againFull;
        this.#again = false;
        this.#againFull = false;
        this.kick(nextFull);
      }
    });
  }

  async #pass(full: boolean): Promise<void> {
    try {
      await this.#dispatch();
      if (!full) return;
      await this.#reclaim();
      await this.#o.queue.sweep();
    } catch (err) {
      this.#o.log.warn({ err: (err as Error).message }, 'leader pass failed; retrying');
    }
  }

  async #dispatch(): Promise<void> {
    for (const profile of this.#o.profiles) {
      const waiting = this.#o.queue.entries(profile.name);
      // Nobody waiting (the usual case): no scan of the fleet for what is Ready.
      if (waiting.length === 0) continue;
      let free = this.#o.fleet.countsFor(profile).ready;
      for (const entry of waiting) {
        if (free <= 0 || !this.#active) break;
        const session = await this.#o.allocation.serve(entry);
        if (!session) break;
        free--;
        this.#o.onServed?.(Date.now() - Date.parse(entry.queuedAt));
        this.#o.log.info({ user: entry.user, gameServer: session.gameServer, waitedMs: Date.now() - Date.parse(entry.queuedAt) }, 'served from the queue');
      }
    }
  }

  async #reclaim(): Promise<void> {
    const now = Date.now();
    for (const s of this.#o.registry.live()) {
      if (!this.#active) return;
      if (s.state === 'active') {
        const v = idleVerdict(s, now, this.#o.policy);
        if (v.kind === 'reclaim' && !this.#releasing.has(s.gameServer)) {
          this.#releasing.add(s.gameServer);
          this.#o.log.info({ user: s.user, gameServer: s.gameServer, reason: v.reason }, 'reclaiming a session');
          this.#o.onReclaim?.(v.reason);
          await requestRelease(this.#o.k, s.gameServer, v.reason).catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'could not release'));
        }
      } else if (s.state === 'releasing') {
        const gs = this.#o.fleet.get(s.gameServer);
        const at = Date.parse(gs?.metadata.annotations?.[ANNOTATION_RELEASE_AT] ?? '');
        if (Number.isFinite(at) && now - at > this.#o.releaseTimeoutMs) {
          this.#o.log.warn({ gameServer: s.gameServer, afterMs: now - at }, 'the release did not finish in time: deleting the GameServer');
          await forceDelete(this.#o.k, s.gameServer).catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'could not delete'));
        }
      }
    }
    for (const name of [...this.#releasing]) if (!this.#o.fleet.get(name)) this.#releasing.delete(name);
  }
}
