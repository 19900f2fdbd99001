#!/usr/bin/env bash
# Runs the README's two commands on a fresh Debian 12 root, exactly as a new user would:
#   debootstrap --variant=minbase bookworm ROOT   (the base is cached as a tarball between runs)
#   git clone <this checkout's HEAD> inside it, the machine's apt sources and resolver copied in,
#   /proc mounted, ../shared bind-mounted read-only beside the clone (the tests' data),
#   then `scripts/demo.sh` and `scripts/test.sh` inside chroot, as root.
# Prints each step and how long it took; exits non-zero on any failure. Needs root, debootstrap
# (installed on demand) and Debian's archive; nothing else from the network.
# Env: TT_FRESH_DIR (work folder, default a new /var/tmp/tinythink-fresh.XXXXXX per run, so that two
# runs on one machine -- a developer's and CI's -- never share a root), TT_FRESH_CACHE (base tarball
# folder, default ${XDG_CACHE_HOME:-$HOME/.cache}/tinythink), TINYTHINK_SHARED (default ../shared),
# TT_FRESH_STEPS (default "demo test"), TT_FRESH_KEEP=1 keeps the root afterwards,
# TT_FRESH_ALLOW_SKIP=1 turns "cannot mount here" into a loud skip (exit 77) instead of a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
shared=${TINYTHINK_SHARED:-$repo/../shared}
work=${TT_FRESH_DIR:-}
cache=${TT_FRESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tinythink}
steps=${TT_FRESH_STEPS:-demo test}
base_tar="$cache/debian12-minbase.tar.gz"

[ "$(id -u)" -eq 0 ] || { echo "check-fresh-machine: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
[ -d "$shared/data" ] || { echo "check-fresh-machine: no shared data at $shared/data (set TINYTHINK_SHARED)" >&2; exit 2; }
shared=$(cd "$shared" && pwd)

# A container without CAP_SYS_ADMIN cannot mount or chroot. That is a failure, unless the caller
# allows a skip (TT_FRESH_ALLOW_SKIP=1, as .ci/run does): then it says SKIPPED and exits 77.
probe=$(mktemp -d)
if ! mount -t tmpfs tmpfs "$probe" 2>/dev/null; then
  rmdir "$probe"
  msg="check-fresh-machine: this machine does not allow mount (no CAP_SYS_ADMIN?)"
  if [ "${TT_FRESH_ALLOW_SKIP:-0}" = 1 ]; then echo "$msg: SKIPPED, not passed" >&2; exit 77; fi
  echo "$msg" >&2; exit 2
fi
umount "$probe"; rmdir "$probe"

made_work=0
if [ -z "$work" ]; then work=$(mktemp -d /var/tmp/tinythink-fresh.XXXXXX); made_work=1; fi
root="$work/root"

declare -a summary=()
step() {  # step NAME COMMAND...: runs it, prints and records its duration; stops on failure
  local name=$1; shift
  echo "== [$(date -u +%T)] $name: $*"
  local start=$SECONDS rc=0
  set +e; ( set -e; "$@" ); rc=$?; set -e  # a subshell, so that `set -e` holds inside the step
  local took=$((SECONDS - start))
  summary+=("$(printf '%-28s %5ds  %s' "$name" "$took" "$([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)")")")
  if [ $rc -ne 0 ]; then echo "== $name failed (exit $rc) after ${took}s" >&2; exit $rc; fi
}

unmount_all() {  # everything mounted under the root, deepest first
  local m
  for m in $(awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}
cleanup() {
  local rc=$?
  unmount_all
  # Only the chroot folder this script made is removed, and only once nothing is mounted inside it.
  if [ "${TT_FRESH_KEEP:-0}" != 1 ] && [ -d "$root" ] && ! grep -q " $root/" /proc/mounts; then
    rm -rf --one-file-system "$root"
    [ $made_work = 1 ] && rm -rf --one-file-system "$work"
  fi
  echo "== summary (fresh Debian 12 root, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
  printf '%s\n' "${summary[@]}"
  [ $rc -eq 0 ] && echo "check-fresh-machine: passed" || echo "check-fresh-machine: FAILED" >&2
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_base() {
  mkdir -p "$cache"
  command -v debootstrap > /dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; }
  local mirror
  mirror=$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } \
           | grep -oE '^(deb|URIs:) +https?://[^ ]+/debian/?( |$)' | head -1 | awk '{print $2}' || true)
  local tmp="$work/base.tmp"
  rm -rf --one-file-system "$tmp"
  debootstrap --variant=minbase bookworm "$tmp" "${mirror:-http://deb.debian.org/debian}"
  [ -x "$tmp/usr/bin/apt-get" ] || { echo "debootstrap left no usable root in $tmp" >&2; return 1; }
  # Another run may be writing the same cache: each writes its own part file, the rename is atomic.
  local part
  part=$(mktemp "$base_tar.part.XXXXXX")
  tar -C "$tmp" -czf "$part" . && mv "$part" "$base_tar"
  rm -rf --one-file-system "$tmp"
}

unpack_root() {
  if grep -q " $root/" /proc/mounts; then echo "mounts left inside $root: refusing to reuse it" >&2; return 1; fi
  rm -rf --one-file-system "$root"
  mkdir -p "$root"
  tar -C "$root" -xzf "$base_tar"
  # The machine's apt sources and resolver, as a user's machine would have them.
  rm -rf "$root/etc/apt/sources.list.d"; mkdir -p "$root/etc/apt/sources.list.d"
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/sources.list"
  local f
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && cp "$f" "$root/etc/apt/sources.list.d/"
  done
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
}

clone_repo() {
  # git is not in a minbase root: clone from the host into the root's folder, as `git clone` would.
  mkdir -p "$root/work"
  git clone -q --no-hardlinks "$repo" "$root/work/tinythink"
  git -C "$root/work/tinythink" log --oneline -1
}

mount_all() {
  mkdir -p "$root/proc" "$root/dev" "$root/work/shared"
  mount -t proc proc "$root/proc"
  mount --bind /dev "$root/dev"
  mount --bind "$shared" "$root/work/shared"
  mount -o remount,bind,ro "$root/work/shared"
}

in_root() {  # runs a command line inside the chroot, as root, with a plain environment
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 TERM=dumb /bin/bash -c "cd /work/tinythink && $1"
}

mkdir -p "$work"
[ -f "$base_tar" ] || step "debootstrap minbase" make_base
step "unpack base root" unpack_root
step "git clone" clone_repo
step "mount proc, dev, shared" mount_all
for s in $steps; do
  case $s in
    demo) step "scripts/demo.sh" in_root "scripts/demo.sh --out out/demo && test -s out/demo/report.html && test -s out/demo/report.md" ;;
    test) step "scripts/test.sh" in_root "scripts/test.sh" ;;
    *) echo "unknown step '$s' in TT_FRESH_STEPS (demo, test)" >&2; exit 2 ;;
  esac
done
