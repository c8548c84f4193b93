import { Command, Option } from 'commander';
import { createLogger } from '../common/log.ts';
import type { FileBackedStore } from '../fleet/sdk-server/game-server-file.ts';
import type { MemoryGameServerStore } from '../fleet/sdk-server/store.ts';
import { intOption, stopOnSignal } from './run.ts';

export function sdkServerCommand(): Command {
  return new Command('sdk-server')
    .description(
      "A local Agones SDK server for one GameServer (the role of Agones' sidecar): gRPC and the HTTP gateway, " +
        'state changes, labels/annotations, health checking. For running the wrapper without a control plane.',
    )
    .option('--grpc-port <port>', 'gRPC port (0 = any free port)', intOption('--grpc-port', 0, 65535), 9357)
    .option('--http-port <port>', 'HTTP gateway port (0 = any free port)', intOption('--http-port', 0, 65535), 9358)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--file <gs.yaml>', 'seed the GameServer from this manifest, and apply later edits of it (simulates the control plane)')
    .option('--no-health-checks', 'never mark the GameServer Unhealthy for missing pings')
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (opts: { grpcPort: number; httpPort: number; host: string; file?: string; healthChecks: boolean; logLevel: string }) => {
      const [{ FileBackedStore, defaultGameServer, readGameServerFile }, { startSdkServer }, { MemoryGameServerStore }] = await Promise.all([
        import('../fleet/sdk-server/game-server-file.ts'),
        import('../fleet/sdk-server/sdk-server.ts'),
        import('../fleet/sdk-server/store.ts'),
      ]);
      const log = createLogger({ name: 'sdk-server', level: opts.logLevel, pretty: process.stdout.isTTY });
      let store: MemoryGameServerStore;
      let fileStore: FileBackedStore | undefined;
      if (opts.file) {
        fileStore = new FileBackedStore(opts.file, await readGameServerFile(opts.file), log);
        fileStore.follow();
        store = fileStore;
      } else {
        store = new MemoryGameServerStore(defaultGameServer());
      }
      const server = await startSdkServer({
        store,
        grpcPort: opts.grpcPort,
        httpPort: opts.httpPort,
        host: opts.host,
        localLifecycle: true,
        healthChecks: opts.healthChecks,
        logger: log,
      });
      const gs = await store.get();
      log.info(
        { grpcPort: server.grpcPort, httpPort: server.httpPort, gameServer: gs.metadata.name },
        `SDK server listening: gRPC ${opts.host}:${server.grpcPort}, HTTP ${opts.host}:${server.httpPort}`,
      );
      stopOnSignal({
        stop: async () => {
          fileStore?.close();
          await server.stop();
        },
      });
    });
}
