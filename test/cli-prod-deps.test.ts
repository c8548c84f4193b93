/**
 * What loading the sdfleet CLI pulls in, following the static imports from bin/sdfleet.js's
 * command table (not `await import(...)`, which a command makes only when it runs):
 * - the images install production dependencies only (k8s/images/*): every command must
 *   load without the devDependencies;
 * - every instance runs `sdfleet wrapper` and `sdfleet sim-webui` as processes of their
 *   own: a command must not carry the others' heavy packages (loading all of them took
 *   ~290 MB of RSS in each process, @google-cloud/compute alone ~136 MB).
 * Each fails naming the chain that reaches the package.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** Static import/export-from specifiers of a module (type-only imports are erased: skipped). */
export function staticImports(source: string): string[] {
  const out: string[] = [];
  const re = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (let m = re.exec(source); m; m = re.exec(source)) out.push(m[1]!);
  return out;
}

const packageOf = (spec: string): string => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

/** The packages behind the static imports of `entry` for which `wanted` holds, with the chain to each. */
function reach(entry: string, wanted: (pkg: string) => boolean): { chain: string[]; pkg: string }[] {
  const found: { chain: string[]; pkg: string }[] = [];
  const seen = new Set<string>();
  const walk = (file: string, chain: string[]): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        walk(resolve(dirname(file), spec), [...chain, spec]);
      } else if (!spec.startsWith('node:')) {
        const name = packageOf(spec);
        if (wanted(name)) found.push({ chain: [...chain.map((c) => c), spec], pkg: name });
      }
    }
  };
  walk(join(ROOT, entry), [entry]);
  return found;
}

const devReach = (entry: string): { chain: string[]; pkg: string }[] => reach(entry, (name) => name in pkg.devDependencies && !(name in pkg.dependencies));

/** Packages only some commands need, each large to load. */
const HEAVY = ['@kubernetes/client-node', '@google-cloud/compute', '@google-cloud/agones-sdk', '@grpc/grpc-js', 'express', 'socket.io', 'zod', 'jose', 'undici'];

describe('sdfleet loads with production dependencies only', () => {
  it('finds a devDependency behind a static import (the check can fail)', () => {
    assert.deepEqual(staticImports("import { chromium } from 'playwright-core';\nimport type { X } from 'fast-check';\nexport { a } from './a.ts';"), ['playwright-core', './a.ts']);
    assert.ok(devReach('test/browser/browser.ts').some((f) => f.pkg === 'playwright-core'));
  });

  it('no command reaches a devDependency at load time', () => {
    const reached = devReach('cli/commands.ts');
    assert.deepEqual(reached.map((r) => `${r.pkg} via ${r.chain.join(' → ')}`), []);
  });
});

describe('loading the CLI loads no component', () => {
  it('finds a heavy package behind a static import (the check can fail)', () => {
    assert.ok(reach('cli/lib-disk-start.ts', (n) => HEAVY.includes(n)).some((f) => f.pkg === '@google-cloud/compute'));
  });

  it('the command table reaches none of the heavy packages: each command imports its component when it runs', () => {
    const reached = reach('cli/commands.ts', (n) => HEAVY.includes(n));
    assert.deepEqual(reached.map((r) => `${r.pkg} via ${r.chain.join(' → ')}`), []);
  });
});
