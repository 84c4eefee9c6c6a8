"""Settings of the catalog service, read from `WHARF_CATALOG_*` variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_CATALOG_", env_file=".env", extra="ignore")
