/* eslint-disable @typescript-eslint/no-explicit-any -- rendered YAML is read loosely here */
/**
 * The GKE deployment as the cluster would receive it (`kubectl kustomize
 * k8s/overlays/gke`): every object valid against its schema (Agones CRDs, Kubernetes,
 * GKE), the wiring between objects right (names, labels, ports, versions), and what
 * issue 7 asks of each piece (the wrapper on the lib disk, the taints, the webhook, the
 * allocator's hardening, the NetworkPolicy, the agent's privileges, the user store).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { Command } from 'commander';
import { WEBHOOK_PATH } from '../../fleet/autoscaler/webhook.ts';
import { kubectlSkip, kustomize, one, REPO_ROOT, type K8sObject } from './render.ts';
import { AGONES_GROUPS, ajvErrors, CRD_DIR, groupOf, loadCrdSchemas, modelFor, prunedFields, validateModel } from './schemas.ts';

const skip = kubectlSkip();
const STARTUP_TAINT = 'startup-taint.cluster-autoscaler.kubernetes.io/sdfleet-lib-disk';
const NAMESPACE = 'sdfleet';

/** Parses `args` with the real `sdfleet <name>` command, its action replaced: the options it would run with. */
async function parseCli(name: string, args: string[]): Promise<{ options: Record<string, unknown>; operands: string[] } | undefined> {
  const { commands } = await import('../../cli/commands.ts');
  const program = new Command('sdfleet').enablePositionalOptions().exitOverride();
  for (const make of commands) program.addCommand(make());
  const cmd = program.commands.find((c) => c.name() === name);
  if (!cmd) return undefined;
  let seen: { options: Record<string, unknown>; operands: string[] } | undefined;
  cmd.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  cmd.action((...a: unknown[]) => {
    const c = a[a.length - 1] as Command;
    seen = { options: c.opts(), operands: c.args };
  });
  await program.parseAsync([name, ...args], { from: 'user' });
  return seen;
}

const podSpecOf = (o: any): any => (o.kind === 'Fleet' ? o.spec.template.spec.template.spec : o.spec.template.spec);
const podMetaOf = (o: any): any => (o.kind === 'Fleet' ? o.spec.template.spec.template.metadata : o.spec.template.metadata);
const containerOf = (o: any, name: string): any => {
  const c = podSpecOf(o).containers.find((x: any) => x.name === name);
  assert.ok(c, `${o.kind} ${o.metadata.name} has no container ${name}`);
  return c;
};
const envOf = (c: any, name: string): any => (c.env ?? []).find((e: any) => e.name === name);
const libVersionAffinity = (o: any): string[] => {
  const terms = podSpecOf(o).affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  return terms.flatMap((t: any) => (t.matchExpressions ?? []).filter((e: any) => e.key === 'sdfleet.dev/lib-version').flatMap((e: any) => e.values));
};
const tolerates = (tolerations: any[] | undefined, key: string): boolean =>
  (tolerations ?? []).some((t) => (t.key === key || (t.key === undefined && t.operator === 'Exists')) && (t.effect === undefined || t.effect === 'NoSchedule'));
const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

describe('k8s/overlays/gke', { skip }, () => {
  let objs: K8sObject[] = [];
  before(() => {
    objs = kustomize('k8s/overlays/gke');
  });
  const get = (kind: string, name: string): any => one(objs, kind, name);

  describe('schemas', () => {
    it('every Agones object is valid against the Agones CRDs, with no field the API server would prune', { skip: fs.existsSync(CRD_DIR) ? false : `no Agones CRDs at ${CRD_DIR} (set SDFLEET_AGONES_CRDS)` }, () => {
      const crds = loadCrdSchemas();
      const agones = objs.filter((o) => AGONES_GROUPS.has(groupOf(o.apiVersion)));
      assert.deepEqual(agones.map((o) => o.kind).sort(), ['Fleet', 'FleetAutoscaler']);
      for (const o of agones) {
        const s = crds.get(`${o.apiVersion}/${o.kind}`);
        assert.ok(s, `no CRD for ${o.apiVersion} ${o.kind} in ${CRD_DIR}`);
        assert.ok(s.validate(o), `${o.kind} ${o.metadata.name}: ${ajvErrors(s.validate.errors)}`);
        assert.deepEqual(prunedFields(o, s.raw), [], `${o.kind} ${o.metadata.name}: fields the CRD does not know (misspelt?)`);
      }
    });

    it('every core and GKE object is valid against Kubernetes’ own schemas', async () => {
      const others = objs.filter((o) => !AGONES_GROUPS.has(groupOf(o.apiVersion)));
      assert.ok(others.length > 15, `only ${others.length} objects rendered`);
      const problems: string[] = [];
      for (const o of others) {
        const msg = await validateModel(o);
        if (msg) problems.push(`${o.apiVersion} ${o.kind} ${o.metadata.name}: ${msg}`);
      }
      assert.deepEqual(problems, []);
    });

    it('the pod template inside the Fleet is a valid Kubernetes PodTemplateSpec', async () => {
      const PodTemplate = await modelFor({ apiVersion: 'v1', kind: 'PodTemplate' });
      const fleet = get('Fleet', 'sd-webui');
      new PodTemplate({ apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: 'sd-webui' }, template: fleet.spec.template.spec.template }).validate();
    });

    it('every namespaced object is in the sdfleet namespace; nothing of the settings leaks out', () => {
      const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
      for (const o of objs) {
        if (clusterScoped.has(o.kind)) assert.equal(o.metadata.namespace, undefined, `${o.kind} ${o.metadata.name} is cluster-scoped`);
        else assert.equal(o.metadata.namespace, NAMESPACE, `${o.kind} ${o.metadata.name}`);
      }
      assert.ok(!objs.some((o) => o.metadata.name === 'sdfleet-settings'), 'settings.yaml is local-config: it must not reach the cluster');
      const text = JSON.stringify(objs);
      assert.ok(!/"v0"|sdfleet-lib-v0|from-settings/.test(text), 'a base placeholder was not replaced by the overlay');
    });
  });

  describe('Fleet sd-webui', () => {
    it('runs the wrapper with flags `sdfleet wrapper` accepts, then the WebUI from the lib disk', async () => {
      const fleet = get('Fleet', 'sd-webui');
      const c = containerOf(fleet, 'webui');
      const cmd: string[] = [...c.command, ...c.args];
      const at = cmd.indexOf('wrapper');
      assert.ok(at >= 0 && cmd[at - 1] === 'sdfleet', `the main container runs \`sdfleet wrapper\`: ${cmd.join(' ')}`);
      const args = cmd.slice(at + 1);
      const parsed = await parseCli('wrapper', args);
      assert.ok(parsed, 'sdfleet has a wrapper command');
      const libDir = parsed.options.libDir as string;
      const webui = parsed.operands;
      assert.ok(webui.length > 1, 'a WebUI command after --');
      assert.ok(webui.some((a) => a.startsWith(`${libDir}/`)), `the WebUI starts from the lib disk (${libDir}): ${webui.join(' ')}`);
      assert.ok(webui.includes('{port}'), 'the WebUI listens on the wrapper\'s --webui-port ({port})');
      assert.ok(webui.includes('--listen'), 'the WebUI listens on the pod network, where the allocator reaches it');
      // The agent's mount point and its marker sit under one host directory, mounted here.
      const mount = c.volumeMounts.find((m: any) => libDir.startsWith(`${m.mountPath}/`));
      assert.ok(mount, `a volume is mounted above --lib-dir ${libDir}`);
      assert.equal(mount.mountPropagation, 'HostToContainer');
      assert.equal(mount.readOnly, true);
      const vol = podSpecOf(fleet).volumes.find((v: any) => v.name === mount.name);
      assert.ok(vol.hostPath?.path, 'the lib disk is a hostPath: the node agent mounts it on the host');
      const userStore = parsed.options.userStore as string;
      assert.ok(c.volumeMounts.some((m: any) => m.mountPath === userStore && m.name === 'user-store'), `--user-store ${userStore} is the user-store volume`);
      assert.equal(parsed.options.libVersion, '$(SDFLEET_LIB_VERSION)');
    });

    it('one GPU; tolerates the GPU taint but not the lib-disk startup taint; needs the lib version on the node', () => {
      const fleet = get('Fleet', 'sd-webui');
      const spec = podSpecOf(fleet);
      const c = containerOf(fleet, 'webui');
      assert.equal(String(c.resources.limits['nvidia.com/gpu']), '1');
      assert.ok(tolerates(spec.tolerations, 'nvidia.com/gpu'));
      assert.ok(!tolerates(spec.tolerations, STARTUP_TAINT), 'a WebUI pod must wait until the agent removed the startup taint');
      const version = envOf(c, 'SDFLEET_LIB_VERSION').value;
      assert.deepEqual(libVersionAffinity(fleet), [version]);
      assert.ok(c.resources.requests.memory && c.resources.limits.memory);
    });

    it('is reached over the pod network only: the WebUI port is the wrapper’s, and not a Static host port', () => {
      const fleet = get('Fleet', 'sd-webui');
      const ports = fleet.spec.template.spec.ports;
      assert.equal(ports.length, 1);
      assert.equal(ports[0].name, 'webui');
      assert.equal(ports[0].containerPort, 7860, 'the wrapper\'s default --webui-port');
      assert.notEqual(ports[0].portPolicy, 'Static');
    });

    it('health settings that fit a WebUI boot', () => {
      const h = get('Fleet', 'sd-webui').spec.template.spec.health;
      assert.notEqual(h.disabled, true);
      assert.ok(h.initialDelaySeconds >= 30, 'Node and the SDK connect on a cold node');
      assert.ok(h.periodSeconds * h.failureThreshold >= 30, 'a model load may stall the wrapper for seconds');
    });

    it('runs as non-root with a read-only root file system; everything written has a volume', () => {
      const fleet = get('Fleet', 'sd-webui');
      const spec = podSpecOf(fleet);
      const c = containerOf(fleet, 'webui');
      assert.equal(spec.securityContext.runAsNonRoot, true);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      for (const dir of ['/tmp', '/dev/shm', envOf(c, 'HOME').value]) assert.ok(c.volumeMounts.some((m: any) => m.mountPath === dir), `${dir} is a volume`);
      assert.equal(spec.serviceAccountName, undefined, 'Agones sets agones-sdk, which its sidecar needs');
    });
  });

  describe('FleetAutoscaler', () => {
    it('uses sdfleet’s webhook on the allocator Service, plain HTTP inside the cluster', () => {
      const fas = get('FleetAutoscaler', 'sd-webui-autoscaler');
      assert.equal(fas.spec.fleetName, 'sd-webui');
      assert.equal(fas.spec.policy.type, 'Webhook');
      const w = fas.spec.policy.webhook;
      assert.equal(w.url, undefined);
      assert.equal(w.service.path, WEBHOOK_PATH);
      assert.equal(w.caBundle, undefined, 'the allocator serves HTTP; a caBundle would make Agones dial https');
      const svc = get('Service', w.service.name);
      assert.equal(w.service.namespace, svc.metadata.namespace);
      assert.ok(svc.spec.ports.some((p: any) => p.port === w.service.port), `Service ${svc.metadata.name} has port ${w.service.port} (Agones defaults to 8000 without it)`);
      assert.ok(get('ConfigMap', 'sdfleet-autoscaler').data['policy.yaml']);
    });
  });

  describe('allocator', () => {
    it('Deployment: 2 replicas, probes, resources, non-root, read-only root FS, a PDB', () => {
      const d = get('Deployment', 'sdfleet-allocator');
      assert.equal(d.spec.replicas, 2);
      const spec = podSpecOf(d);
      const c = containerOf(d, 'allocator');
      assert.equal(c.readinessProbe.httpGet.path, '/_sdfleet/readyz');
      assert.equal(c.livenessProbe.httpGet.path, '/_sdfleet/healthz');
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
      assert.equal(spec.securityContext.runAsNonRoot, true);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
      const pdb = get('PodDisruptionBudget', 'sdfleet-allocator');
      assert.ok(matches(pdb.spec.selector.matchLabels, podMetaOf(d).labels));
      assert.equal(pdb.spec.minAvailable, 1);
    });

    it('runs with flags `sdfleet allocator` accepts; the user store mounted where --user-store says', async () => {
      const d = get('Deployment', 'sdfleet-allocator');
      const c = containerOf(d, 'allocator');
      assert.equal(c.args[0], 'allocator');
      const parsed = await parseCli('allocator', c.args.slice(1));
      assert.ok(parsed);
      assert.equal(parsed.options.host, '0.0.0.0');
      assert.ok(c.ports.some((p: any) => p.containerPort === Number(parsed.options.port)));
      const m = c.volumeMounts.find((x: any) => x.mountPath === parsed.options.userStore);
      assert.ok(m, `the user store is mounted at ${String(parsed.options.userStore)}`);
      assert.equal(m.readOnly, true);
    });

    it('every ConfigMap it reads is rendered; the one Secret is created by the runbook', () => {
      const d = get('Deployment', 'sdfleet-allocator');
      const c = containerOf(d, 'allocator');
      for (const e of c.env) {
        const cm = e.valueFrom?.configMapKeyRef;
        if (cm) assert.ok(e.valueFrom.configMapKeyRef.optional || get('ConfigMap', cm.name).data[cm.key] !== undefined, `ConfigMap ${cm.name} key ${cm.key}`);
        const sec = e.valueFrom?.secretKeyRef;
        if (sec && !sec.optional) {
          const runbook = fs.readFileSync(path.join(REPO_ROOT, 'docs/gke.md'), 'utf8');
          assert.match(runbook, new RegExp(`create secret generic ${sec.name}[^\\n]*${sec.key}`), `docs/gke.md says how to create Secret ${sec.name} with key ${sec.key}`);
        }
      }
      assert.equal(get('ConfigMap', 'sdfleet-allocator').data.identity, 'iap');
    });

    it('Service, Ingress, IAP BackendConfig, managed certificate and FrontendConfig point at each other', () => {
      const d = get('Deployment', 'sdfleet-allocator');
      const svc = get('Service', 'sdfleet-allocator');
      assert.ok(matches(svc.spec.selector, podMetaOf(d).labels));
      const c = containerOf(d, 'allocator');
      for (const p of svc.spec.ports) assert.ok(c.ports.some((cp: any) => cp.name === p.targetPort || cp.containerPort === p.targetPort), `targetPort ${p.targetPort}`);
      const bc = JSON.parse(svc.metadata.annotations['cloud.google.com/backend-config']) as { default: string };
      const backendConfig = get('BackendConfig', bc.default);
      assert.equal(backendConfig.spec.iap.enabled, true);
      assert.ok(backendConfig.spec.timeoutSec >= 600, 'WebSockets live as long as the backend timeout');
      assert.equal(backendConfig.spec.healthCheck.requestPath, '/_sdfleet/readyz');
      assert.deepEqual(JSON.parse(svc.metadata.annotations['cloud.google.com/neg']), { ingress: true });
      const ing = get('Ingress', 'sdfleet');
      assert.equal(ing.spec.defaultBackend.service.name, svc.metadata.name);
      assert.ok(svc.spec.ports.some((p: any) => p.name === ing.spec.defaultBackend.service.port.name));
      get('ManagedCertificate', ing.metadata.annotations['networking.gke.io/managed-certificates']);
      get('FrontendConfig', ing.metadata.annotations['networking.gke.io/v1beta1.FrontendConfig']);
    });
  });

  describe('NetworkPolicy', () => {
    it('denies ingress by default; only the allocator reaches the WebUI port; nothing reaches the SDK ports', () => {
      const policies = objs.filter((o) => o.kind === 'NetworkPolicy') as any[];
      assert.ok(policies.some((p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.policyTypes.includes('Ingress') && !p.spec.ingress), 'a default deny');
      const webuiLabels = podMetaOf(get('Fleet', 'sd-webui')).labels;
      const allocatorLabels = podMetaOf(get('Deployment', 'sdfleet-allocator')).labels;
      const rules = policies.filter((p) => matches(p.spec.podSelector.matchLabels ?? {}, webuiLabels)).flatMap((p) => p.spec.ingress ?? []);
      assert.ok(rules.length > 0);
      for (const r of rules) {
        assert.ok(r.ports?.length, 'every rule for WebUI pods names its ports');
        for (const p of r.ports) assert.ok(![9357, 9358].includes(p.port), 'the Agones SDK ports are admitted to no one');
      }
      const webuiRules = rules.filter((r: any) => r.ports.some((p: any) => p.port === 7860 || p.port === 'webui'));
      assert.equal(webuiRules.length, 1);
      assert.equal(webuiRules[0].from.length, 1);
      assert.ok(matches(webuiRules[0].from[0].podSelector.matchLabels, allocatorLabels), 'the WebUI port admits the allocator pods');
      assert.equal(webuiRules[0].from[0].namespaceSelector, undefined, 'from this namespace only');
      const allocatorRules = policies.filter((p) => matches(p.spec.podSelector.matchLabels ?? {}, allocatorLabels)).flatMap((p) => p.spec.ingress ?? []);
      assert.ok(allocatorRules.some((r: any) => r.from.some((f: any) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'agones-system')), 'Agones reaches the webhook');
    });
  });

  describe('lib-disk agent', () => {
    it('DaemonSet: privileged, host PID, on the lib-version’s GPU nodes, tolerating the startup taint', () => {
      const ds = objs.find((o) => o.kind === 'DaemonSet' && o.metadata.labels?.['app.kubernetes.io/name'] === 'sdfleet-lib-disk') as any;
      assert.ok(ds, 'a lib-disk DaemonSet');
      const spec = podSpecOf(ds);
      const c = containerOf(ds, 'lib-disk');
      assert.equal(spec.hostPID, true);
      assert.equal(c.securityContext.privileged, true);
      assert.ok(tolerates(spec.tolerations, STARTUP_TAINT));
      assert.ok(tolerates(spec.tolerations, 'nvidia.com/gpu'));
      const version = envOf(c, 'SDFLEET_LIB_VERSION').value;
      assert.deepEqual(libVersionAffinity(ds), [version]);
      assert.deepEqual(libVersionAffinity(get('Fleet', 'sd-webui')), [version], 'the agent and the WebUI pods agree on the lib version');
      assert.ok(ds.metadata.name.endsWith(`-${version}`), 'one DaemonSet per lib version, so a roll leaves the old pool served');
      assert.equal(envOf(c, 'NODE_NAME').valueFrom.fieldRef.fieldPath, 'spec.nodeName');
    });

    it('mounts where the WebUI pods look: the disk under their hostPath, the marker beside it', async () => {
      const ds = objs.find((o) => o.kind === 'DaemonSet') as any;
      const c = containerOf(ds, 'lib-disk');
      const parsed = await parseCli('lib-disk', c.args);
      if (!parsed) return;
      const mountDir = parsed.options.mountDir as string;
      const fleet = get('Fleet', 'sd-webui');
      const libVol = podSpecOf(fleet).volumes.find((v: any) => v.name === 'lib');
      assert.equal(path.posix.dirname(mountDir), libVol.hostPath.path, 'the WebUI pods mount the parent of --mount-dir');
      const wc = containerOf(fleet, 'webui');
      const inPod = wc.volumeMounts.find((m: any) => m.name === 'lib').mountPath;
      const w = await parseCli('wrapper', wc.command.slice(wc.command.indexOf('wrapper') + 1).concat(wc.args));
      assert.equal(w!.options.libDir, path.posix.join(inPod, path.posix.basename(mountDir)));
      const marker = (parsed.options.marker as string | undefined) ?? path.posix.join(path.posix.dirname(mountDir), '.sdfleet-ready');
      assert.equal(w!.options.libMarker, path.posix.join(inPod, path.posix.relative(libVol.hostPath.path, marker)));
      assert.equal(w!.options.libRequireMount, true);
      assert.equal(String(parsed.options.imageVersion), '$(SDFLEET_LIB_VERSION)', 'the agent refuses a disk of another version');
      assert.equal(parsed.options.taint, STARTUP_TAINT);
    });

    it('its flags are ones `sdfleet lib-disk` accepts', async (t) => {
      const ds = objs.find((o) => o.kind === 'DaemonSet') as any;
      const c = containerOf(ds, 'lib-disk');
      assert.deepEqual(c.command, ['sdfleet', 'lib-disk']);
      const parsed = await parseCli('lib-disk', c.args).catch((err: Error) => {
        throw new Error(`sdfleet lib-disk rejects the DaemonSet's arguments (k8s/base/lib-disk/daemonset.yaml): ${err.message}`, { cause: err });
      });
      if (!parsed) return t.skip('sdfleet has no lib-disk command yet (issue 7 §2)');
    });

    it('RBAC: patch its node, nothing else; Workload Identity; the admission policy keeps it to its own node', () => {
      const ds = objs.find((o) => o.kind === 'DaemonSet') as any;
      const saName = podSpecOf(ds).serviceAccountName;
      const sa = get('ServiceAccount', saName);
      assert.match(sa.metadata.annotations['iam.gke.io/gcp-service-account'], /^[a-z][-a-z0-9]*@[-a-z0-9]+\.iam\.gserviceaccount\.com$/);
      const binding = objs.find((o: any) => o.kind === 'ClusterRoleBinding' && o.subjects.some((s: any) => s.kind === 'ServiceAccount' && s.name === saName && s.namespace === NAMESPACE)) as any;
      assert.ok(binding);
      const role = get('ClusterRole', binding.roleRef.name);
      assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] }]);
      const vap = get('ValidatingAdmissionPolicy', 'sdfleet-lib-disk-own-node');
      assert.ok(vap.spec.matchConditions[0].expression.includes(`system:serviceaccount:${NAMESPACE}:${saName}`));
      assert.equal(get('ValidatingAdmissionPolicyBinding', 'sdfleet-lib-disk-own-node').spec.policyName, vap.metadata.name);
    });
  });

  describe('user store', () => {
    it('GCS FUSE, one bucket, mounted in the WebUI pods (read-write) and the allocator (read-only)', () => {
      const fleet = get('Fleet', 'sd-webui');
      const alloc = get('Deployment', 'sdfleet-allocator');
      const buckets = new Set<string>();
      for (const [o, readOnly] of [[fleet, undefined], [alloc, true]] as const) {
        const vol = podSpecOf(o).volumes.find((v: any) => v.name === 'user-store');
        assert.equal(vol.csi?.driver, 'gcsfuse.csi.storage.gke.io', `${o.kind}: the user store is GCS FUSE`);
        assert.equal(vol.csi.readOnly, readOnly);
        assert.equal(vol.emptyDir, undefined);
        assert.equal(podMetaOf(o).annotations['gke-gcsfuse/volumes'], 'true', `${o.kind}: GKE injects the GCS FUSE sidecar`);
        buckets.add(vol.csi.volumeAttributes.bucketName);
      }
      assert.equal(buckets.size, 1, 'the allocator shows what the wrappers wrote');
    });
  });

  it('k8s/local (what `sdfleet up` applies) is unchanged in kind: a Fleet and a FleetAutoscaler in default', () => {
    const text = fs.readFileSync(path.join(REPO_ROOT, 'k8s/local/fleet.yaml'), 'utf8');
    assert.match(text, /kind: Fleet/);
    assert.match(text, /namespace: default/);
  });
});
