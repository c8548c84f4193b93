import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { createLogger } from '../common/log.ts';
import { SDFLEET_BIN } from '../common/self.ts';
import { SDK_ANNOTATION, sdkKey } from '../fleet/agones/metadata.ts';
import { withDefaults as gameServerWithDefaults } from '../fleet/sdk-server/game-server-file.ts';
import { startSdkServer } from '../fleet/sdk-server/sdk-server.ts';
import { MemoryGameServerStore } from '../fleet/sdk-server/store.ts';
import { phaseTable, type PhaseSummary } from '../sdk-wrapper/phases.ts';
import { intOption, stopOnSignal } from './run.ts';

/**
 * `sdfleet up`: everything on one machine. For now: one wrapped sim-webui instance under
 * a local SDK server, with a local lib dir marked ready.
 */
export function upCommand(): Command {
  return new Command('up')
    .description('Run sdfleet on this machine: one wrapped sim-webui instance under a local Agones SDK server')
    .option('--data-dir <dir>', 'where state, the lib dir and user outputs live', '.sdfleet')
    .option('--webui-port <port>', 'port of the WebUI instance', intOption('--webui-port', 1, 65535), 7860)
    .action(async (f: { dataDir: string; webuiPort: number }) => {
      const log = createLogger({ name: 'up', pretty: process.stdout.isTTY });
      const dataDir = resolve(f.dataDir);
      const libDir = join(dataDir, 'lib');
      await mkdir(libDir, { recursive: true });
      // On one machine the lib disk is a local folder, marked ready as the node agent would.
      await writeFile(join(libDir, '.sdfleet-ready'), JSON.stringify({ image: 'local', version: 'local', mountedAt: new Date().toISOString() }));
      const store = new MemoryGameServerStore(gameServerWithDefaults({ metadata: { name: 'sd-webui-local' }, spec: {} }));
      const sdk = await startSdkServer({ store, grpcPort: 0, httpPort: 0, localLifecycle: true, logger: log.child({ part: 'sdk-server' }) });
      const wrapper = spawn(process.execPath, [
        SDFLEET_BIN, 'wrapper', '--lib-dir', libDir, '--no-lib-require-mount', '--user-store', join(dataDir, 'user-store'),
        '--webui-port', String(f.webuiPort), '--', 'sdfleet', 'sim-webui', '--port', '{port}', '--output-dir', join(dataDir, 'outputs'),
      ], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, AGONES_SDK_GRPC_PORT: String(sdk.grpcPort), AGONES_SDK_HTTP_PORT: String(sdk.httpPort) } });
      store.watch((gs) => {
        const phases = gs.metadata.annotations?.[sdkKey(SDK_ANNOTATION.phases)];
        if (gs.status?.state === 'Ready' && phases && !shown) {
          shown = true;
          process.stdout.write(`\nsd-webui-local is Ready. Start-up phases:\n${phaseTable(JSON.parse(phases) as PhaseSummary)}\n\n` +
            `  WebUI:      http://127.0.0.1:${f.webuiPort}/\n  SDK (HTTP): http://127.0.0.1:${sdk.httpPort}/gameserver\n\nCtrl-C stops everything.\n`);
        }
      });
      let shown = false;
      wrapper.once('exit', (code) => {
        log.error({ code }, 'the wrapper exited');
        void sdk.stop().then(() => process.exit(code ?? 1));
      });
      stopOnSignal({
        stop: async () => {
          if (wrapper.exitCode === null) {
            wrapper.removeAllListeners('exit');
            wrapper.kill('SIGTERM');
            await new Promise((r) => wrapper.once('exit', r));
          }
          await sdk.stop();
        },
      });
    });
}
