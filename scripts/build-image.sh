#!/usr/bin/env bash
# Build the lab's systemd base image with debootstrap (no registry is reachable here).
# LAB_IMAGE overrides the image name, so a CI elsewhere can point at a public systemd image.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/lab/containers.conf}"
image="${LAB_IMAGE:-localhost/lab-debian:bookworm}"
# The image carries the hash of this script: an image built by an older recipe is rebuilt.
recipe=$(sha256sum "$0" | cut -c1-16)
if podman image exists "$image" && [ "${REBUILD_IMAGE:-0}" != 1 ]; then
  built=$(podman image inspect -f '{{index .Labels "lab.recipe"}}' "$image" 2>/dev/null || true)
  case "$image" in localhost/*) ;; *) built=$recipe ;; esac
  if [ "$built" = "$recipe" ]; then
    echo "image $image already present (recipe $recipe; REBUILD_IMAGE=1 to rebuild)"
    exit 0
  fi
  echo "image $image was built by another recipe (${built:-none}): rebuilding"
fi
case "$image" in
  localhost/*) ;;
  *) echo "image $image is not local: pulling"; podman pull "$image"; exit 0 ;;
esac
rootfs=$(mktemp -d /var/tmp/lab-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
debootstrap --variant=minbase \
  --include=python3,python3-apt,systemd,systemd-sysv,dbus,sudo,iproute2,procps,ca-certificates,curl,gnupg,locales,tzdata,cron,openssh-server \
  bookworm "$rootfs" "$mirror" >/var/tmp/lab-debootstrap.log 2>&1 \
  || { tail -n 30 /var/tmp/lab-debootstrap.log; exit 1; }
cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
# Package installs are most of a converge's time in the lab and in Molecule: the containers are
# disposable, so dpkg skips fsync and leaves out documentation (as Debian's own container images
# do), and apt fetches no translations. Production hosts are installed as their provider does.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/lab-speedup" <<'CFG'
force-unsafe-io
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
CFG
echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/90lab-no-translations"
# The updates published since the release (bookworm-security, bookworm-updates) go into the image once,
# as a provider's current image has them: debootstrap takes the release's packages only, and every new
# container then applied the same two dozen security updates in its first converge (os_hardening:
# ~60-100 s per host, sixteen times in `lab.sh up`; docs/benchmarks.md). Updates published after the
# image was built are still applied by os_hardening. No service starts in the chroot.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
if ! chroot "$rootfs" /bin/sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get -y -q dist-upgrade' \
    >/var/tmp/lab-image-upgrade.log 2>&1; then
  tail -n 30 /var/tmp/lab-image-upgrade.log; exit 1
fi
rm -f "$rootfs/usr/sbin/policy-rc.d"
# Services that make no sense in a container would only slow boot down.
chroot "$rootfs" systemctl mask systemd-udevd.service systemd-udevd-kernel.socket \
  systemd-udevd-control.socket getty.target console-getty.service >/dev/null 2>&1 || true
# sshd: the lab is reached over SSH as production is (docs/lab.md). No host key in the image (every
# container would share it): each container makes its own at first boot, before sshd starts.
rm -f "$rootfs"/etc/ssh/ssh_host_*
cat >"$rootfs/etc/systemd/system/ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Generate this container's SSH host keys (lab image)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target ssh.service
UNIT
chroot "$rootfs" systemctl enable ssh-hostkeys.service ssh.service >/dev/null 2>&1
chroot "$rootfs" apt-get clean
tar -C "$rootfs" -c . | podman import --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
  --change "LABEL lab.recipe=$recipe" - "$image" >/dev/null
echo "built $image"
