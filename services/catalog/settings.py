"""Settings of the catalog service, read from `WHARF_CATALOG_*` variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_CATALOG_", env_file=".env", extra="ignore")

    # Folder of uploaded images for the local storage; empty means `<WHARF_DATA_DIR>/catalog/media`.
    media_dir: str = ""
    # Largest accepted upload, in bytes.
    max_image_bytes: int = 5 * 1024 * 1024
    # Largest accepted image area, in pixels; larger images are refused before decoding,
    # which is what stops decompression bombs (a few kilobytes that decode to gigabytes).
    max_image_pixels: int = 25_000_000
    # Smallest side of the square publisher logo, in pixels.
    min_logo_side: int = 512
    # Registry host shown in pull commands, e.g. `registry.example.com`.
    registry_address: str = "localhost:5000"
    # Cache lifetime of published media, in seconds; media ids never change content.
    media_max_age: int = 31_536_000
    # How long facet counts of searches without words are reused, in seconds; 0 turns the cache off.
    facet_cache_seconds: float = 10.0
