import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { applyPattern, nextSequenceNumber, sanitizeFilenamePart, saveImage, type NameContext, type SaveSettings } from './filenames.ts';

const ctx: NameContext = {
  seed: 1234,
  prompt: 'A red fox, in <snow>: "winter" / night',
  steps: 20,
  cfgScale: 7,
  width: 512,
  height: 768,
  sampler: 'DPM++ 2M',
  modelName: 'v1-5-pruned-emaonly',
  modelHash: 'abcdef0123',
  jobTimestamp: '20250102030405',
  batchNumber: 0,
  now: new Date(2025, 0, 2, 3, 4, 5),
  maxPromptWords: 3,
};

const settings: SaveSettings = {
  save_to_dirs: true,
  directories_filename_pattern: '[date]',
  samples_filename_pattern: '[seed]-[prompt_words]',
  save_images_add_number: true,
};

const root = await mkdtemp(join(tmpdir(), 'sim-webui-names-'));
after(() => rm(root, { recursive: true, force: true }));

void test('patterns expand like A1111 FilenameGenerator, unknown tokens stay', () => {
  assert.equal(applyPattern('[seed]-[prompt_words]', ctx), '1234-A red fox');
  assert.equal(applyPattern('[date]', ctx), '2025-01-02');
  assert.equal(applyPattern('[model_name]_[cfg]_[width]x[height]', ctx), 'v1-5-pruned-emaonly_7.0_512x768');
  assert.equal(applyPattern('[seed]-[nonsense]', ctx), '1234-[nonsense]');
  // [none] drops itself and the text before it (A1111's NOTHING_AND_SKIP_PREVIOUS_TEXT).
  assert.equal(applyPattern('x-[none][seed]', ctx), '1234');
});

void test('file name parts lose the characters file systems refuse', () => {
  assert.equal(sanitizeFilenamePart('a/b:c d'), 'a_b_c_d');
  assert.equal(sanitizeFilenamePart('  ends with dots...', false), 'ends with dots');
  assert.equal(sanitizeFilenamePart('x'.repeat(300)).length, 128);
});

void test('the counter continues after the highest number already in the folder', async () => {
  const dir = join(root, 'count');
  assert.equal(await nextSequenceNumber(dir), 0);
  await mkdir(dir);
  await writeFile(join(dir, '00007-1-a.png'), '');
  await writeFile(join(dir, '00003-2-b.png'), '');
  await writeFile(join(dir, 'notes.txt'), '');
  await writeFile(join(dir, '.00099-tmp.png.tmp'), '');
  assert.equal(await nextSequenceNumber(dir), 8);
});

void test('saveImage writes <outdir>/<date>/<NNNNN>-<seed>-<words>.png with the exact bytes, no temp file left', async () => {
  const outdir = join(root, 'out');
  const png = Buffer.from('not really a png, the bytes are what matter');
  const first = await saveImage(png, outdir, settings, ctx);
  const second = await saveImage(png, outdir, settings, { ...ctx, seed: 1235 });
  assert.equal(first, join(outdir, '2025-01-02', '00000-1234-A red fox.png'));
  assert.equal(second, join(outdir, '2025-01-02', '00001-1235-A red fox.png'));
  assert.deepEqual(await readFile(first), png);
  assert.deepEqual((await readdir(join(outdir, '2025-01-02'))).sort(), ['00000-1234-A red fox.png', '00001-1235-A red fox.png']);
});

void test("A1111's own default names: [seed] only when saving to dated folders", async () => {
  const outdir = join(root, 'a1111');
  const path = await saveImage(Buffer.from('x'), outdir, { ...settings, samples_filename_pattern: '' }, ctx);
  assert.equal(path, join(outdir, '2025-01-02', '00000-1234.png'));
});
