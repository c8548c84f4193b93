/**
 * The Agones SDK wire format (packages agones.dev.sdk, .beta and .alpha), described for
 * protobufjs. The npm SDK ships generated google-protobuf classes but no .proto files, and
 * those classes cannot serialize map fields (labels, annotations) on the server side, so
 * the server encodes with protobufjs from this description. Field numbers follow Agones'
 * proto/sdk/*.proto; names are camelCase because protobufjs uses them only in JS.
 */
import protobuf from 'protobufjs';
import type * as grpc from '@grpc/grpc-js';

const str = (id: number) => ({ type: 'string', id });
const i64 = (id: number) => ({ type: 'int64', id });
const i32 = (id: number) => ({ type: 'int32', id });
const msg = (type: string, id: number) => ({ type, id });
const rep = (type: string, id: number) => ({ rule: 'repeated', type, id });
const map = (type: string, id: number) => ({ keyType: 'string', type, id });

const descriptor = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Int64Value: { fields: { value: i64(1) } },
            FieldMask: { fields: { paths: rep('string', 1) } },
          },
        },
      },
    },
    agones: {
      nested: {
        dev: {
          nested: {
            sdk: {
              nested: {
                Empty: { fields: {} },
                KeyValue: { fields: { key: str(1), value: str(2) } },
                Duration: { fields: { seconds: i64(1) } },
                GameServer: {
                  fields: { objectMeta: msg('ObjectMeta', 1), spec: msg('Spec', 2), status: msg('Status', 3) },
                  nested: {
                    ObjectMeta: {
                      fields: {
                        name: str(1), namespace: str(2), uid: str(3), resourceVersion: str(4),
                        generation: i64(5), creationTimestamp: i64(6), deletionTimestamp: i64(7),
                        annotations: map('string', 8), labels: map('string', 9),
                      },
                    },
                    Spec: {
                      fields: { health: msg('Health', 1) },
                      nested: {
                        Health: {
                          fields: {
                            disabled: { type: 'bool', id: 1 }, periodSeconds: i32(2),
                            failureThreshold: i32(3), initialDelaySeconds: i32(4),
                          },
                        },
                      },
                    },
                    Status: {
                      fields: {
                        state: str(1), address: str(2), addresses: rep('Address', 7), ports: rep('Port', 3),
                        players: msg('PlayerStatus', 4), counters: map('CounterStatus', 5), lists: map('ListStatus', 6),
                      },
                      nested: {
                        Address: { fields: { type: str(1), address: str(2) } },
                        Port: { fields: { name: str(1), port: i32(2) } },
                        PlayerStatus: { fields: { count: i64(1), capacity: i64(2), ids: rep('string', 3) } },
                        CounterStatus: { fields: { count: i64(1), capacity: i64(2) } },
                        ListStatus: { fields: { capacity: i64(1), values: rep('string', 2) } },
                      },
                    },
                  },
                },
                beta: {
                  nested: {
                    Empty: { fields: {} },
                    Counter: { fields: { name: str(1), count: i64(2), capacity: i64(3) } },
                    CounterUpdateRequest: {
                      fields: {
                        name: str(1), count: msg('google.protobuf.Int64Value', 2),
                        capacity: msg('google.protobuf.Int64Value', 3), countDiff: i64(4),
                      },
                    },
                    GetCounterRequest: { fields: { name: str(1) } },
                    UpdateCounterRequest: { fields: { counterUpdateRequest: msg('CounterUpdateRequest', 1) } },
                    List: { fields: { name: str(1), capacity: i64(2), values: rep('string', 3) } },
                    GetListRequest: { fields: { name: str(1) } },
                    UpdateListRequest: { fields: { list: msg('List', 1), updateMask: msg('google.protobuf.FieldMask', 2) } },
                    AddListValueRequest: { fields: { name: str(1), value: str(2) } },
                    RemoveListValueRequest: { fields: { name: str(1), value: str(2) } },
                  },
                },
                alpha: {
                  nested: {
                    Empty: { fields: {} },
                    Count: { fields: { count: i64(1) } },
                    Bool: { fields: { bool: { type: 'bool', id: 1 } } },
                    PlayerID: { fields: { playerID: str(1) } },
                    PlayerIDList: { fields: { list: rep('string', 1) } },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);

function type(name: string): protobuf.Type {
  return root.lookupType(name);
}

/** Encoder and decoder for one message type, int64s as JS numbers. */
export interface Codec<T> {
  encode(value: T): Buffer;
  decode(bytes: Buffer): T;
}

function codec<T>(name: string): Codec<T> {
  const t = type(name);
  return {
    encode: (value: T) => Buffer.from(t.encode(t.fromObject(value as Record<string, unknown>)).finish()),
    decode: (bytes: Buffer) =>
      t.toObject(t.decode(bytes), { longs: Number, defaults: true, arrays: true, objects: true }) as T,
  };
}

// ---- message shapes (what the codecs take and give) ----
export type Empty = Record<string, never>;
export interface KeyValue { key: string; value: string }
export interface Duration { seconds: number }
export interface SdkGameServer {
  objectMeta: {
    name: string; namespace: string; uid: string; resourceVersion: string; generation: number;
    creationTimestamp: number; deletionTimestamp: number;
    annotations: Record<string, string>; labels: Record<string, string>;
  };
  spec: { health: { disabled: boolean; periodSeconds: number; failureThreshold: number; initialDelaySeconds: number } };
  status: {
    state: string; address: string; addresses: { type: string; address: string }[];
    ports: { name: string; port: number }[];
    players: { count: number; capacity: number; ids: string[] } | null;
    counters: Record<string, { count: number; capacity: number }>;
    lists: Record<string, { capacity: number; values: string[] }>;
  };
}
export interface Counter { name: string; count: number; capacity: number }
export interface CounterUpdateRequest { name: string; count?: { value: number } | null; capacity?: { value: number } | null; countDiff: number }
export interface List { name: string; capacity: number; values: string[] }
export interface UpdateListRequest { list?: List | null; updateMask?: { paths: string[] } | null }
export interface ListValueRequest { name: string; value: string }

export const codecs = {
  empty: codec<Empty>('agones.dev.sdk.Empty'),
  keyValue: codec<KeyValue>('agones.dev.sdk.KeyValue'),
  duration: codec<Duration>('agones.dev.sdk.Duration'),
  gameServer: codec<SdkGameServer>('agones.dev.sdk.GameServer'),
  betaEmpty: codec<Empty>('agones.dev.sdk.beta.Empty'),
  counter: codec<Counter>('agones.dev.sdk.beta.Counter'),
  getCounterRequest: codec<{ name: string }>('agones.dev.sdk.beta.GetCounterRequest'),
  updateCounterRequest: codec<{ counterUpdateRequest?: CounterUpdateRequest | null }>('agones.dev.sdk.beta.UpdateCounterRequest'),
  list: codec<List>('agones.dev.sdk.beta.List'),
  getListRequest: codec<{ name: string }>('agones.dev.sdk.beta.GetListRequest'),
  updateListRequest: codec<UpdateListRequest>('agones.dev.sdk.beta.UpdateListRequest'),
  listValueRequest: codec<ListValueRequest>('agones.dev.sdk.beta.AddListValueRequest'),
  alphaEmpty: codec<Empty>('agones.dev.sdk.alpha.Empty'),
  count: codec<{ count: number }>('agones.dev.sdk.alpha.Count'),
  bool: codec<{ bool: boolean }>('agones.dev.sdk.alpha.Bool'),
  playerId: codec<{ playerID: string }>('agones.dev.sdk.alpha.PlayerID'),
  playerIdList: codec<{ list: string[] }>('agones.dev.sdk.alpha.PlayerIDList'),
};

/** One RPC of a service: its path and the codecs of its request and response. */
function method<Req, Res>(
  path: string, req: Codec<Req>, res: Codec<Res>, requestStream = false, responseStream = false,
): grpc.MethodDefinition<Req, Res> {
  return {
    path, requestStream, responseStream,
    requestSerialize: req.encode, requestDeserialize: req.decode,
    responseSerialize: res.encode, responseDeserialize: res.decode,
  };
}

const c = codecs;
export const sdkService = {
  ready: method('/agones.dev.sdk.SDK/Ready', c.empty, c.empty),
  allocate: method('/agones.dev.sdk.SDK/Allocate', c.empty, c.empty),
  shutdown: method('/agones.dev.sdk.SDK/Shutdown', c.empty, c.empty),
  health: method('/agones.dev.sdk.SDK/Health', c.empty, c.empty, true, false),
  getGameServer: method('/agones.dev.sdk.SDK/GetGameServer', c.empty, c.gameServer),
  watchGameServer: method('/agones.dev.sdk.SDK/WatchGameServer', c.empty, c.gameServer, false, true),
  setLabel: method('/agones.dev.sdk.SDK/SetLabel', c.keyValue, c.empty),
  setAnnotation: method('/agones.dev.sdk.SDK/SetAnnotation', c.keyValue, c.empty),
  reserve: method('/agones.dev.sdk.SDK/Reserve', c.duration, c.empty),
} satisfies grpc.ServiceDefinition;

export const betaService = {
  getCounter: method('/agones.dev.sdk.beta.SDK/GetCounter', c.getCounterRequest, c.counter),
  updateCounter: method('/agones.dev.sdk.beta.SDK/UpdateCounter', c.updateCounterRequest, c.counter),
  getList: method('/agones.dev.sdk.beta.SDK/GetList', c.getListRequest, c.list),
  updateList: method('/agones.dev.sdk.beta.SDK/UpdateList', c.updateListRequest, c.list),
  addListValue: method('/agones.dev.sdk.beta.SDK/AddListValue', c.listValueRequest, c.list),
  removeListValue: method('/agones.dev.sdk.beta.SDK/RemoveListValue', c.listValueRequest, c.list),
} satisfies grpc.ServiceDefinition;

export const alphaService = {
  playerConnect: method('/agones.dev.sdk.alpha.SDK/PlayerConnect', c.playerId, c.bool),
  playerDisconnect: method('/agones.dev.sdk.alpha.SDK/PlayerDisconnect', c.playerId, c.bool),
  setPlayerCapacity: method('/agones.dev.sdk.alpha.SDK/SetPlayerCapacity', c.count, c.alphaEmpty),
  getPlayerCapacity: method('/agones.dev.sdk.alpha.SDK/GetPlayerCapacity', c.alphaEmpty, c.count),
  getPlayerCount: method('/agones.dev.sdk.alpha.SDK/GetPlayerCount', c.alphaEmpty, c.count),
  isPlayerConnected: method('/agones.dev.sdk.alpha.SDK/IsPlayerConnected', c.playerId, c.bool),
  getConnectedPlayers: method('/agones.dev.sdk.alpha.SDK/GetConnectedPlayers', c.alphaEmpty, c.playerIdList),
} satisfies grpc.ServiceDefinition;
