"""Check a username and password or personal access token with the identity service.

Identity's `POST /internal/credentials/check` returns the account with its memberships
and the credential's scope, or 401. Successful responses are reused for a few seconds,
keyed by an HMAC of the username and secret under a per-process key, so the cache never
stores a secret itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass

import httpx
import structlog

from shared.auth import STAFF_ROLES, OrgRole
from shared.errors import ServiceUnavailable, Unauthorized
from services.licensing.policy import Account, CredentialScope

log = structlog.get_logger()

MAX_CACHED_CREDENTIALS = 10_000


@dataclass
class _Cached:
    account: Account
    expires_at: float


class CredentialChecker:
    def __init__(
        self,
        *,
        identity_url: str,
        internal_token: str,
        service_account: str,
        cache_seconds: float,
        timeout: float,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.check_url = identity_url.rstrip("/") + "/internal/credentials/check"
        self.internal_token = internal_token
        self.service_account = service_account
        self.cache_seconds = cache_seconds
        self.client = client or httpx.AsyncClient(timeout=timeout)
        self._cache: dict[bytes, _Cached] = {}
        self._cache_key = secrets.token_bytes(32)

    async def close(self) -> None:
        await self.client.aclose()

    async def check(self, username: str, secret: str, *, client_address: str | None = None) -> Account:
        """Return the account for these credentials; raise Unauthorized if identity rejects them."""
        if username == self.service_account:
            return self._check_service_account(username, secret)

        key = hmac.new(self._cache_key, f"{username}\0{secret}".encode(), hashlib.sha256).digest()
        cached = self._cache.get(key)
        if cached is not None and cached.expires_at > time.monotonic():
            return cached.account

        account = await self._ask_identity(username, secret, client_address)
        if self.cache_seconds > 0:
            if len(self._cache) >= MAX_CACHED_CREDENTIALS:
                self._cache.clear()
            self._cache[key] = _Cached(account, time.monotonic() + self.cache_seconds)
        return account

    def forget_user(self, user_id: uuid.UUID) -> None:
        """Drop cached responses for a user, after a token revocation or membership change."""
        for key in [k for k, v in self._cache.items() if v.account.user_id == user_id]:
            self._cache.pop(key, None)

    def _check_service_account(self, username: str, secret: str) -> Account:
        if not hmac.compare_digest(secret.encode(), self.internal_token.encode()):
            raise _rejected(username)
        return Account(user_id=None, username=username, credential_scope=CredentialScope.SERVICE)

    async def _ask_identity(self, username: str, secret: str, client_address: str | None) -> Account:
        body = {"username": username, "secret": secret}
        if client_address:
            # Failed `docker login` attempts count toward identity's per-address lockout.
            body["client_address"] = client_address
        try:
            response = await self.client.post(
                self.check_url,
                json=body,
                headers={"X-Wharf-Internal-Token": self.internal_token},
            )
        except httpx.HTTPError as exc:
            log.warning("licensing.credentials.identity_unreachable", url=self.check_url, error=repr(exc))
            raise ServiceUnavailable(
                f"The identity service at {self.check_url} did not respond to the credential check; try again"
            ) from exc

        if response.status_code == 401:
            raise _rejected(username)
        if response.status_code != 200:
            log.warning(
                "licensing.credentials.identity_failed",
                url=self.check_url,
                status=response.status_code,
            )
            raise ServiceUnavailable(
                f"The identity service returned HTTP {response.status_code} for the credential check"
            )
        return account_from_identity(response.json())


def account_from_identity(body: dict) -> Account:
    roles: dict[str, OrgRole] = {}
    for membership in body.get("memberships", []):
        try:
            roles[membership["namespace"]] = OrgRole.parse(membership["role"])
        except (KeyError, ValueError):
            log.warning("licensing.credentials.membership_skipped", membership=membership)
    return Account(
        user_id=uuid.UUID(body["user_id"]),
        username=body["username"],
        credential_scope=CredentialScope(body["scope"]),
        staff_roles=frozenset(body.get("staff_roles", [])) & STAFF_ROLES,
        roles=roles,
    )


def _rejected(username: str) -> Unauthorized:
    return Unauthorized(
        f"Invalid username or password for {username[:100]!r}; a personal access token "
        "works as the password",
        headers={"WWW-Authenticate": 'Basic realm="Wharf registry"'},
    )
