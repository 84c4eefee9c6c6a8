"""Password hashes (argon2id) and digests of the random secrets handed out as tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults follow RFC 9106's second recommended profile (argon2id,
# 64 MiB, 3 passes).
_hasher = PasswordHasher()

# Hash of a random password, verified when a login names no known account so that
# both cases take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check `password` against `password_hash`; with no hash, spend the same time and fail."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_secret(prefix: str = "") -> str:
    """Return a random URL-safe secret with 256 bits of entropy."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    """SHA-256 of a high-entropy secret, the form in which it is stored and looked up.

    A plain hash is enough here because the secrets are random, not chosen by people.
    """
    return hashlib.sha256(secret.encode()).digest()
