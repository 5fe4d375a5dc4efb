#!/usr/bin/env bash
# Build the harness base image (Debian bookworm + python3, aiohttp, PyJWT, iproute2, iptables).
# Cached: does nothing when the tag exists. Tries a registry first, falls back to debootstrap
# from the machine's own Debian mirror. Override the tag with HARNESS_BASE_IMAGE.
set -euo pipefail
TAG="${HARNESS_BASE_IMAGE:-harness-base:bookworm-1}"
PKGS="python3,python3-aiohttp,python3-jwt,ca-certificates,iproute2,iptables,procps"
say() { printf 'base image %s: %s\n' "$TAG" "$*"; }
die() { printf 'base image %s: ERROR: %s\n' "$TAG" "$*" >&2; exit 2; }

docker info >/dev/null 2>&1 || die "no Docker engine answers (\`docker info\`); run \`make setup\`"
cached() { docker image inspect "$TAG" >/dev/null 2>&1; }
if cached; then say "cached"; exit 0; fi
# Two builds at once would both debootstrap; the second waits and then finds the tag.
exec 8>"${TMPDIR:-/tmp}/harness-base-image.lock"
flock -w 600 8 || die "another build has held the lock for 10 minutes"
if cached; then say "cached"; exit 0; fi

if timeout 60 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
  say "building from debian:bookworm-slim"
  printf 'FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends %s && rm -rf /var/lib/apt/lists/*\n' \
    "${PKGS//,/ }" | docker build -q -t "$TAG" - >/dev/null
  say "built"; exit 0
fi

if ! command -v debootstrap >/dev/null; then
  { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; } \
    || die "no registry answers and debootstrap is missing; install debootstrap (as root on Debian) and retry"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
# The first non-security Debian mirror of the machine's apt sources (deb822 or one-line format).
mirror=$(grep -hE '^[[:space:]]*(URIs:|deb[[:space:]])' /etc/apt/sources.list.d/* /etc/apt/sources.list 2>/dev/null \
  | grep -oE 'https?://[^[:space:]]+' | grep -v -- '-security' | head -n1 || true)
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list.d or /etc/apt/sources.list"
rootfs=$(mktemp -d /tmp/harness-rootfs.XXXXXX)
log=$(mktemp /tmp/harness-debootstrap.XXXXXX.log)
trap 'rm -rf "$rootfs"' EXIT
say "debootstrap from $mirror (about a minute; log: $log)"
debootstrap --variant=minbase --include="$PKGS" bookworm "$rootfs" "$mirror" >"$log" 2>&1 \
  || { tail -n 20 "$log" >&2; die "debootstrap failed (log: $log)"; }
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$TAG" >/dev/null
rm -f "$log"
say "built"
