import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PNG } from 'pngjs';
import { WebSocket } from 'ws';
import { isConnectionError } from '../../common/errors.ts';
import { PROGRESS_SOCKET_PATH, readPngText, startSimWebui, type ProgressMessage, type ProgressResponse, type SimWebui, type SimWebuiOptions, type Txt2ImgResponse } from './index.ts';

const root = await mkdtemp(join(tmpdir(), 'sim-webui-'));
const running = new Set<SimWebui>();
after(async () => {
  await Promise.all([...running].map((s) => s.close()));
  await rm(root, { recursive: true, force: true });
});

async function start(opts: SimWebuiOptions = {}): Promise<SimWebui> {
  const sim = await startSimWebui({ port: 0, bootMs: 0, stepMs: 5, modelLoadMs: 0, outputDir: join(root, randomUUID()), ...opts });
  running.add(sim);
  return sim;
}

async function post(sim: SimWebui, path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(sim.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), ...init });
}

async function txt2img(sim: SimWebui, body: Record<string, unknown>): Promise<Txt2ImgResponse> {
  const res = await post(sim, '/sdapi/v1/txt2img', body);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Txt2ImgResponse;
}

async function progress(sim: SimWebui, skipImage = false): Promise<ProgressResponse> {
  const res = await fetch(`${sim.url}/sdapi/v1/progress?skip_current_image=${skipImage}`);
  assert.equal(res.status, 200);
  return (await res.json()) as ProgressResponse;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Local date as A1111's `[date]` folder. */
function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

void test('nothing listens during boot; ping answers {} once bootMs has passed', async () => {
  const port = await freePort();
  const t0 = performance.now();
  // Registered for cleanup before any assertion, so a failure cannot leave it listening.
  const starting = startSimWebui({ port, bootMs: 400 }).then((s) => {
    running.add(s);
    return s;
  });
  await sleep(100);
  const duringBoot = await fetch(`http://127.0.0.1:${port}/internal/ping`).then(
    (res) => `answered ${res.status}`,
    (err: unknown) => err,
  );
  const sim = await starting;
  assert.ok(isConnectionError(duringBoot), `expected the connection refused during boot, got ${String(duringBoot)}`);
  assert.ok(performance.now() - t0 >= 395, `started after ${performance.now() - t0} ms`);
  const res = await fetch(`${sim.url}/internal/ping`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
});

void test('txt2img answers a PNG of the asked size with the infotext, the same for the same prompt and seed', async () => {
  const sim = await start();
  const body = { prompt: 'a lighthouse at dusk', seed: 1234, steps: 3, width: 320, height: 192 };
  const a = await txt2img(sim, body);
  assert.equal(a.images.length, 1);
  const png = Buffer.from(a.images[0]!, 'base64');
  const decoded = PNG.sync.read(png);
  assert.equal(decoded.width, 320);
  assert.equal(decoded.height, 192);

  const info = JSON.parse(a.info) as { seed: number; all_seeds: number[]; infotexts: string[] };
  assert.equal(info.seed, 1234);
  assert.deepEqual(info.all_seeds, [1234]);
  assert.equal(readPngText(png).parameters, info.infotexts[0]);
  assert.match(info.infotexts[0]!, /^a lighthouse at dusk\nSteps: 3, Sampler: Euler, CFG scale: 7.0, Seed: 1234, Size: 320x192/);
  assert.equal(a.parameters.steps, 3);
  assert.equal(a.parameters.save_images, false);

  const again = await txt2img(sim, body);
  assert.equal(again.images[0], a.images[0]);
  const otherSeed = await txt2img(sim, { ...body, seed: 1235 });
  assert.notEqual(otherSeed.images[0], a.images[0]);
  const random = JSON.parse((await txt2img(sim, { ...body, seed: -1 })).info) as { seed: number };
  assert.ok(Number.isInteger(random.seed) && random.seed >= 0, `random seed ${random.seed}`);
});

void test('batch_size × n_iter images, consecutive seeds; send_images: false sends none', async () => {
  const sim = await start();
  const r = await txt2img(sim, { prompt: 'x', seed: 10, steps: 1, width: 64, height: 64, batch_size: 2, n_iter: 2 });
  assert.equal(r.images.length, 4);
  assert.deepEqual((JSON.parse(r.info) as { all_seeds: number[] }).all_seeds, [10, 11, 12, 13]);
  const none = await txt2img(sim, { prompt: 'x', steps: 1, width: 64, height: 64, send_images: false });
  assert.deepEqual(none.images, []);
});

void test('a generation takes at least steps × stepMs', async () => {
  const sim = await start({ stepMs: 30 });
  const t0 = performance.now();
  await txt2img(sim, { prompt: 'slow', steps: 10, width: 64, height: 64 });
  const took = performance.now() - t0;
  assert.ok(took >= 10 * 30 - 5, `took ${took} ms`);
});

void test('progress shows the running job with a preview, and idle afterwards', async () => {
  const sim = await start({ stepMs: 20 });
  const idle = await progress(sim);
  assert.equal(idle.state.job_count, 0);
  const done = txt2img(sim, { prompt: 'watch me', steps: 30, width: 128, height: 128 });
  await sleep(200);
  const mid = await progress(sim);
  assert.equal(mid.state.job_count, 1);
  assert.equal(mid.state.sampling_steps, 30);
  assert.ok(mid.state.sampling_step > 0 && mid.state.sampling_step < 30, `step ${mid.state.sampling_step}`);
  assert.ok(mid.progress > 0 && mid.progress < 1, `progress ${mid.progress}`);
  assert.ok(mid.eta_relative > 0);
  assert.ok(mid.current_image, 'a preview while running');
  assert.ok(PNG.sync.read(Buffer.from(mid.current_image, 'base64')).width > 0);
  assert.equal((await progress(sim, true)).current_image, null);
  await done;
  const after = await progress(sim);
  assert.equal(after.state.job_count, 0);
  assert.equal(after.progress, 0);
  assert.equal(after.current_image, null);
});

void test('interrupt ends the generation at the next step with a partial image', async () => {
  const sim = await start({ stepMs: 10 });
  const t0 = performance.now();
  const pending = txt2img(sim, { prompt: 'too long', steps: 150, width: 64, height: 64 });
  await sleep(150);
  const res = await post(sim, '/sdapi/v1/interrupt', undefined);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  const r = await pending;
  assert.ok(performance.now() - t0 < 1000, `answered after ${performance.now() - t0} ms, 150 steps would take 1500`);
  assert.equal(r.images.length, 1);
  assert.equal(sim.stats().interrupted, 1);
  assert.equal((await progress(sim)).state.interrupted, true);
});

void test('options decide where save_images writes; the file is there when the answer arrives', async () => {
  const sim = await start();
  const outdir = join(root, 'custom-out');
  const set = await post(sim, '/sdapi/v1/options', { outdir_txt2img_samples: outdir, my_extension_key: [1, 'two'] });
  assert.equal(set.status, 200);
  assert.equal(await set.json(), null);
  const opts = (await (await fetch(`${sim.url}/sdapi/v1/options`)).json()) as Record<string, unknown>;
  assert.equal(opts.outdir_txt2img_samples, outdir);
  assert.deepEqual(opts.my_extension_key, [1, 'two']);
  assert.equal(opts.samples_format, 'png');

  const r = await txt2img(sim, { prompt: 'Save me, please!', seed: 77, steps: 2, width: 64, height: 64, save_images: true });
  const folder = join(outdir, today());
  assert.deepEqual(await readdir(folder), ['00000-77-Save me please.png']);
  assert.deepEqual(await readFile(join(folder, '00000-77-Save me please.png')), Buffer.from(r.images[0]!, 'base64'));

  await txt2img(sim, { prompt: 'Save me, please!', seed: 78, steps: 1, width: 64, height: 64, save_images: true });
  await txt2img(sim, { prompt: 'not saved', steps: 1, width: 64, height: 64 });
  assert.deepEqual((await readdir(folder)).sort(), ['00000-77-Save me please.png', '00001-78-Save me please.png']);

  const bad = await post(sim, '/sdapi/v1/options', { samples_format: 'jpg' });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { detail: string }).detail, /PNG only/);
});

void test('switching sd_model_checkpoint takes modelLoadMs; an unknown model is refused', async () => {
  const sim = await start({ modelLoadMs: 250 });
  const models = (await (await fetch(`${sim.url}/sdapi/v1/sd-models`)).json()) as { title: string; model_name: string; hash: string; sha256: string; filename: string }[];
  assert.equal(models.length, 2);
  const [first, second] = models as [(typeof models)[0], (typeof models)[0]];
  assert.match(second.title, /^sd_xl_base_1\.0\.safetensors \[[0-9a-f]{10}\]$/);
  assert.equal(second.hash, second.sha256.slice(0, 10));

  const t0 = performance.now();
  const res = await post(sim, '/sdapi/v1/options', { sd_model_checkpoint: second.model_name });
  assert.equal(res.status, 200);
  assert.ok(performance.now() - t0 >= 245, `switched in ${performance.now() - t0} ms`);
  const opts = (await (await fetch(`${sim.url}/sdapi/v1/options`)).json()) as Record<string, unknown>;
  assert.equal(opts.sd_model_checkpoint, second.title);
  const r = await txt2img(sim, { prompt: 'x', steps: 1, width: 64, height: 64 });
  assert.match(r.info, /Model: sd_xl_base_1\.0/);

  const t1 = performance.now();
  await post(sim, '/sdapi/v1/options', { sd_model_checkpoint: second.title });
  assert.ok(performance.now() - t1 < 200, 'the loaded model is not loaded again');

  const unknown = await post(sim, '/sdapi/v1/options', { sd_model_checkpoint: 'no-such-model.safetensors' });
  assert.equal(unknown.status, 400);
  const body = (await unknown.json()) as { error: string; detail: string };
  assert.equal(body.error, 'model_not_found');
  assert.ok(body.detail.includes(first.title), body.detail);
  assert.equal(((await (await fetch(`${sim.url}/sdapi/v1/options`)).json()) as Record<string, unknown>).sd_model_checkpoint, second.title);
  assert.equal(sim.stats().modelLoads, 1);
});

void test('override_settings apply to one txt2img: its model is loaded, then the previous one again', async () => {
  const sim = await start({ modelLoadMs: 100 });
  const outdir = join(root, 'override');
  const t0 = performance.now();
  const r = await txt2img(sim, {
    prompt: 'just this once',
    seed: 5,
    steps: 1,
    width: 64,
    height: 64,
    save_images: true,
    override_settings: { sd_model_checkpoint: 'sd_xl_base_1.0', outdir_txt2img_samples: outdir, samples_filename_pattern: '[model_name]-[seed]' },
  });
  assert.ok(performance.now() - t0 >= 195, 'loaded the override model and the previous one back');
  assert.match(r.info, /Model: sd_xl_base_1\.0/);
  assert.deepEqual(await readdir(join(outdir, today())), ['00000-sd_xl_base_1.0-5.png']);
  const opts = (await (await fetch(`${sim.url}/sdapi/v1/options`)).json()) as Record<string, unknown>;
  assert.match(String(opts.sd_model_checkpoint), /^v1-5-pruned-emaonly/);
  assert.notEqual(opts.outdir_txt2img_samples, outdir);
});

void test('skip ends the current batch early; the next batch still runs', async () => {
  const sim = await start({ stepMs: 10 });
  const t0 = performance.now();
  const pending = txt2img(sim, { prompt: 'skip one', steps: 80, n_iter: 2, width: 64, height: 64 });
  await sleep(100);
  assert.equal((await post(sim, '/sdapi/v1/skip', undefined)).status, 200);
  const r = await pending;
  const took = performance.now() - t0;
  assert.equal(r.images.length, 2);
  // One full batch (800 ms) plus the start of the skipped one; both in full would be 1600.
  assert.ok(took >= 795 && took < 1400, `took ${took} ms`);
});

void test('two txt2img calls at once run one after the other', async () => {
  const sim = await start({ stepMs: 20 });
  const t0 = performance.now();
  const ends: number[] = [];
  const one = (prompt: string): Promise<void> =>
    txt2img(sim, { prompt, steps: 10, width: 64, height: 64 }).then(() => {
      ends.push(performance.now() - t0);
    });
  const both = Promise.all([one('first'), one('second')]);
  await sleep(60);
  assert.equal(sim.stats().queued, 1);
  await both;
  ends.sort((a, b) => a - b);
  assert.ok(ends[0]! >= 195, `first ended at ${ends[0]} ms`);
  assert.ok(ends[1]! >= 395, `second ended at ${ends[1]} ms: it did not wait for the first`);
});

void test('the progress WebSocket sends the state on connect and while a generation runs', async () => {
  const sim = await start({ stepMs: 20 });
  const ws = new WebSocket(sim.url.replace('http:', 'ws:') + PROGRESS_SOCKET_PATH);
  const messages: ProgressMessage[] = [];
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as ProgressMessage));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  await sleep(50);
  assert.equal(messages[0]?.type, 'progress');
  assert.equal(messages[0]?.state.job_count, 0);

  await txt2img(sim, { prompt: 'live', steps: 5, width: 64, height: 64 });
  await sleep(50);
  ws.close();
  const runningSteps = messages.filter((m) => m.state.job_count > 0).map((m) => m.state.sampling_step);
  assert.ok(runningSteps.includes(3), `steps seen: ${runningSteps.join(',')}`);
  assert.equal(messages.at(-1)?.state.job_count, 0);

  const wrong = new WebSocket(sim.url.replace('http:', 'ws:') + '/sim/ws/nope');
  const status = await new Promise<number>((resolve) => {
    wrong.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    wrong.once('error', () => resolve(-1));
  });
  assert.equal(status, 404);
});

void test('POST /sim/hang: connections are accepted but nothing answers until the hang ends', async () => {
  const sim = await start();
  const res = await post(sim, '/sim/hang', undefined);
  assert.deepEqual(await res.json(), { hung: true });
  assert.equal(sim.hung, true);
  await assert.rejects(fetch(`${sim.url}/internal/ping`, { signal: AbortSignal.timeout(300) }), { name: 'TimeoutError' });
  const parked = fetch(`${sim.url}/internal/ping`);
  await sleep(100);
  sim.setHung(false);
  assert.equal((await parked).status, 200, 'a request that waited out the hang is answered');
});

void test('hangAfter: the Nth generation is answered, then the sim hangs', async () => {
  const sim = await start({ hangAfter: 1 });
  await txt2img(sim, { prompt: 'last one', steps: 1, width: 64, height: 64 });
  await assert.rejects(fetch(`${sim.url}/sdapi/v1/progress`, { signal: AbortSignal.timeout(300) }), { name: 'TimeoutError' });
  assert.equal(sim.stats().hung, true);
});

void test('failAfter: the Nth generation is answered, then the sim stops listening', async () => {
  const sim = await start({ failAfter: 2 });
  await txt2img(sim, { prompt: 'one', steps: 1, width: 64, height: 64 });
  await txt2img(sim, { prompt: 'two', steps: 1, width: 64, height: 64 });
  assert.deepEqual(await sim.stopped, { reason: 'fail-after', answered: 2 });
  await assert.rejects(fetch(`${sim.url}/internal/ping`), (err) => isConnectionError(err));
});

void test('close() drops a running generation without saving it', async () => {
  const sim = await start({ stepMs: 10 });
  const outdir = join(root, 'dropped');
  await post(sim, '/sdapi/v1/options', { outdir_txt2img_samples: outdir });
  // Settled into a value at once: the rejection arrives while close() is awaited.
  const pending = post(sim, '/sdapi/v1/txt2img', { prompt: 'never', steps: 100, width: 64, height: 64, save_images: true }).then(
    (res) => `answered ${res.status}`,
    (err: unknown) => err,
  );
  await sleep(100);
  await sim.close();
  const outcome = await pending;
  assert.ok(isConnectionError(outcome), `expected the connection dropped, got ${String(outcome)}`);
  assert.deepEqual(await sim.stopped, { reason: 'closed', answered: 0 });
  await assert.rejects(readdir(outdir), { code: 'ENOENT' });
});

void test('bad input gets a 4xx JSON answer, never a crash', async () => {
  const sim = await start();
  const malformed = await post(sim, '/sdapi/v1/txt2img', '{"prompt": "unterminated');
  assert.equal(malformed.status, 422);
  const detail = ((await malformed.json()) as { detail: { loc: unknown[]; type: string }[] }).detail;
  assert.equal(detail[0]?.type, 'value_error.jsondecode');

  const wrongType = await post(sim, '/sdapi/v1/txt2img', { prompt: 'x', steps: 'many' });
  assert.equal(wrongType.status, 422);
  assert.deepEqual(((await wrongType.json()) as { detail: { loc: unknown[] }[] }).detail[0]?.loc, ['body', 'steps']);

  const notObject = await post(sim, '/sdapi/v1/options', '[1, 2]');
  assert.equal(notObject.status, 422);
  const badOptionsJson = await post(sim, '/sdapi/v1/options', '{');
  assert.equal(badOptionsJson.status, 422);

  assert.equal((await fetch(`${sim.url}/sdapi/v1/nothing-here`)).status, 404);
  assert.equal((await fetch(`${sim.url}/sdapi/v1/txt2img`)).status, 405);
  assert.equal((await fetch(`${sim.url}/internal/ping`)).status, 200);
});

void test('the page at / drives txt2img and the progress socket through relative URLs', async () => {
  const sim = await start();
  const res = await fetch(`${sim.url}/`);
  assert.equal(res.status, 200);
  const html = await res.text();
  for (const id of ['prompt', 'generate', 'result', 'progress']) assert.ok(html.includes(`id="${id}"`), `#${id} on the page`);
  assert.match(html, /not Stable Diffusion/);
  const script = html.match(/<script[^>]*src="([^"]+)"/)?.[1];
  assert.ok(script && !script.startsWith('/'), `script URL ${script} is relative`);
  const js = await (await fetch(`${sim.url}/${script}`)).text();
  assert.ok(js.includes("'sdapi/v1/txt2img'") && js.includes("'sim/ws/progress'"), 'the script uses relative API and socket paths');
  assert.ok(!/['"`]\/(sdapi|sim)\//.test(js), 'no absolute paths in the script');
});
