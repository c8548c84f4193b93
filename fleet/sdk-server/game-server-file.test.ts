import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '../../common/log.ts';
import { FileBackedStore, applyFileEdit, parseGameServer, readGameServerFile } from './game-server-file.ts';
import { waitFor } from './testing.ts';

const manifest = (state: string, user?: string) => `apiVersion: agones.dev/v1
kind: GameServer
metadata:
  name: sd-webui-abc12
  labels:
    agones.dev/fleet: sd-webui
${user ? `    sdfleet.dev/user: ${user}\n` : ''}spec:
  ports:
    - name: webui
      containerPort: 7860
  health:
    periodSeconds: 2
status:
  state: ${state}
`;

describe('GameServer file', () => {
  it('reads a manifest and fills local defaults', () => {
    const gs = parseGameServer(manifest('Scheduled'), 'gs.yaml');
    assert.equal(gs.metadata.name, 'sd-webui-abc12');
    assert.equal(gs.metadata.namespace, 'default');
    assert.equal(gs.status?.address, '127.0.0.1');
    assert.deepEqual(gs.status?.ports, [{ name: 'webui', port: 7860 }]);
    assert.equal(gs.spec.health?.periodSeconds, 2);
  });

  it('says what is wrong with a bad file', async () => {
    assert.throws(() => parseGameServer('kind: Fleet\nmetadata: {}', 'f.yaml'), /holds a Fleet; the SDK server serves one GameServer/);
    assert.throws(() => parseGameServer('- a\n- b', 'f.yaml'), /must hold one GameServer object/);
    assert.throws(() => parseGameServer('a: [', 'f.yaml'), /not valid YAML or JSON/);
    await assert.rejects(readGameServerFile('/nonexistent/gs.yaml'), /cannot read GameServer file \/nonexistent\/gs.yaml: ENOENT/);
  });

  it('applies only what an edit changed, keeping SDK-set metadata', () => {
    const prev = parseGameServer(manifest('Scheduled'), 'a');
    const next = parseGameServer(manifest('Allocated', 'u-alice'), 'a');
    const cur = structuredClone(prev);
    cur.status = { ...cur.status, state: 'Ready' };
    cur.metadata.labels = { ...cur.metadata.labels, 'agones.dev/sdk-x': 'y' };
    const out = applyFileEdit(cur, prev, next);
    assert.equal(out?.status?.state, 'Allocated');
    assert.equal(out?.metadata.labels?.['sdfleet.dev/user'], 'u-alice');
    assert.equal(out?.metadata.labels?.['agones.dev/sdk-x'], 'y');
    // Saving the file again unchanged changes nothing, even though the state moved on.
    assert.equal(applyFileEdit(out!, next, next), undefined);
  });

  it('follows edits of the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sdfleet-gsfile-'));
    const path = join(dir, 'gs.yaml');
    try {
      await writeFile(path, manifest('Scheduled'));
      const store = new FileBackedStore(path, await readGameServerFile(path), silentLogger());
      store.follow();
      try {
        const seen: string[] = [];
        store.watch((gs) => seen.push(gs.status?.state ?? ''));
        await writeFile(path, manifest('Allocated', 'u-bob'));
        const gs = await waitFor(() => store.get(), (g) => g.status?.state === 'Allocated', 3000, 'the edit');
        assert.equal(gs.metadata.labels?.['sdfleet.dev/user'], 'u-bob');
        assert.ok(seen.includes('Allocated'));
        // A broken edit keeps the current GameServer.
        await writeFile(path, 'metadata: [');
        await new Promise((r) => setTimeout(r, 200));
        assert.equal((await store.get()).status?.state, 'Allocated');
      } finally {
        store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
