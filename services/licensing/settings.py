"""Settings of the licensing service, read from `WHARF_LICENSING_*` variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class LicensingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_LICENSING_", env_file=".env", extra="ignore")
