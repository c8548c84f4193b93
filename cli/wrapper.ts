import { Command, Option } from 'commander';
import { readEnv } from '../common/env.ts';
import { createLogger } from '../common/log.ts';
import { intOption, secondsOption } from './run.ts';

interface Flags {
  libDir: string;
  libRequireMount?: boolean;
  libMarker?: string;
  libVersion?: string;
  libRequire: string[];
  libTimeout: number;
  libVenv?: string;
  webuiPort?: number;
  webuiHost: string;
  webuiPingPath: string;
  webuiStartTimeout: number;
  warmup: boolean;
  model?: string;
  warmupTimeout: number;
  userStore: string;
  releaseGrace: number;
  stopGrace: number;
  livenessInterval: number;
  metricsPort?: number;
  logLevel: string;
}

export function wrapperCommand(): Command {
  return new Command('wrapper')
    .description(
      "Run SD-WebUI as an Agones GameServer's main process: Ready only once the lib disk is mounted and verified, " +
        'the WebUI answers and the model is warm; then follow the session (user outputs, activity, release).',
    )
    .usage('[options] -- <webui command…>')
    .passThroughOptions()
    .argument('<command...>', 'the WebUI command, after --; {port} is replaced by --webui-port')
    .option('--lib-dir <dir>', 'the lib disk mount point', '/opt/sdfleet/lib')
    .option('--lib-require-mount', 'require --lib-dir to be a mount point (default: on in a pod)')
    .option('--no-lib-require-mount', 'do not require a mount point (local use)')
    .option('--lib-marker <file>', "the node agent's marker (default <lib-dir>/.sdfleet-ready)")
    .option('--lib-version <version>', 'required lib disk version (the marker\'s "version")')
    .option('--lib-require <path>', 'a path that must exist on the lib disk (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--lib-timeout <seconds>', 'give up waiting for the lib disk', secondsOption('--lib-timeout'), 600)
    .option('--lib-venv <dir>', 'Python venv to put on PATH (default <lib-dir>/venv when present)')
    .option('--webui-port <port>', 'port the WebUI listens on (default $SDFLEET_WEBUI_PORT or 7860)', intOption('--webui-port', 1, 65535))
    .option('--webui-host <host>', 'where the wrapper reaches the WebUI', '127.0.0.1')
    .option('--webui-ping-path <path>', 'answers 2xx once the WebUI serves', '/internal/ping')
    .option('--webui-start-timeout <seconds>', 'from start until the WebUI answers', secondsOption('--webui-start-timeout'), 600)
    .option('--no-warmup', 'skip the warm-up (model load and one tiny generation) before Ready')
    .option('--model <checkpoint>', 'checkpoint to load before Ready (sd_model_checkpoint)')
    .option('--warmup-timeout <seconds>', 'for the warm-up', secondsOption('--warmup-timeout'), 300)
    .option('--user-store <dir>', "root of the users' output folders", './user-store')
    .option('--release-grace <seconds>', 'on release, how long a running generation may finish', secondsOption('--release-grace'), 120)
    .option('--stop-grace <seconds>', 'SIGTERM → SIGKILL for the WebUI', secondsOption('--stop-grace'), 20)
    .option('--liveness-interval <seconds>', 'how often to check the WebUI still answers after Ready', secondsOption('--liveness-interval'), 5)
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port', intOption('--metrics-port', 0, 65535))
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (command: string[], f: Flags) => {
      const { startWrapper } = await import('../sdk-wrapper/wrapper.ts');
      const env = readEnv();
      const log = createLogger({ name: 'wrapper', level: f.logLevel, pretty: process.stdout.isTTY });
      const running = startWrapper({
        command,
        logger: log,
        libDir: f.libDir,
        libRequireMount: f.libRequireMount ?? env.inPod,
        libMarker: f.libMarker,
        libVersion: f.libVersion,
        libRequire: f.libRequire,
        libTimeoutMs: f.libTimeout * 1000,
        libVenv: f.libVenv,
        webuiPort: f.webuiPort ?? env.webuiPort ?? 7860,
        webuiHost: f.webuiHost,
        webuiPingPath: f.webuiPingPath,
        webuiStartTimeoutMs: f.webuiStartTimeout * 1000,
        warmup: f.warmup,
        model: f.model,
        warmupTimeoutMs: f.warmupTimeout * 1000,
        userStore: f.userStore,
        releaseGraceMs: f.releaseGrace * 1000,
        stopGraceMs: f.stopGrace * 1000,
        livenessIntervalMs: f.livenessInterval * 1000,
        metricsPort: f.metricsPort,
      });
      const onSignal = (): void => running.stop();
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      const code = await running.done;
      process.exit(code);
    });
}
