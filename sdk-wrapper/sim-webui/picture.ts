import { createHash } from 'node:crypto';
import { seededRandom } from '../../common/seeded-random.ts';

/** What a picture is drawn from. The same spec always gives the same pixels. */
export interface PictureSpec {
  prompt: string;
  seed: number;
  width: number;
  height: number;
  /**
   * How far sampling got, 0..1. Below 1 the picture is mixed with noise, as a diffusion
   * preview or an interrupted result looks. Default 1.
   */
  completeness?: number;
}

/** RGBA pixels, row by row, 4 bytes a pixel. */
export interface Pixels {
  width: number;
  height: number;
  data: Buffer;
}

/**
 * The longest side the sim draws. Bigger requests keep their aspect ratio and shrink to
 * it, which keeps a generation cheap on a CPU.
 */
export const MAX_PICTURE_SIDE = 1024;

/** The size a request for `width × height` is drawn at. */
export function pictureSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, MAX_PICTURE_SIDE / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * A landscape (sky, sun, ridges) whose colours and shapes come from a hash of prompt and
 * seed: recognisably a picture, different for every prompt or seed, and cheap to draw.
 */
export function renderPicture(spec: PictureSpec): Pixels {
  const { width, height } = pictureSize(spec.width, spec.height);
  const rand = randomFrom(`${spec.prompt}\u0000${spec.seed}`);
  const completeness = Math.min(1, Math.max(0, spec.completeness ?? 1));
  const hue = rand() * 360;
  const skyTop = hsl(hue, 0.55, 0.22);
  const skyBottom = hsl(hue + 25 + rand() * 40, 0.65, 0.72);
  const sun = {
    x: 0.15 + rand() * 0.7,
    y: 0.12 + rand() * 0.3,
    r: 0.05 + rand() * 0.08,
    color: hsl(hue + 160 + rand() * 60, 0.9, 0.78),
  };
  const layers = Array.from({ length: 4 }, (_, i) => ({
    base: 0.45 + i * 0.13 + rand() * 0.05,
    waves: Array.from({ length: 3 }, (_, k) => ({
      amp: (0.06 / (k + 1)) * (0.5 + rand()),
      freq: (1 + rand() * 3) * (k + 1) * Math.PI * 2,
      phase: rand() * Math.PI * 2,
    })),
    color: hsl(hue + 180 + i * 12 + rand() * 20, 0.35 + rand() * 0.2, 0.45 - i * 0.09),
  }));
  const noiseKey = (Math.floor(rand() * 0xffffffff) ^ spec.seed) >>> 0;

  // Ridge heights depend on the column only: computed once per column, not per pixel.
  const ridges = layers.map((layer) => {
    const row = new Float32Array(width);
    for (let x = 0; x < width; x++) {
      const u = x / width;
      let y = layer.base;
      for (const w of layer.waves) y += w.amp * Math.sin(u * w.freq + w.phase);
      row[x] = y;
    }
    return row;
  });

  const aspect = width / height;
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    const v = y / height;
    const sky = mix(skyTop, skyBottom, Math.min(1, v / 0.7));
    for (let x = 0; x < width; x++) {
      const u = x / width;
      let color = sky;
      const dx = (u - sun.x) * aspect;
      const dy = v - sun.y;
      const d = Math.sqrt(dx * dx + dy * dy);
      if (d < sun.r) color = sun.color;
      else if (d < sun.r * 3) color = mix(sky, sun.color, 0.35 * (1 - (d - sun.r) / (sun.r * 2)) ** 2);
      for (let i = 0; i < layers.length; i++) {
        if (v >= ridges[i]![x]!) color = mix(layers[i]!.color, skyBottom, 0.12 * (layers.length - 1 - i) * (1 - v));
      }
      let [r, g, b] = color;
      if (completeness < 1) {
        const n = hash32(noiseKey, x, y);
        const t = completeness * completeness;
        r = r * t + (n & 0xff) * (1 - t);
        g = g * t + ((n >>> 8) & 0xff) * (1 - t);
        b = b * t + ((n >>> 16) & 0xff) * (1 - t);
      }
      const o = (y * width + x) * 4;
      data[o] = r;
      data[o + 1] = g;
      data[o + 2] = b;
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

type Rgb = readonly [number, number, number];

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function hsl(hueDeg: number, s: number, l: number): Rgb {
  const h = (((hueDeg % 360) + 360) % 360) / 360;
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  const channel = (t: number): number => {
    const tt = t < 0 ? t + 1 : t > 1 ? t - 1 : t;
    if (tt < 1 / 6) return p + (q - p) * 6 * tt;
    if (tt < 1 / 2) return q;
    if (tt < 2 / 3) return p + (q - p) * (2 / 3 - tt) * 6;
    return p;
  };
  return [channel(h + 1 / 3) * 255, channel(h) * 255, channel(h - 1 / 3) * 255];
}

/** A seeded generator keyed by a SHA-256 of the text. */
function randomFrom(text: string): () => number {
  return seededRandom(createHash('sha256').update(text).digest().readUInt32LE(0));
}

/** Per-pixel noise without a generator call per pixel in sequence: any pixel, any order. */
function hash32(key: number, x: number, y: number): number {
  let h = (key ^ Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
