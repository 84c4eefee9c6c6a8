"""Settings of the scanning service, read from `WHARF_SCANNING_*` variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ScanningSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_SCANNING_", env_file=".env", extra="ignore")
