#!/bin/sh
# Checks deploy/prometheus/alerts.yml and prometheus.yml with promtool. promtool is taken from
# PATH, or extracted (not installed: no service, no dependencies) from the
# distribution's prometheus package into a temporary directory. `go install`
# of promtool does not work: the prometheus module has replace directives.
# Exit 0: rules valid; 1: rules invalid; 2: promtool could not be obtained.
set -eu
cd "$(dirname "$0")/.."
rules=deploy/prometheus/alerts.yml
check() { "$1" check rules "$rules" && "$1" check config deploy/prometheus/prometheus.yml; }
if command -v promtool >/dev/null 2>&1; then
	check promtool
	exit $?
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fetch() { (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); }
if ! fetch; then
	apt-get update -qq >/dev/null 2>&1 || true
	fetch || true
fi
if ls "$tmp"/prometheus_*.deb >/dev/null 2>&1 && dpkg -x "$tmp"/prometheus_*.deb "$tmp/x"; then
	check "$tmp/x/usr/bin/promtool"
	exit $?
fi
echo "promtool.sh: promtool is not on PATH and the prometheus package could not be downloaded; $rules NOT checked" >&2
exit 2
