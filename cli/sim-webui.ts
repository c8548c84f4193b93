import { Command, Option } from 'commander';
import { createLogger } from '../common/log.ts';
import type { SimWebui } from '../sdk-wrapper/sim-webui/index.ts';
import { SIM_WEBUI_DEFAULTS } from '../sdk-wrapper/sim-webui/options.ts';
import { intOption, stopOnSignal } from './run.ts';

interface SimWebuiFlags {
  port: number;
  host: string;
  bootMs: number;
  stepMs: number;
  modelLoadMs: number;
  failAfter?: number;
  hangAfter?: number;
  outputDir: string;
  models?: string;
  logLevel: string;
}

/**
 * `sdfleet sim-webui`: the WebUI stand-in as a process, for the wrapper to supervise in
 * development and tests. Prints one line once listening:
 * `sim-webui listening on http://<host>:<port> (...)`.
 */
export function simWebuiCommand(): Command {
  const d = SIM_WEBUI_DEFAULTS;
  return new Command('sim-webui')
    .summary('A stand-in for the Stable Diffusion WebUI API, for development and tests. Not Stable Diffusion.')
    .description(
      'Run a stand-in for the AUTOMATIC1111 Stable Diffusion WebUI, for development and tests. ' +
        'It is NOT Stable Diffusion: no model, no GPU.\n\n' +
        'It answers the WebUI API (/internal/ping, /sdapi/v1/txt2img, options, progress, interrupt, ' +
        'sd-models) with deterministic placeholder PNGs at a set pace, serves a small page at /, ' +
        'and can boot slowly, crash or hang on cue. SIGUSR2 switches the hang on and off; ' +
        'SIGTERM or SIGINT stop it with exit code 0.',
    )
    .addOption(new Option('--port <n>', 'port to listen on (0: any free port)').argParser(intOption('--port', 0, 65535)).default(d.port))
    .addOption(new Option('--host <addr>', 'address to listen on').default(d.host))
    .addOption(new Option('--boot-ms <n>', 'simulated start-up before the port opens (connections refused until then)').argParser(intOption('--boot-ms')).default(d.bootMs))
    .addOption(new Option('--step-ms <n>', 'time per sampling step').argParser(intOption('--step-ms')).default(d.stepMs))
    .addOption(new Option('--model-load-ms <n>', 'time to switch sd_model_checkpoint').argParser(intOption('--model-load-ms')).default(d.modelLoadMs))
    .addOption(new Option('--fail-after <n>', 'exit with code 1 after answering n txt2img calls (a simulated crash)').argParser(intOption('--fail-after', 1)))
    .addOption(new Option('--hang-after <n>', 'stop answering (connections stay open) after n txt2img calls').argParser(intOption('--hang-after', 1)))
    .addOption(new Option('--output-dir <dir>', 'root of the default output folders (txt2img-images/, …)').default(d.outputDir))
    .addOption(new Option('--models <names>', `comma-separated checkpoint names to list; the first is loaded (default: ${d.models.join(',')})`))
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .action(async (flags: SimWebuiFlags) => {
      const { startSimWebui } = await import('../sdk-wrapper/sim-webui/index.ts');
      const logger = createLogger({ name: 'sim-webui', level: flags.logLevel, pretty: process.stdout.isTTY });
      const boot = new AbortController();
      let sim: SimWebui | undefined;
      // Registered before boot so Ctrl-C during a long --boot-ms stops at once.
      stopOnSignal({
        stop: async () => {
          boot.abort();
          await sim?.close();
        },
      });
      try {
        sim = await startSimWebui({
          port: flags.port,
          host: flags.host,
          bootMs: flags.bootMs,
          stepMs: flags.stepMs,
          modelLoadMs: flags.modelLoadMs,
          failAfter: flags.failAfter,
          hangAfter: flags.hangAfter,
          outputDir: flags.outputDir,
          models: flags.models?.split(',').map((m) => m.trim()).filter((m) => m !== ''),
          logger,
          signal: boot.signal,
        });
      } catch (err) {
        if (boot.signal.aborted) return; // stopped by a signal during boot: stopOnSignal exits
        throw err;
      }
      const running = sim;
      process.on('SIGUSR2', () => running.setHung(!running.hung));
      void running.stopped.then((s) => {
        if (s.reason !== 'fail-after') return;
        process.stderr.write(`sim-webui: simulated crash after ${s.answered} txt2img call(s) (--fail-after)\n`);
        process.exit(1);
      });
      process.stdout.write(`sim-webui listening on ${running.url} (stand-in for the Stable Diffusion WebUI; not Stable Diffusion)\n`);
    });
}
