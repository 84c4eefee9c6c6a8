"""Settings of the gateway, read from `WHARF_GATEWAY_*` variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_GATEWAY_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    # Service name -> base URL, for the distributed mode, e.g.
    # {"identity": "http://127.0.0.1:8101"}. The all-in-one mode routes in process.
    upstreams: dict[str, str] = Field(default_factory=dict)
    # Largest request body forwarded, in bytes. Media uploads are the biggest bodies.
    max_body_bytes: int = 20 * 1024 * 1024
    connect_timeout: float = 3.0
    # Seconds an upstream may take to respond. Scans and promotions run in the
    # background, so no route needs longer.
    read_timeout: float = 30.0
    max_connections: int = 100
    cors_origins: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:5173", "http://localhost:5173"])
    # Seconds the merged OpenAPI document is cached before the services are asked again.
    openapi_cache_seconds: float = 30.0
