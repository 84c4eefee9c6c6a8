"""Errors raised while pulling and deconstructing an image.

Each error names the value at fault. `code` is a stable identifier that the service maps to
a problem+json `type` and stores on a failed scan.
"""

from __future__ import annotations


class InventoryError(Exception):
    """Base of every error that fails a scan because of its input."""

    code = "inventory-error"


class ReferenceRejected(InventoryError):
    """An image reference is malformed or names a registry other than the store's."""

    code = "reference-rejected"


class RegistryError(InventoryError):
    """The registry returned an error or something that is not an image."""

    code = "registry-error"


class ManifestRejected(InventoryError):
    """A manifest is of a kind the scanner does not accept (schema 1, foreign layers, ...)."""

    code = "manifest-rejected"


class DigestMismatch(InventoryError):
    """Content does not hash to the digest that names it."""

    code = "digest-mismatch"


class CorruptLayer(InventoryError):
    """A layer is truncated or is not valid gzip, zstd or tar."""

    code = "corrupt-layer"


class UnsafePath(InventoryError):
    """A tar entry's name or hard link target leaves the image root."""

    code = "unsafe-path"


class ArchiveRejected(InventoryError):
    """An uploaded archive is neither `docker save` output nor an OCI image layout."""

    code = "archive-rejected"


class LimitExceeded(InventoryError):
    """An image exceeds one of the configured safety limits."""

    code = "limit-exceeded"

    def __init__(self, limit: str, maximum: int, subject: str = "") -> None:
        self.limit = limit
        self.maximum = maximum
        where = f" at {subject}" if subject else ""
        super().__init__(
            f"safety limit {limit}={maximum} exceeded{where}; "
            f"raise {limit} in the scanner settings if this image is legitimate"
        )
