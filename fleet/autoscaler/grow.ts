/**
 * Grow on arrival: when a user arrives (takes an instance, or joins the queue), whether
 * the Fleet should grow now rather than at the next sync. Agones asks the webhook only
 * every sync interval (30 s by default), so a taken buffer instance, or a user who queued,
 * waited on average half an interval before a replacement even started. Asked at the
 * arrival, the same decideReplicas says how many it wants; when that is more than
 * spec.replicas, the allocator's leader raises them to it.
 *
 * Only up (scale-down stays the sync's, and the release's one slot: release.ts), only to
 * what the policy answers (it is capped by maxReplicas), never on the policy's fallback
 * (its signals are missing: Agones' sync decides). Pure.
 */
import type { Decision } from './policy.ts';

export interface ArrivalInput {
  /** The Fleet's spec.replicas as read. */
  specReplicas: number;
  /** decideReplicas on the Fleet as it is after the arrival. */
  decision: Pick<Decision, 'replicas' | 'code'>;
}

export interface ArrivalGrow {
  /** spec.replicas to write when `grow`; else specReplicas. */
  replicas: number;
  grow: boolean;
  /** One line for logs. */
  reason: string;
}

export function growOnArrival(i: ArrivalInput): ArrivalGrow {
  const spec = i.specReplicas;
  const keep = (reason: string): ArrivalGrow => ({ replicas: spec, grow: false, reason });
  if (!Number.isInteger(spec) || spec < 0) return keep(`the Fleet's replicas are unusable (${spec}): left to the sync`);
  if (i.decision.code === 'fallback') return keep('the policy has fallen back (signals missing): left to the sync');
  const want = i.decision.replicas;
  if (!Number.isInteger(want) || want <= spec) return keep(`the policy wants ${want} of ${spec} (${i.decision.code}): nothing to add`);
  return { replicas: want, grow: true, reason: `the policy wants ${want} of ${spec} (${i.decision.code}): grown now, not at the next sync (${spec} → ${want})` };
}
