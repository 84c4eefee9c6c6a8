"""Settings of the notifications service, read from `WHARF_NOTIFICATIONS_*` variables."""

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

DEVELOPMENT_LINK_SECRET = "development-notifications-link-secret"


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_NOTIFICATIONS_", env_file=".env", extra="ignore")

    # SMTP server for outgoing email. When empty, messages go to the local mailbox table,
    # which staff list through `GET /mailbox`.
    smtp_host: str = ""
    smtp_port: int = 587
    # "starttls" upgrades the connection and fails if the server cannot. "tls" connects
    # with implicit TLS (usually port 465). "none" sends in plain text.
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "Wharf <notifications@wharf.localhost>"
    # Name sent in EHLO. When empty, aiosmtplib sends the machine's name (socket.getfqdn()).
    smtp_helo_hostname: str = ""

    # Public address of this service's API, used in unsubscribe links.
    api_url: str = "http://127.0.0.1:8080/api/notifications"
    # Public address of the store's web pages, used for product and account links.
    store_url: str = "http://127.0.0.1:8080"
    # Key for signed unsubscribe links. Refused in production while it is the default.
    link_secret: SecretStr = SecretStr(DEVELOPMENT_LINK_SECRET)

    # Outside production only: let anyone read the local mailbox without signing in, so
    # development tools can follow verification links. Refused in production.
    mailbox_open_read: bool = False

    # Dispatcher: seconds between passes over due messages, and messages per pass.
    dispatch_interval_seconds: float = 2.0
    dispatch_batch_size: int = 50
    # Run the dispatcher as a background task. Tests turn it off and dispatch by hand.
    dispatcher_enabled: bool = True
    # A message claimed by a dispatcher that died is claimed again after this many seconds.
    dispatch_lease_seconds: float = 300.0

    # Delays in seconds before each new attempt after a failed delivery. When they run
    # out, the message is marked failed.
    email_retry_delays: list[float] = Field(default_factory=lambda: [60.0, 300.0, 1800.0, 7200.0])
    webhook_retry_delays: list[float] = Field(
        default_factory=lambda: [30.0, 120.0, 600.0, 3600.0, 14400.0, 43200.0]
    )
    # A webhook is disabled after this many failed attempts in a row.
    webhook_disable_after_failures: int = 15
    webhook_timeout_seconds: float = 10.0
    # Let publishers register webhooks on loopback, private, link-local and other
    # non-public addresses. Cloud metadata addresses stay refused even then.
    webhook_allow_private_addresses: bool = False

    # Per-recipient email rate limit: at most `rate_limit_count` emails to one address in
    # any `rate_limit_window_seconds`. Later ones wait until the window has room.
    rate_limit_count: int = 20
    rate_limit_window_seconds: float = 3600.0
