// Runs every *.test.ts in the tree with Node's test runner. Node 20 does not expand globs
// for --test, so the files are listed here; extra arguments (e.g. a file or folder)
// narrow the run: `node test/run-tests.mjs fleet/`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const SKIP = new Set(['node_modules', '.git', 'docs', 'k8s']);

function find(dir, out) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name) || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const filters = process.argv.slice(2);
const files = find(root, []).sort().filter((f) => filters.length === 0 || filters.some((x) => f.startsWith(x) || f === x));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}
const concurrency = process.env.SDFLEET_TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, ['--test', '--import', 'tsx', `--test-concurrency=${concurrency}`, ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
