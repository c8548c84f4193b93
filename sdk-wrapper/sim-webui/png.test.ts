import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { MAX_PICTURE_SIDE, pictureSize, renderPicture } from './picture.ts';
import { encodePng, readPngText } from './png.ts';

void test('a picture is a valid PNG of the asked size, the same bytes for the same prompt and seed', () => {
  const a = encodePng(renderPicture({ prompt: 'a lighthouse', seed: 7, width: 96, height: 64 }));
  const b = encodePng(renderPicture({ prompt: 'a lighthouse', seed: 7, width: 96, height: 64 }));
  const decoded = PNG.sync.read(a);
  assert.equal(decoded.width, 96);
  assert.equal(decoded.height, 64);
  assert.deepEqual(a, b);
});

void test('another seed or another prompt draws other pixels', () => {
  const pixels = (prompt: string, seed: number): Buffer => renderPicture({ prompt, seed, width: 64, height: 64 }).data;
  assert.notDeepEqual(pixels('a lighthouse', 7), pixels('a lighthouse', 8));
  assert.notDeepEqual(pixels('a lighthouse', 7), pixels('a windmill', 7));
});

void test('a picture is not one flat colour (it looks like something)', () => {
  const { data } = renderPicture({ prompt: 'hills', seed: 1, width: 64, height: 64 });
  const colours = new Set<number>();
  for (let i = 0; i < data.length; i += 4) colours.add(data.readUInt32BE(i));
  assert.ok(colours.size > 50, `expected many colours, got ${colours.size}`);
});

void test('an unfinished picture is noisier than the finished one', () => {
  const spec = { prompt: 'hills', seed: 1, width: 32, height: 32 };
  const done = renderPicture(spec).data;
  const half = renderPicture({ ...spec, completeness: 0.3 }).data;
  let diff = 0;
  for (let i = 0; i < done.length; i++) diff += Math.abs((done[i] ?? 0) - (half[i] ?? 0));
  assert.ok(diff / done.length > 10, `mean difference ${diff / done.length}`);
});

void test('oversized requests keep their aspect ratio within the drawing limit', () => {
  assert.deepEqual(pictureSize(2048, 1024), { width: MAX_PICTURE_SIDE, height: MAX_PICTURE_SIDE / 2 });
  assert.deepEqual(pictureSize(512, 768), { width: 512, height: 768 });
});

void test('text chunks are written and read back: tEXt for Latin-1, iTXt for the rest', () => {
  const pixels = renderPicture({ prompt: 'x', seed: 1, width: 8, height: 8 });
  const latin = encodePng(pixels, { parameters: 'a café\nSteps: 20, Seed: 1' });
  assert.equal(readPngText(latin).parameters, 'a café\nSteps: 20, Seed: 1');
  assert.ok(latin.includes(Buffer.from('tEXtparameters')));
  const unicode = encodePng(pixels, { parameters: '富士山 at dawn' });
  assert.equal(readPngText(unicode).parameters, '富士山 at dawn');
  assert.ok(unicode.includes(Buffer.from('iTXtparameters')));
  // Still a PNG pngjs (CRC-checking) accepts.
  assert.equal(PNG.sync.read(unicode).width, 8);
});
