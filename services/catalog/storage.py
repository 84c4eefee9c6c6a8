"""Storage of uploaded images: a small interface and its local-folder implementation."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[a-z0-9][a-z0-9/._-]{0,199}\Z")


class MediaStorage(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing nothing: keys are unique per upload."""
        ...

    async def get(self, key: str) -> bytes:
        """Return the bytes stored under `key`; raise FileNotFoundError when absent."""
        ...


class LocalMediaStorage:
    """Files in one folder; writes go to a temporary name first, so readers never see half a file."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        # Keys are built by the service, but the check keeps a bad key from escaping the folder.
        if not _KEY.match(key) or ".." in key:
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, path)
