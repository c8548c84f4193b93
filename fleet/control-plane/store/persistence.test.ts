import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { RESOURCES } from '../resources/registry.ts';
import { sampleFleet, sampleGameServer } from '../resources/testing.ts';
import { openStore } from './open-store.ts';
import { StoreLoadError } from './persistence.ts';

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
