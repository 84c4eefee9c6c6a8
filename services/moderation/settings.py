"""Settings of the moderation service, read from `WHARF_MODERATION_*` variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ModerationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_MODERATION_", env_file=".env", extra="ignore")
