/**
 * The images install production dependencies only (k8s/images/*): every sdfleet command
 * must load without the devDependencies. Follows the static imports from bin/sdfleet.js's
 * command table (not `await import(...)`, which a command makes only when it runs) and
 * fails naming the chain that reaches a devDependency.
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

function devReach(entry: string): { chain: string[]; pkg: string }[] {
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
        if (name in pkg.devDependencies && !(name in pkg.dependencies)) found.push({ chain: [...chain.map((c) => c), spec], pkg: name });
      }
    }
  };
  walk(join(ROOT, entry), [entry]);
  return found;
}

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
