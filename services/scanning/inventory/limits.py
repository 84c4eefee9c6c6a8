"""Safety limits that bound the work and memory one image can cost.

Images are hostile input: a small gzip stream can expand to terabytes and a tar can hold
millions of entries. Every limit is checked while streaming, and exceeding one raises
`LimitExceeded` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.scanning.inventory.errors import LimitExceeded

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True, slots=True)
class Limits:
    """Configurable maximums for one scan. Sizes are in bytes."""

    # Distribution itself rejects manifests over 4 MiB.
    max_manifest_bytes: int = 4 * MiB
    max_config_bytes: int = 8 * MiB
    # The overlay filesystem driver stacks at most about 128 lower layers.
    max_layers: int = 128
    # Sum over all layers of the uncompressed tar streams.
    max_decompressed_bytes: int = 16 * GiB
    # Sum over all layers of tar entries, whiteouts included.
    max_entries: int = 2_000_000
    # One file read into memory by an analyser, and the files nested in it (jars in jars).
    max_file_bytes: int = 512 * MiB

    def check(self, limit: str, value: int, subject: str = "") -> None:
        """Raise `LimitExceeded` if `value` is over the limit named `limit`."""
        maximum = getattr(self, limit)
        if value > maximum:
            raise LimitExceeded(limit, maximum, subject)
