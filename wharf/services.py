"""The services the launchers start, and where their app factories live."""

from __future__ import annotations

import importlib
from types import ModuleType

from services.gateway.app import SERVICES

# Ports of the distributed mode on one machine; the gateway stays on 8080.
DISTRIBUTED_PORTS = {name: 8101 + index for index, name in enumerate(SERVICES)}


def service_module(service: str) -> ModuleType:
    """Import `services.<service>.app`, which defines `SPEC` and `create_app`."""
    if service not in SERVICES:
        raise SystemExit(f"Unknown service {service!r}; choose one of: {', '.join(SERVICES)}")
    return importlib.import_module(f"services.{service}.app")
