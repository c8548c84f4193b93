import * as grpc from '@grpc/grpc-js';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import { addSdkServices, bindGrpc } from './grpc-binding.ts';
import { createGatewayServer } from './http-gateway.ts';
import { SdkCore } from './sdk-core.ts';
import type { GameServerStore } from './store.ts';

export interface SdkServerOptions {
  store: GameServerStore;
  /** gRPC port; 0 picks a free one. Default 9357, as Agones. */
  grpcPort?: number;
  /** HTTP gateway port; 0 picks a free one. Default 9358, as Agones. */
  httpPort?: number;
  /** Address to listen on. Default 127.0.0.1: only the GameServer's own processes talk to it. */
  host?: string;
  /** See SdkCoreOptions.localLifecycle. Default false. */
  localLifecycle?: boolean;
  /** Health checking per spec.health. Default true. */
  healthChecks?: boolean;
  logger?: Logger;
}

export interface RunningSdkServer {
  grpcPort: number;
  httpPort: number;
  core: SdkCore;
  /** Closes both listeners and ends every stream; resolves when closed. */
  stop(): Promise<void>;
}

/**
 * Starts an Agones SDK server for one GameServer: gRPC and the HTTP gateway. Resolves once
 * both listen and the GameServer has been read; rejects (having closed what it opened)
 * when a port is taken or the store has no GameServer.
 */
export async function startSdkServer(opts: SdkServerOptions): Promise<RunningSdkServer> {
  const log = opts.logger ?? silentLogger();
  const host = opts.host ?? '127.0.0.1';
  const core = new SdkCore({
    store: opts.store,
    localLifecycle: opts.localLifecycle ?? false,
    healthChecks: opts.healthChecks ?? true,
    logger: log,
  });
  const grpcServer = new grpc.Server();
  addSdkServices(grpcServer, core, log);
  const httpServer = createGatewayServer(core, log);

  const stop = async (): Promise<void> => {
    await core.stop();
    grpcServer.forceShutdown();
    httpServer.closeAllConnections();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  };

  try {
    await core.start();
    const grpcPort = await bindGrpc(grpcServer, host, opts.grpcPort ?? 9357);
    const httpPort = await listen(httpServer, host, opts.httpPort ?? 9358);
    return { grpcPort, httpPort, core, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(`could not listen for HTTP on ${host}:${port}: ${err.code ?? err.message} (pick another with --http-port)`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
