import type { Logger } from '../../common/log.ts';

/**
 * How a sim-webui behaves. Every field is optional; the default and its meaning sit with
 * the field. The CLI (`sdfleet sim-webui`) maps its flags one to one onto these.
 */
export interface SimWebuiOptions {
  /** TCP port. 0 picks a free one (read it back from `SimWebui.port`). Default 7860, A1111's. */
  port?: number;
  /** Address to listen on. Default 127.0.0.1: the WebUI is reached through the wrapper's proxy. */
  host?: string;
  /**
   * Simulated start-up (Python imports plus loading the model), in ms, before anything
   * listens. Connections are refused until then, as with the real WebUI, whose HTTP
   * server is not up before the model has loaded. Default 1000.
   */
  bootMs?: number;
  /** Time per sampling step, in ms. A txt2img takes about `n_iter × steps × stepMs`. Default 20. */
  stepMs?: number;
  /** Time to switch `sd_model_checkpoint` to another model, in ms. Default 500. */
  modelLoadMs?: number;
  /**
   * Crash after this many txt2img calls have been answered: connections drop, nothing
   * answers any more and `SimWebui.stopped` resolves with reason `fail-after`. The CLI
   * exits with code 1 then. Default undefined: never.
   */
  failAfter?: number;
  /**
   * Hang after this many txt2img calls have been answered: connections are still
   * accepted but nothing is answered (also `POST /sim/hang`, `SimWebui.setHung`, SIGUSR2
   * in the CLI). Default undefined: never.
   */
  hangAfter?: number;
  /**
   * Root of the default output folders (`<outputDir>/txt2img-images`, …), as A1111's
   * `outputs/`. Relative paths are resolved against the working directory. Default `outputs`.
   */
  outputDir?: string;
  /**
   * Checkpoint file names `/sdapi/v1/sd-models` lists; the first is loaded at boot. A name
   * without an extension gets `.safetensors`. Default two fake checkpoints (SD 1.5, SDXL).
   */
  models?: string[];
  /** Where log lines go. Default: none. */
  logger?: Logger;
  /** Aborting it during boot makes `startSimWebui` reject and nothing listen. */
  signal?: AbortSignal;
}

/** The defaults of every option that has one, also shown by `sdfleet sim-webui --help`. */
export const SIM_WEBUI_DEFAULTS = {
  port: 7860,
  host: '127.0.0.1',
  bootMs: 1000,
  stepMs: 20,
  modelLoadMs: 500,
  outputDir: 'outputs',
  models: ['v1-5-pruned-emaonly.safetensors', 'sd_xl_base_1.0.safetensors'],
} as const;

/** Options after defaults are applied. */
export interface ResolvedSimWebuiOptions {
  port: number;
  host: string;
  bootMs: number;
  stepMs: number;
  modelLoadMs: number;
  failAfter: number | undefined;
  hangAfter: number | undefined;
  outputDir: string;
  models: string[];
  logger: Logger | undefined;
  signal: AbortSignal | undefined;
}

/** Applies defaults and rejects values that cannot work, saying which option and why. */
export function resolveOptions(opts: SimWebuiOptions): ResolvedSimWebuiOptions {
  const d = SIM_WEBUI_DEFAULTS;
  const resolved: ResolvedSimWebuiOptions = {
    port: opts.port ?? d.port,
    host: opts.host ?? d.host,
    bootMs: opts.bootMs ?? d.bootMs,
    stepMs: opts.stepMs ?? d.stepMs,
    modelLoadMs: opts.modelLoadMs ?? d.modelLoadMs,
    failAfter: opts.failAfter,
    hangAfter: opts.hangAfter,
    outputDir: opts.outputDir ?? d.outputDir,
    models: opts.models && opts.models.length > 0 ? [...opts.models] : [...d.models],
    logger: opts.logger,
    signal: opts.signal,
  };
  wholeNumber('port', resolved.port, 0, 65535);
  wholeNumber('bootMs', resolved.bootMs);
  wholeNumber('stepMs', resolved.stepMs);
  wholeNumber('modelLoadMs', resolved.modelLoadMs);
  if (resolved.failAfter !== undefined) wholeNumber('failAfter', resolved.failAfter, 1);
  if (resolved.hangAfter !== undefined) wholeNumber('hangAfter', resolved.hangAfter, 1);
  if (resolved.models.some((m) => m.trim() === '')) {
    throw new Error('sim-webui option models has an empty name; give checkpoint file names such as "v1-5-pruned-emaonly.safetensors"');
  }
  return resolved;
}

function wholeNumber(name: string, value: number, min = 0, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`sim-webui option ${name} takes a whole number from ${min} to ${max}, got ${String(value)}`);
  }
}
