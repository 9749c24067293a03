#!/bin/sh
# Builds the container image (deploy/container) and runs it until its
# health check passes, when a container engine can run containers on this
# machine; otherwise says in one line why it skipped. Exit 1 only when the
# image, once it can run, fails.
set -eu
cd "$(dirname "$0")/.."

engine=""
for e in podman docker; do
  if command -v "$e" >/dev/null 2>&1; then engine=$e; break; fi
done
if [ -z "$engine" ]; then
  echo "container: skipped (no podman or docker on this machine)"; exit 0
fi
# Can this engine run a container here at all? podman runs one from the
# host's own root file system (no image, under a second); docker needs
# its daemon.
if [ "$engine" = podman ]; then
  probe_cmd="podman run --rm --network none --rootfs / /bin/true"
  run_opts="--health-interval disable" # its timer needs systemd; checked below instead
else
  probe_cmd="docker info"
  run_opts=""
fi
# shellcheck disable=SC2086
if ! probe=$(timeout 30 $probe_cmd 2>&1); then
  echo "container: skipped ($engine cannot run containers here: $(printf '%s' "$probe" | grep -v 'level=' | tail -n 1))"; exit 0
fi

tag=localhost/licensor:ci
CONTAINER_ENGINE=$engine sh deploy/container/build.sh "$tag" >/dev/null
name=licensor-ci-$$
cleanup() { "$engine" rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
# No network: the health check runs inside the container, on its loopback.
# shellcheck disable=SC2086
"$engine" run -d --name "$name" --network none $run_opts "$tag" serve --demo >/dev/null
for _ in $(seq 1 60); do
  # The image's HEALTHCHECK command, run as the engine would.
  if "$engine" exec "$name" /usr/local/bin/licensor healthcheck >/dev/null 2>&1; then
    user=$("$engine" inspect --format '{{.Config.User}}' "$name")
    echo "container: $tag healthy, runs as $user, $("$engine" exec "$name" /usr/local/bin/licensor version)"
    exit 0
  fi
  sleep 0.5
done
echo "container: $tag did not become healthy within 30 s:"; "$engine" logs "$name" 2>&1 | tail -n 20
exit 1
