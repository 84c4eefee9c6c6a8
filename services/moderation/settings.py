"""Settings of the moderation service, read from `WHARF_MODERATION_*` variables."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ModerationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_MODERATION_", env_file=".env", extra="ignore")

    # Time a publisher has to fix a finding on a published version, from the notification.
    critical_fix_hours: int = Field(default=72, ge=1)
    major_fix_hours: int = Field(default=7 * 24, ge=1)
    # Maximum length of a hold, in days; after it the listing is revoked.
    hold_max_days: int = Field(default=30, ge=1)
    # Seconds between two passes of the SLA scheduler, and rows each step claims per pass.
    scheduler_interval_seconds: float = Field(default=30.0, gt=0)
    scheduler_batch_size: int = Field(default=100, ge=1)
    # Run the SLA scheduler in this process; turn off on replicas that only serve the API.
    scheduler_enabled: bool = True
    # Seconds to wait for identity when checking that an assignee is a reviewer.
    identity_timeout_seconds: float = Field(default=10.0, gt=0)
