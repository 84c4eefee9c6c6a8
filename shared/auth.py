"""Turn a verified access token into a principal, and the common authorisation checks.

Access tokens are ES256 JWTs issued by the identity service, with the signing key named
by `kid` in the header. Services verify them against identity's JWKS, cached and fetched
again when a token names an unknown `kid`, so keys rotate without logging anyone out.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Annotated, Any

import httpx
import jwt
import structlog
from fastapi import Depends, Request
from jwt import PyJWK

from shared.clock import OffsetClock
from shared.errors import Forbidden, NotFound, Unauthorized

log = structlog.get_logger()

ISSUER = "wharf-identity"
AUDIENCE = "wharf"
STAFF_ROLES = frozenset({"reviewer", "security", "admin"})


class OrgRole(IntEnum):
    """Organisation roles, ordered so that a higher role includes the lower ones."""

    VIEWER = 1
    EDITOR = 2
    OWNER = 3

    @classmethod
    def parse(cls, value: str) -> OrgRole:
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"unknown organisation role {value!r}") from None


@dataclass(frozen=True)
class Membership:
    organisation_id: uuid.UUID
    namespace: str
    role: OrgRole


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    username: str
    staff_roles: frozenset[str] = frozenset()
    memberships: dict[uuid.UUID, Membership] = field(default_factory=dict)

    @property
    def is_staff(self) -> bool:
        return bool(self.staff_roles)

    def has_staff_role(self, *roles: str) -> bool:
        """Return whether the principal has one of `roles`, or any staff role if none are named."""
        if not roles:
            return self.is_staff
        # Admins hold every staff power.
        return "admin" in self.staff_roles or any(role in self.staff_roles for role in roles)

    def role_in(self, organisation_id: uuid.UUID) -> OrgRole | None:
        membership = self.memberships.get(organisation_id)
        return membership.role if membership else None

    def membership_by_namespace(self, namespace: str) -> Membership | None:
        return next((m for m in self.memberships.values() if m.namespace == namespace), None)

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        memberships = {}
        for entry in claims.get("orgs", []):
            organisation_id = uuid.UUID(entry["id"])
            memberships[organisation_id] = Membership(
                organisation_id=organisation_id,
                namespace=entry["ns"],
                role=OrgRole.parse(entry["role"]),
            )
        return cls(
            user_id=uuid.UUID(claims["sub"]),
            username=claims["username"],
            staff_roles=frozenset(claims.get("staff", [])) & STAFF_ROLES,
            memberships=memberships,
        )


# The three common checks. Each raises; a caller that may not even know an object
# exists gets NotFound, never Forbidden.


def require_staff(principal: Principal, *roles: str) -> None:
    if not principal.has_staff_role(*roles):
        required = " or ".join(roles) or "any staff"
        raise Forbidden(f"This action needs the staff role {required}")


def require_member(
    principal: Principal,
    organisation_id: uuid.UUID,
    minimum: OrgRole = OrgRole.VIEWER,
    *,
    what: str = "organisation",
    allow_staff: bool = True,
) -> None:
    """Allow members with at least `minimum`; others learn nothing (404) or are refused (403)."""
    if allow_staff and principal.is_staff and minimum == OrgRole.VIEWER:
        return
    role = principal.role_in(organisation_id)
    if role is None:
        raise NotFound(f"{what.capitalize()} {organisation_id} not found")
    if role < minimum:
        raise Forbidden(
            f"Your role in organisation {organisation_id} is {role.name.lower()}; "
            f"this action needs {minimum.name.lower()} or higher"
        )


def require_owner(principal: Principal, owner_id: uuid.UUID, *, what: str, object_id: Any) -> None:
    if principal.user_id != owner_id and not principal.is_staff:
        raise NotFound(f"{what.capitalize()} {object_id} not found")


class JwksCache:
    """Identity's public keys by `kid`, fetched again when an unknown `kid` appears.

    Fetches are rate-limited, so a flood of tokens with made-up `kid`s cannot turn into
    a flood of requests to identity.
    """

    def __init__(self, url: str, *, client: httpx.AsyncClient | None = None, min_refresh_seconds: float = 10.0):
        self.url = url
        self.client = client or httpx.AsyncClient(timeout=5.0)
        self.min_refresh_seconds = min_refresh_seconds
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    def set_keys(self, jwks: dict[str, Any]) -> None:
        keys = {}
        for entry in jwks.get("keys", []):
            try:
                keys[entry["kid"]] = PyJWK(entry, algorithm="ES256")
            except (KeyError, jwt.PyJWKError) as exc:
                log.warning("jwks.key.skipped", kid=entry.get("kid"), error=repr(exc))
        self._keys = keys

    async def key(self, kid: str) -> PyJWK | None:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at >= self.min_refresh_seconds:
                await self._refresh()
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            response = await self.client.get(self.url)
            response.raise_for_status()
            self.set_keys(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("jwks.fetch.failed", url=self.url, error=repr(exc))


async def verify_access_token(
    token: str, jwks: JwksCache, *, leeway: int = 30, now: datetime | None = None
) -> Principal:
    """Verify signature, issuer, audience and expiry; raise Unauthorized on any failure.

    `now` replaces the system time in the checks of `exp`, `iat` and `nbf`.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("The access token is malformed") from None
    if header.get("alg") != "ES256" or not isinstance(header.get("kid"), str):
        raise Unauthorized("The access token must be ES256 with a kid header")
    key = await jwks.key(header["kid"])
    if key is None:
        raise Unauthorized(f"The access token is signed with an unknown key {header['kid'][:64]!r}")
    try:
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=["ES256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=leeway,
            options={
                "require": ["exp", "iat", "sub", "iss", "aud"],
                # The times are checked below against `now` when the caller gives one.
                "verify_exp": now is None,
                "verify_iat": now is None,
                "verify_nbf": now is None,
            },
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The access token has expired; refresh it") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"The access token is invalid: {exc}") from None
    if now is not None:
        _check_token_times(claims, now.timestamp(), leeway)
    if claims.get("typ") != "access":
        raise Unauthorized("The token is not an access token")
    try:
        return Principal.from_claims(claims)
    except (KeyError, ValueError, TypeError) as exc:
        raise Unauthorized(f"The access token has invalid claims: {exc}") from None


def _check_token_times(claims: dict[str, Any], now: float, leeway: int) -> None:
    """Check `exp`, `iat` and `nbf` as PyJWT does, but against the given time."""
    try:
        expires, issued = float(claims["exp"]), float(claims["iat"])
        not_before = float(claims.get("nbf", issued))
    except (TypeError, ValueError):
        raise Unauthorized("The access token is invalid: exp, iat and nbf must be numbers") from None
    if expires <= now - leeway:
        raise Unauthorized("The access token has expired; refresh it")
    if issued > now + leeway or not_before > now + leeway:
        raise Unauthorized("The access token is invalid: it is not yet valid")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Use an Authorization header of the form 'Bearer <access token>'")
    return token.strip()


async def optional_principal(request: Request) -> Principal | None:
    token = _bearer(request)
    if token is None:
        return None
    runtime = request.app.state.runtime
    jwks: JwksCache = runtime.state["jwks"]
    # An adjustable clock runs ahead of the system time, and identity stamps tokens with
    # it. Any other clock (the system clock, or a test's frozen one) leaves the check on
    # the system time.
    now = runtime.clock.now() if isinstance(runtime.clock, OffsetClock) else None
    return await verify_access_token(token, jwks, now=now)


async def current_principal(request: Request) -> Principal:
    principal = await optional_principal(request)
    if principal is None:
        raise Unauthorized(
            "Sign in first: send an access token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def require_internal_caller(request: Request) -> None:
    """Accept only service-to-service calls that carry the platform's internal token."""
    import hmac

    expected = request.app.state.runtime.platform.internal_token
    presented = request.headers.get("x-wharf-internal-token", "")
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise NotFound(f"{request.url.path} not found")


InternalCaller = Depends(require_internal_caller)
