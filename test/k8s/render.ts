/**
 * The GKE overlay as the cluster would receive it: `kubectl kustomize k8s/overlays/gke`
 * (kubectl's built-in kustomize, offline), parsed. Tests that need a tool skip with the
 * reason where it is missing; under CI=true a missing tool is a failure instead.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const KUBECTL = process.env.KUBECTL ?? 'kubectl';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/**
 * `false` when `tool --version`-like `probe` runs; else the reason to skip, or under
 * CI=true a thrown error (CI installs every tool these tests use: .ci/run).
 */
export function toolSkip(tool: string, probe: string[], install: string, opts: { skipInCi?: boolean } = {}): string | false {
  const r = spawnSync(tool, probe, { encoding: 'utf8', timeout: 30_000 });
  if (!r.error && r.status === 0) return false;
  const reason = `${tool} not found or not working (${r.error?.message ?? r.stderr.trim()}); ${install}`;
  if (process.env.CI === 'true' && !opts.skipInCi) throw new Error(`${reason}: this test may not be skipped in CI`);
  return reason;
}

/**
 * kubectl is not installed by .ci/run (Debian's kubernetes-client is 1.20, too old for
 * kustomize replacements): like the control plane's kubectl tests, these skip with the
 * reason wherever it is missing, CI included.
 */
export function kubectlSkip(): string | false {
  return toolSkip(KUBECTL, ['version', '--client'], 'install kubectl ≥ 1.27 (kustomize built in), or set KUBECTL', { skipInCi: true });
}

/** Renders a kustomization directory (relative to the repository root) into objects. */
export function kustomize(dir: string): K8sObject[] {
  const r = spawnSync(KUBECTL, ['kustomize', path.join(REPO_ROOT, dir)], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.error?.message ?? r.stderr}`);
  return YAML.parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject).filter((o) => o !== null);
}

/** The one object of a kind and name; fails naming what exists instead. */
export function one(objs: K8sObject[], kind: string, name: string): K8sObject {
  const found = objs.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${kind} ${name}, found ${found.length}; there are: ${objs.filter((o) => o.kind === kind).map((o) => o.metadata.name).join(', ') || 'none'}`);
  }
  return found[0]!;
}
