import type { Logger } from '../../common/log.ts';
import type { KubeClients } from '../kube/clients.ts';
import { ANNOTATION_LAST_TRAFFIC } from './model.ts';
import { annotate } from './release.ts';

/**
 * User traffic seen by this replica's proxy, written back to the GameServer so every
 * replica (and the reclaimer, wherever it runs) sees it: at most one write per session
 * per `everyMs`, and only traffic at least `everyMs` newer than the activity the
 * GameServer already records (`recorded`: its allocation time, last traffic, keep-alive or
 * generation). So a session's first request, right after its allocation, writes nothing:
 * the allocation time says as much; the record is never more than `everyMs` (plus one
 * flush interval) behind what this replica saw.
 */
export class TrafficRecorder {
  readonly #k: KubeClients;
  readonly #log: Logger;
  readonly #everyMs: number;
  readonly #recorded: (gameServer: string) => number | undefined;
  #seen = new Map<string, number>();
  #written = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(o: { k: KubeClients; log: Logger; everyMs?: number; recorded?: (gameServer: string) => number | undefined }) {
    this.#k = o.k;
    this.#log = o.log;
    this.#everyMs = o.everyMs ?? 30_000;
    this.#recorded = o.recorded ?? (() => undefined);
  }

  /** The proxy saw user traffic for the session on this GameServer. Cheap: a map write. */
  touch(gameServer: string, at = Date.now()): void {
    this.#seen.set(gameServer, at);
  }

  /** Last traffic seen here (for this replica's own view before the write lands). */
  lastSeen(gameServer: string): number | undefined {
    return this.#seen.get(gameServer);
  }

  start(): void {
    this.#timer = setInterval(() => void this.flush(), Math.min(5000, this.#everyMs));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Writes what is due. */
  async flush(force = false): Promise<void> {
    const now = Date.now();
    for (const [gs, at] of this.#seen) {
      const last = this.#written.get(gs) ?? 0;
      if (at <= last || (!force && now - last < this.#everyMs)) continue;
      const recorded = this.#recorded(gs);
      if (recorded !== undefined && (force ? at <= recorded : at - recorded < this.#everyMs)) continue;
      this.#written.set(gs, at);
      try {
        await annotate(this.#k, gs, { [ANNOTATION_LAST_TRAFFIC]: new Date(at).toISOString() });
      } catch (err) {
        this.#seen.delete(gs);
        this.#written.delete(gs);
        this.#log.debug({ gameServer: gs, err: (err as Error).message }, 'could not record traffic (instance gone?)');
      }
    }
  }

  forget(gameServer: string): void {
    this.#seen.delete(gameServer);
    this.#written.delete(gameServer);
  }
}
