#!/usr/bin/env bash
# Push every image to a registry started here on 127.0.0.1 and scan it with Wharf's
# own scanner (deploy/images/dogfood.py). Run `make images` first.
set -euo pipefail
cd "$(dirname "$0")/../.."

python="${PYTHON:-.venv/bin/python}"
version="${WHARF_VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)}"
port="${WHARF_DOGFOOD_REGISTRY_PORT:-5055}"
storage=(--storage-driver "${BUILDAH_STORAGE_DRIVER:-vfs}")
registry_binary="${WHARF_REGISTRY_BINARY:-/usr/bin/docker-registry}"

if [ ! -x "$registry_binary" ]; then
  echo "The registry is missing: apt-get install docker-registry" >&2
  exit 1
fi
services=()
for dockerfile in services/*/Dockerfile; do
  services+=("$(basename "$(dirname "$dockerfile")")")
done

work="$(mktemp -d)"
cat >"$work/config.yml" <<CONFIG
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $work/storage}
http: {addr: 127.0.0.1:$port}
CONFIG
"$registry_binary" serve "$work/config.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.2
done

for service in "${services[@]}"; do
  echo "Pushing wharf/$service:$version to 127.0.0.1:$port"
  buildah "${storage[@]}" push --quiet --tls-verify=false \
    "localhost/wharf-$service:$version" "docker://127.0.0.1:$port/wharf/$service:$version"
done

feeds=()
if [ -n "${WHARF_DOGFOOD_FEEDS:-}" ]; then
  feeds=(--feeds "$WHARF_DOGFOOD_FEEDS")
fi
"$python" deploy/images/dogfood.py --registry "http://127.0.0.1:$port" --version "$version" "${feeds[@]}" "${services[@]}"
