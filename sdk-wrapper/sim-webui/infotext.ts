import type { Checkpoint } from './checkpoints.ts';
import type { Txt2ImgRequest } from './txt2img-request.ts';

/** Written into infotexts where A1111 writes its version, so a sim image is never taken for a real one. */
export const SIM_VERSION = 'sdfleet-sim-webui';

/** What a finished (or interrupted) generation produced, for infotexts and `info`. */
export interface GenerationRecord {
  request: Txt2ImgRequest;
  sampler: string;
  model: Checkpoint;
  /** One per image: seed + index. */
  seeds: number[];
  /** `YYYYMMDDhhmmss`, local time, when the job began. */
  jobTimestamp: string;
}

/**
 * A1111's infotext (`create_infotext`): prompt, negative prompt, then `key: value` pairs;
 * values with `,` `:` or a newline are JSON-quoted, as A1111's `quote` does.
 */
export function createInfotext(gen: GenerationRecord, index: number): string {
  const r = gen.request;
  const params: [string, string | number | undefined][] = [
    ['Steps', r.steps],
    ['Sampler', gen.sampler],
    ['Schedule type', r.scheduler ?? undefined],
    ['CFG scale', pythonFloat(r.cfg_scale)],
    ['Seed', gen.seeds[index]],
    ['Size', `${r.width}x${r.height}`],
    ['Model hash', gen.model.hash],
    ['Model', gen.model.model_name],
    ['Batch size', r.batch_size > 1 ? r.batch_size : undefined],
    ['Batch pos', r.batch_size > 1 ? index % r.batch_size : undefined],
    ['Version', SIM_VERSION],
  ];
  const line = params
    .filter((p): p is [string, string | number] => p[1] !== undefined)
    .map(([k, v]) => `${k}: ${quote(String(v))}`)
    .join(', ');
  const negative = r.negative_prompt ? `\nNegative prompt: ${r.negative_prompt}` : '';
  return `${r.prompt}${negative}\n${line}`.trim();
}

/** The `info` string of a txt2img answer: JSON of A1111's `Processed.js()` fields. */
export function createInfo(gen: GenerationRecord, imageCount: number): string {
  const r = gen.request;
  const infotexts = Array.from({ length: imageCount }, (_, i) => createInfotext(gen, i));
  return JSON.stringify({
    prompt: r.prompt,
    all_prompts: gen.seeds.map(() => r.prompt),
    negative_prompt: r.negative_prompt,
    all_negative_prompts: gen.seeds.map(() => r.negative_prompt),
    seed: gen.seeds[0],
    all_seeds: gen.seeds,
    subseed: r.subseed,
    all_subseeds: gen.seeds.map(() => r.subseed),
    subseed_strength: r.subseed_strength,
    width: r.width,
    height: r.height,
    sampler_name: gen.sampler,
    cfg_scale: r.cfg_scale,
    steps: r.steps,
    batch_size: r.batch_size,
    restore_faces: r.restore_faces ?? false,
    face_restoration_model: null,
    sd_model_name: gen.model.model_name,
    sd_model_hash: gen.model.hash,
    sd_vae_name: null,
    sd_vae_hash: null,
    seed_resize_from_w: r.seed_resize_from_w,
    seed_resize_from_h: r.seed_resize_from_h,
    denoising_strength: r.denoising_strength,
    extra_generation_params: {},
    index_of_first_image: 0,
    infotexts,
    styles: r.styles ?? [],
    job_timestamp: gen.jobTimestamp,
    clip_skip: 1,
    is_using_inpainting_conditioning: false,
    version: SIM_VERSION,
  });
}

/** A1111's `quote`: JSON-quote a value that would break the `k: v, k: v` line. */
function quote(text: string): string {
  if (!text.includes(',') && !text.includes('\n') && !text.includes(':')) return text;
  return JSON.stringify(text);
}

/** Python prints floats with a decimal point (`7.0`); infotext parsers expect it. */
function pythonFloat(n: number): string {
  return Number.isInteger(n) ? n.toFixed(1) : String(n);
}
