import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { RESOURCES } from '../resources/registry.ts';
import { sampleFleet, sampleGameServer } from '../resources/testing.ts';
import { openStore } from './open-store.ts';
import { StoreLoadError } from './persistence.ts';
import type { KubeObject } from './types.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sdfleet-store-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('persistence in --data-dir', () => {
  it('sync kinds are on disk when the call returns; everything reloads; resourceVersion keeps increasing', async () => {
    const dataDir = tempDir();
    const s1 = openStore({ dataDir, batchIntervalMs: 20 });
    const f = s1.create(RESOURCES.fleets, sampleFleet('f'));
    const file = path.join(dataDir, 'objects', 'fleets.agones.dev', 'default', 'f.json');
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).metadata.uid, f.metadata.uid, 'written before create returned');
    s1.create(RESOURCES.gameServers, sampleGameServer('g1'));
    s1.create(RESOURCES.gameServers, sampleGameServer('g2'));
    s1.delete(RESOURCES.gameServers, 'default', 'g2');
    s1.create(RESOURCES.events, { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' }, involvedObject: { kind: 'Fleet', name: 'f' }, reason: 'x' });
    const lastRv = Number(s1.currentResourceVersion());
    await s1.close();

    const s2 = openStore({ dataDir });
    assert.equal(s2.get(RESOURCES.fleets, 'default', 'f').metadata.uid, f.metadata.uid);
    assert.ok(s2.tryGet(RESOURCES.gameServers, 'default', 'g1'), 'batched kinds are flushed on close');
    assert.equal(s2.tryGet(RESOURCES.gameServers, 'default', 'g2'), undefined, 'deletions persist too');
    assert.equal(s2.tryGet(RESOURCES.events, 'default', 'e'), undefined, 'events are memory only');
    assert.ok(s2.tryGet(RESOURCES.namespaces, undefined, 'default'));
    const g3 = s2.create(RESOURCES.gameServers, sampleGameServer('g3'));
    assert.ok(Number(g3.metadata.resourceVersion) > Number(f.metadata.resourceVersion));
    assert.ok(Number(s2.currentResourceVersion()) >= Number(g3.metadata.resourceVersion));
    assert.ok(Number(g3.metadata.resourceVersion) > lastRv - 2, 'continues above the highest stored resourceVersion');
    await s2.close();
  });

  it('batched kinds reach the disk within the batch interval', async () => {
    const dataDir = tempDir();
    const s = openStore({ dataDir, batchIntervalMs: 20 });
    s.create(RESOURCES.gameServers, sampleGameServer('g'));
    const file = path.join(dataDir, 'objects', 'gameservers.agones.dev', 'default', 'g.json');
    assert.equal(fs.existsSync(file), false, 'not written synchronously');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(fs.existsSync(file), true);
    await s.close();
  });

  it('a corrupt file is a StoreLoadError naming the file; a second process is refused', async () => {
    const dataDir = tempDir();
    const s = openStore({ dataDir });
    s.create(RESOURCES.fleets, sampleFleet('f'));
    assert.throws(() => openStore({ dataDir }), (e: unknown) => e instanceof StoreLoadError && /already open in this process/.test(e.message));
    await s.close();
    const file = path.join(dataDir, 'objects', 'fleets.agones.dev', 'default', 'f.json');
    fs.writeFileSync(file, '{"metadata": {"name": "f", ');
    assert.throws(() => openStore({ dataDir }), (e: unknown) => e instanceof StoreLoadError && e.file === file && e.message.includes(file) && !e.message.includes('\n    at '));
    fs.writeFileSync(file, '{"metadata": {"name": "other", "resourceVersion": "3"}}');
    assert.throws(() => openStore({ dataDir }), (e: unknown) => e instanceof StoreLoadError && /not a stored object/.test(e.message));
  });

  it('the lock names the process holding the data dir', () => {
    const dataDir = tempDir();
    fs.writeFileSync(path.join(dataDir, 'LOCK'), `${process.ppid}\n`);
    assert.throws(() => openStore({ dataDir }), (e: unknown) => e instanceof StoreLoadError && e.message.includes(`in use by process ${process.ppid}`));
    fs.writeFileSync(path.join(dataDir, 'LOCK'), '999999999\n');
    const s = openStore({ dataDir });
    return s.close();
  });
});

describe('persistence: the change log of batched writes', () => {
  const logsIn = (dataDir: string): string[] => fs.readdirSync(dataDir).filter((f) => /^changes-\d+\.log$/.test(f)).sort();
  const gsFile = (dataDir: string, name: string): string => path.join(dataDir, 'objects', 'gameservers.agones.dev', 'default', `${name}.json`);
  /** What a crash would leave: the data dir as it is on disk now, without the lock. */
  const crashCopy = (dataDir: string): string => {
    const copy = tempDir();
    fs.cpSync(dataDir, copy, { recursive: true });
    fs.rmSync(path.join(copy, 'LOCK'));
    return copy;
  };

  it('batched writes are appended to a change log, then folded into the object files', async () => {
    const dataDir = tempDir();
    const s = openStore({ dataDir, batchIntervalMs: 60_000 });
    for (const n of ['a', 'b', 'c']) s.create(RESOURCES.gameServers, sampleGameServer(n));
    s.delete(RESOURCES.gameServers, 'default', 'c');
    await s.flush();
    const logs = logsIn(dataDir);
    assert.equal(logs.length, 1);
    const lines = fs.readFileSync(path.join(dataDir, logs[0]!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { r: string; o?: KubeObject; d?: unknown });
    assert.deepEqual(lines.map((l) => l.o?.metadata.name ?? l.d), ['a', 'b', { ns: 'default', n: 'c', rv: s.currentResourceVersion() }]);
    assert.equal(fs.existsSync(gsFile(dataDir, 'a')), false, 'not an object file yet');
    await s.compact();
    assert.deepEqual(logsIn(dataDir), []);
    assert.equal(JSON.parse(fs.readFileSync(gsFile(dataDir, 'a'), 'utf8')).metadata.name, 'a');
    assert.equal(fs.existsSync(gsFile(dataDir, 'c')), false);
    await s.close();
  });

  it('a batch of several serialization slices is logged whole and in order; compaction writes the text the log holds', async () => {
    const dataDir = tempDir();
    const s = openStore({ dataDir, batchIntervalMs: 60_000 });
    const names = Array.from({ length: 150 }, (_, i) => `gs-${String(i).padStart(3, '0')}`);
    for (const n of names) s.create(RESOURCES.gameServers, sampleGameServer(n));
    for (const n of names.slice(0, 10)) s.delete(RESOURCES.gameServers, 'default', n);
    // Changed after its create was queued: the log holds the newest version only.
    s.mutate(RESOURCES.gameServers, 'default', 'gs-149', (o) => ({ ...o, metadata: { ...o.metadata, labels: { late: 'yes' } } }));
    await s.flush();
    const [log] = logsIn(dataDir);
    const text = fs.readFileSync(path.join(dataDir, log!), 'utf8');
    assert.ok(text.endsWith('}\n'), 'ends with a whole record');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { r: string; o?: KubeObject; d?: { n: string } });
    // One record per object, where its first change was queued: the deletes in their creates' places.
    assert.deepEqual(lines.map((l) => l.o?.metadata.name ?? `-${l.d?.n}`), names.map((n, i) => (i < 10 ? `-${n}` : n)));
    const last = text.trim().split('\n')[149]!;
    assert.equal(JSON.parse(last).o.metadata.labels.late, 'yes');
    await s.compact();
    assert.equal(fs.readFileSync(gsFile(dataDir, 'gs-149'), 'utf8'), last.slice(last.indexOf('"o":') + 4, -1), 'the object file holds exactly the logged text');
    await s.close();
    const again = openStore({ dataDir });
    assert.equal(again.list(RESOURCES.gameServers, { namespace: 'default' }).items.length, 140);
    await again.close();
  });

  it('after a crash, what reached the log is back; a record cut short at its end is dropped', async () => {
    const dataDir = tempDir();
    const s = openStore({ dataDir, batchIntervalMs: 60_000 });
    s.create(RESOURCES.gameServers, sampleGameServer('g1'));
    s.create(RESOURCES.gameServers, sampleGameServer('g2'));
    await s.compact();
    s.mutate(RESOURCES.gameServers, 'default', 'g1', (c) => ({ ...c, metadata: { ...c.metadata, labels: { user: 'u1' } } }));
    s.delete(RESOURCES.gameServers, 'default', 'g2');
    s.create(RESOURCES.gameServers, sampleGameServer('g3'));
    await s.flush();
    const lastRv = Number(s.currentResourceVersion());
    const crashed = crashCopy(dataDir);
    const log = path.join(crashed, logsIn(crashed).at(-1)!);
    fs.appendFileSync(log, '{"r":"gameservers.agones.dev","o":{"metadata":{"name":"g4","resourceV');

    const s2 = openStore({ dataDir: crashed });
    assert.deepEqual(s2.get(RESOURCES.gameServers, 'default', 'g1').metadata.labels, { user: 'u1' });
    assert.equal(s2.tryGet(RESOURCES.gameServers, 'default', 'g2'), undefined, 'the deletion is replayed');
    assert.ok(s2.tryGet(RESOURCES.gameServers, 'default', 'g3'));
    assert.equal(s2.tryGet(RESOURCES.gameServers, 'default', 'g4'), undefined, 'the cut record is dropped');
    assert.ok(Number(s2.create(RESOURCES.gameServers, sampleGameServer('g5')).metadata.resourceVersion) > lastRv);
    await s2.close();
    assert.deepEqual(logsIn(crashed), [], 'folded into the object files on close');
    assert.equal(JSON.parse(fs.readFileSync(gsFile(crashed, 'g1'), 'utf8')).metadata.labels.user, 'u1');
    assert.equal(fs.existsSync(gsFile(crashed, 'g2')), false);
    await s.close();
  });

  it('a damaged record inside a log is a StoreLoadError naming the file and the line', async () => {
    const dataDir = tempDir();
    const s = openStore({ dataDir, batchIntervalMs: 60_000 });
    s.create(RESOURCES.gameServers, sampleGameServer('g1'));
    s.create(RESOURCES.gameServers, sampleGameServer('g2'));
    await s.flush();
    const crashed = crashCopy(dataDir);
    await s.close();
    const log = path.join(crashed, logsIn(crashed)[0]!);
    const [first, second] = fs.readFileSync(log, 'utf8').trim().split('\n');
    fs.writeFileSync(log, `${first}\n{"r": "gameservers.agones.dev", "o": 17}\n${second}\n`);
    assert.throws(() => openStore({ dataDir: crashed }), (e: unknown) => e instanceof StoreLoadError && e.file === log && e.message.includes(`${log}, line 2`) && /Remove the file/.test(e.message));
  });

  it('status writes of sync kinds are logged, and never bring back an object deleted since', async () => {
    const dataDir = tempDir();
    const s = openStore({ dataDir, batchIntervalMs: 60_000 });
    s.create(RESOURCES.fleets, sampleFleet('f'));
    s.mutate(RESOURCES.fleets, 'default', 'f', (c) => ({ ...c, status: { replicas: 3 } }), { subresource: 'status' });
    const fleetFile = path.join(dataDir, 'objects', 'fleets.agones.dev', 'default', 'f.json');
    assert.equal(JSON.parse(fs.readFileSync(fleetFile, 'utf8')).status, undefined, 'the status write is not fsynced into the file');
    await s.flush();
    const withStatus = crashCopy(dataDir);
    s.delete(RESOURCES.fleets, 'default', 'f');
    await s.flush();
    const deleted = crashCopy(dataDir);
    await s.close();

    const s2 = openStore({ dataDir: withStatus });
    assert.deepEqual({ ...(s2.get(RESOURCES.fleets, 'default', 'f').status as object) }, { replicas: 3 });
    await s2.close();
    const s3 = openStore({ dataDir: deleted });
    assert.equal(s3.tryGet(RESOURCES.fleets, 'default', 'f'), undefined);
    await s3.close();
  });

  it('a log replayed after it was folded in (a crash during compaction) changes nothing', async () => {
    const dataDir = tempDir();
    const s = openStore({ dataDir, batchIntervalMs: 60_000 });
    s.create(RESOURCES.gameServers, sampleGameServer('g'));
    s.create(RESOURCES.gameServers, sampleGameServer('gone'));
    await s.flush();
    s.mutate(RESOURCES.gameServers, 'default', 'g', (c) => ({ ...c, metadata: { ...c.metadata, labels: { v: '2' } } }));
    s.delete(RESOURCES.gameServers, 'default', 'gone');
    await s.flush();
    // The object files are written first, the logs removed after: a crash in between leaves both.
    const oldLog = logsIn(dataDir)[0]!;
    const saved = fs.readFileSync(path.join(dataDir, oldLog));
    await s.compact();
    const crashed = crashCopy(dataDir);
    await s.close();
    fs.writeFileSync(path.join(crashed, oldLog), saved);
    const s2 = openStore({ dataDir: crashed });
    assert.deepEqual(s2.get(RESOURCES.gameServers, 'default', 'g').metadata.labels, { v: '2' });
    assert.equal(s2.tryGet(RESOURCES.gameServers, 'default', 'gone'), undefined, 'an older record does not bring it back');
    await s2.close();
  });
});
