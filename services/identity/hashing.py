"""Password hashes (argon2id) and digests of the random secrets handed out as tokens."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class PasswordHashing:
    """argon2id hashing with the configured cost, run in a thread off the event loop."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        # Hash of a random password, verified when a login names no known account so
        # that both cases take the same time.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Check `password` against `password_hash`; with no hash, spend the same time and fail."""
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            matches = self._hasher.verify(password_hash or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return matches and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """Return whether the hash was made with other parameters than the configured ones."""
        return self._hasher.check_needs_rehash(password_hash)


def new_secret(prefix: str = "") -> str:
    """Return a random URL-safe secret with 256 bits of entropy."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    """SHA-256 of a high-entropy secret, the form in which it is stored and looked up.

    A plain hash is enough here because the secrets are random, not chosen by people.
    """
    return hashlib.sha256(secret.encode()).digest()
