# Web front end: the single-page app in web/, served by the gateway at /.
# Included by the top-level Makefile; needs Node.js 20 and npm 11 (npm ci).

WEB := web
WEB_DEPS := $(WEB)/node_modules/.package-lock.json
WEB_DIST := $(WEB)/dist/index.html
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json

.PHONY: web-deps web-build web-build-if-missing web-client web-client-check web-test web-e2e

# npm writes node_modules/.package-lock.json on every install, so it marks a finished one.
$(WEB_DEPS): $(WEB)/package.json $(WEB)/package-lock.json
	npm ci --prefix $(WEB) --no-audit --no-fund

web-deps: $(WEB_DEPS)

$(WEB_DIST): $(WEB_DEPS) $(WEB_SOURCES)
	npm run --prefix $(WEB) build

## Build the front end into web/dist (type check, then bundle).
web-build: $(WEB_DIST)

## For `make run`: build when no build exists and npm is installed; else serve the API alone.
web-build-if-missing:
	@if [ -f $(WEB_DIST) ]; then :; \
	elif command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory web-build; \
	else echo "npm not found: serving the API only (install Node.js 20 and npm, then run make web-build)"; fi

## Regenerate the typed API client from the services' merged OpenAPI document.
web-client: $(STAMP) $(WEB_DEPS)
	$(PY) $(WEB)/scripts/export_openapi.py $(WEB)/src/api/openapi.json
	cd $(WEB) && npx openapi-typescript src/api/openapi.json -o src/api/schema.d.ts

## Fail when the committed client differs from what web-client would generate.
web-client-check: $(STAMP) $(WEB_DEPS)
	$(PY) -m pytest -q tests/web/test_api_client.py

## Vitest unit tests and the type check.
web-test: $(WEB_DEPS)
	cd $(WEB) && npx tsc -b && npx vitest run

## The browser journey against `python -m wharf run`, in Debian's chromium.
web-e2e: $(STAMP) $(WEB_DEPS)
	$(PY) -m pytest -q tests/web/test_browser_journey.py

# bench/web_bench.py, one of the scripts `make bench` runs, builds the app with Vite.
bench: $(WEB_DEPS)
