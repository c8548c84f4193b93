import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeCheckpoints } from './checkpoints.ts';
import { createInfo, createInfotext, type GenerationRecord } from './infotext.ts';
import { txt2imgRequestSchema } from './txt2img-request.ts';

const model = makeCheckpoints(['v1-5-pruned-emaonly'])[0]!;

function record(body: Record<string, unknown>): GenerationRecord {
  const request = txt2imgRequestSchema.parse(body);
  return { request, sampler: request.sampler_name ?? request.sampler_index, model, seeds: [42, 43], jobTimestamp: '20250101000000' };
}

void test('infotext has A1111 layout: prompt, negative prompt, then key: value pairs', () => {
  const text = createInfotext(record({ prompt: 'a cat', negative_prompt: 'blurry', seed: 42, sampler_name: 'Euler a' }), 0);
  assert.equal(
    text,
    `a cat\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7.0, Seed: 42, Size: 512x512, Model hash: ${model.hash}, Model: v1-5-pruned-emaonly, Version: sdfleet-sim-webui`,
  );
});

void test('values that would break the line are JSON-quoted', () => {
  const text = createInfotext(record({ prompt: 'x', sampler_name: 'odd, name' }), 0);
  assert.match(text, /Sampler: "odd, name",/);
});

void test('info is JSON with seeds and one infotext per image', () => {
  const info = JSON.parse(createInfo(record({ prompt: 'a cat', batch_size: 2 }), 2)) as Record<string, unknown>;
  assert.equal(info.seed, 42);
  assert.deepEqual(info.all_seeds, [42, 43]);
  assert.equal((info.infotexts as string[]).length, 2);
  assert.match((info.infotexts as string[])[1]!, /Seed: 43, .*Batch size: 2, Batch pos: 1/);
});
