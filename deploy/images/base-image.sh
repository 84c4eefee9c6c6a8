#!/usr/bin/env bash
# Build the local Debian bookworm base image that the service images build on when no
# public registry is reachable: a debootstrap root filesystem with Debian's python3 and
# python3-venv, committed as one layer with `buildah from scratch`.
#
# The root filesystem and an OCI archive of the image are cached under
# ${WHARF_CACHE_DIR:-$HOME/.cache/wharf}/base-image, so a second run takes seconds.
set -euo pipefail

image="${WHARF_BASE_IMAGE:-localhost/wharf-base:bookworm}"
mirror="${WHARF_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
storage=(--storage-driver "${BUILDAH_STORAGE_DRIVER:-vfs}")
cache="${WHARF_CACHE_DIR:-$HOME/.cache/wharf}/base-image"
rootfs_tar="$cache/rootfs-bookworm.tar"
archive="$cache/wharf-base-bookworm.oci.tar"

for command in buildah debootstrap; do
  if ! command -v "$command" >/dev/null; then
    echo "$command is missing: apt-get install $command" >&2
    exit 1
  fi
done
if [ "$(id -u)" != 0 ]; then
  echo "debootstrap and buildah's chroot isolation need root; run as root" >&2
  exit 1
fi

if buildah "${storage[@]}" inspect --type image "$image" >/dev/null 2>&1; then
  echo "$image is already in buildah's storage"
  exit 0
fi

mkdir -p "$cache"
if [ -f "$archive" ]; then
  echo "Loading $image from $archive"
  buildah "${storage[@]}" pull --quiet "oci-archive:$archive:$image" >/dev/null
  exit 0
fi

if [ ! -f "$rootfs_tar" ]; then
  rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  echo "Running debootstrap (minbase bookworm with python3 and python3-venv) from $mirror"
  debootstrap --variant=minbase --include=python3,python3-venv bookworm "$rootfs" "$mirror"

  # Leave no package-manager caches or package lists in the image: the store's
  # best-practice checks flag them, and they go stale the day the image is built.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
         "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/* "$rootfs"/tmp/*
  # A machine id belongs to a running system, not to an image.
  : >"$rootfs/etc/machine-id"

  tar --numeric-owner --xattrs -C "$rootfs" -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
fi

echo "Committing $image"
container="$(buildah "${storage[@]}" from scratch)"
trap 'buildah "${storage[@]}" rm "$container" >/dev/null 2>&1 || true' EXIT
buildah "${storage[@]}" add "$container" "$rootfs_tar" /
buildah "${storage[@]}" config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env LANG=C.UTF-8 \
  --cmd /bin/bash \
  --label name=wharf-base \
  --label vendor=Wharf \
  --label summary="Debian bookworm with python3 and python3-venv" \
  --label description="Local base image of the Wharf service images, built with debootstrap." \
  "$container"
buildah "${storage[@]}" commit --quiet --squash "$container" "$image" >/dev/null
buildah "${storage[@]}" push --quiet "$image" "oci-archive:$archive.partial:$image"
mv "$archive.partial" "$archive"
echo "Built $image (cached in $archive)"
