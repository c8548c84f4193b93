import { join } from 'node:path';
import type { Checkpoint } from './checkpoints.ts';

/**
 * What `GET /sdapi/v1/options` answers: A1111's settings, by A1111's keys. Only the keys
 * the sim acts on are typed; anything else a caller POSTs is kept and echoed as given.
 */
export interface WebuiSettings {
  /** Shown in A1111's settings as the folder for all images; its API ignores it for txt2img. */
  outdir_samples: string;
  /** Where txt2img with `save_images: true` writes. */
  outdir_txt2img_samples: string;
  outdir_img2img_samples: string;
  outdir_extras_samples: string;
  outdir_grids: string;
  outdir_txt2img_grids: string;
  outdir_img2img_grids: string;
  outdir_save: string;
  outdir_init_images: string;
  /** Title of the loaded checkpoint. */
  sd_model_checkpoint: string;
  sd_checkpoint_hash: string;
  /** Only `png`: the sim writes nothing else. */
  samples_format: string;
  samples_save: boolean;
  /** Put images in a sub-folder named by `directories_filename_pattern`. */
  save_to_dirs: boolean;
  directories_filename_pattern: string;
  directories_max_prompt_words: number;
  /**
   * File name after the 5-digit counter. A1111 defaults to "" (which means `[seed]` with
   * `save_to_dirs`); the sim defaults to `[seed]-[prompt_words]` so files say what they hold.
   */
  samples_filename_pattern: string;
  save_images_add_number: boolean;
  enable_pnginfo: boolean;
  [key: string]: unknown;
}

/** A1111's defaults, with the output folders under `outputDir` and `model` loaded. */
export function defaultSettings(outputDir: string, model: Checkpoint): WebuiSettings {
  return {
    outdir_samples: '',
    outdir_txt2img_samples: join(outputDir, 'txt2img-images'),
    outdir_img2img_samples: join(outputDir, 'img2img-images'),
    outdir_extras_samples: join(outputDir, 'extras-images'),
    outdir_grids: '',
    outdir_txt2img_grids: join(outputDir, 'txt2img-grids'),
    outdir_img2img_grids: join(outputDir, 'img2img-grids'),
    outdir_save: join(outputDir, 'images'),
    outdir_init_images: join(outputDir, 'init-images'),
    sd_model_checkpoint: model.title,
    sd_checkpoint_hash: model.sha256,
    samples_format: 'png',
    samples_save: true,
    save_to_dirs: true,
    directories_filename_pattern: '[date]',
    directories_max_prompt_words: 8,
    samples_filename_pattern: '[seed]-[prompt_words]',
    save_images_add_number: true,
    enable_pnginfo: true,
    grid_save: true,
    return_grid: true,
    CLIP_stop_at_last_layers: 1,
    sd_vae: 'Automatic',
    live_previews_enable: true,
    show_progress_every_n_steps: 10,
  };
}

/** Keys whose value must be a string for the sim to act on it (a path or a pattern). */
const STRING_KEYS = [
  'outdir_samples',
  'outdir_txt2img_samples',
  'outdir_img2img_samples',
  'outdir_extras_samples',
  'outdir_grids',
  'outdir_txt2img_grids',
  'outdir_img2img_grids',
  'outdir_save',
  'outdir_init_images',
  'sd_model_checkpoint',
  'samples_format',
  'directories_filename_pattern',
  'samples_filename_pattern',
];

/**
 * Why an update cannot be applied, or undefined when it can. A1111 stores nearly anything;
 * the sim refuses what it could not honour so a wrong setting fails loudly in tests.
 */
export function settingsUpdateProblem(update: Record<string, unknown>): string | undefined {
  for (const key of STRING_KEYS) {
    if (key in update && typeof update[key] !== 'string') {
      return `option ${key} takes a string, got ${JSON.stringify(update[key])}`;
    }
  }
  const format = update.samples_format;
  if (typeof format === 'string' && format.toLowerCase() !== 'png') {
    return `samples_format "${format}" is not supported by the sim-webui, which writes PNG only; set it to "png"`;
  }
  if ('outdir_txt2img_samples' in update && update.outdir_txt2img_samples === '') {
    return 'outdir_txt2img_samples must not be empty: txt2img with save_images writes there; give a folder path';
  }
  return undefined;
}
