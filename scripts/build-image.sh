#!/usr/bin/env bash
# Build the lab's systemd base image with debootstrap (no registry is reachable here).
# LAB_IMAGE overrides the image name, so a CI elsewhere can point at a public systemd image.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/lab/containers.conf}"
image="${LAB_IMAGE:-localhost/lab-debian:bookworm}"
if podman image exists "$image" && [ "${REBUILD_IMAGE:-0}" != 1 ]; then
  echo "image $image already present (REBUILD_IMAGE=1 to rebuild)"
  exit 0
fi
case "$image" in
  localhost/*) ;;
  *) echo "image $image is not local: pulling"; podman pull "$image"; exit 0 ;;
esac
rootfs=$(mktemp -d /var/tmp/lab-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
debootstrap --variant=minbase \
  --include=python3,python3-apt,systemd,systemd-sysv,dbus,sudo,iproute2,procps,ca-certificates,curl,gnupg,locales,tzdata,cron \
  bookworm "$rootfs" "$mirror" >/var/tmp/lab-debootstrap.log 2>&1 \
  || { tail -n 30 /var/tmp/lab-debootstrap.log; exit 1; }
cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
# Services that make no sense in a container would only slow boot down.
chroot "$rootfs" systemctl mask systemd-udevd.service systemd-udevd-kernel.socket \
  systemd-udevd-control.socket getty.target console-getty.service >/dev/null 2>&1 || true
chroot "$rootfs" apt-get clean
tar -C "$rootfs" -c . | podman import --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' - "$image" >/dev/null
echo "built $image"
