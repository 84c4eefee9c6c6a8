#!/usr/bin/env bash
# Build every service image (the gateway included) with buildah, without a Docker engine.
#
#   deploy/images/build.sh [SERVICE...]
#
# BASE_IMAGE picks the base (default: the local Debian base of `make base-image`, built
# first when missing); WHARF_VERSION tags the images (default: the version in
# pyproject.toml). Images are tagged localhost/wharf-<service>:<version>.
set -euo pipefail
cd "$(dirname "$0")/../.."

local_base="localhost/wharf-base:bookworm"
base_image="${BASE_IMAGE:-$local_base}"
version="${WHARF_VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)}"
storage=(--storage-driver "${BUILDAH_STORAGE_DRIVER:-vfs}")

if ! command -v buildah >/dev/null; then
  echo "buildah is missing: apt-get install buildah" >&2
  exit 1
fi
if [ "$base_image" = "$local_base" ]; then
  WHARF_BASE_IMAGE="$local_base" deploy/images/base-image.sh
fi

# Builds here reach PyPI through the host's trust store, which may hold a proxy's CA that
# the base image lacks: mount the host's bundle for the RUN steps (never into a layer).
ca_bundle="${WHARF_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
trust=()
if [ -f "$ca_bundle" ]; then
  trust=(--volume "$ca_bundle:/run/wharf-build/ca-certificates.crt:ro"
         --build-arg "PIP_CERT=/run/wharf-build/ca-certificates.crt")
fi

if (($#)); then
  services=("$@")
else
  services=()
  for dockerfile in services/*/Dockerfile; do
    services+=("$(basename "$(dirname "$dockerfile")")")
  done
fi

for service in "${services[@]}"; do
  if [ "$service" = gateway ] && [ ! -f web/dist/index.html ]; then
    if command -v npm >/dev/null; then
      make --no-print-directory web-build
    else
      echo "npm is missing, so the gateway image is built without the web front end (install Node.js 20 and npm)" >&2
    fi
  fi
  if [ ! -f "services/$service/Dockerfile" ]; then
    echo "No Dockerfile for service '$service' (expected services/$service/Dockerfile)" >&2
    exit 1
  fi
  echo "Building localhost/wharf-$service:$version on $base_image"
  # --layers caches the build stage, which is the same in every Dockerfile, so only the
  # first image pays for the dependency install.
  # The docker format, because the OCI image format has no HEALTHCHECK.
  buildah "${storage[@]}" bud --isolation chroot --layers --quiet --format docker \
    --build-arg "BASE_IMAGE=$base_image" \
    --build-arg "WHARF_VERSION=$version" \
    "${trust[@]}" \
    -f "services/$service/Dockerfile" \
    -t "localhost/wharf-$service:$version" \
    . >/dev/null
done
echo "Built: ${services[*]} (tag $version)"
