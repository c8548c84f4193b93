import type { Session } from '../sessions/model.ts';

export interface IdlePolicy {
  /** No traffic and no generation for this long → released. Default 15 min. */
  idleLimitMs: number;
  /** The warning comes this long before. Default 3 min. */
  warnBeforeMs: number;
  /** A session never lasts longer than this. Default 8 h. */
  maxSessionMs: number;
}

export type IdleVerdict =
  | { kind: 'ok'; deadline: number }
  | { kind: 'warn'; deadline: number; reason: 'idle' | 'max-length' }
  | { kind: 'reclaim'; reason: 'idle' | 'max-length' };

/** A session's two times as numbers, parsed once per session object (sessions are replaced, not changed, but the texts are compared to be sure). */
interface Parsed { lastActivity: string; lastMs: number; allocatedAt: string; allocatedMs: number }
const parsed = new WeakMap<object, Parsed>();

function timesOf(s: Pick<Session, 'lastActivity' | 'allocatedAt'>): Parsed {
  let t = parsed.get(s);
  if (!t || t.lastActivity !== s.lastActivity || t.allocatedAt !== s.allocatedAt) {
    t = { lastActivity: s.lastActivity, lastMs: Date.parse(s.lastActivity), allocatedAt: s.allocatedAt, allocatedMs: Date.parse(s.allocatedAt) };
    parsed.set(s, t);
  }
  return t;
}

/** `Date.parse(s.lastActivity)`, kept with the session: the leader and the ETAs look at every live session each second (10,000: 20,000 parses). */
export function lastActivityMs(s: Pick<Session, 'lastActivity' | 'allocatedAt'>): number {
  return timesOf(s).lastMs;
}

/**
 * Where a live session stands against the idle limit and the maximum length. `deadline`
 * is when it would be released. Pure: the reclaimer and each replica's notifier run the
 * same rule on the same annotations.
 */
export function idleVerdict(s: Pick<Session, 'generating' | 'lastActivity' | 'allocatedAt'>, now: number, p: IdlePolicy): IdleVerdict {
  const t = timesOf(s);
  const last = s.generating ? now : t.lastMs;
  const idleDeadline = (Number.isFinite(last) ? last : now) + p.idleLimitMs;
  const maxDeadline = t.allocatedMs + p.maxSessionMs;
  const [deadline, reason] = Number.isFinite(maxDeadline) && maxDeadline < idleDeadline ? [maxDeadline, 'max-length' as const] : [idleDeadline, 'idle' as const];
  if (now >= deadline) return { kind: 'reclaim', reason };
  if (now >= deadline - p.warnBeforeMs) return { kind: 'warn', deadline, reason };
  return { kind: 'ok', deadline };
}
