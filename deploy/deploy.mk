# Image and deployment targets; the main Makefile includes this file.
# The image builds take minutes, so `make test` never runs them.

WHARF_CACHE_DIR ?= $(HOME)/.cache/wharf
BASE_IMAGE ?= localhost/wharf-base:bookworm
export WHARF_CACHE_DIR BASE_IMAGE

.PHONY: base-image images dogfood k8s-render compose-config

## Local Debian bookworm base (debootstrap, Debian's python3 and python3-venv), cached
## under $(WHARF_CACHE_DIR)/base-image. Needs root, debootstrap and buildah.
base-image:
	WHARF_BASE_IMAGE=$(BASE_IMAGE) deploy/images/base-image.sh

## Every service image, the gateway's included, with buildah (no Docker engine), on
## BASE_IMAGE: the local base by default, e.g. BASE_IMAGE=python:3.11-slim-bookworm.
images:
	deploy/images/build.sh

## Push every image to a registry on 127.0.0.1 and scan it with Wharf's own scanner;
## writes deploy/images/dogfood-report.md and fails when a best-practice check fails.
dogfood: images $(STAMP)
	PYTHON=$(PY) deploy/images/dogfood.sh

## Print both Kubernetes overlays as kubectl would apply them.
k8s-render:
	kubectl kustomize deploy/k8s/overlays/development
	kubectl kustomize deploy/k8s/overlays/production

## Validate docker-compose.yml with .env (copy .env.example first).
compose-config:
	docker compose config -q 2>/dev/null || docker-compose config -q
