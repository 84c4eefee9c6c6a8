"""The services the launchers start, and where their app factories live."""

from __future__ import annotations

import importlib
from types import ModuleType

from services.gateway.app import SERVICES

def distributed_ports(base_port: int = 8101) -> dict[str, int]:
    """Ports of the distributed mode on one machine: consecutive from `base_port`."""
    return {name: base_port + index for index, name in enumerate(SERVICES)}


def service_module(service: str) -> ModuleType:
    """Import `services.<service>.app`, which defines `SPEC` and `create_app`."""
    if service not in SERVICES:
        raise SystemExit(f"Unknown service {service!r}; choose one of: {', '.join(SERVICES)}")
    return importlib.import_module(f"services.{service}.app")
