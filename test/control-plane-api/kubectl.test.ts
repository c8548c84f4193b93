/**
 * kubectl (1.32) against the control plane, through the kubeconfig it writes. Skipped,
 * with the reason, where kubectl is not installed.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiFixture, waitFor, type ApiFixture } from '../../fleet/control-plane/api/testing.ts';
import { generateSelfSigned } from '../../fleet/control-plane/api/tls.ts';
import { RESOURCES } from '../../fleet/control-plane/resources/registry.ts';
import { sampleGameServer } from '../../fleet/control-plane/resources/testing.ts';

const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const found = spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' });
const skip = found.error || found.status !== 0 ? `kubectl not found (${KUBECTL}): ${found.error?.message ?? found.stderr}` : false;

const FLEET_YAML = `apiVersion: agones.dev/v1
kind: Fleet
metadata:
  name: webui
  labels:
    app: sd
spec:
  replicas: 2
  template:
    spec:
      ports:
      - name: web
        containerPort: 7860
        protocol: TCP
      template:
        spec:
          containers:
          - name: webui
            image: sdfleet/sd-webui
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('kubectl against the control plane', { skip }, () => {
  let f: ApiFixture;
  let cacheDir: string;
  const kubectl = (args: string[], input?: string): Promise<Run> =>
    new Promise((resolve) => {
      const child = execFile(KUBECTL, [`--kubeconfig=${f.kubeconfigPath}`, `--cache-dir=${cacheDir}`, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    f = await apiFixture();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdfleet-kubectl-cache-'));
  });
  after(async () => {
    await f.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('create -f a Fleet (validation on: the server says it validates fields), then get it every way', async () => {
    assert.equal((await ok(['create', '-f', '-'], FLEET_YAML)).trim(), 'fleet.agones.dev/webui created');
    const table = await ok(['get', 'fleets']);
    assert.match(table, /^NAME\s+SCHEDULING\s+DESIRED\s+CURRENT\s+ALLOCATED\s+READY\s+AGE\n/);
    assert.match(table, /\nwebui\s+Packed\s+2\s+/);
    assert.match(await ok(['get', 'flt', '-o', 'wide']), /webui\s+Packed\s+2/);
    const json = JSON.parse(await ok(['get', 'fleets', '-o', 'json'])) as { items: { metadata: { name: string }; spec: { replicas: number } }[] };
    assert.deepEqual(json.items.map((i) => [i.metadata.name, i.spec.replicas]), [['webui', 2]]);
    const yaml = await ok(['get', 'fleet', 'webui', '-o', 'yaml']);
    assert.match(yaml, /kind: Fleet/);
    assert.match(yaml, /maxSurge: 25%/);
    assert.match(await ok(['get', 'fleets', '-l', 'app=sd', '-o', 'name']), /^fleet.agones.dev\/webui$/m);
    assert.equal((await ok(['get', 'fleets', '-l', 'app=other'])).trim(), '');
    const nf = await kubectl(['get', 'fleet', 'nope']);
    assert.equal(nf.code, 1);
    assert.match(nf.stderr, /Error from server \(NotFound\): fleets.agones.dev "nope" not found/);
  });

  it('apply --validate=false creates, apply changes; scale sets spec.replicas through /scale', async () => {
    const manifest = FLEET_YAML.replace('name: webui', 'name: applied');
    assert.match(await ok(['apply', '--validate=false', '-f', '-'], manifest), /fleet.agones.dev\/applied created/);
    assert.match(await ok(['apply', '-f', '-'], manifest.replace('replicas: 2', 'replicas: 3')), /fleet.agones.dev\/applied configured/);
    assert.equal(await ok(['get', 'fleet', 'applied', '-o', 'jsonpath={.spec.replicas}']), '3');
    assert.match(await ok(['scale', 'fleet', 'applied', '--replicas=4']), /fleet.agones.dev\/applied scaled/);
    assert.equal((f.store.get(RESOURCES.fleets, 'default', 'applied').spec as { replicas: number }).replicas, 4);
    const bad = await kubectl(['apply', '-f', '-'], manifest.replace('replicas: 2', 'replicas: -1'));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0/);
  });

  it('GameServers show State/Address/Port/Node; describe shows events; delete gs', async () => {
    f.store.create(RESOURCES.gameServers, { ...sampleGameServer('gs-1', { labels: { 'agones.dev/fleet': 'webui' } }), status: { state: 'Ready', address: '127.0.0.1', ports: [{ name: 'web', port: 7001 }], nodeName: 'local' } });
    const table = await ok(['get', 'gs']);
    assert.match(table, /^NAME\s+STATE\s+ADDRESS\s+PORT\s+NODE\s+AGE\n/);
    assert.match(table, /\ngs-1\s+Ready\s+127\.0\.0\.1\s+7001\s+local\s+\d+s\n/);
    assert.match(await ok(['get', 'gs', '-l', 'agones.dev/fleet=webui', '-o', 'wide']), /gs-1\s+Ready/);
    const gs = f.store.get(RESOURCES.gameServers, 'default', 'gs-1');
    f.store.create(RESOURCES.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'gs-1.ready' },
      involvedObject: { apiVersion: 'agones.dev/v1', kind: 'GameServer', name: 'gs-1', namespace: 'default', uid: gs.metadata.uid },
      reason: 'Ready',
      message: 'SDK.Ready() complete',
      type: 'Normal',
      source: { component: 'gameserver-controller' },
      firstTimestamp: new Date().toISOString(),
      lastTimestamp: new Date().toISOString(),
      count: 1,
    });
    const described = await ok(['describe', 'gs', 'gs-1']);
    assert.match(described, /Name:\s+gs-1/);
    assert.match(described, /State:\s+Ready/);
    assert.match(described, /Normal\s+Ready\s+\S+\s+gameserver-controller\s+SDK\.Ready\(\) complete/);
    const events = await ok(['get', 'events']);
    assert.match(events, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n/);
    assert.match(events, /Normal\s+Ready\s+gameserver\/gs-1\s+SDK\.Ready\(\) complete/);
    assert.match(await ok(['delete', 'gs', 'gs-1']), /gameserver.agones.dev "gs-1" deleted/);
    assert.equal(f.store.tryGet(RESOURCES.gameServers, 'default', 'gs-1'), undefined);
  });

  it('get gs -w streams a change made in the store', async () => {
    f.store.create(RESOURCES.gameServers, { ...sampleGameServer('gs-w'), status: { state: 'Ready' } });
    const child = spawn(KUBECTL, [`--kubeconfig=${f.kubeconfigPath}`, `--cache-dir=${cacheDir}`, 'get', 'gs', '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out, (o) => /gs-w\s+Ready/.test(o), 10_000, 'the first row');
      f.store.mutate(RESOURCES.gameServers, 'default', 'gs-w', (c) => ({ ...c, status: { state: 'Allocated' } }));
      await waitFor(() => out, (o) => /gs-w\s+Allocated/.test(o), 10_000, 'the Allocated row');
      assert.equal(out.match(/NAME\s+STATE/g)?.length, 1, 'the header is printed once');
    } finally {
      child.kill();
    }
  });

  it('create namespace, configmap (kubectl sends these as protobuf), and objects in it', async () => {
    assert.match(await ok(['create', 'namespace', 'team-a']), /namespace\/team-a created/);
    assert.match(await ok(['get', 'ns']), /team-a\s+Active/);
    assert.match(await ok(['create', 'configmap', 'settings', '-n', 'team-a', '--from-literal=model=sdxl']), /configmap\/settings created/);
    assert.equal(await ok(['get', 'cm', 'settings', '-n', 'team-a', '-o', 'jsonpath={.data.model}']), 'sdxl');
    assert.match(await ok(['create', '-n', 'team-a', '-f', '-'], FLEET_YAML), /created/);
    assert.match(await ok(['get', 'fleets', '-A']), /team-a\s+webui/);
    const missing = await kubectl(['create', '-n', 'nowhere', '-f', '-'], FLEET_YAML);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /namespaces "nowhere" not found/);
  });

  it('FleetAutoscalers: create, get with columns, 422 from a bad policy', async () => {
    const fas = `apiVersion: autoscaling.agones.dev/v1
kind: FleetAutoscaler
metadata:
  name: webui-autoscaler
spec:
  fleetName: webui
  policy:
    type: Buffer
    buffer:
      bufferSize: 2
      minReplicas: 2
      maxReplicas: 10
`;
    assert.match(await ok(['apply', '-f', '-'], fas), /fleetautoscaler.autoscaling.agones.dev\/webui-autoscaler created/);
    assert.match(await ok(['get', 'fas']), /webui-autoscaler\s+webui\s+Buffer/);
    assert.equal(await ok(['get', 'fas', 'webui-autoscaler', '-o', 'jsonpath={.spec.sync.fixedInterval.seconds}']), '30');
    const bad = await kubectl(['apply', '-f', '-'], fas.replace('name: webui-autoscaler', 'name: bad').replace('maxReplicas: 10', 'maxReplicas: 0'));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /The FleetAutoscaler "bad" is invalid: spec.policy.buffer.maxReplicas: Invalid value: 0: spec.policy.buffer.maxReplicas in body should be greater than or equal to 1/);
  });

  it('with a token: HTTPS with a self-signed CA in the kubeconfig (kubectl sends tokens only over TLS)', async () => {
    const secured = await apiFixture({ api: { token: 'the-token', tls: await generateSelfSigned('127.0.0.1') } });
    try {
      assert.match(secured.url, /^https:/);
      const run = (extra: string[]): Promise<Run> =>
        new Promise((resolve) => {
          execFile(KUBECTL, [`--kubeconfig=${secured.kubeconfigPath}`, `--cache-dir=${cacheDir}`, ...extra], { timeout: 20_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
          );
        });
      const good = await run(['get', 'ns']);
      assert.equal(good.code, 0, good.stderr);
      assert.match(good.stdout, /default\s+Active/);
      const bad = await run(['get', 'ns', '--token=wrong']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /Unauthorized/);
    } finally {
      await secured.close();
    }
  });
});
