"""Merge every service's OpenAPI document into one, under the gateway's paths."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from services.gateway.proxy import Upstreams

log = structlog.get_logger()

REF_PREFIX = "#/components/schemas/"


def _rename_refs(node: Any, service: str) -> Any:
    if isinstance(node, dict):
        renamed = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                renamed[key] = f"{REF_PREFIX}{service}.{value[len(REF_PREFIX):]}"
            else:
                renamed[key] = _rename_refs(value, service)
        return renamed
    if isinstance(node, list):
        return [_rename_refs(item, service) for item in node]
    return node


def merge_documents(documents: dict[str, dict[str, Any]], *, title: str, version: str) -> dict[str, Any]:
    """Prefix paths with `/api/<service>`, operation ids and schema names with the service.

    Schema names are namespaced (`catalog.Product`) because two services may both
    define, say, `Page`; operation ids become `<service>_<id>` unless they already are.
    """
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "The public API of every Wharf service, behind one gateway.",
        },
        "paths": {},
        "components": {
            "schemas": {},
            # Services read the access token themselves; declaring the scheme here gives
            # the interactive docs an Authorize button.
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "security": [{}, {"bearerAuth": []}],
        "tags": [],
    }
    for service, document in sorted(documents.items()):
        document = _rename_refs(document, service)
        for path, item in document.get("paths", {}).items():
            if path.startswith("/internal"):
                continue
            for operation in item.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    operation_id = operation["operationId"]
                    if not operation_id.startswith(f"{service}_"):
                        operation["operationId"] = f"{service}_{operation_id}"
            merged["paths"][f"/api/{service}{path}"] = item
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            merged["components"]["schemas"][f"{service}.{name}"] = schema
        merged["tags"].append({"name": service, "description": document.get("info", {}).get("description", "")})
    return merged


class OpenApiCache:
    def __init__(self, upstreams: Upstreams, *, ttl: float, title: str, version: str) -> None:
        self.upstreams = upstreams
        self.ttl = ttl
        self.title = title
        self.version = version
        self._document: dict[str, Any] | None = None
        self._built_at = 0.0
        self._missing: list[str] = []

    async def document(self) -> dict[str, Any]:
        if self._document is None or self._missing or time.monotonic() - self._built_at > self.ttl:
            await self._build()
        return self._document

    async def _build(self) -> None:
        async def fetch(service: str) -> tuple[str, dict | None]:
            try:
                response = await self.upstreams.client(service).get("/openapi.json")
                response.raise_for_status()
                return service, response.json()
            except Exception as exc:
                log.warning("gateway.openapi.fetch_failed", upstream=service, error=repr(exc))
                return service, None

        results = await asyncio.gather(*(fetch(name) for name in self.upstreams.names))
        documents = {service: doc for service, doc in results if doc is not None}
        self._missing = [service for service, doc in results if doc is None]
        merged = merge_documents(documents, title=self.title, version=self.version)
        if self._missing:
            merged["info"]["description"] += " Missing (unreachable): " + ", ".join(self._missing) + "."
        self._document = merged
        self._built_at = time.monotonic()
