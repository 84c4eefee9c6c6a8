"""Settings of the audit service, read from `WHARF_AUDIT_*` variables."""

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

# Publishers are promised that activity on their content is kept for no less than this.
MINIMUM_RETENTION_DAYS = 180


class AuditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_AUDIT_", env_file=".env", extra="ignore")

    # Days the activity log keeps a row after recording it. Whole monthly partitions are
    # dropped once every row in them is older than this, so rows live up to a month longer.
    retention_days: int = 365
    # Monthly partitions created ahead of the current month, so appends rarely need DDL.
    partitions_ahead: int = Field(default=2, ge=1, le=24)
    # Whether this process runs the scheduler; every replica may, safely.
    scheduler_enabled: bool = True
    # Seconds between scheduler passes (partitions, retention, due monthly reports).
    scheduler_interval: float = Field(default=300.0, gt=0)
    # Seconds after a month ends before the scheduler builds its reports, so that late
    # events (delayed pulls, billing's payout statement) are in. A report can always be
    # rebuilt on request afterwards.
    report_grace_period: float = Field(default=6 * 3600.0, ge=0)
    # Platform share of each sale net of tax, in basis points (2000 = 20 %). It must equal
    # billing's setting of the same name, or reports show a difference from the statement.
    platform_fee_basis_points: int = Field(default=2000, ge=0, le=10000)

    @field_validator("retention_days")
    @classmethod
    def _at_least_minimum(cls, value: int) -> int:
        check_retention_days(value)
        return value


def check_retention_days(days: int) -> None:
    """Raise ValueError for a retention shorter than the promised minimum."""
    if days < MINIMUM_RETENTION_DAYS:
        raise ValueError(
            f"retention_days {days} is too short: activity must be kept at least "
            f"{MINIMUM_RETENTION_DAYS} days"
        )
