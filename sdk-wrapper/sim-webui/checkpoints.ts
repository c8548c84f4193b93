import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

/** One entry of `GET /sdapi/v1/sd-models`, field names as A1111 sends them. */
export interface Checkpoint {
  /** `<file name> [<short hash>]`, the value `sd_model_checkpoint` holds once loaded. */
  title: string;
  /** File name without extension. */
  model_name: string;
  /** First 10 hex digits of `sha256`. */
  hash: string;
  sha256: string;
  /** Where the file would be; nothing is there, the sim has no weights. */
  filename: string;
  config: string | null;
}

/**
 * The fake checkpoints. Hashes come from the name, so they are stable across runs, as a
 * real file's hash would be.
 */
export function makeCheckpoints(names: readonly string[]): Checkpoint[] {
  return names.map((raw) => {
    const name = /\.(safetensors|ckpt)$/i.test(raw) ? raw : `${raw}.safetensors`;
    const sha256 = createHash('sha256').update(`sdfleet-sim-webui checkpoint ${name}`).digest('hex');
    const hash = sha256.slice(0, 10);
    return {
      title: `${name} [${hash}]`,
      model_name: name.replace(/\.(safetensors|ckpt)$/i, '').replace(/[/\\]/g, '_'),
      hash,
      sha256,
      filename: resolve('models', 'Stable-diffusion', name),
      config: null,
    };
  });
}

/**
 * Finds a checkpoint by any name A1111 accepts for `sd_model_checkpoint`: title, file
 * name, model name, short hash or sha256.
 */
export function findCheckpoint(list: readonly Checkpoint[], name: string): Checkpoint | undefined {
  return list.find((c) => {
    const file = c.filename.split(/[/\\]/).pop() ?? '';
    return name === c.title || name === file || name === c.model_name || name === c.hash || name === c.sha256;
  });
}
