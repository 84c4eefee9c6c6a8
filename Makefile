# Wharf: the two commands a newcomer needs are `make run` and `make test`.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run up test test-fast bench venv clean-data

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# The OSV feeds `make run` gives the scanning service, which imports them at start, when
# neither WHARF_SCANNING_OSV_FEED_DIR nor WHARF_SCANNING_OSV_FEED_URL is set and this
# folder exists. Relative to the repository root: the shared data beside the checkout.
OSV_FEED_DIR ?= ../shared/data/osv

## All-in-one mode: every service in one process, embedded PostgreSQL, in-memory bus.
## Builds the web front end first when its build is missing and npm is installed.
run: $(STAMP) web-build-if-missing
	@if [ -z "$${WHARF_SCANNING_OSV_FEED_DIR:-}$${WHARF_SCANNING_OSV_FEED_URL:-}" ] && [ -d "$(OSV_FEED_DIR)" ]; then \
	  export WHARF_SCANNING_OSV_FEED_DIR="$(abspath $(OSV_FEED_DIR))"; \
	  echo "OSV feeds: $$WHARF_SCANNING_OSV_FEED_DIR (imported at start when new or changed)"; \
	elif [ -z "$${WHARF_SCANNING_OSV_FEED_DIR:-}$${WHARF_SCANNING_OSV_FEED_URL:-}" ]; then \
	  echo "No OSV feeds at $(abspath $(OSV_FEED_DIR)): scans will report no vulnerabilities." \
	    "Set OSV_FEED_DIR=<folder> or WHARF_SCANNING_OSV_FEED_DIR."; \
	fi; \
	echo "$(PY) -m wharf run"; \
	exec $(PY) -m wharf run

## Distributed mode: each service its own process against the local PostgreSQL and RabbitMQ.
up: $(STAMP)
	$(PY) -m wharf up

## The whole test suite against the real PostgreSQL, RabbitMQ, registry and skopeo.
test: $(STAMP)
	$(PY) -m pytest

## Benchmarks; each writes its report under bench/reports/.
bench: $(STAMP)
	$(PY) -m pip install --quiet -r requirements-bench.txt
	for script in bench/*_bench.py; do $(PY) $$script || exit 1; done

## Remove the all-in-one mode's local data (embedded database, registry storage, media).
clean-data:
	rm -rf var

include web/web.mk
include deploy/deploy.mk
include wharf/demo/demo.mk
