import { z } from 'zod';

/**
 * The body of `POST /sdapi/v1/txt2img`, A1111's field names. Fields the sim does not act
 * on are accepted so real clients work, and echoed in `parameters`. Unknown fields are
 * dropped, as A1111's pydantic model does.
 *
 * Differences from A1111: `steps` defaults to 20 (A1111's API: 50); `steps`, sizes and
 * counts are bounded so a mistaken request cannot tie the sim up for minutes.
 */
export const txt2imgRequestSchema = z.object({
  prompt: z.string().default(''),
  negative_prompt: z.string().default(''),
  styles: z.array(z.string()).nullable().default(null),
  /** -1 picks a random seed; image i of a batch uses seed + i. */
  seed: z.number().int().min(-1).max(4294967295).default(-1),
  subseed: z.number().int().default(-1),
  subseed_strength: z.number().default(0),
  seed_resize_from_h: z.number().int().default(-1),
  seed_resize_from_w: z.number().int().default(-1),
  sampler_name: z.string().nullable().default(null),
  sampler_index: z.string().default('Euler'),
  scheduler: z.string().nullable().default(null),
  batch_size: z.number().int().min(1).max(8).default(1),
  n_iter: z.number().int().min(1).max(100).default(1),
  steps: z.number().int().min(1).max(150).default(20),
  cfg_scale: z.number().default(7),
  width: z.number().int().min(8).max(4096).default(512),
  height: z.number().int().min(8).max(4096).default(512),
  restore_faces: z.boolean().nullable().default(null),
  tiling: z.boolean().nullable().default(null),
  denoising_strength: z.number().nullable().default(null),
  enable_hr: z.boolean().default(false),
  /** Settings applied for this request only, as `POST /sdapi/v1/options` would. */
  override_settings: z.record(z.string(), z.unknown()).nullable().default(null),
  override_settings_restore_afterwards: z.boolean().default(true),
  script_name: z.string().nullable().default(null),
  script_args: z.array(z.unknown()).default([]),
  alwayson_scripts: z.record(z.string(), z.unknown()).default({}),
  /** Put base64 PNGs in the answer. */
  send_images: z.boolean().default(true),
  /** Write the images to `outdir_txt2img_samples`, before answering. A1111's API default: false. */
  save_images: z.boolean().default(false),
});

export type Txt2ImgRequest = z.infer<typeof txt2imgRequestSchema>;

/** One entry of FastAPI's 422 `detail` list. */
export interface ValidationDetail {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** Parses a body; on failure, the FastAPI-style `detail` list naming each bad field. */
export function parseTxt2ImgRequest(body: unknown):
  | { ok: true; request: Txt2ImgRequest }
  | { ok: false; detail: ValidationDetail[] } {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    return {
      ok: false,
      detail: [{ loc: ['body'], msg: 'expected a JSON object such as {"prompt": "a cat", "steps": 20}', type: 'type_error.dict' }],
    };
  }
  const result = txt2imgRequestSchema.safeParse(body);
  if (result.success) return { ok: true, request: result.data };
  return {
    ok: false,
    detail: result.error.issues.map((issue) => ({
      loc: ['body', ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))],
      msg: issue.message,
      type: `value_error.${issue.code}`,
    })),
  };
}
