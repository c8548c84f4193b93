import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/log.ts';
import { SdkError, GrpcStatus } from './errors.ts';
import { alphaService, betaService, sdkService } from './proto.ts';
import type { SdkCore } from './sdk-core.ts';

type Unary<Req, Res> = grpc.handleUnaryCall<Req, Res>;

/** Turns whatever a core call threw into a gRPC status the client can read. */
function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof SdkError) return { code: err.grpcCode, details: err.message };
  return { code: GrpcStatus.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}

function unary<Req, Res>(f: (req: Req) => Promise<Res>): Unary<Req, Res> {
  return (call, callback) => {
    f(call.request).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

const unimplementedAlpha: Unary<unknown, unknown> = (_call, callback) =>
  callback({
    code: GrpcStatus.UNIMPLEMENTED,
    details: "player tracking (Agones' alpha PlayerTracking feature) is not offered by sdfleet's SDK server; sdfleet does not use it",
  });

/** Adds the agones.dev.sdk.SDK, .beta.SDK and .alpha.SDK services, served by `core`, to `server`. */
export function addSdkServices(server: grpc.Server, core: SdkCore, log: Logger): void {
  const empty = {};
  server.addService(sdkService, {
    ready: unary(async () => (await core.ready(), empty)),
    allocate: unary(async () => (await core.allocate(), empty)),
    shutdown: unary(async () => (await core.shutdown(), empty)),
    reserve: unary(async (d: { seconds: number }) => (await core.reserve(d.seconds), empty)),
    setLabel: unary(async (kv: { key: string; value: string }) => (await core.setLabel(kv.key, kv.value), empty)),
    setAnnotation: unary(async (kv: { key: string; value: string }) => (await core.setAnnotation(kv.key, kv.value), empty)),
    getGameServer: unary(() => core.getGameServer()),
    health: (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      call.on('data', () => core.health());
      call.on('end', () => callback(null, empty));
      call.on('error', (err) => log.debug({ err: err.message }, 'health stream ended with an error'));
    },
    watchGameServer: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      // Subscribe before the first read so no change between the two is lost.
      const unwatch = core.watch((gs) => {
        if (!call.cancelled) call.write(gs);
      });
      const unGone = core.onGone(() => {
        end();
        call.end();
      });
      const end = (): void => {
        unwatch();
        unGone();
      };
      call.on('cancelled', end);
      call.on('close', end);
      core.getGameServer().then(
        (gs) => call.write(gs),
        (err: unknown) => {
          end();
          call.destroy(Object.assign(new Error(String(toServiceError(err).details)), toServiceError(err)));
        },
      );
    },
  } satisfies grpc.UntypedServiceImplementation);

  server.addService(betaService, {
    getCounter: unary((r: { name: string }) => core.getCounter(r.name)),
    updateCounter: unary((r: { counterUpdateRequest?: Parameters<SdkCore['updateCounter']>[0] }) => core.updateCounter(r.counterUpdateRequest)),
    getList: unary((r: { name: string }) => core.getList(r.name)),
    updateList: unary((r: Parameters<SdkCore['updateList']>[0]) => core.updateList(r)),
    addListValue: unary((r: { name: string; value: string }) => core.addListValue(r.name, r.value)),
    removeListValue: unary((r: { name: string; value: string }) => core.removeListValue(r.name, r.value)),
  } satisfies grpc.UntypedServiceImplementation);

  server.addService(alphaService, {
    playerConnect: unimplementedAlpha,
    playerDisconnect: unimplementedAlpha,
    setPlayerCapacity: unimplementedAlpha,
    getPlayerCapacity: unimplementedAlpha,
    getPlayerCount: unimplementedAlpha,
    isPlayerConnected: unimplementedAlpha,
    getConnectedPlayers: unimplementedAlpha,
  } satisfies grpc.UntypedServiceImplementation);
}

/** Binds a grpc-js server to host:port; resolves with the port actually bound. */
export function bindGrpc(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) {
        reject(new Error(`could not listen for gRPC on ${host}:${port}: ${err.message} (is another SDK server using the port? pick another with --grpc-port)`, { cause: err }));
      } else {
        resolve(bound);
      }
    });
  });
}
