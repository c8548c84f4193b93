/**
 * kubectl against the embedded control plane with its controllers and real processes:
 * scale a Fleet, allocate with `kubectl create -f`, delete a GameServer, watch with -w.
 * Skipped, with the reason, where kubectl is missing.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { embeddedRig, fleetOf, ready, type EmbeddedRig } from './helpers/embedded.ts';

const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const found = spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' });
const skip = found.error || found.status !== 0 ? `kubectl not found (${KUBECTL}): ${found.error?.message ?? found.stderr}` : false;

const GSA_YAML = `apiVersion: allocation.agones.dev/v1
kind: GameServerAllocation
spec:
  selectors:
    - matchLabels:
        agones.dev/fleet: sd-webui
  metadata:
    labels:
      sdfleet.dev/user: u-kube
    annotations:
      sdfleet.dev/user-id: kube@example.com
`;

describe('kubectl with the controllers running', { skip }, () => {
  let r: EmbeddedRig;
  let cache: string;
  const kubectl = (args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = execFile(KUBECTL, [`--kubeconfig=${r.kubeconfig}`, `--cache-dir=${cache}`, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
      if (input !== undefined) child.stdin?.end(input);
    });
  const ok = async (args: string[], input?: string): Promise<string> => {
    const res = await kubectl(args, input);
    assert.equal(res.code, 0, `kubectl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  };

  before(async () => {
    r = await embeddedRig({ portRange: { min: 32000, max: 32999 } });
    cache = mkdtempSync(join(tmpdir(), 'sdfleet-kubectl-'));
    r.e.controlPlane.store.create('fleets.agones.dev', fleetOf('sd-webui', 2));
    await r.until((g) => ready(g).length === 2, '2 Ready');
  });
  after(async () => {
    await r.close();
    rmSync(cache, { recursive: true, force: true });
  });

  it('get and describe show what the controllers did', async () => {
    assert.match(await ok(['get', 'fleets']), /\nsd-webui\s+Packed\s+2\s+2\s+0\s+2\s+/);
    const gs = await ok(['get', 'gs', '-o', 'wide']);
    assert.equal(gs.match(/\nsd-webui-[a-z0-9]{5}\s+Ready\s+127\.0\.0\.1\s+3\d{4}\s+/g)?.length, 2, gs);
    const name = ready(r.gameServers())[0]!.metadata.name!;
    const described = await ok(['describe', 'gs', name]);
    assert.match(described, /Normal\s+Scheduled\s+.*Address and port populated/);
    assert.match(described, /Normal\s+Ready\s+.*SDK\.Ready\(\) complete/);
  });

  it('kubectl scale fleet sd-webui --replicas=4 → 4 Ready', async () => {
    assert.match(await ok(['scale', 'fleet', 'sd-webui', '--replicas=4']), /fleet.agones.dev\/sd-webui scaled/);
    await r.until((g) => ready(g).length === 4, '4 Ready');
    assert.equal(await ok(['get', 'fleet', 'sd-webui', '-o', 'jsonpath={.status.readyReplicas}']), '4');
  });

  it('kubectl create -f a GameServerAllocation → Allocated, with its metadata on the GameServer', async () => {
    const out = JSON.parse(await ok(['create', '-f', '-', '-o', 'json'], GSA_YAML)) as { status: { state: string; gameServerName: string; ports: { port: number }[] } };
    assert.equal(out.status.state, 'Allocated');
    const gs = JSON.parse(await ok(['get', 'gs', out.status.gameServerName, '-o', 'json'])) as { status: { state: string }; metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
    assert.equal(gs.status.state, 'Allocated');
    assert.equal(gs.metadata.labels['sdfleet.dev/user'], 'u-kube');
    assert.equal(gs.metadata.annotations['sdfleet.dev/user-id'], 'kube@example.com');
    const res = await fetch(`http://127.0.0.1:${out.status.ports[0]!.port}/`);
    assert.match(await res.text(), new RegExp(`ok from ${out.status.gameServerName}`));
  });

  it('kubectl delete gs → the Fleet replaces it; kubectl get gs -w streams the changes', async () => {
    const child = spawn(KUBECTL, [`--kubeconfig=${r.kubeconfig}`, `--cache-dir=${cache}`, 'get', 'gs', '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const victim = ready(r.gameServers())[0]!.metadata.name!;
      const before = new Set(r.gameServers().map((g) => g.metadata.name));
      assert.match(await ok(['delete', 'gs', victim]), new RegExp(`gameserver.agones.dev "${victim}" deleted`));
      const after = await r.until((g) => ready(g).length === 3 && g.some((x) => !before.has(x.metadata.name)), 'a replacement Ready');
      const fresh = after.find((x) => !before.has(x.metadata.name))!.metadata.name!;
      const end = Date.now() + 10_000;
      while (!new RegExp(`${fresh}\\s+Ready`).test(out) && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
      assert.match(out, new RegExp(`\\n${fresh}\\s+(PortAllocation|Creating|Starting|Scheduled|RequestReady|Ready)`), 'the new one shows up');
      assert.match(out, new RegExp(`${fresh}\\s+Ready`), 'and turns Ready in the stream');
    } finally {
      child.kill();
    }
  });
});
