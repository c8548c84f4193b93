#!/usr/bin/env bash
# Builds the lib disk: a GCE image holding everything heavy the WebUI needs (a Python
# venv with the pinned PyTorch, the WebUI at a pinned commit, its extensions, models,
# the Hugging Face files it would fetch on first use), plus a manifest with the version
# and a checksum of every file. The node agent (`sdfleet lib-disk`) makes disks from the
# image and mounts them read-only; the WebUI pods see them at /mnt/sdfleet/lib.
#
# Steps (each prints a line; --dry-run prints the commands instead of running them):
#   1. check the tools and the inputs
#   2. make an empty ext4 file system in a sparse file (disk.raw)
#   3. loop-mount it and fill it inside the WebUI image (populate.sh) at the path the
#      pods see it (/mnt/sdfleet/lib): same Python, same absolute venv paths
#   4. write the manifest (sdfleet-manifest.json: version, every file's sha256) – populate.sh
#   5. unmount, e2fsck -f, shrink to the content (+ headroom), e2fsck -f again
#   6. pack disk.raw as GCE expects (sparse tar.gz) and upload it to a bucket
#   7. gcloud compute images create sdfleet-lib-<version> in the family sdfleet-lib
#
# Run as root (loop mounts) on a Linux machine with docker, e2fsprogs, tar and gcloud,
# e.g. a Compute Engine VM in the cluster's region (the upload is then fast). See
# docs/gke.md, "Building the lib-disk image".
#
#   sudo k8s/lib-disk/build-image.sh --version v1 --project my-project \
#     --webui-image europe-west4-docker.pkg.dev/my-project/sdfleet/webui:0.1.0 \
#     --bucket gs://my-project-sdfleet-build
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

VERSION=""
PROJECT=""
WEBUI_IMAGE=""
BUCKET=""
FAMILY="sdfleet-lib"
STORAGE_LOCATION=""
SIZE_GB=60
HEADROOM_GB=2
WORK_DIR=""
PINS_FILE="${SCRIPT_DIR}/pins.env"
EXTENSIONS_FILE="${SCRIPT_DIR}/extensions.txt"
MODELS_FILE="${SCRIPT_DIR}/models.txt"
DRY_RUN=0
KEEP=0

usage() {
  cat <<EOF
Usage: $(basename "$0") --version <v> --project <id> --webui-image <ref> --bucket gs://<b> [options]

Builds the GCE image sdfleet-lib-<v> (family ${FAMILY}) that \`sdfleet lib-disk\` attaches.

  --version <v>             lib disk version: lowercase letters, digits, '-' (e.g. v1)
  --project <id>            Google Cloud project of the image
  --webui-image <ref>       the WebUI image the pods run (k8s/images/webui); its Python builds the venv
  --bucket gs://<b>         where the packed disk is uploaded for images create
  --storage-location <r>    image storage location (default: the bucket's)
  --family <f>              image family (default ${FAMILY})
  --size-gb <n>             file system size while building (default ${SIZE_GB})
  --headroom-gb <n>         free space left after shrinking (default ${HEADROOM_GB})
  --pins <file>             versions and commits (default k8s/lib-disk/pins.env)
  --extensions <file>       extensions: "<name> <git url> <commit>" per line (default k8s/lib-disk/extensions.txt)
  --models <file>           models: "<path under models/> <url> <sha256>" per line (default k8s/lib-disk/models.txt)
  --work-dir <dir>          scratch space, needs --size-gb free (default: a new dir under /var/tmp)
  --keep                    keep the work dir (disk.raw, the tarball) afterwards
  --dry-run                 print the commands, change nothing
  -h, --help                this help
EOF
}

die() {
  printf 'build-image: %s\n' "$*" >&2
  exit 1
}

step() {
  printf '\n== %s\n' "$*"
}

# Runs a command, or only prints it under --dry-run.
run() {
  if [ "${DRY_RUN}" = 1 ]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --version) VERSION="${2:?--version needs a value}"; shift 2 ;;
    --project) PROJECT="${2:?--project needs a value}"; shift 2 ;;
    --webui-image) WEBUI_IMAGE="${2:?--webui-image needs a value}"; shift 2 ;;
    --bucket) BUCKET="${2:?--bucket needs a value}"; shift 2 ;;
    --storage-location) STORAGE_LOCATION="${2:?--storage-location needs a value}"; shift 2 ;;
    --family) FAMILY="${2:?--family needs a value}"; shift 2 ;;
    --size-gb) SIZE_GB="${2:?--size-gb needs a value}"; shift 2 ;;
    --headroom-gb) HEADROOM_GB="${2:?--headroom-gb needs a value}"; shift 2 ;;
    --pins) PINS_FILE="${2:?--pins needs a value}"; shift 2 ;;
    --extensions) EXTENSIONS_FILE="${2:?--extensions needs a value}"; shift 2 ;;
    --models) MODELS_FILE="${2:?--models needs a value}"; shift 2 ;;
    --work-dir) WORK_DIR="${2:?--work-dir needs a value}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

# ---------------------------------------------------------------------------------------
step "1. check the tools and the inputs"
[ -n "${VERSION}" ] || die "--version is required (e.g. v1); it must match settings.yaml's libVersion"
[[ "${VERSION}" =~ ^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$ ]] ||
  die "--version '${VERSION}' must be lowercase letters, digits and '-' (it becomes part of an image name and a label)"
[ -n "${PROJECT}" ] || die "--project is required"
[ -n "${WEBUI_IMAGE}" ] || die "--webui-image is required: the image the pods run, so the venv is built with the same Python"
[[ "${BUCKET}" == gs://* ]] || die "--bucket must be a gs:// URL (got '${BUCKET}')"
[[ "${SIZE_GB}" =~ ^[0-9]+$ && "${HEADROOM_GB}" =~ ^[0-9]+$ ]] || die "--size-gb and --headroom-gb must be whole numbers"
[ -f "${PINS_FILE}" ] || die "no pins file at ${PINS_FILE}"
[ -f "${EXTENSIONS_FILE}" ] || die "no extensions file at ${EXTENSIONS_FILE} (an empty file means none)"
[ -f "${MODELS_FILE}" ] || die "no models file at ${MODELS_FILE} (an empty file means none)"
IMAGE_NAME="sdfleet-lib-${VERSION}"

if [ "${DRY_RUN}" = 0 ]; then
  [ "$(id -u)" = 0 ] || die "run as root: the file system is loop-mounted (sudo $0 …)"
  for tool in docker mkfs.ext4 e2fsck resize2fs dumpe2fs mount umount tar gcloud truncate; do
    command -v "${tool}" >/dev/null || die "${tool} not found (apt-get install -y e2fsprogs tar; docker and gcloud from their vendors)"
  done
  if gcloud compute images describe "${IMAGE_NAME}" --project "${PROJECT}" >/dev/null 2>&1; then
    die "image ${IMAGE_NAME} exists already in ${PROJECT}: images are immutable, pick a new --version"
  fi
fi

if [ -z "${WORK_DIR}" ]; then
  if [ "${DRY_RUN}" = 1 ]; then
    WORK_DIR="/var/tmp/sdfleet-lib-${VERSION}.XXXX"
  else
    WORK_DIR="$(mktemp -d "/var/tmp/sdfleet-lib-${VERSION}.XXXX")"
  fi
fi
RAW="${WORK_DIR}/disk.raw"
MNT="${WORK_DIR}/mnt"
TARBALL="${WORK_DIR}/${IMAGE_NAME}.tar.gz"
OBJECT="${BUCKET%/}/${IMAGE_NAME}.tar.gz"
MOUNTED=0

cleanup() {
  if [ "${MOUNTED}" = 1 ]; then
    umount "${MNT}" || printf 'build-image: could not unmount %s; unmount it by hand\n' "${MNT}" >&2
  fi
  if [ "${KEEP}" = 0 ] && [ "${DRY_RUN}" = 0 ]; then
    rm -rf "${WORK_DIR}"
  fi
}
trap cleanup EXIT

printf 'image %s (family %s) in %s; work dir %s\n' "${IMAGE_NAME}" "${FAMILY}" "${PROJECT}" "${WORK_DIR}"

# ---------------------------------------------------------------------------------------
step "2. an empty ext4 file system of ${SIZE_GB} GB (sparse)"
run mkdir -p "${MNT}"
run truncate -s "${SIZE_GB}G" "${RAW}"
# No reserved blocks (nobody writes to it later), inode tables initialised now so the
# first mount on a node starts no background work, label for humans.
run mkfs.ext4 -q -F -L sdfleet-lib -m 0 -E lazy_itable_init=0,lazy_journal_init=0 "${RAW}"

# ---------------------------------------------------------------------------------------
step "3. fill it inside the WebUI image (venv, PyTorch, WebUI, extensions, models)"
run mount -o loop "${RAW}" "${MNT}"
[ "${DRY_RUN}" = 1 ] || MOUNTED=1
# Root inside the container to write the disk; files end up owned by root and readable
# by all, which is what the read-only mount in the pods needs.
run docker run --rm --network host --user 0:0 \
  --env-file "${PINS_FILE}" \
  -e "SDFLEET_LIB_VERSION=${VERSION}" \
  -v "${MNT}:/mnt/sdfleet/lib" \
  -v "${SCRIPT_DIR}/populate.sh:/build/populate.sh:ro" \
  -v "$(realpath "${EXTENSIONS_FILE}"):/build/extensions.txt:ro" \
  -v "$(realpath "${MODELS_FILE}"):/build/models.txt:ro" \
  --entrypoint /bin/bash \
  "${WEBUI_IMAGE}" /build/populate.sh

# ---------------------------------------------------------------------------------------
step "4. the manifest (written by populate.sh)"
if [ "${DRY_RUN}" = 0 ]; then
  [ -f "${MNT}/sdfleet-manifest.json" ] || die "populate.sh wrote no ${MNT}/sdfleet-manifest.json; see its output above"
  cp "${MNT}/sdfleet-manifest.json" "${WORK_DIR}/"
  # Everything but the (long) file list, which comes last.
  sed '/"files"/q' "${MNT}/sdfleet-manifest.json"
fi

# ---------------------------------------------------------------------------------------
step "5. unmount, check, shrink to the content plus ${HEADROOM_GB} GB, check again"
run sync
run umount "${MNT}"
MOUNTED=0
# -f: check even though the file system is clean; -p: fix only what is safe. Exit 1 means
# something was fixed (fine), 2 and up that something is wrong.
fsck() {
  local rc=0
  run e2fsck -f -p "${RAW}" || rc=$?
  [ "${rc}" -le 1 ] || die "e2fsck -f found errors it could not fix (exit ${rc}); the disk is not usable"
}
fsck
run resize2fs -M "${RAW}"
if [ "${DRY_RUN}" = 0 ]; then
  block_count="$(dumpe2fs -h "${RAW}" 2>/dev/null | awk -F: '/^Block count/ {gsub(/ /, "", $2); print $2}')"
  block_size="$(dumpe2fs -h "${RAW}" 2>/dev/null | awk -F: '/^Block size/ {gsub(/ /, "", $2); print $2}')"
  gib=$((1024 * 1024 * 1024))
  # GCE wants a whole number of GiB; round up and add the headroom.
  target_gb=$(((block_count * block_size + gib - 1) / gib + HEADROOM_GB))
  printf 'content %s bytes → disk %s GB\n' "$((block_count * block_size))" "${target_gb}"
  truncate -s "${target_gb}G" "${RAW}"
  resize2fs "${RAW}" "${target_gb}G"
else
  run truncate -s '<content rounded up to GiB + headroom>G' "${RAW}"
  run resize2fs "${RAW}" '<same size>G'
fi
fsck

# ---------------------------------------------------------------------------------------
step "6. pack (sparse tar.gz of disk.raw) and upload to ${OBJECT}"
# GCE reads exactly one file named disk.raw from a gzip'd tar in the old GNU format.
run tar --format=oldgnu -S -czf "${TARBALL}" -C "${WORK_DIR}" disk.raw
run gcloud storage cp "${TARBALL}" "${OBJECT}" --project "${PROJECT}"

# ---------------------------------------------------------------------------------------
step "7. gcloud compute images create ${IMAGE_NAME}"
location_args=()
[ -z "${STORAGE_LOCATION}" ] || location_args=(--storage-location "${STORAGE_LOCATION}")
run gcloud compute images create "${IMAGE_NAME}" \
  --project "${PROJECT}" \
  --source-uri "${OBJECT}" \
  --family "${FAMILY}" \
  --labels "sdfleet-lib-version=${VERSION}" \
  --description "sdfleet lib disk ${VERSION}: venv, PyTorch, WebUI, extensions, models; manifest /sdfleet-manifest.json" \
  "${location_args[@]}"
run gcloud storage rm "${OBJECT}" --project "${PROJECT}"

step "done"
printf 'image %s is ready. Next: label a GPU node pool sdfleet.dev/lib-version=%s, set libVersion: %s in k8s/overlays/gke/settings.yaml, kubectl apply -k k8s/overlays/gke (docs/gke.md).\n' \
  "${IMAGE_NAME}" "${VERSION}" "${VERSION}"
