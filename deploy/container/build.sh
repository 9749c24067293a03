#!/bin/sh
# Builds the licensor:dev image (deploy/container/Containerfile) from a
# static binary built here: nothing is pulled, so it works offline.
#   sh deploy/container/build.sh [tag]
# CONTAINER_ENGINE picks the engine (default: podman, else docker).
set -eu
cd "$(dirname "$0")/../.."
tag=${1:-licensor:dev}
engine=${CONTAINER_ENGINE:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}
ca=/etc/ssl/certs/ca-certificates.crt
[ -r "$ca" ] || { echo "build.sh: no CA bundle at $ca (install ca-certificates)" >&2; exit 1; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$ctx/licensor" ./cmd/licensor
cp "$ca" "$ctx/ca-certificates.crt"
printf 'root:x:0:0:root:/:/sbin/nologin\nlicensor:x:65532:65532:licensor:/data:/sbin/nologin\n' >"$ctx/passwd"
printf 'root:x:0:\nlicensor:x:65532:\n' >"$ctx/group"
mkdir -m 0700 "$ctx/data"
# --format docker keeps HEALTHCHECK (the OCI format has no such field).
fmt=""
[ "$engine" = podman ] && fmt="--format docker"
# shellcheck disable=SC2086
"$engine" build $fmt -f deploy/container/Containerfile -t "$tag" "$ctx"
