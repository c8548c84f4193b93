/**
 * The allocator's Role grants exactly what its code calls. The calls are read from the
 * source (allocator/, fleet/autoscaler/, and the CLI commands that run them): every
 * client-node method `<verb>Namespaced<Kind>(…)` and every informer (list + watch). Where
 * a call names its resource through a variable, RESOLVED below says which resources that
 * site reaches, and the test checks the site still reads as the table says.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { REPO_ROOT } from './render.ts';

const SOURCES = ['allocator', 'fleet/autoscaler', 'cli/allocator.ts', 'cli/autoscaler.ts'];
const ROLE_FILE = 'k8s/base/allocator/rbac.yaml';

/** client-node method prefix → RBAC verb. */
const VERBS: Record<string, string> = { list: 'list', read: 'get', get: 'get', create: 'create', replace: 'update', patch: 'patch', delete: 'delete' };
/** Typed client-node kinds → API group and resource. */
const KINDS: Record<string, string> = { Lease: 'coordination.k8s.io/leases', ConfigMap: '/configmaps' };
const AGONES_GROUP: Record<string, string> = { '...AGONES': 'agones.dev', '...ALLOCATION': 'allocation.agones.dev' };

/** Call sites whose resource is a variable: the file, a snippet that must be in it, and what it reaches. */
const RESOLVED: { file: string; snippet: string; grants: string[] }[] = [
  { file: 'allocator/core.ts', snippet: "small('fleets')", grants: ['agones.dev/fleets:list', 'agones.dev/fleets:watch'] },
  { file: 'allocator/core.ts', snippet: "small('fleetautoscalers', 'autoscaling.agones.dev')", grants: ['autoscaling.agones.dev/fleetautoscalers:list', 'autoscaling.agones.dev/fleetautoscalers:watch'] },
  { file: 'allocator/kube/clients.ts', snippet: "plural: 'gameserverallocations'", grants: ['allocation.agones.dev/gameserverallocations:create'] },
];

function files(p: string): string[] {
  const full = path.join(REPO_ROOT, p);
  if (fs.statSync(full).isFile()) return [p];
  return fs.readdirSync(full, { withFileTypes: true }).flatMap((d) => {
    const rel = path.join(p, d.name);
    if (d.isDirectory()) return d.name === 'sim' ? [] : files(rel);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [rel] : [];
  });
}

/** The argument text of the call whose '(' is at `open`, up to the matching ')'. */
function argsAt(src: string, open: number): string {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === '(') depth++;
    else if (src[i] === ')' && --depth === 0) return src.slice(open + 1, i);
  }
  return src.slice(open + 1);
}

interface Use {
  grant: string;
  where: string;
}

function usesInSource(): { uses: Use[]; unresolved: string[] } {
  const uses: Use[] = [];
  const unresolved: string[] = [];
  for (const file of SOURCES.flatMap(files)) {
    const src = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
    const line = (i: number): string => `${file}:${src.slice(0, i).split('\n').length}`;
    for (const m of src.matchAll(/\.(list|read|get|create|replace|patch|delete)Namespaced(\w+?)\(/g)) {
      const verb = VERBS[m[1]!]!;
      const kind = m[2]!;
      const where = line(m.index);
      if (KINDS[kind]) {
        uses.push({ grant: `${KINDS[kind]}:${verb}`, where });
        continue;
      }
      assert.equal(kind, 'CustomObject', `${where}: a client-node call on ${kind}; add it to KINDS in this test and to ${ROLE_FILE}`);
      const args = argsAt(src, m.index + m[0].length - 1);
      const plural = /plural: '([a-z]+)'/.exec(args)?.[1];
      const spread = Object.keys(AGONES_GROUP).find((k) => args.includes(k));
      const group = /group: '([a-z.]+)'/.exec(args)?.[1] ?? (spread ? AGONES_GROUP[spread] : undefined);
      if (plural && group) uses.push({ grant: `${group}/${plural}:${verb}`, where });
      else if (spread === '...ALLOCATION') uses.push({ grant: `allocation.agones.dev/gameserverallocations:${verb}`, where });
      else unresolved.push(`${where} ${m[1]}Namespaced${kind}(${args.replace(/\s+/g, ' ').slice(0, 80)}…)`);
    }
    // Informers: a literal path lists and watches.
    for (const m of src.matchAll(/path: `\/apis\/([a-z0-9.]+)\/v1\/namespaces\/\$\{[^}]+\}\/([a-z]+)`/g)) {
      for (const verb of ['list', 'watch']) uses.push({ grant: `${m[1]}/${m[2]}:${verb}`, where: line(m.index) });
    }
    if (/path: `\/apis\/\$\{group\}/.test(src)) unresolved.push(`${file}: an informer on \${group}/\${plural}`);
  }
  return { uses, unresolved };
}

function granted(): Set<string> {
  const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(REPO_ROOT, ROLE_FILE), 'utf8')).map((d) => d.toJS() as { kind: string; rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] });
  const role = docs.find((d) => d.kind === 'Role');
  assert.ok(role?.rules, `${ROLE_FILE} has a Role`);
  const out = new Set<string>();
  for (const r of role.rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${g}/${res}:${v}`);
  return out;
}

describe('the allocator’s RBAC', () => {
  const { uses, unresolved } = usesInSource();
  const resolvedGrants = RESOLVED.flatMap((r) => r.grants.map((grant) => ({ grant, where: `${r.file} (${r.snippet})` })));
  const needed = [...uses, ...resolvedGrants];

  it('finds the calls (the scan still matches the code)', () => {
    assert.ok(uses.length >= 20, `only ${uses.length} calls found: has the client-node style changed?`);
    assert.ok(uses.some((u) => u.grant === 'agones.dev/gameservers:watch'), 'the GameServer informer');
    assert.ok(uses.some((u) => u.grant === 'coordination.k8s.io/leases:update'), 'Lease renewals');
  });

  it('every call whose resource is a variable is in the table, and the table matches the code', () => {
    for (const r of RESOLVED) {
      assert.ok(fs.readFileSync(path.join(REPO_ROOT, r.file), 'utf8').includes(r.snippet), `${r.file} no longer contains ${r.snippet}: update RESOLVED in this test`);
    }
    const files = new Set(RESOLVED.map((r) => r.file));
    const open = unresolved.filter((u) => !files.has(u.split(/[: ]/)[0]!));
    assert.deepEqual(open, [], 'calls this test cannot resolve: add them to RESOLVED');
  });

  it('the Role grants every verb the code uses', () => {
    const g = granted();
    const missing = needed.filter((u) => !g.has(u.grant)).map((u) => `${u.grant} (${u.where})`);
    assert.deepEqual(missing, [], `add to ${ROLE_FILE}`);
  });

  it('the Role grants nothing the code does not use', () => {
    const used = new Set(needed.map((u) => u.grant));
    const extra = [...granted()].filter((g) => !used.has(g));
    assert.deepEqual(extra, [], `remove from ${ROLE_FILE}, or say in this test which code needs it`);
  });
});
