// Runs every *.test.ts in the tree with Node's test runner. Node 20 does not expand globs
// for --test, so the files are listed here; extra arguments (e.g. a file or folder)
// narrow the run: `node test/run-tests.mjs fleet/`.
//
// Nothing may hang CI: each test has a time limit (--test-timeout), a file whose tests are
// done exits even if a handle is left open (--test-force-exit), and the whole run is
// killed, with its process group, after SDFLEET_TEST_BUDGET_S seconds (default 1800).
import { spawn } from 'node:child_process';
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
const testTimeoutMs = Number(process.env.SDFLEET_TEST_TIMEOUT_MS ?? 300_000);
const budgetS = Number(process.env.SDFLEET_TEST_BUDGET_S ?? 1800);
const started = Date.now();
const child = spawn(
  process.execPath,
  ['--test', '--import', 'tsx', `--test-concurrency=${concurrency}`, `--test-timeout=${testTimeoutMs}`, '--test-force-exit', ...files],
  { cwd: root, stdio: 'inherit', detached: true },
);
const watchdog = setTimeout(() => {
  console.error(`\nrun-tests: the run passed its budget of ${budgetS} s; killing it (SDFLEET_TEST_BUDGET_S sets the budget)`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}, budgetS * 1000);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  });
}
child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  console.error(`run-tests: ${files.length} files in ${Math.round((Date.now() - started) / 1000)} s`);
  process.exit(code ?? (signal ? 1 : 1));
});
