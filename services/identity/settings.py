"""Settings of the identity service, read from `WHARF_IDENTITY_*` variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_IDENTITY_", env_file=".env", extra="ignore")
