"""Settings of the billing service, read from `WHARF_BILLING_*` variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_BILLING_", env_file=".env", extra="ignore")
