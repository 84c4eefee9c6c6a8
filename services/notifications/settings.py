"""Settings of the notifications service, read from `WHARF_NOTIFICATIONS_*` variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_NOTIFICATIONS_", env_file=".env", extra="ignore")
