"""Settings of the scanning service, read from `WHARF_SCANNING_*` variables."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from services.scanning.inventory.limits import Limits
from shared.settings import ServiceSettings

_DEFAULT_LIMITS = Limits()


class ScanningSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_SCANNING_", env_file=".env", extra="ignore")

    # The store's registry. The scanner contacts no other host, except the token service
    # hosts listed in `token_realm_hosts` (host:port) when they run elsewhere.
    registry_url: str = "http://127.0.0.1:5000"
    # Other host[:port] names of the same registry, e.g. the public name that publishers
    # and the catalog write in references while the scanner reaches it internally.
    registry_aliases: list[str] = []
    token_realm_hosts: list[str] = []
    # Credentials the scanner presents to the registry's token service; empty for none.
    registry_username: str = ""
    registry_password: SecretStr = SecretStr("")
    # Repositories that publishers may ask to scan start with `<staging_prefix>/<namespace>/`.
    staging_prefix: str = "staging"

    # Uploaded archives wait here until scanned; relative paths are under the working
    # directory. Uploads larger than `max_upload_bytes` are rejected with 413.
    storage_dir: str = "var/scanning"
    max_upload_bytes: int = 4 * 1024 * 1024 * 1024

    # Import the configured OSV feeds in the background at start, when none was imported
    # yet or a feed's files changed since its last import. Unset, it is on when
    # WHARF_SCANNING_OSV_FEED_DIR is set.
    import_feeds_at_start: bool | None = None

    # Seconds between polls of the scan queue when no new scan was signalled.
    worker_poll_interval: float = 2.0
    # Seconds a claimed scan may run before another worker may take it over.
    lease_seconds: float = 900.0
    # Attempts for scans failing on registry outages before they are failed for good.
    max_attempts: int = 5

    # Safety limits for one image; sizes in bytes.
    max_manifest_bytes: int = _DEFAULT_LIMITS.max_manifest_bytes
    max_config_bytes: int = _DEFAULT_LIMITS.max_config_bytes
    max_layers: int = _DEFAULT_LIMITS.max_layers
    max_decompressed_bytes: int = _DEFAULT_LIMITS.max_decompressed_bytes
    max_entries: int = _DEFAULT_LIMITS.max_entries
    max_file_bytes: int = _DEFAULT_LIMITS.max_file_bytes

    def limits(self) -> Limits:
        return Limits(
            max_manifest_bytes=self.max_manifest_bytes,
            max_config_bytes=self.max_config_bytes,
            max_layers=self.max_layers,
            max_decompressed_bytes=self.max_decompressed_bytes,
            max_entries=self.max_entries,
            max_file_bytes=self.max_file_bytes,
        )

    @property
    def registry_host(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.registry_url).netloc.lower()
