/**
 * The images and the scripts of k8s/: Dockerfiles linted with dockerfile-utils and held
 * to what issue 7 asks of each image; shell scripts checked with shellcheck (Debian's
 * package; skipped with the reason where it is missing, a failure under CI=true); the
 * lib-disk image build's plan (--dry-run) in the documented order.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { validate } from 'dockerfile-utils';
import { REPO_ROOT, toolSkip } from './render.ts';

const IMAGES = ['allocator', 'webui', 'lib-disk'];
const dockerfile = (name: string): string => fs.readFileSync(path.join(REPO_ROOT, 'k8s/images', name, 'Dockerfile'), 'utf8');

/** Instructions of the last stage, continuation lines joined. */
function finalStage(text: string): string[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const last = lines.map((l) => /^FROM\b/i.test(l)).lastIndexOf(true);
  return lines.slice(last);
}

describe('Dockerfiles', () => {
  for (const name of IMAGES) {
    it(`k8s/images/${name}/Dockerfile: no dockerfile-utils diagnostics`, () => {
      const diags = validate(dockerfile(name));
      assert.deepEqual(diags.map((d) => `line ${d.range.start.line + 1}: ${d.message}`), []);
    });

    it(`k8s/images/${name}/Dockerfile: production dependencies only, every COPY source in the build context`, () => {
      const text = dockerfile(name);
      assert.match(text, /npm ci --omit=dev/);
      assert.doesNotMatch(text, /npm (ci|install)(?![^\n]*--omit=dev)(?![^\n]*playwright-core)(?![^\n]*--prefix)/, 'every npm install omits devDependencies');
      const ignore = fs.readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
      for (const m of text.matchAll(/^COPY (?!--from)(\S+)/gm)) {
        const src = m[1]!;
        assert.ok(fs.existsSync(path.join(REPO_ROOT, src)), `COPY ${src}: not in the repository (the build context is its root)`);
        assert.ok(ignore.some((l) => l === `!${src}` || l === `!${src}/`), `COPY ${src}: .dockerignore excludes it`);
      }
    });
  }

  it('allocator: multi-stage, non-root', () => {
    const text = dockerfile('allocator');
    assert.ok((text.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
    const user = finalStage(text).find((l) => l.startsWith('USER '));
    assert.ok(user && !/^USER (root|0)\b/.test(user), `the final stage runs as a non-root user: ${user ?? 'no USER'}`);
  });

  it('webui: CUDA runtime base, python3 and Node, no PyTorch, non-root', () => {
    const text = dockerfile('webui');
    assert.match(text, /ARG CUDA_IMAGE=nvidia\/cuda:[\w.-]*-runtime-/);
    const final = finalStage(text);
    assert.ok(final[0]!.includes('${CUDA_IMAGE}'), 'the final stage is the CUDA runtime image');
    assert.ok(final.some((l) => /apt-get install[^\n]*python3/.test(l)), 'python3 from the distribution');
    assert.ok(final.some((l) => l.includes('/usr/local/bin/node')), 'node for the wrapper');
    assert.ok(!final.some((l) => /\b(torch|torchvision|xformers)\b/.test(l)), 'PyTorch lives on the lib disk, not in the image');
    const user = final.find((l) => l.startsWith('USER '));
    assert.ok(user && !/^USER (root|0)\b/.test(user));
  });
});

const SCRIPTS = ['k8s/lib-disk/build-image.sh', 'k8s/lib-disk/populate.sh', '.ci/run'];

describe('shell scripts', { skip: toolSkip('shellcheck', ['--version'], 'apt-get install -y shellcheck') }, () => {
  for (const s of SCRIPTS) {
    it(`${s}: shellcheck finds nothing`, () => {
      const r = spawnSync('shellcheck', ['-x', '--shell=bash', s], { cwd: REPO_ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });
  }
});

describe('k8s/lib-disk/build-image.sh', { skip: toolSkip('bash', ['--version'], 'install bash') }, () => {
  const run = (args: string[]) => spawnSync('bash', ['k8s/lib-disk/build-image.sh', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
  const ok = ['--version', 'v7', '--project', 'p', '--webui-image', 'registry/webui:1', '--bucket', 'gs://b'];

  it('--dry-run prints the documented steps in order and runs nothing', () => {
    const r = run([...ok, '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    const order = ['mkfs.ext4', 'mount -o loop', 'docker run', 'populate.sh', 'umount', 'e2fsck -f', 'resize2fs -M', 'tar --format=oldgnu', 'gcloud storage cp', 'gcloud compute images create sdfleet-lib-v7', '--family sdfleet-lib'];
    let at = -1;
    for (const s of order) {
      const i = r.stdout.indexOf(s, at + 1);
      assert.ok(i > at, `"${s}" after the previous step in:\n${r.stdout}`);
      at = i;
    }
    assert.match(r.stdout, /SDFLEET_LIB_VERSION=v7/);
  });

  it('refuses a version that cannot be an image name or a label, naming the rule', () => {
    const r = run(['--version', 'V1_x', '--project', 'p', '--webui-image', 'i', '--bucket', 'gs://b', '--dry-run']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /lowercase letters, digits and '-'/);
  });

  it('refuses a bucket that is not gs://', () => {
    const r = run(['--version', 'v1', '--project', 'p', '--webui-image', 'i', '--bucket', 'b', '--dry-run']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /gs:\/\//);
  });
});
