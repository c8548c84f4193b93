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
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
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

/**
 * The first selector that matches a GameServer wins. Among its matches, Packed takes the
 * one Ready the longest (one node here, so packing by node does not apply; the oldest keeps
 * the pool turning over), Distributed a random one.
 */
export function pickGameServer(
  spec: AllocationSpec,
  candidates: (state: GameServerState) => Iterable<GameServer>,
  random: () => number = Math.random,
): Pick | undefined {
  const selectors = selectorsOf(spec);
  for (let i = 0; i < selectors.length; i++) {
    const sel = selectors[i]!;
    const matching: GameServer[] = [];
    for (const gs of candidates(sel.gameServerState ?? 'Ready')) {
      if (gs.metadata.deletionTimestamp) continue;
      if (gs.status?.state !== (sel.gameServerState ?? 'Ready')) continue;
      if (!matchesLabels(gs.metadata.labels, sel)) continue;
      matching.push(gs);
    }
    if (matching.length === 0) continue;
    if (spec.scheduling === 'Distributed') return { gameServer: matching[Math.floor(random() * matching.length)]!, selector: i };
    let best = matching[0]!;
    for (const gs of matching) if (olderThan(gs, best)) best = gs;
    return { gameServer: best, selector: i };
  }
  return undefined;
}

function olderThan(a: GameServer, b: GameServer): boolean {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  return ta < tb || (ta === tb && (a.metadata.name ?? '') < (b.metadata.name ?? ''));
}

/** The GameServer after allocation: state, metadata from the request, last-allocated. */
export function applyAllocation(gs: GameServer, spec: AllocationSpec, now: Date): GameServer {
  gs.status = { ...gs.status, state: 'Allocated' };
  gs.metadata.labels = { ...gs.metadata.labels, ...spec.metadata?.labels };
  gs.metadata.annotations = {
    ...gs.metadata.annotations,
    ...spec.metadata?.annotations,
    'agones.dev/last-allocated': now.toISOString(),
  };
  return gs;
}
