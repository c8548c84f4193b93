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
      this.#timer = setInterval(() => this.kick(), this.#o.intervalMs ?? 1000);
      this.#timer.unref();
      this.kick();
    }
  }

  stop(): void {
    this.setActive(false);
  }

  /** Run a pass soon (merged with one already running). */
  kick(): void {
    if (!this.#active) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    void this.#pass().finally(() => {
      this.#running = false;
      if (this.#again) {
        this.#again = false;
        this.kick();
      }
    });
  }

  async #pass(): Promise<void> {
    try {
      await this.#dispatch();
      await this.#reclaim();
      await this.#o.queue.sweep();
    } catch (err) {
      this.#o.log.warn({ err: (err as Error).message }, 'leader pass failed; retrying');
    }
  }

  async #dispatch(): Promise<void> {
    for (const profile of this.#o.profiles) {
      let free = this.#o.fleet.readyFor(profile).length;
      for (const entry of this.#o.queue.entries(profile.name)) {
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
