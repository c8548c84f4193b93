import { randomInt, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SdfleetError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { findCheckpoint, type Checkpoint } from './checkpoints.ts';
import { saveImage, type NameContext } from './filenames.ts';
import type { HangSwitch } from './hang-switch.ts';
import { createInfo, createInfotext, type GenerationRecord } from './infotext.ts';
import { JobState, type ProgressResponse } from './job-state.ts';
import { renderPicture } from './picture.ts';
import { encodePng } from './png.ts';
import { SerialLock } from './serial-lock.ts';
import { defaultSettings, settingsUpdateProblem, type WebuiSettings } from './settings.ts';
import type { Txt2ImgRequest } from './txt2img-request.ts';

export interface EngineOptions {
  checkpoints: Checkpoint[];
  outputDir: string;
  stepMs: number;
  modelLoadMs: number;
  hang: HangSwitch;
  logger: Logger;
}

/** What `POST /sdapi/v1/txt2img` answers. */
export interface Txt2ImgResponse {
  /** Base64 PNGs; empty when `send_images` is false. */
  images: string[];
  parameters: Txt2ImgRequest;
  /** JSON text: seeds, prompts, infotexts, … (A1111's `Processed.js()`). */
  info: string;
}

/** Counters for tests and `GET /sim/stats`. */
export interface EngineStats {
  /** txt2img calls that completed (interrupted ones included). */
  generations: number;
  images: number;
  interrupted: number;
  savedFiles: number;
  /** Paths written by the last generation with `save_images`. */
  lastSaved: string[];
  modelLoads: number;
  running: boolean;
  /** Calls waiting for the running one (txt2img and model switches). */
  queued: number;
}

/** The longest side of `current_image` previews: enough to see, cheap to encode per poll. */
const PREVIEW_SIDE = 128;

/** Thrown into a generation cut short by `shutdown()`; never reaches a client (its connection is gone). */
class ShutDown extends Error {}

/**
 * The generation side of the sim: settings, the loaded model, one job at a time, progress.
 * It knows nothing about HTTP; the routes translate.
 */
export class Engine {
  readonly state: JobState;
  private settings: WebuiSettings;
  private readonly lock = new SerialLock();
  private readonly listeners = new Set<(p: ProgressResponse) => void>();
  private readonly opts: EngineOptions;
  private preview: { prompt: string; seed: number; width: number; height: number } | undefined;
  private closed = false;
  private counters = { generations: 0, images: 0, interrupted: 0, savedFiles: 0, modelLoads: 0, lastSaved: [] as string[] };

  constructor(opts: EngineOptions) {
    const first = opts.checkpoints[0];
    if (!first) throw new Error('sim-webui needs at least one checkpoint name; pass models or leave it unset for the defaults');
    this.opts = opts;
    this.settings = defaultSettings(opts.outputDir, first);
    this.state = new JobState(new Date());
  }

  get checkpoints(): Checkpoint[] {
    return this.opts.checkpoints;
  }

  getSettings(): WebuiSettings {
    return { ...this.settings };
  }

  stats(): EngineStats {
    return { ...this.counters, lastSaved: [...this.counters.lastSaved], running: this.state.running, queued: this.lock.queued };
  }

  /** Called with a progress snapshot (no preview) whenever a job starts, steps or ends. */
  onProgress(listener: (p: ProgressResponse) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  progress(skipCurrentImage: boolean): ProgressResponse {
    const p = this.state.progress(Date.now());
    const d = this.state.dict;
    if (!skipCurrentImage && this.state.running && this.preview && d.sampling_step > 0) {
      const { width, height } = this.preview;
      const scale = Math.min(1, PREVIEW_SIDE / Math.max(width, height));
      const pixels = renderPicture({
        ...this.preview,
        width: Math.max(1, Math.round(width * scale)),
        height: Math.max(1, Math.round(height * scale)),
        completeness: d.sampling_step / Math.max(1, d.sampling_steps),
      });
      p.current_image = encodePng(pixels).toString('base64');
    }
    return p;
  }

  /** A1111's `state.interrupt()`: the running job stops at its next step and answers what it has. */
  interrupt(): void {
    if (this.state.running) this.state.dict.interrupted = true;
  }

  /** A1111's `state.skip()`: the running batch stops at its next step; later batches still run. */
  skip(): void {
    if (this.state.running) this.state.dict.skipped = true;
  }

  /**
   * A1111's `POST /sdapi/v1/options`: stores every key; a different `sd_model_checkpoint`
   * waits its turn behind running jobs, then takes `modelLoadMs`, and only then resolves.
   */
  async updateSettings(update: Record<string, unknown>): Promise<void> {
    const problem = settingsUpdateProblem(update);
    if (problem) throw new SdfleetError('invalid_option', problem, { status: 400 });
    const { sd_model_checkpoint: wanted, ...rest } = update;
    const target = wanted === undefined ? undefined : this.resolveModel(String(wanted));
    Object.assign(this.settings, rest);
    if (target) await this.lock.run(() => this.loadModel(target));
  }

  /** Runs one txt2img after any running one, as A1111's queue lock does. */
  async txt2img(request: Txt2ImgRequest): Promise<Txt2ImgResponse> {
    const override = request.override_settings ?? {};
    const problem = settingsUpdateProblem(override);
    if (problem) throw new SdfleetError('invalid_option', `override_settings: ${problem}`, { status: 400 });
    const { sd_model_checkpoint: overrideModel, ...overrideRest } = override;
    const overrideTarget = overrideModel === undefined ? undefined : this.resolveModel(String(overrideModel));

    return this.lock.run(async () => {
      this.throwIfClosed();
      const original = this.currentModel();
      if (overrideTarget) await this.loadModel(overrideTarget);
      try {
        return await this.generate(request, { ...this.settings, ...overrideRest });
      } finally {
        if (!request.override_settings_restore_afterwards) Object.assign(this.settings, overrideRest);
        else if (overrideTarget && overrideTarget !== original && !this.closed) await this.loadModel(original);
      }
    });
  }

  /** Ends the running job at its next step without answering or saving, and refuses new ones. */
  async shutdown(): Promise<void> {
    this.closed = true;
    this.state.dict.interrupted = true;
    this.opts.hang.release();
    await this.lock.run(async () => {});
  }

  private async generate(request: Txt2ImgRequest, settings: WebuiSettings): Promise<Txt2ImgResponse> {
    const { stepMs, hang } = this.opts;
    const model = this.currentModel();
    const sampler = request.sampler_name ?? request.sampler_index;
    // A1111: random.randrange(4294967294) for -1; image i of the whole run gets seed + i.
    const baseSeed = request.seed === -1 ? randomInt(0, 4294967294) : request.seed;
    const seeds = Array.from({ length: request.batch_size * request.n_iter }, (_, i) => baseSeed + i);
    const began = new Date();
    const task = `task(${randomUUID().replace(/-/g, '').slice(0, 15)})`;
    const gen: GenerationRecord = { request, sampler, model, seeds, jobTimestamp: '' };
    const d = this.state.dict;
    this.state.begin('scripts_txt2img', request.n_iter, began, task);
    gen.jobTimestamp = d.job_timestamp;
    this.emit();
    const images: Buffer[] = [];
    const saved: string[] = [];
    let interrupted = false;
    try {
      for (let n = 0; n < request.n_iter; n++) {
        d.skipped = false;
        if (d.interrupted) break;
        Object.assign(d, { job: `Batch ${n + 1} out of ${request.n_iter}`, job_no: n, sampling_step: 0, sampling_steps: request.steps });
        this.preview = { prompt: request.prompt, seed: seeds[n * request.batch_size] ?? baseSeed, width: request.width, height: request.height };
        const start = performance.now();
        let done = 0;
        while (done < request.steps && !d.interrupted && !d.skipped) {
          await sleep(Math.max(0, start + (done + 1) * stepMs - performance.now()));
          await hang.whenFree();
          this.throwIfClosed();
          done++;
          d.sampling_step = done;
          this.emit();
        }
        interrupted ||= d.interrupted;
        for (let b = 0; b < request.batch_size; b++) {
          const i = n * request.batch_size + b;
          const seed = seeds[i] ?? baseSeed;
          const pixels = renderPicture({ prompt: request.prompt, seed, width: request.width, height: request.height, completeness: done / request.steps });
          const infotext = createInfotext(gen, i);
          const png = encodePng(pixels, settings.enable_pnginfo ? { parameters: infotext } : {});
          if (request.save_images) {
            this.throwIfClosed();
            saved.push(await saveImage(png, settings.outdir_txt2img_samples, settings, this.nameContext(request, gen, seed, n, began, settings)));
          }
          images.push(png);
        }
        d.job_no = n + 1;
        this.emit();
      }
    } catch (err) {
      if (err instanceof ShutDown) this.opts.logger.info('generation cut short: the sim is shutting down');
      throw err;
    } finally {
      this.preview = undefined;
      this.state.end();
      this.emit();
    }
    this.counters.generations++;
    this.counters.images += images.length;
    if (interrupted) this.counters.interrupted++;
    this.counters.savedFiles += saved.length;
    if (saved.length > 0) this.counters.lastSaved = saved;
    this.opts.logger.info({ prompt: request.prompt, seed: baseSeed, steps: request.steps, images: images.length, interrupted, saved }, 'txt2img done');
    return {
      images: request.send_images ? images.map((png) => png.toString('base64')) : [],
      parameters: request,
      info: createInfo(gen, images.length),
    };
  }

  private nameContext(request: Txt2ImgRequest, gen: GenerationRecord, seed: number, batch: number, now: Date, settings: WebuiSettings): NameContext {
    return {
      seed,
      prompt: request.prompt,
      steps: request.steps,
      cfgScale: request.cfg_scale,
      width: request.width,
      height: request.height,
      sampler: gen.sampler,
      modelName: gen.model.model_name,
      modelHash: gen.model.hash,
      jobTimestamp: gen.jobTimestamp,
      batchNumber: batch,
      now,
      maxPromptWords: typeof settings.directories_max_prompt_words === 'number' ? settings.directories_max_prompt_words : 8,
    };
  }

  private resolveModel(name: string): Checkpoint {
    const found = findCheckpoint(this.opts.checkpoints, name);
    if (!found) {
      const titles = this.opts.checkpoints.map((c) => `"${c.title}"`).join(', ');
      throw new SdfleetError('model_not_found', `model ${JSON.stringify(name)} not found; use a title from GET /sdapi/v1/sd-models: ${titles}`, { status: 400 });
    }
    return found;
  }

  private currentModel(): Checkpoint {
    return findCheckpoint(this.opts.checkpoints, this.settings.sd_model_checkpoint) ?? (this.opts.checkpoints[0] as Checkpoint);
  }

  /** Must run under the lock: a model switch waits for the running job, like A1111's. */
  private async loadModel(target: Checkpoint): Promise<void> {
    if (target === this.currentModel()) {
      this.settings.sd_model_checkpoint = target.title;
      return;
    }
    this.opts.logger.info({ model: target.title, ms: this.opts.modelLoadMs }, 'loading model');
    await sleep(this.opts.modelLoadMs);
    await this.opts.hang.whenFree();
    this.throwIfClosed();
    this.settings.sd_model_checkpoint = target.title;
    this.settings.sd_checkpoint_hash = target.sha256;
    this.counters.modelLoads++;
  }

  private throwIfClosed(): void {
    if (this.closed) throw new ShutDown('the sim-webui is shutting down; start it again to generate');
  }

  private emit(): void {
    if (this.listeners.size === 0) return;
    const p = this.state.progress(Date.now());
    for (const l of this.listeners) l(p);
  }
}
