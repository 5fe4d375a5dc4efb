#!/usr/bin/env bash
# Build the harness base image (Debian bookworm + python3, aiohttp, PyJWT, iproute2, iptables).
# Cached: does nothing when the tag exists. Tries a registry first, falls back to debootstrap.
set -euo pipefail
TAG="${HARNESS_BASE_IMAGE:-harness-base:bookworm-1}"
PKGS="python3,python3-aiohttp,python3-jwt,ca-certificates,iproute2,iptables,procps"
if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "base image $TAG: cached"; exit 0
fi
if timeout 60 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
  echo "base image $TAG: building from debian:bookworm-slim"
  printf 'FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends %s && rm -rf /var/lib/apt/lists/*\n' \
    "${PKGS//,/ }" | docker build -q -t "$TAG" - >/dev/null
  exit 0
fi
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
mirror=$(grep -hoE '^(URIs:|deb) *https?://[^ ]+' /etc/apt/sources.list.d/* /etc/apt/sources.list 2>/dev/null \
  | grep -v security | head -n1 | grep -oE 'https?://[^ ]+' || true)
[ -n "$mirror" ] || { echo "no Debian mirror found in /etc/apt/sources.list.d; cannot build $TAG" >&2; exit 2; }
rootfs=$(mktemp -d /tmp/harness-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "base image $TAG: debootstrap from $mirror (about a minute)"
debootstrap --variant=minbase --include="$PKGS" bookworm "$rootfs" "$mirror" >/tmp/harness-debootstrap.log 2>&1 \
  || { tail -20 /tmp/harness-debootstrap.log >&2; exit 2; }
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$TAG" >/dev/null
echo "base image $TAG: built"
