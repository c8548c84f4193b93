/** Test helpers: an SDK server on free ports and the real npm SDK client connected to it. */
import { AgonesSDK } from '../agones/sdk-client.ts';
import type { GameServer } from '../agones/types.ts';
import { startSdkServer, type RunningSdkServer } from './sdk-server.ts';
import { MemoryGameServerStore } from './store.ts';
import { withDefaults } from './game-server-file.ts';

export interface SdkFixture {
  server: RunningSdkServer;
  store: MemoryGameServerStore;
  /** A connected client of the real @google-cloud/agones-sdk package. */
  sdk: AgonesSDK;
  close(): Promise<void>;
}

export async function sdkFixture(
  opts: { gs?: Partial<GameServer>; localLifecycle?: boolean; healthChecks?: boolean } = {},
): Promise<SdkFixture> {
  const gs = withDefaults({ ...opts.gs, metadata: { ...opts.gs?.metadata }, spec: { ...opts.gs?.spec } });
  const store = new MemoryGameServerStore(gs);
  const server = await startSdkServer({
    store,
    grpcPort: 0,
    httpPort: 0,
    localLifecycle: opts.localLifecycle ?? true,
    healthChecks: opts.healthChecks ?? false,
  });
  const sdk = await connectSdk(server.grpcPort);
  return {
    server,
    store,
    sdk,
    close: async () => {
      closeSdk(sdk);
      await server.stop();
    },
  };
}

/** The SDK reads AGONES_SDK_GRPC_PORT when constructed, as in a GameServer's container. */
export async function connectSdk(grpcPort: number): Promise<AgonesSDK> {
  const saved = process.env.AGONES_SDK_GRPC_PORT;
  process.env.AGONES_SDK_GRPC_PORT = String(grpcPort);
  try {
    const sdk = new AgonesSDK();
    await sdk.connect();
    return sdk;
  } finally {
    if (saved === undefined) delete process.env.AGONES_SDK_GRPC_PORT;
    else process.env.AGONES_SDK_GRPC_PORT = saved;
  }
}

/**
 * Closes the client for good. The SDK's own close() destroys its watch streams without
 * cancelling the calls, which keeps the process alive; cancel them first.
 */
export function closeSdk(sdk: AgonesSDK): void {
  const streams = (sdk as unknown as { streams: { cancel?: () => void }[] }).streams;
  for (const s of streams) s.cancel?.();
  sdk.close();
}

/** Resolves with the first value `poll` returns that `accept` takes, or rejects after `ms`. */
export async function waitFor<T>(poll: () => Promise<T> | T, accept: (v: T) => boolean, ms = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await poll();
    if (accept(last)) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
}
