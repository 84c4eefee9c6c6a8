# `make demo`: the main journey on a fresh all-in-one store, in one process.
# The Makefile includes this file; it uses the Makefile's $(PY) and $(STAMP).
#   make demo DEMO_ARGS=--keep-running   leave the store up afterwards (Ctrl-C stops it)
#   make demo DEMO_ARGS="--port 8090"    serve the gateway on a chosen port
# WHARF_DEMO_OSV_DIR names the folder of OSV exports to import (see the README).

.PHONY: demo
demo: $(STAMP)
	$(PY) -m wharf.demo $(DEMO_ARGS)
