import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { sdkFixture, waitFor } from './testing.ts';

async function call(port: number, method: string, path: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('sdk-server HTTP gateway (Agones REST SDK)', () => {
  it('lifecycle routes change state; /gameserver answers in proto field names with int64 strings', async () => {
    const f = await sdkFixture({ gs: { spec: { ports: [{ name: 'webui', containerPort: 7860 }] } } });
    const port = f.server.httpPort;
    try {
      assert.deepEqual(await call(port, 'POST', '/ready', '{}'), { status: 200, json: {} });
      let gs = (await call(port, 'GET', '/gameserver')).json as { object_meta: Record<string, unknown>; status: Record<string, unknown>; spec: { health: Record<string, unknown> } };
      assert.equal(gs.status.state, 'Ready');
      assert.equal(gs.object_meta.name, 'local');
      assert.equal(typeof gs.object_meta.creation_timestamp, 'string');
      assert.match(String(gs.object_meta.creation_timestamp), /^\d+$/);
      assert.equal(gs.object_meta.generation, '1');
      assert.deepEqual(gs.status.ports, [{ name: 'webui', port: 7860 }]);
      assert.equal(gs.spec.health.period_seconds, 5);
      assert.equal((await call(port, 'POST', '/allocate', '{}')).status, 200);
      assert.equal((await call(port, 'POST', '/health', '{}')).status, 200);
      assert.equal((await call(port, 'POST', '/reserve', '{"seconds": "0"}')).status, 200);
      assert.equal((await f.store.get()).status?.state, 'Reserved');
      assert.equal((await call(port, 'POST', '/shutdown', '{}')).status, 200);
      gs = (await call(port, 'GET', '/gameserver')).json as typeof gs;
      assert.equal(gs.status.state, 'Shutdown');
    } finally {
      await f.close();
    }
  });

  it('PUT /metadata/label and /metadata/annotation apply prefixed keys; bad ones are 400 with code 3', async () => {
    const f = await sdkFixture();
    const port = f.server.httpPort;
    try {
      assert.equal((await call(port, 'PUT', '/metadata/label', '{"key":"foo","value":"bar"}')).status, 200);
      assert.equal((await call(port, 'PUT', '/metadata/annotation', '{"key":"note","value":"a b c"}')).status, 200);
      const meta = (await f.store.get()).metadata;
      assert.equal(meta.labels?.['agones.dev/sdk-foo'], 'bar');
      assert.equal(meta.annotations?.['agones.dev/sdk-note'], 'a b c');
      const bad = await call(port, 'PUT', '/metadata/label', '{"key":"foo","value":"no spaces allowed"}');
      assert.equal(bad.status, 400);
      assert.equal(bad.json.code, 3);
      assert.match(String(bad.json.message), /invalid label value/);
      const malformed = await call(port, 'POST', '/ready', '{not json');
      assert.equal(malformed.status, 400);
      assert.match(String(malformed.json.message), /not valid JSON/);
      assert.equal((await call(port, 'PUT', '/metadata/label', '{"value":"x"}')).status, 400);
      assert.equal((await call(port, 'GET', '/nope')).status, 404);
      assert.equal((await call(port, 'GET', '/alpha/player/count')).status, 501);
    } finally {
      await f.close();
    }
  });

  it('GET /watch/gameserver streams {"result": …} lines: the current one, then each change', async () => {
    const f = await sdkFixture();
    try {
      const lines: { result: { status: { state: string } } }[] = [];
      const req = http.get(`http://127.0.0.1:${f.server.httpPort}/watch/gameserver`, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            lines.push(JSON.parse(buf.slice(0, i)) as (typeof lines)[number]);
            buf = buf.slice(i + 1);
          }
        });
      });
      req.on('error', () => undefined);
      await waitFor(() => lines.length, (n) => n >= 1, 2000, 'first line');
      await f.sdk.ready();
      await f.sdk.allocate();
      await waitFor(() => lines.length, (n) => n >= 3, 2000, 'three lines');
      assert.deepEqual(lines.map((l) => l.result.status.state), ['Scheduled', 'Ready', 'Allocated']);
      req.destroy();
    } finally {
      await f.close();
    }
  });

  it('beta counters and lists over REST', async () => {
    const f = await sdkFixture({
      gs: { status: { state: 'Scheduled', counters: { rooms: { count: 1, capacity: 10 } }, lists: { players: { capacity: 3, values: ['a'] } } } },
    });
    const port = f.server.httpPort;
    try {
      assert.deepEqual((await call(port, 'GET', '/v1beta1/counters/rooms')).json, { name: 'rooms', count: '1', capacity: '10' });
      assert.deepEqual((await call(port, 'PATCH', '/v1beta1/counters/rooms', '{"count":"5","capacity":"11"}')).json, { name: 'rooms', count: '5', capacity: '11' });
      assert.equal((await call(port, 'GET', '/v1beta1/counters/none')).status, 404);
      assert.deepEqual((await call(port, 'POST', '/v1beta1/lists/players:addValue', '{"value":"b"}')).json, { name: 'players', capacity: '3', values: ['a', 'b'] });
      assert.equal((await call(port, 'POST', '/v1beta1/lists/players:addValue', '{"value":"b"}')).status, 409);
      assert.deepEqual((await call(port, 'POST', '/v1beta1/lists/players:removeValue', '{"value":"a"}')).json.values, ['b']);
      assert.deepEqual((await call(port, 'PATCH', '/v1beta1/lists/players', '{"capacity":"5","values":["x","y"]}')).json, { name: 'players', capacity: '5', values: ['x', 'y'] });
    } finally {
      await f.close();
    }
  });

  // Found by test/fuzz/sdk-gateway.test.ts: each was a 500 (code 13) before.
  it('malformed input is a 400 or 404 with a reason: paths starting //, bad %-escapes, Object.prototype names, huge reservations', async () => {
    const f = await sdkFixture({ gs: { status: { state: 'Scheduled', counters: { rooms: { count: 1, capacity: 10 } }, lists: { players: { capacity: 3, values: ['a'] } } } } });
    const port = f.server.httpPort;
    const raw = (path: string): Promise<{ status: number; json: Record<string, unknown> }> =>
      new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
        }).on('error', reject);
      });
    try {
      const slashes = await raw('//');
      assert.equal(slashes.status, 404);
      assert.match(String(slashes.json.message), /no SDK route for GET \/\//);
      // A path that a URL parser would read as host "x" and path /gameserver is not /gameserver.
      assert.equal((await raw('//x/gameserver')).status, 404);
      const escape = await call(port, 'GET', '/v1beta1/counters/%E0%A4%A');
      assert.equal(escape.status, 400);
      assert.match(String(escape.json.message), /malformed %-escape/);
      assert.equal((await call(port, 'POST', '/v1beta1/lists/%zz:addValue', '{"value":"x"}')).status, 400);
      for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
        assert.equal((await call(port, 'GET', `/v1beta1/counters/${name}`)).status, 404, `counter ${name}`);
        assert.equal((await call(port, 'GET', `/v1beta1/lists/${name}`)).status, 404, `list ${name}`);
        assert.equal((await call(port, 'PATCH', `/v1beta1/counters/${name}`, '{"count":"0"}')).status, 404, `PATCH counter ${name}`);
        assert.equal((await call(port, 'POST', `/v1beta1/lists/${name}:addValue`, '{"value":"x"}')).status, 404, `addValue ${name}`);
      }
      const huge = await call(port, 'POST', '/reserve', '{"seconds":"9007199254740991"}');
      assert.equal(huge.status, 400);
      assert.match(String(huge.json.message), /at most 2147483 seconds/);
      assert.equal((await call(port, 'POST', '/reserve', '{"seconds":"2147483"}')).status, 200);
      assert.equal((await f.store.get()).status?.state, 'Reserved');
    } finally {
      await f.close();
    }
  });
});
