"""Settings of the identity service, read from `WHARF_IDENTITY_*` variables."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import Environment, ServiceSettings

DEVELOPMENT_KEY_ENCRYPTION_SECRET = "development-key-encryption-secret"
DEVELOPMENT_LINK_SIGNING_SECRET = "development-link-signing-secret"
MIN_SECRET_LENGTH = 32


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_IDENTITY_", env_file=".env", extra="ignore")

    # The platform-wide environment (`WHARF_ENVIRONMENT`), read here so that these
    # settings can reject development secrets in production on their own.
    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        validation_alias=AliasChoices("WHARF_ENVIRONMENT", "environment"),
    )

    # Password of the private signing keys, stored in the database as encrypted PKCS#8.
    key_encryption_secret: SecretStr = SecretStr(DEVELOPMENT_KEY_ENCRYPTION_SECRET)
    # HMAC-SHA256 key of the email-verification and password-reset links.
    link_signing_secret: SecretStr = SecretStr(DEVELOPMENT_LINK_SIGNING_SECRET)

    # Base of the links sent by email; the gateway serves identity at /api/identity.
    public_base_url: str = "http://127.0.0.1:8080"

    # argon2id cost. The defaults are the second recommended option of RFC 9106:
    # 3 passes, 64 MiB and 4 lanes. Raise them on fast hardware, but do not lower them
    # in production. Stored hashes with other parameters are upgraded at the next login.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=8)
    password_hash_parallelism: int = Field(default=4, ge=1)

    # Lifetimes, in seconds.
    access_token_ttl: int = Field(default=900, ge=60)
    refresh_token_ttl: int = Field(default=30 * 86400, ge=300)
    verification_link_ttl: int = Field(default=2 * 86400, ge=300)
    password_reset_link_ttl: int = Field(default=3600, ge=300)
    invitation_ttl: int = Field(default=7 * 86400, ge=3600)
    # Retired public keys stay in the JWKS this long after the access-token lifetime,
    # so that verifiers with a clock slightly behind still accept the last tokens.
    key_retention_margin: int = Field(default=300, ge=0)

    # Login lockout: after `*_max_failures` failed attempts within `failure_window`
    # seconds, the account or client address is locked for `lockout_base` seconds,
    # doubled with each further lockout up to `lockout_max`.
    account_max_failures: int = Field(default=5, ge=1)
    address_max_failures: int = Field(default=20, ge=1)
    failure_window: int = Field(default=900, ge=1)
    lockout_base: int = Field(default=60, ge=1)
    lockout_max: int = Field(default=3600, ge=1)
    # Quiet time, in seconds, after which the lockout count starts from zero again.
    lockout_reset_after: int = Field(default=86400, ge=1)

    # Request header that carries the client address added by the gateway; its last entry
    # is used. Set it empty when clients reach identity without the gateway, because a
    # client could then forge the header. Empty means the TCP peer address.
    client_address_header: str = "X-Forwarded-For"

    # The first admin, created on start-up when no user of that name exists.
    bootstrap_admin_username: str = ""
    bootstrap_admin_email: str = ""
    bootstrap_admin_password: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _reject_development_secrets(self) -> "IdentitySettings":
        if self.environment == Environment.PRODUCTION:
            self.require_production_secrets()
        return self

    def require_production_secrets(self) -> None:
        """Raise ValueError when a secret is missing, short or the development value."""
        secrets = {
            "WHARF_IDENTITY_KEY_ENCRYPTION_SECRET": (
                self.key_encryption_secret.get_secret_value(),
                DEVELOPMENT_KEY_ENCRYPTION_SECRET,
            ),
            "WHARF_IDENTITY_LINK_SIGNING_SECRET": (
                self.link_signing_secret.get_secret_value(),
                DEVELOPMENT_LINK_SIGNING_SECRET,
            ),
        }
        for variable, (value, development_value) in secrets.items():
            if value == development_value or len(value) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"{variable} must be set to a random secret of at least "
                    f"{MIN_SECRET_LENGTH} characters in production"
                )
