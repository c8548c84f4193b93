import { EventEmitter } from 'node:events';
import { SDK_ANNOTATION, sdkKey } from '../fleet/agones/metadata.ts';
import type { GameServer, GameServerState } from '../fleet/agones/types.ts';
import { LABEL_FLEET } from '../fleet/agones/types.ts';
import type { Profile } from './profiles.ts';
import { serves } from './profiles.ts';
import { median } from './queue/eta.ts';

const STARTING = new Set<GameServerState | undefined>([undefined, 'PortAllocation', 'Creating', 'Starting', 'Scheduled', 'RequestReady']);

/** Counts of GameServers by state for one fleet (the admin page, /fleets). */
export interface FleetCounts {
  fleet: string;
  ready: number;
  allocated: number;
  reserved: number;
  starting: number;
  unhealthy: number;
  shuttingDown: number;
  total: number;
}

/**
 * Every GameServer of the namespace as the informer last saw it, with the questions the
 * allocator asks of them: what is Ready or starting for a profile, how long a cold start
 * takes (the median of the wrappers' created→Ready), counts per fleet.
 */
export class FleetView extends EventEmitter<{ change: [GameServer, GameServer | undefined] }> {
  #gs = new Map<string, GameServer>();
  readonly #defaultColdStartMs: number;
  /** created→Ready of each GameServer object seen (the informer replaces an object on change): one JSON.parse each, not one per ETA. */
  readonly #coldStart = new WeakMap<GameServer, number | undefined>();

  constructor(o: { defaultColdStartMs: number }) {
    super();
    this.#defaultColdStartMs = o.defaultColdStartMs;
  }

  upsert(gs: GameServer): void {
    const prev = this.#gs.get(gs.metadata.name!);
    this.#gs.set(gs.metadata.name!, gs);
    this.emit('change', gs, prev);
  }

  remove(gs: GameServer): void {
    this.#gs.delete(gs.metadata.name!);
    this.emit('change', gs, undefined);
  }

  all(): GameServer[] {
    return [...this.#gs.values()];
  }

  get(name: string): GameServer | undefined {
    return this.#gs.get(name);
  }

  readyFor(profile: Profile): GameServer[] {
    return this.all().filter((g) => g.status?.state === 'Ready' && !g.metadata.deletionTimestamp && serves(profile, g));
  }

  startingFor(profile: Profile): GameServer[] {
    return this.all().filter((g) => STARTING.has(g.status?.state) && !g.metadata.deletionTimestamp && serves(profile, g));
  }

  /** Median created→Ready of the profile's instances (their phase annotations). */
  coldStartMs(profile?: Profile): number {
    const xs: number[] = [];
    for (const g of this.#gs.values()) {
      if (profile && !serves(profile, g)) continue;
      const v = this.#coldStartOf(g);
      if (v !== undefined) xs.push(v);
    }
    return median(xs, this.#defaultColdStartMs);
  }

  #coldStartOf(g: GameServer): number | undefined {
    if (this.#coldStart.has(g)) return this.#coldStart.get(g);
    let v: number | undefined;
    const raw = g.metadata.annotations?.[sdkKey(SDK_ANNOTATION.phases)];
    if (raw) {
      try {
        const ms = (JSON.parse(raw) as { createdToReadyMs?: number }).createdToReadyMs;
        if (typeof ms === 'number' && ms > 0) v = ms;
      } catch {
        // ignore a malformed annotation
      }
    }
    this.#coldStart.set(g, v);
    return v;
  }

  counts(): FleetCounts[] {
    const by = new Map<string, FleetCounts>();
    for (const g of this.all()) {
      const fleet = g.metadata.labels?.[LABEL_FLEET] ?? '(none)';
      const c = by.get(fleet) ?? { fleet, ready: 0, allocated: 0, reserved: 0, starting: 0, unhealthy: 0, shuttingDown: 0, total: 0 };
      const s = g.status?.state;
      c.total++;
      if (g.metadata.deletionTimestamp || s === 'Shutdown') c.shuttingDown++;
      else if (s === 'Ready') c.ready++;
      else if (s === 'Allocated') c.allocated++;
      else if (s === 'Reserved') c.reserved++;
      else if (s === 'Unhealthy' || s === 'Error') c.unhealthy++;
      else c.starting++;
      by.set(fleet, c);
    }
    return [...by.values()].sort((a, b) => a.fleet.localeCompare(b.fleet));
  }
}
