"""Signed, expiring tokens for the links sent by email (email verification, password reset).

A token is `<payload>.<signature>`: the payload names the purpose, the user, the expiry
and a stamp of the state the link is for, and the signature is an HMAC-SHA256 over it.
The stamp makes a link single-use without storing it: a reset link stamps the current
password hash, so it stops working once the password changes, and a verification link
stamps the address it verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from services.identity.settings import IdentitySettings
from shared.errors import InvalidValue

EMAIL_VERIFICATION = "verify-email"
PASSWORD_RESET = "reset-password"


@dataclass(frozen=True)
class LinkClaims:
    user_id: uuid.UUID
    stamp: str
    expires_at: datetime


def stamp_of(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(settings: IdentitySettings, payload: str) -> str:
    key = settings.link_signing_secret.get_secret_value().encode()
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def sign(settings: IdentitySettings, purpose: str, user_id: uuid.UUID, stamp: str, expires_at: datetime) -> str:
    body = {"p": purpose, "u": str(user_id), "s": stamp, "e": int(expires_at.timestamp())}
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_signature(settings, payload)}"


def verify(settings: IdentitySettings, token: str, purpose: str, now: datetime) -> LinkClaims:
    """Check signature, purpose and expiry; raise InvalidValue naming what failed."""
    payload, _, signature = token.partition(".")
    if not payload or not signature or not hmac.compare_digest(signature, _signature(settings, payload)):
        raise InvalidValue("The link token is invalid: request a new link")
    try:
        body = json.loads(_unb64(payload))
        claims = LinkClaims(
            user_id=uuid.UUID(body["u"]),
            stamp=str(body["s"]),
            expires_at=datetime.fromtimestamp(int(body["e"]), UTC),
        )
        token_purpose = body["p"]
    except (ValueError, KeyError, TypeError):
        raise InvalidValue("The link token is invalid: request a new link") from None
    if token_purpose != purpose:
        raise InvalidValue(f"The link token is for {token_purpose!r}, not {purpose!r}")
    if claims.expires_at <= now:
        raise InvalidValue(f"The link expired at {claims.expires_at.isoformat()}: request a new link")
    return claims


def public_url(settings: IdentitySettings, path: str, **query: str) -> str:
    """Build a link on the public base URL, where the gateway serves identity at /api/identity."""
    base = settings.public_base_url.rstrip("/")
    url = f"{base}/api/identity{path}"
    return f"{url}?{urlencode(query)}" if query else url
