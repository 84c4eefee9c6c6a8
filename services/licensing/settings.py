"""Settings of the licensing service, read from `WHARF_LICENSING_*` variables."""

from pathlib import Path

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

DEVELOPMENT_NOTIFICATIONS_SECRET = "development-registry-notifications-secret"


class LicensingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_LICENSING_", env_file=".env", extra="ignore")

    # Folder for the signing keys, the generated registry config and the registry's
    # storage. Empty: `<WHARF_DATA_DIR>/licensing`.
    data_dir: str = ""

    # The registry process started from the Debian package `docker-registry`.
    registry_binary: str = "/usr/bin/docker-registry"
    registry_host: str = "127.0.0.1"
    registry_port: int = 5000
    # Start and stop the registry with this service (the all-in-one mode); otherwise the
    # launcher calls `registry_process.start_registry` or runs `registry:2` itself.
    registry_managed: bool = False
    # Base URL this service uses for the registry HTTP API (promotion). Empty:
    # `http://<registry_host>:<registry_port>`.
    registry_url: str = ""

    # Token authentication. `token_service` is the registry's `auth.token.service` and the
    # tokens' `aud`; `token_issuer` is its `auth.token.issuer` and the tokens' `iss`.
    token_service: str = "wharf-registry"
    token_issuer: str = "wharf-licensing"
    # Where Docker clients fetch tokens: this service's `GET /token`, as clients reach it.
    token_realm: str = "http://127.0.0.1:8080/api/licensing/token"
    token_ttl_seconds: int = 300
    # PEM files of a configured signing key and its certificate. Empty: a key and a
    # self-signed certificate are generated under `<data_dir>/keys` on first start.
    signing_key_file: str = ""
    signing_certificate_file: str = ""

    # Registry notifications: where the registry posts its events and the secret it sends
    # in the `Authorization: Bearer <secret>` header.
    notifications_url: str = "http://127.0.0.1:8080/api/licensing/registry/notifications"
    notifications_secret: str = DEVELOPMENT_NOTIFICATIONS_SECRET
    # Limits of one notification request, in events and in bytes. A request from
    # Distribution carries what the registry wrote to its queue at once, not a backlog:
    # the 2.x event queue posts each write as its own request (notifications/sinks.go),
    # and the 3.x HTTP sink posts one event per request (notifications/http.go).
    notifications_max_events: int = 100
    notifications_max_body_bytes: int = 1024 * 1024

    # The account other services (scanning) log in with, with the platform's internal
    # token as its password; it may pull from staging and store repositories.
    service_account: str = "wharf-service"
    # Seconds a successful credential check by identity is reused for the same username
    # and secret. With 0, every token request calls identity. A revoked personal access token
    # can keep working for at most this long unless its revocation event arrives first.
    credential_cache_seconds: float = 10.0
    # Seconds to wait for identity's credential check and for each registry API call.
    http_timeout_seconds: float = 10.0

    @model_validator(mode="after")
    def _require_notifications_secret(self) -> "LicensingSettings":
        if not self.notifications_secret:
            raise ValueError("WHARF_LICENSING_NOTIFICATIONS_SECRET must not be empty")
        return self

    def resolved_data_dir(self, platform_data_dir: str) -> Path:
        return Path(self.data_dir) if self.data_dir else Path(platform_data_dir) / "licensing"

    def resolved_registry_url(self) -> str:
        if self.registry_url:
            return self.registry_url.rstrip("/")
        return f"http://{self.registry_host}:{self.registry_port}"
