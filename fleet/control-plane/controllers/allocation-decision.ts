/**
 * Which GameServer a GameServerAllocation gets, decided without I/O. The allocation
 * controller runs it and applies the result in the same synchronous step, so no
 * GameServer can go to two allocations.
 */
import type { GameServer, GameServerState } from '../../agones/types.ts';

export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface GameServerSelector extends LabelSelectorSpec {
  /** Ready (default) or Allocated (re-allocation of a GameServer that has room). */
  gameServerState?: 'Ready' | 'Allocated';
}

export interface AllocationSpec {
  selectors?: GameServerSelector[];
  /** Deprecated in Agones, still accepted: become selectors preferred…, then required. */
  required?: GameServerSelector;
  preferred?: GameServerSelector[];
  scheduling?: 'Packed' | 'Distributed';
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** The selectors in the order Agones tries them. An empty list matches any Ready GameServer. */
export function selectorsOf(spec: AllocationSpec): GameServerSelector[] {
  const list = [...(spec.selectors ?? []), ...(spec.preferred ?? []), ...(spec.required ? [spec.required] : [])];
  return list.length > 0 ? list : [{}];
}

export function matchesLabels(labels: Record<string, string> | undefined, sel: LabelSelectorSpec): boolean {
  return labelMatcher(sel)(labels);
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** `matchesLabels` with the selector read once, for a scan over many GameServers. */
export function labelMatcher(sel: LabelSelectorSpec): (labels: Record<string, string> | undefined) => boolean {
  const pairs = Object.entries(sel.matchLabels ?? {});
  const exprs = sel.matchExpressions ?? [];
  return (labels) => {
    const l = labels ?? NO_LABELS;
    for (let i = 0; i < pairs.length; i++) if (l[pairs[i]![0]] !== pairs[i]![1]) return false;
    return exprs.length === 0 || matchesExpressions(l, exprs);
  };
}

function matchesExpressions(l: Readonly<Record<string, string>>, exprs: NonNullable<LabelSelectorSpec['matchExpressions']>): boolean {
  for (const e of exprs) {
    const has = Object.hasOwn(l, e.key);
    switch (e.operator) {
      case 'In': if (!has || !(e.values ?? []).includes(l[e.key]!)) return false; break;
      case 'NotIn': if (has && (e.values ?? []).includes(l[e.key]!)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

export interface Pick {
  gameServer: GameServer;
  /** Index of the selector that matched. */
  selector: number;
}

export interface PickOptions {
  /**
   * The candidates come in `comparePacked` order (oldest first), as from an index
   * ordered by it: Packed then takes the first match without looking at the rest.
   */
  candidatesOldestFirst?: boolean;
}

/**
 * The first selector that matches a GameServer wins. Among its matches, Packed takes the
 * one Ready the longest (one node here, so packing by node does not apply; the oldest keeps
 * the pool turning over), Distributed a random one.
 */
export function pickGameServer(
  spec: AllocationSpec,
  candidates: (state: GameServerState) => Iterable<GameServer>,
  random: () => number = Math.random,
  o: PickOptions = {},
): Pick | undefined {
  const selectors = selectorsOf(spec);
  for (let i = 0; i < selectors.length; i++) {
    const sel = selectors[i]!;
    const state = sel.gameServerState ?? 'Ready';
    const matches = labelMatcher(sel);
    if (o.candidatesOldestFirst && spec.scheduling !== 'Distributed') {
      for (const gs of candidates(state)) if (eligible(gs, state, matches)) return { gameServer: gs, selector: i };
      continue;
    }
    const matching: GameServer[] = [];
    for (const gs of candidates(state)) if (eligible(gs, state, matches)) matching.push(gs);
    if (matching.length === 0) continue;
    if (spec.scheduling === 'Distributed') return { gameServer: matching[Math.floor(random() * matching.length)]!, selector: i };
    let best = matching[0]!;
    for (const gs of matching) if (olderThan(gs, best)) best = gs;
    return { gameServer: best, selector: i };
  }
  return undefined;
}

function eligible(gs: GameServer, state: GameServerState, matches: (labels: Record<string, string> | undefined) => boolean): boolean {
  return !gs.metadata.deletionTimestamp && gs.status?.state === state && matches(gs.metadata.labels);
}

function olderThan(a: GameServer, b: GameServer): boolean {
  return comparePacked(a, b) < 0;
}

/** Packed's order: created first, then by name. */
export function comparePacked(a: { metadata: { creationTimestamp?: string; name?: string } }, b: { metadata: { creationTimestamp?: string; name?: string } }): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = a.metadata.name ?? '';
  const nb = b.metadata.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/**
 * The GameServer after allocation: state, metadata from the request, last-allocated. A
 * new object: `gs` (which may be a stored, frozen one) is left as it is, and what did
 * not change is shared with it.
 */
export function applyAllocation(gs: GameServer, spec: AllocationSpec, now: Date): GameServer {
  return {
    ...gs,
    metadata: {
      ...gs.metadata,
      labels: { ...gs.metadata.labels, ...spec.metadata?.labels },
      annotations: { ...gs.metadata.annotations, ...spec.metadata?.annotations, 'agones.dev/last-allocated': now.toISOString() },
    },
    status: { ...gs.status, state: 'Allocated' },
  };
}
