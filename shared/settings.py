"""Settings common to every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEVELOPMENT_INTERNAL_TOKEN = "development-internal-token"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class PlatformSettings(BaseSettings):
    """Settings shared by all services, read from `WHARF_*` variables."""

    model_config = SettingsConfigDict(env_prefix="WHARF_", env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    log_level: str = "INFO"
    log_json: bool = True
    # When empty, the all-in-one mode uses its in-memory bus.
    amqp_url: str = ""
    # PostgreSQL server URL without a database name; each service appends its own database.
    # When empty, the all-in-one mode starts an embedded PostgreSQL.
    database_server_url: str = ""
    # Each service's database is named `<database_prefix>_<service>` on the server.
    database_prefix: str = "wharf"
    data_dir: str = "var"
    # RabbitMQ names: the topic exchange, and the prefix of every service's queues.
    amqp_exchange: str = "wharf.events"
    amqp_queue_prefix: str = "wharf"
    # Outbox relay: polling interval in seconds when no NOTIFY arrives, and batch size.
    outbox_poll_interval: float = 2.0
    outbox_batch_size: int = 100
    # Consumer retries: delays in seconds before each new attempt; then dead-letter.
    retry_delays: list[float] = Field(default_factory=lambda: [1.0, 5.0, 30.0])
    consumer_prefetch: int = 20
    # Base URL of the identity service's API; its JWKS is at `<url>/.well-known/jwks.json`.
    identity_url: str = "http://127.0.0.1:8080/api/identity"
    # Shared secret on service-to-service calls to `/internal/...` routes, which the
    # gateway never forwards. Refused in production while it is the development value.
    internal_token: str = DEVELOPMENT_INTERNAL_TOKEN
    # A file holding seconds to add to the system time: every service of every process
    # that reads it shares one adjustable clock, which demos and end-to-end tests move
    # past deadlines and month ends. Rejected in production.
    clock_offset_file: str = ""

    @model_validator(mode="after")
    def _reject_development_secrets(self) -> "PlatformSettings":
        if self.environment == Environment.PRODUCTION and self.internal_token == DEVELOPMENT_INTERNAL_TOKEN:
            raise ValueError("WHARF_INTERNAL_TOKEN must be set to a secret value in production")
        if self.environment == Environment.PRODUCTION and self.clock_offset_file:
            raise ValueError("WHARF_CLOCK_OFFSET_FILE must be empty in production: the clock is the system time")
        return self


class ServiceSettings(BaseSettings):
    """Base for each service's own settings (`WHARF_<SERVICE>_*`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Full SQLAlchemy URL of this service's database; derived from the platform's
    # database server URL when empty.
    database_url: str = ""
    # Database that read-only routes (such as store search) query, e.g. a streaming
    # replica of `database_url`; empty means `database_url` itself.
    read_database_url: str = ""
