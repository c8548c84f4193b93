import type { GameServer } from '../agones/types.ts';
import { HEALTH_DEFAULTS } from '../agones/types.ts';
import type { SdkGameServer } from './proto.ts';

function unixSeconds(ts: string | undefined): number {
  if (!ts) return 0;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** The GameServer as the SDK shows it (Agones' sdkserver `convert`). */
export function toSdkGameServer(gs: GameServer): SdkGameServer {
  const m = gs.metadata;
  const h = { ...HEALTH_DEFAULTS, ...gs.spec.health };
  const st = gs.status ?? {};
  return {
    objectMeta: {
      name: m.name ?? '',
      namespace: m.namespace ?? '',
      uid: m.uid ?? '',
      resourceVersion: m.resourceVersion ?? '',
      generation: m.generation ?? 0,
      creationTimestamp: unixSeconds(m.creationTimestamp),
      deletionTimestamp: unixSeconds(m.deletionTimestamp),
      annotations: { ...m.annotations },
      labels: { ...m.labels },
    },
    spec: {
      health: {
        disabled: h.disabled,
        periodSeconds: h.periodSeconds,
        failureThreshold: h.failureThreshold,
        initialDelaySeconds: h.initialDelaySeconds,
      },
    },
    status: {
      state: st.state ?? '',
      address: st.address ?? '',
      addresses: (st.addresses ?? []).map((a) => ({ type: a.type, address: a.address })),
      ports: (st.ports ?? []).map((p) => ({ name: p.name, port: p.port })),
      players: st.players
        ? { count: st.players.count ?? 0, capacity: st.players.capacity ?? 0, ids: [...(st.players.ids ?? [])] }
        : null,
      counters: Object.fromEntries(
        Object.entries(st.counters ?? {}).map(([k, v]) => [k, { count: v.count ?? 0, capacity: v.capacity ?? 0 }]),
      ),
      lists: Object.fromEntries(
        Object.entries(st.lists ?? {}).map(([k, v]) => [k, { capacity: v.capacity ?? 0, values: [...(v.values ?? [])] }]),
      ),
    },
  };
}

/**
 * The JSON Agones' HTTP gateway (grpc-gateway with UseProtoNames and EmitUnpopulated)
 * writes: proto field names, every field present, 64-bit integers as strings.
 */
export function toGatewayJson(gs: SdkGameServer): unknown {
  const m = gs.objectMeta;
  const h = gs.spec.health;
  const s = gs.status;
  return {
    object_meta: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resource_version: m.resourceVersion,
      generation: String(m.generation),
      creation_timestamp: String(m.creationTimestamp),
      deletion_timestamp: String(m.deletionTimestamp),
      annotations: m.annotations,
      labels: m.labels,
    },
    spec: {
      health: {
        disabled: h.disabled,
        period_seconds: h.periodSeconds,
        failure_threshold: h.failureThreshold,
        initial_delay_seconds: h.initialDelaySeconds,
      },
    },
    status: {
      state: s.state,
      address: s.address,
      addresses: s.addresses,
      ports: s.ports,
      players: s.players ? { count: String(s.players.count), capacity: String(s.players.capacity), ids: s.players.ids } : null,
      counters: Object.fromEntries(
        Object.entries(s.counters).map(([k, v]) => [k, { count: String(v.count), capacity: String(v.capacity) }]),
      ),
      lists: Object.fromEntries(
        Object.entries(s.lists).map(([k, v]) => [k, { capacity: String(v.capacity), values: v.values }]),
      ),
    },
  };
}
