#!/bin/sh
# Start dockerd inside a privileged container (or one with every capability), as the official docker:dind entrypoint does:
# cgroup v2 nesting when the cgroup is v2, overlay2 when overlay mounts work over the volume at
# /var/lib/docker (else vfs), and the API on tcp://0.0.0.0:2375 without TLS (a test network only).
set -eu

# Without --privileged (an engine whose bounding set lacks a capability cannot grant it), /sys and
# the cgroup v1 hierarchies are mounted read-only: remount them read-write (we hold CAP_SYS_ADMIN).
if grep -q ' /sys sysfs ro[ ,]' /proc/self/mounts; then
  mount -o remount,rw /sys
fi
grep -E ' cgroup2? ro[ ,]' /proc/self/mounts | while read -r _ dir _; do mount -o remount,rw,bind "$dir"; done

if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  # cgroup v2: move our processes out of the root cgroup so controllers can be delegated to children.
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
  sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || :
fi

driver="${DIND_STORAGE_DRIVER:-}"
if [ -z "$driver" ]; then
  probe=/var/lib/docker/.overlay-probe
  mkdir -p "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
    umount "$probe/merged"
    driver=overlay2
  else
    driver=vfs
  fi
  rm -rf "$probe"
fi
echo "dind: storage driver $driver"

exec dockerd --host=tcp://0.0.0.0:2375 --host=unix:///var/run/docker.sock --tls=false \
  --storage-driver="$driver" "$@"
