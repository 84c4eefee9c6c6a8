"""Settings of the audit service, read from `WHARF_AUDIT_*` variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_AUDIT_", env_file=".env", extra="ignore")
