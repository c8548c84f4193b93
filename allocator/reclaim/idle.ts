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

/**
 * Where a live session stands against the idle limit and the maximum length. `deadline`
 * is when it would be released. Pure: the reclaimer and each replica's notifier run the
 * same rule on the same annotations.
 */
export function idleVerdict(s: Pick<Session, 'generating' | 'lastActivity' | 'allocatedAt'>, now: number, p: IdlePolicy): IdleVerdict {
  const last = s.generating ? now : Date.parse(s.lastActivity);
  const idleDeadline = (Number.isFinite(last) ? last : now) + p.idleLimitMs;
  const maxDeadline = Date.parse(s.allocatedAt) + p.maxSessionMs;
  const [deadline, reason] = Number.isFinite(maxDeadline) && maxDeadline < idleDeadline ? [maxDeadline, 'max-length' as const] : [idleDeadline, 'idle' as const];
  if (now >= deadline) return { kind: 'reclaim', reason };
  if (now >= deadline - p.warnBeforeMs) return { kind: 'warn', deadline, reason };
  return { kind: 'ok', deadline };
}
