/**
 * The Agones resources sdfleet reads and writes, as the Kubernetes API serves them
 * (camelCase JSON). Only the fields sdfleet uses are typed; the rest pass through.
 */

export const AGONES_GROUP = 'agones.dev';
export const AGONES_VERSION = 'v1';
export const ALLOCATION_GROUP = 'allocation.agones.dev';
export const AUTOSCALING_GROUP = 'autoscaling.agones.dev';

/** Labels and annotations Agones itself sets. */
export const LABEL_FLEET = 'agones.dev/fleet';
export const LABEL_GAMESERVERSET = 'agones.dev/gameserverset';
export const ANNOTATION_LAST_ALLOCATED = 'agones.dev/last-allocated';
/** Prefix the SDK server puts before keys set through SetLabel / SetAnnotation. */
export const SDK_METADATA_PREFIX = 'agones.dev/sdk-';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export type GameServerState =
  | 'PortAllocation'
  | 'Creating'
  | 'Starting'
  | 'Scheduled'
  | 'RequestReady'
  | 'Ready'
  | 'Shutdown'
  | 'Error'
  | 'Unhealthy'
  | 'Reserved'
  | 'Allocated';

export interface Health {
  disabled?: boolean;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  failureThreshold?: number;
}

/** Agones' defaults for `spec.health` (pkg/apis/agones/v1/gameserver.go). */
export const HEALTH_DEFAULTS: Required<Health> = {
  disabled: false,
  initialDelaySeconds: 5,
  periodSeconds: 5,
  failureThreshold: 3,
};

export interface GameServerPort {
  name: string;
  portPolicy?: 'Dynamic' | 'Static' | 'Passthrough' | 'None';
  container?: string;
  containerPort?: number;
  hostPort?: number;
  protocol?: 'UDP' | 'TCP' | 'TCPUDP';
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  workingDir?: string;
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
  [key: string]: unknown;
}

export interface PodTemplateSpec {
  metadata?: ObjectMeta;
  spec?: {
    containers?: Container[];
    terminationGracePeriodSeconds?: number;
    [key: string]: unknown;
  };
}

export interface CounterStatus { count?: number; capacity?: number }
export interface ListStatus { capacity?: number; values?: string[] }

export interface GameServerSpec {
  container?: string;
  ports?: GameServerPort[];
  health?: Health;
  scheduling?: 'Packed' | 'Distributed';
  sdkServer?: { logLevel?: string; grpcPort?: number; httpPort?: number };
  counters?: Record<string, CounterStatus>;
  lists?: Record<string, ListStatus>;
  template?: PodTemplateSpec;
  [key: string]: unknown;
}

export interface GameServerStatus {
  state?: GameServerState;
  ports?: { name: string; port: number }[];
  address?: string;
  addresses?: { type: string; address: string }[];
  nodeName?: string;
  reservedUntil?: string | null;
  players?: { count?: number; capacity?: number; ids?: string[] } | null;
  counters?: Record<string, CounterStatus>;
  lists?: Record<string, ListStatus>;
  [key: string]: unknown;
}

export interface GameServer {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: GameServerSpec;
  status?: GameServerStatus;
}

export interface Fleet {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    scheduling?: 'Packed' | 'Distributed';
    strategy?: { type?: 'Recreate' | 'RollingUpdate'; rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } };
    template: { metadata?: ObjectMeta; spec: GameServerSpec };
    [key: string]: unknown;
  };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    reservedReplicas?: number;
    allocatedReplicas?: number;
    [key: string]: unknown;
  };
}

/** States in which a GameServer is up and may be, or is, handed to a user. */
export function isLive(state: GameServerState | undefined): boolean {
  return state === 'Ready' || state === 'Allocated' || state === 'Reserved';
}
