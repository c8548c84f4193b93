#!/usr/bin/env bash
# Fills the lib disk mounted at /mnt/sdfleet/lib: the path the WebUI pods see it at,
# because a venv's scripts and pyvenv.cfg hold absolute paths. Runs inside the WebUI image, started by
# build-image.sh (which mounts this file, extensions.txt and models.txt under /build and
# passes pins.env as the environment); not meant to be run by hand.
#
# Layout it leaves (what the Fleet's wrapper arguments expect):
#   venv/                         Python venv: PyTorch and the WebUI's requirements
#   webui/                        the WebUI at the pinned ref, repositories/, extensions/
#   models/                       checkpoints and other models (models.txt)
#   cache/huggingface/            HF_HOME: files fetched at build time, none at run time
#   sdfleet-manifest.json         version, pins, and every other file with its size and
#                                 sha256 (the node agent checks the disk against it:
#                                 fleet/lib-disk/manifest.ts)
set -euo pipefail

LIB=/mnt/sdfleet/lib
: "${SDFLEET_LIB_VERSION:?build-image.sh passes the version}"
: "${WEBUI_REPO:?pins.env sets WEBUI_REPO}" "${WEBUI_REF:?pins.env sets WEBUI_REF}"
: "${TORCH_VERSION:?pins.env sets TORCH_VERSION}" "${TORCHVISION_VERSION:?pins.env sets TORCHVISION_VERSION}"
: "${TORCH_INDEX_URL:?pins.env sets TORCH_INDEX_URL}"
XFORMERS_VERSION="${XFORMERS_VERSION:-}"
HF_PREFETCH="${HF_PREFETCH:-}"

say() {
  printf -- '-- %s\n' "$*"
}

# Lines of a list file without comments and blank lines.
entries() {
  sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1"
}

mountpoint -q "${LIB}" 2>/dev/null || grep -q " ${LIB} " /proc/mounts ||
  { printf 'populate: %s is not a mount point; build-image.sh mounts the new file system there\n' "${LIB}" >&2; exit 1; }

say "venv with PyTorch ${TORCH_VERSION}"
python3.10 -m venv "${LIB}/venv"
PY="${LIB}/venv/bin/python"
"${PY}" -m pip install --no-cache-dir --upgrade pip wheel
"${PY}" -m pip install --no-cache-dir \
  "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}" --extra-index-url "${TORCH_INDEX_URL}"
if [ -n "${XFORMERS_VERSION}" ]; then
  "${PY}" -m pip install --no-cache-dir "xformers==${XFORMERS_VERSION}" --extra-index-url "${TORCH_INDEX_URL}"
fi

say "WebUI ${WEBUI_REF}"
git clone --quiet "${WEBUI_REPO}" "${LIB}/webui"
git -C "${LIB}/webui" -c advice.detachedHead=false checkout --quiet "${WEBUI_REF}"
WEBUI_COMMIT="$(git -C "${LIB}/webui" rev-parse HEAD)"

say "extensions"
mkdir -p "${LIB}/webui/extensions"
while read -r name url ref; do
  [ -n "${ref:-}" ] || { printf 'populate: extensions.txt line "%s %s" needs "<name> <url> <commit>"\n' "${name}" "${url:-}" >&2; exit 1; }
  say "extension ${name} at ${ref}"
  git clone --quiet "${url}" "${LIB}/webui/extensions/${name}"
  git -C "${LIB}/webui/extensions/${name}" -c advice.detachedHead=false checkout --quiet "${ref}"
done < <(entries /build/extensions.txt)

# The WebUI's own preparation, once, here: its requirements, the repositories it clones,
# the extensions' install.py. --exit stops after that; no GPU is needed. In the pods it
# runs with --skip-prepare-environment --skip-install.
say "WebUI prepare_environment (requirements, repositories, extension installers)"
(
  cd "${LIB}/webui"
  # Torch is in the venv already, so the WebUI skips its own install; were it to run, it
  # would install the same pins.
  export TORCH_COMMAND="pip install torch==${TORCH_VERSION} torchvision==${TORCHVISION_VERSION} --extra-index-url ${TORCH_INDEX_URL}"
  export PATH="${LIB}/venv/bin:${PATH}"
  "${PY}" launch.py --skip-torch-cuda-test --exit
)

say "models"
while read -r path url sum; do
  [ -n "${sum:-}" ] || { printf 'populate: models.txt line "%s %s" needs "<path> <url> <sha256>"\n' "${path}" "${url:-}" >&2; exit 1; }
  dest="${LIB}/models/${path}"
  mkdir -p "$(dirname "${dest}")"
  say "model ${path}"
  "${PY}" - "${url}" "${dest}" <<'PYEOF'
import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1]) as r, open(sys.argv[2], 'wb') as f:
    shutil.copyfileobj(r, f, 16 << 20)
PYEOF
  printf '%s  %s\n' "${sum}" "${dest}" | sha256sum --check --quiet ||
    { printf 'populate: %s does not have the sha256 models.txt gives; refusing it\n' "${path}" >&2; exit 1; }
done < <(entries /build/models.txt)
mkdir -p "${LIB}/models/Stable-diffusion"

if [ -n "${HF_PREFETCH}" ]; then
  say "Hugging Face files: ${HF_PREFETCH}"
  for repo in ${HF_PREFETCH}; do
    HF_HOME="${LIB}/cache/huggingface" "${PY}" -c \
      'import sys; from transformers import CLIPTokenizer; CLIPTokenizer.from_pretrained(sys.argv[1])' "${repo}"
  done
fi

# The disk is read-only in the pods: compile now so Python never tries to write .pyc.
say "bytecode"
"${PY}" -m compileall -q -j 0 "${LIB}/venv" "${LIB}/webui" >/dev/null || true
chmod -R a+rX "${LIB}"

say "manifest"
"${PY}" - "${LIB}" "${WEBUI_COMMIT}" <<'PYEOF'
import datetime, hashlib, json, os, platform, sys
lib, webui_commit = sys.argv[1], sys.argv[2]
env = os.environ
files = []
for root, dirs, names in os.walk(lib):
    dirs[:] = sorted(d for d in dirs if not (root == lib and d == 'lost+found'))
    for name in sorted(names):
        full = os.path.join(root, name)
        rel = os.path.relpath(full, lib)
        if rel == 'sdfleet-manifest.json' or os.path.islink(full) or not os.path.isfile(full):
            continue
        h = hashlib.sha256()
        with open(full, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
        files.append({'path': rel, 'sha256': h.hexdigest(), 'size': os.path.getsize(full)})
extensions = []
ext_dir = os.path.join(lib, 'webui', 'extensions')
for name in sorted(os.listdir(ext_dir)) if os.path.isdir(ext_dir) else []:
    head = os.path.join(ext_dir, name, '.git', 'HEAD')
    extensions.append({'name': name, 'commit': open(head).read().strip() if os.path.exists(head) else None})
manifest = {
    'version': env['SDFLEET_LIB_VERSION'],
    'createdAt': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
    'python': platform.python_version(),
    'torch': env['TORCH_VERSION'],
    'torchvision': env['TORCHVISION_VERSION'],
    'xformers': env.get('XFORMERS_VERSION') or None,
    'webui': {'repo': env['WEBUI_REPO'], 'ref': env['WEBUI_REF'], 'commit': webui_commit},
    'extensions': extensions,
    'fileCount': len(files),
    'bytes': sum(f['size'] for f in files),
    # Last, so the lines above stay readable at the top of the file.
    'files': files,
}
with open(os.path.join(lib, 'sdfleet-manifest.json'), 'w') as f:
    json.dump(manifest, f, indent=1)
    f.write('\n')
print(f"{len(files)} files, {manifest['bytes']} bytes")
PYEOF
say "done: $(du -sh "${LIB}" | cut -f1) on the disk"
