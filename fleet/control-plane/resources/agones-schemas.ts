/**
 * JSON Schemas (draft-07, for ajv) of the Agones fields sdfleet uses and that a user may
 * get wrong. Written from the Agones 1.57 API reference, not copied from its CRDs: the
 * tests check them against the real CRD schemas instead. Unknown fields pass through
 * (the pod template is not modelled beyond "containers with names").
 */
import type { JsonSchema } from './validation.ts';

const port: JsonSchema = { type: 'integer', minimum: 1, maximum: 65535 };
const int32NonNegative: JsonSchema = { type: 'integer', minimum: 0, maximum: 2147483648 };
const schedulingEnum: JsonSchema = { type: 'string', enum: ['Packed', 'Distributed'] };
const stringMap: JsonSchema = { type: 'object', additionalProperties: { type: 'string' } };
const intOrString: JsonSchema = { type: ['integer', 'string'] };

const objectMetaSchema: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    generateName: { type: 'string' },
    namespace: { type: 'string' },
    labels: stringMap,
    annotations: stringMap,
    finalizers: { type: 'array', items: { type: 'string' } },
  },
};

/** A pod template: only "an object whose spec has containers, each with a name". */
const podTemplateSchema: JsonSchema = {
  type: 'object',
  properties: {
    metadata: objectMetaSchema,
    spec: {
      type: 'object',
      required: ['containers'],
      properties: {
        containers: {
          type: 'array',
          items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
        },
      },
    },
  },
};

const countersSchema: JsonSchema = {
  type: ['object', 'null'],
  maxProperties: 1000,
  additionalProperties: {
    type: 'object',
    properties: { count: { type: 'integer', minimum: 0 }, capacity: { type: 'integer', minimum: 0 } },
  },
};

const listsSchema: JsonSchema = {
  type: ['object', 'null'],
  maxProperties: 1000,
  additionalProperties: {
    type: 'object',
    properties: {
      capacity: { type: 'integer', minimum: 0, maximum: 1000 },
      values: { type: 'array', maxItems: 1000, items: { type: 'string' } },
    },
  },
};

export const PORT_POLICIES = ['Dynamic', 'Static', 'Passthrough', 'None'] as const;
export const PROTOCOLS = ['UDP', 'TCP', 'TCPUDP'] as const;
export const GAME_SERVER_STATES = [
  'PortAllocation', 'Creating', 'Starting', 'Scheduled', 'RequestReady', 'Ready', 'Shutdown', 'Error', 'Unhealthy', 'Reserved', 'Allocated',
] as const;

export const gameServerSpecSchema: JsonSchema = {
  type: 'object',
  required: ['template'],
  properties: {
    template: podTemplateSchema,
    container: { type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
    ports: {
      type: ['array', 'null'],
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          range: { type: 'string' },
          portPolicy: { type: 'string', enum: [...PORT_POLICIES] },
          protocol: { type: 'string', enum: [...PROTOCOLS] },
          container: { type: 'string' },
          containerPort: port,
          hostPort: port,
        },
      },
    },
    sdkServer: {
      type: 'object',
      properties: {
        logLevel: { type: 'string', enum: ['Error', 'Info', 'Debug', 'Trace'] },
        grpcPort: port,
        httpPort: port,
      },
    },
    scheduling: schedulingEnum,
    health: {
      type: 'object',
      properties: {
        disabled: { type: 'boolean' },
        initialDelaySeconds: int32NonNegative,
        periodSeconds: int32NonNegative,
        failureThreshold: { type: 'integer', minimum: 1, maximum: 2147483648 },
      },
    },
    players: { type: ['object', 'null'], properties: { initialCapacity: { type: 'integer', minimum: 0 } } },
    counters: countersSchema,
    lists: listsSchema,
    eviction: { type: 'object', properties: { safe: { type: 'string', enum: ['Always', 'OnUpgrade', 'Never'] } } },
    immutableReplicas: { type: 'integer', minimum: 1, maximum: 1 },
  },
};

export const gameServerSchema: JsonSchema = {
  type: 'object',
  required: ['spec'],
  properties: {
    spec: gameServerSpecSchema,
    status: {
      type: 'object',
      properties: {
        state: { type: 'string', enum: [...GAME_SERVER_STATES] },
        ports: {
          type: ['array', 'null'],
          items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer' } } },
        },
        address: { type: 'string' },
        addresses: {
          type: ['array', 'null'],
          items: { type: 'object', properties: { address: { type: 'string' }, type: { type: 'string' } } },
        },
        nodeName: { type: 'string' },
        reservedUntil: { type: ['string', 'null'] },
        players: {
          type: ['object', 'null'],
          properties: { count: { type: 'integer' }, capacity: { type: 'integer' }, ids: { type: ['array', 'null'], items: { type: 'string' } } },
        },
        counters: countersSchema,
        lists: listsSchema,
        eviction: { type: 'object', properties: { safe: { type: 'string', enum: ['Always', 'OnUpgrade', 'Never'] } } },
        immutableReplicas: { type: 'integer', minimum: 1, maximum: 1 },
      },
    },
  },
};

const replicaCount: JsonSchema = { type: 'integer', minimum: 0 };

const fleetStatusSchema: JsonSchema = {
  type: 'object',
  properties: {
    replicas: replicaCount,
    readyReplicas: replicaCount,
    reservedReplicas: replicaCount,
    allocatedReplicas: replicaCount,
    players: { type: ['object', 'null'], properties: { count: replicaCount, capacity: replicaCount } },
  },
};

/** Fleet and GameServerSet share the spec shape (a GameServerSet has no strategy). */
function fleetLikeSchema(withStrategy: boolean): JsonSchema {
  return {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        required: ['template'],
        properties: {
          replicas: replicaCount,
          allocationOverflow: { type: ['object', 'null'], properties: { labels: stringMap, annotations: stringMap } },
          scheduling: schedulingEnum,
          ...(withStrategy
            ? {
                strategy: {
                  type: 'object',
                  properties: {
                    type: { type: 'string', enum: ['Recreate', 'RollingUpdate'] },
                    rollingUpdate: { type: ['object', 'null'], properties: { maxSurge: intOrString, maxUnavailable: intOrString } },
                  },
                },
              }
            : {}),
          priorities: {
            type: ['array', 'null'],
            items: {
              type: 'object',
              properties: {
                type: { type: 'string', enum: ['Counter', 'List'] },
                key: { type: 'string' },
                order: { type: 'string', enum: ['Ascending', 'Descending'] },
              },
            },
          },
          template: {
            type: 'object',
            required: ['spec'],
            properties: { metadata: objectMetaSchema, spec: gameServerSpecSchema },
          },
        },
      },
      status: fleetStatusSchema,
    },
  };
}

export const fleetSchema: JsonSchema = fleetLikeSchema(true);
export const gameServerSetSchema: JsonSchema = fleetLikeSchema(false);

const serviceReference: JsonSchema = {
  type: 'object',
  required: ['namespace', 'name'],
  properties: { namespace: { type: 'string' }, name: { type: 'string' }, path: { type: 'string' }, port: { type: 'integer' } },
};

const webhookSchema: JsonSchema = {
  type: ['object', 'null'],
  properties: { url: { type: 'string' }, service: serviceReference, caBundle: { type: 'string' } },
};

const bufferSchema: JsonSchema = {
  type: ['object', 'null'],
  required: ['maxReplicas'],
  properties: { minReplicas: { type: 'integer', minimum: 0 }, maxReplicas: { type: 'integer', minimum: 1 }, bufferSize: intOrString },
};

const capacityPolicy: JsonSchema = {
  type: ['object', 'null'],
  required: ['key', 'bufferSize', 'maxCapacity'],
  properties: {
    key: { type: 'string' },
    minCapacity: { type: 'integer', minimum: 0 },
    maxCapacity: { type: 'integer', minimum: 1 },
    bufferSize: intOrString,
  },
};

export const FAS_POLICY_TYPES = ['Buffer', 'Webhook', 'Counter', 'List', 'Wasm', 'Schedule', 'Chain'] as const;

export const fleetAutoscalerSchema: JsonSchema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['fleetName', 'policy'],
      properties: {
        fleetName: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-\\.a-z0-9]*[a-z0-9])?$' },
        policy: {
          type: 'object',
          required: ['type'],
          properties: {
            type: { type: 'string', enum: [...FAS_POLICY_TYPES] },
            buffer: bufferSchema,
            webhook: webhookSchema,
            counter: capacityPolicy,
            list: capacityPolicy,
            schedule: { type: ['object', 'null'] },
            chain: { type: ['array', 'null'] },
            wasm: { type: ['object', 'null'] },
          },
        },
        sync: {
          type: 'object',
          required: ['type'],
          properties: {
            type: { type: 'string', enum: ['FixedInterval'] },
            fixedInterval: {
              type: ['object', 'null'],
              required: ['seconds'],
              properties: { seconds: { type: 'integer', exclusiveMinimum: 0 } },
            },
          },
        },
      },
    },
    status: {
      type: 'object',
      properties: {
        currentReplicas: { type: 'integer' },
        desiredReplicas: { type: 'integer' },
        lastScaleTime: { type: ['string', 'null'] },
        ableToScale: { type: 'boolean' },
        scalingLimited: { type: 'boolean' },
        lastAppliedPolicy: { type: 'string' },
      },
    },
  },
};

const labelSelectorSchema = {
  matchLabels: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
  matchExpressions: {
    type: ['array', 'null'],
    items: {
      type: 'object',
      required: ['key', 'operator'],
      properties: {
        key: { type: 'string' },
        operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
        values: { type: ['array', 'null'], items: { type: 'string' } },
      },
    },
  },
};

const gameServerSelectorSchema: JsonSchema = {
  type: 'object',
  properties: {
    ...labelSelectorSchema,
    gameServerState: { type: ['string', 'null'], enum: ['Ready', 'Allocated', null] },
    players: {
      type: ['object', 'null'],
      properties: { minAvailable: { type: 'integer', minimum: 0 }, maxAvailable: { type: 'integer', minimum: 0 } },
    },
    counters: { type: ['object', 'null'] },
    lists: { type: ['object', 'null'] },
  },
};

/** GameServerAllocation is not a CRD (an aggregated API): this follows its Go types. */
export const gameServerAllocationSchema: JsonSchema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        multiClusterSetting: { type: 'object' },
        required: gameServerSelectorSchema,
        preferred: { type: ['array', 'null'], items: gameServerSelectorSchema },
        selectors: { type: ['array', 'null'], items: gameServerSelectorSchema },
        priorities: {
          type: ['array', 'null'],
          items: {
            type: 'object',
            properties: {
              type: { type: 'string', enum: ['Counter', 'List'] },
              key: { type: 'string' },
              order: { type: 'string', enum: ['Ascending', 'Descending'] },
            },
          },
        },
        scheduling: schedulingEnum,
        metadata: { type: ['object', 'null'], properties: { labels: stringMap, annotations: stringMap } },
        counters: { type: ['object', 'null'] },
        lists: { type: ['object', 'null'] },
      },
    },
  },
};
