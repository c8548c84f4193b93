/** The FleetAutoscaler's Buffer policy, as Agones computes it (applyBufferPolicy). */

export interface BufferPolicy {
  /** Ready GameServers to keep: a count, or "N%" of the Fleet that should be Ready. */
  bufferSize: number | string;
  minReplicas?: number;
  maxReplicas: number;
}

export interface FleetStatusCounts {
  replicas?: number;
  readyReplicas?: number;
  reservedReplicas?: number;
  allocatedReplicas?: number;
}

export interface ScaleDecision {
  replicas: number;
  /** min or max held the result back. */
  limited: boolean;
}

export function applyBuffer(status: FleetStatusCounts, b: BufferPolicy): ScaleDecision {
  const allocated = status.allocatedReplicas ?? 0;
  let replicas: number;
  if (typeof b.bufferSize === 'number') {
    replicas = allocated + b.bufferSize;
  } else {
    const m = /^(\d+)%$/.exec(b.bufferSize.trim());
    if (!m) throw new Error(`bufferSize "${b.bufferSize}" is neither a whole number nor a percentage like "20%"`);
    const pct = Number(m[1]);
    if (pct >= 100) throw new Error(`bufferSize ${b.bufferSize} must be below 100%`);
    // Ready must be pct% of the Fleet, so allocated is (100 − pct)%: size the Fleet from there.
    replicas = Math.ceil((allocated * 100) / (100 - pct));
  }
  let limited = false;
  const min = b.minReplicas ?? 0;
  if (replicas < min) {
    replicas = min;
    limited = true;
  }
  if (replicas > b.maxReplicas) {
    replicas = b.maxReplicas;
    limited = true;
  }
  return { replicas, limited };
}
