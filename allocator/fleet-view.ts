import { EventEmitter } from 'node:events';
import { SDK_ANNOTATION, sdkKey } from '../fleet/agones/metadata.ts';
import type { GameServer, GameServerState } from '../fleet/agones/types.ts';
import { LABEL_FLEET } from '../fleet/agones/types.ts';
import type { Profile } from './profiles.ts';
import { serves } from './profiles.ts';
import { median } from './queue/eta.ts';

const STARTING = new Set<GameServerState | undefined>([undefined, 'PortAllocation', 'Creating', 'Starting', 'Scheduled', 'RequestReady']);

const isReady = (g: GameServer): boolean => g.status?.state === 'Ready' && !g.metadata.deletionTimestamp;
const isStarting = (g: GameServer): boolean => STARTING.has(g.status?.state) && !g.metadata.deletionTimestamp;

/** Where a GameServer counts in FleetCounts (`shuttingDown` and `unhealthy`: ones its Fleet no longer counts and replaces). */
export function bucketOf(g: GameServer): 'ready' | 'allocated' | 'reserved' | 'starting' | 'unhealthy' | 'shuttingDown' {
  const s = g.status?.state;
  if (g.metadata.deletionTimestamp || s === 'Shutdown') return 'shuttingDown';
  if (s === 'Ready') return 'ready';
  if (s === 'Allocated') return 'allocated';
  if (s === 'Reserved') return 'reserved';
  if (s === 'Unhealthy' || s === 'Error') return 'unhealthy';
  return 'starting';
}

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
  /** counts() kept as GameServers come and go, not recounted: a fleet summary at 10,000 was three scans. */
  readonly #byFleet = new Map<string, FleetCounts>();
  /** Ready and starting per profile asked about, kept the same way from the first question on. */
  readonly #perProfile = new Map<Profile, { ready: number; starting: number }>();

  constructor(o: { defaultColdStartMs: number }) {
    super();
    this.#defaultColdStartMs = o.defaultColdStartMs;
  }

  upsert(gs: GameServer): void {
    const prev = this.#gs.get(gs.metadata.name!);
    this.#gs.set(gs.metadata.name!, gs);
    if (prev) this.#account(prev, -1);
    this.#account(gs, 1);
    this.emit('change', gs, prev);
  }

  remove(gs: GameServer): void {
    const known = this.#gs.get(gs.metadata.name!);
    this.#gs.delete(gs.metadata.name!);
    if (known) this.#account(known, -1);
    this.emit('change', gs, undefined);
  }

  /** Adds (1) or takes away (-1) one GameServer's part in the kept counts. */
  #account(g: GameServer, sign: 1 | -1): void {
    const fleet = g.metadata.labels?.[LABEL_FLEET] ?? '(none)';
    let c = this.#byFleet.get(fleet);
    if (!c) this.#byFleet.set(fleet, (c = { fleet, ready: 0, allocated: 0, reserved: 0, starting: 0, unhealthy: 0, shuttingDown: 0, total: 0 }));
    c.total += sign;
    c[bucketOf(g)] += sign;
    if (c.total === 0) this.#byFleet.delete(fleet);
    for (const [profile, n] of this.#perProfile) {
      if (isReady(g) && serves(profile, g)) n.ready += sign;
      else if (isStarting(g) && serves(profile, g)) n.starting += sign;
    }
  }

  all(): GameServer[] {
    return [...this.#gs.values()];
  }

  get(name: string): GameServer | undefined {
    return this.#gs.get(name);
  }

  startingFor(profile: Profile): GameServer[] {
    return this.all().filter((g) => isStarting(g) && serves(profile, g));
  }

  /** Ready and starting GameServers of a profile (`startingFor(profile).length`), without a scan (after the first). */
  countsFor(profile: Profile): { ready: number; starting: number } {
    let n = this.#perProfile.get(profile);
    if (!n) {
      n = { ready: 0, starting: 0 };
      for (const g of this.#gs.values()) {
        if (isReady(g) && serves(profile, g)) n.ready++;
        else if (isStarting(g) && serves(profile, g)) n.starting++;
      }
      this.#perProfile.set(profile, n);
    }
    return { ...n };
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
    return [...this.#byFleet.values()].map((c) => ({ ...c })).sort((a, b) => a.fleet.localeCompare(b.fleet));
  }
}
