/**
 * Release-time shrink: when a session ends, whether the Fleet should refill the slot the
 * released GameServer leaves. Agones' Fleet keeps spec.replicas: a released GameServer
 * shuts down and the Fleet starts a replacement at once; when the policy would not keep
 * it, the next sync (≤ 30 s later) deletes it again while it is still starting. Asked at
 * the release, the same decideReplicas says whether that replacement is wanted; when it
 * is not, the releaser lowers spec.replicas by the freed slot, so it is never created.
 *
 * Only ever the freed slot: never by more (deleting GameServers that exist is the sync's
 * job, at the sync's cadence), never when the policy wants the slot (the buffer was taken
 * since the last sync, users queue, the hold keeps it), never on the policy's fallback
 * (its signals are missing: do what Agones would), never when the Fleet would not refill
 * anyway (it is at or above its replicas: lowering them would delete a warm one). Pure.
 */
import type { Decision } from './policy.ts';

export interface ReleaseInput {
  /** The Fleet's spec.replicas as read: what its controller refills to. */
  specReplicas: number;
  /** The Fleet's GameServers still counted after the release (the released one not among them). */
  liveAfter: number;
  /** decideReplicas on the Fleet as it is after the release. */
  decision: Pick<Decision, 'replicas' | 'code'>;
}

export interface ReleaseShrink {
  /** spec.replicas to write when `shrink`; else specReplicas. */
  replicas: number;
  shrink: boolean;
  /** One line for logs. */
  reason: string;
}

export function shrinkOnRelease(i: ReleaseInput): ReleaseShrink {
  const spec = i.specReplicas;
  const keep = (reason: string): ReleaseShrink => ({ replicas: spec, shrink: false, reason });
  if (!Number.isInteger(spec) || spec <= 0 || !Number.isInteger(i.liveAfter) || i.liveAfter < 0) return keep(`the Fleet's counts are unusable (replicas ${spec}, ${i.liveAfter} after the release): left to the sync`);
  if (i.decision.code === 'fallback') return keep('the policy has fallen back (signals missing): the Fleet refills as Agones would');
  if (i.liveAfter >= spec) return keep(`the Fleet would not refill (${i.liveAfter} left of ${spec}): left to the sync`);
  if (i.decision.replicas >= spec) return keep(`the policy keeps ${i.decision.replicas} (${i.decision.code}): the Fleet refills the slot`);
  return { replicas: spec - 1, shrink: true, reason: `the policy wants ${i.decision.replicas} of ${spec} (${i.decision.code}): the freed slot is not refilled (${spec} → ${spec - 1})` };
}
