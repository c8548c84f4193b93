/**
 * What users want of one fleet, read from what every allocator replica shares through
 * the control plane: the wait queue (one Lease per waiting user, label
 * sdfleet.dev/queue=<profile>) and the sessions (Allocated GameServers annotated with
 * their session id and allocation time). The allocator's informers hold both already;
 * `sdfleet autoscaler` runs the same informers on its own. This module only reads them.
 */
import { ANNOTATION_ALLOCATED_AT, ANNOTATION_SESSION, SDK_ANNOTATION, sdkKey } from '../agones/metadata.ts';
import type { GameServer } from '../agones/types.ts';
import { LABEL_FLEET } from '../agones/types.ts';
import { matchesLabels, type LabelSelectorSpec } from '../control-plane/controllers/allocation-decision.ts';

/** A waiting user as the allocator's queue lists them (allocator/queue/queue.ts QueueEntry). */
export interface QueueEntryLike {
  profile: string;
  sessionId: string;
  /** RFC 3339: when they joined. */
  queuedAt: string;
}

/** A profile as the allocator defines it (allocator/profiles.ts): which GameServers serve it. */
export interface ProfileLike {
  name: string;
  selectors: LabelSelectorSpec[];
}

/**
 * The views the demand is read from. The allocator passes its own (its core's queue,
 * fleet view and profiles); `sdfleet autoscaler` builds the same from its informers.
 */
export interface DemandViews {
  /** Both informers have listed: until then the demand is unknown. */
  synced(): boolean;
  /** Waiting users of every profile, expired entries left out. */
  queue: { entries(): QueueEntryLike[] };
  /** Every GameServer of the namespace. */
  gameServers: { all(): GameServer[] };
  profiles: readonly ProfileLike[];
  /** The labels a fleet's GameServers get (its template's, plus agones.dev/fleet); undefined when the Fleet is not there. */
  fleetLabels(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

export interface FleetRef {
  namespace: string;
  name: string;
}

export interface DemandReading {
  /** Users waiting for a profile this fleet serves; undefined when unknown. */
  queued?: number;
  /** Sessions seen now (waiting or allocated) with the time they asked; undefined when unknown. */
  sightings?: { id: string; at: number }[];
  /** Median creation → Ready of the fleet's GameServers, ms; undefined when none reported one. */
  coldStartMs?: number;
  /** How many GameServers the cold start is the median of. */
  coldStartSamples: number;
  /** Why a signal is missing. */
  problems: string[];
}

/** The wrapper's phase annotation: `createdToReadyMs` of sdk-wrapper/phases.ts PhaseSummary. */
export function coldStartOf(gs: GameServer): number | undefined {
  const raw = gs.metadata.annotations?.[sdkKey(SDK_ANNOTATION.phases)];
  if (!raw) return undefined;
  try {
    const v = (JSON.parse(raw) as { createdToReadyMs?: unknown }).createdToReadyMs;
    return typeof v === 'number' && v > 0 && Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function medianOf(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The demand for `fleet` from views that are synced, given the labels its GameServers
 * get: a queued user counts when their profile has a selector matching those labels
 * (a profile several fleets serve counts for each), unless they already hold the session
 * their entry was for; a session counts when its GameServer belongs to the fleet. Pure.
 */
export function demandOf(fleet: FleetRef, labels: Record<string, string>, queue: readonly QueueEntryLike[], gameServers: readonly GameServer[], profiles: readonly ProfileLike[]): DemandReading {
  const serving = new Set(profiles.filter((p) => p.selectors.some((s) => matchesLabels(labels, s))).map((p) => p.name));
  const sightings: { id: string; at: number }[] = [];
  // A user just served from the queue holds an Allocated GameServer under their queue
  // entry's session id until the entry is deleted: counted once, as the session.
  const inSession = new Set<string>();
  for (const gs of gameServers) {
    const session = gs.metadata.annotations?.[ANNOTATION_SESSION];
    if (session && gs.status?.state === 'Allocated') inSession.add(session);
  }
  let queued = 0;
  for (const e of queue) {
    if (!serving.has(e.profile) || (e.sessionId && inSession.has(e.sessionId))) continue;
    queued++;
    const at = Date.parse(e.queuedAt);
    if (Number.isFinite(at)) sightings.push({ id: e.sessionId || `queue:${e.queuedAt}`, at });
  }
  const colds: number[] = [];
  for (const gs of gameServers) {
    if (gs.metadata.labels?.[LABEL_FLEET] !== fleet.name || (gs.metadata.namespace ?? fleet.namespace) !== fleet.namespace) continue;
    const cold = coldStartOf(gs);
    if (cold !== undefined) colds.push(cold);
    const ann = gs.metadata.annotations ?? {};
    const at = Date.parse(ann[ANNOTATION_ALLOCATED_AT] ?? '');
    if (gs.status?.state === 'Allocated' && Number.isFinite(at)) sightings.push({ id: ann[ANNOTATION_SESSION] ?? gs.metadata.name!, at });
  }
  const coldStartMs = medianOf(colds);
  return { queued, sightings, ...(coldStartMs !== undefined ? { coldStartMs } : {}), coldStartSamples: colds.length, problems: [] };
}

/** Reads the demand through the views; signals it cannot read are left out, with the reason. */
export async function readDemand(views: DemandViews, fleet: FleetRef): Promise<DemandReading> {
  if (!views.synced()) return { coldStartSamples: 0, problems: ['the queue and GameServer informers have not listed yet'] };
  let labels: Record<string, string> | undefined;
  try {
    labels = await views.fleetLabels(fleet.namespace, fleet.name);
  } catch (err) {
    return { coldStartSamples: 0, problems: [`could not read Fleet ${fleet.namespace}/${fleet.name}: ${(err as Error).message}`] };
  }
  if (!labels) return { coldStartSamples: 0, problems: [`Fleet ${fleet.namespace}/${fleet.name} was not found, so which queue is its own is unknown`] };
  return demandOf(fleet, { ...labels, [LABEL_FLEET]: fleet.name }, views.queue.entries(), views.gameServers.all(), views.profiles);
}
