"""The Docker registry token service: `GET /token` issues short-lived JWTs the registry trusts.

Distribution 2.8 requires `aud` to be one string equal to its configured `service`, `iss`
equal to its `issuer`, an integer `exp`, and a `kid` header naming the libtrust key id of
a certificate in its bundle. A scope that is not granted is left out of the token, and
the registry then returns 401 `insufficient_scope`, so a client learns nothing about
repositories it may not see.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import jwt
import structlog
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from shared.clock import SystemClock
from shared.db import SessionDep
from shared.errors import BadRequest, Unauthorized, problem_responses
from services.licensing.credentials import CredentialChecker
from services.licensing.keys import SigningKey
from services.licensing.policy import Account, granted_actions
from services.licensing.settings import LicensingSettings

log = structlog.get_logger()

router = APIRouter(tags=["registry tokens"])

MAX_SCOPES = 50


@dataclass(frozen=True)
class Scope:
    type: str  # "repository" (a resource class such as "(plugin)" is dropped)
    name: str
    actions: frozenset[str]


class TokenResponse(BaseModel):
    token: str
    access_token: str  # the same token, for OAuth2-style clients
    expires_in: int  # seconds
    issued_at: datetime


class TokenSigner:
    """Signs registry tokens with the current key; the promotion account uses it directly."""

    def __init__(self, settings: LicensingSettings, signing_key: SigningKey) -> None:
        self.settings = settings
        self.signing_key = signing_key

    def issue(self, subject: str, access: list[dict], *, now: datetime) -> str:
        issued_at = int(now.timestamp())
        claims = {
            "iss": self.settings.token_issuer,
            "sub": subject,
            "aud": self.settings.token_service,
            "exp": issued_at + self.settings.token_ttl_seconds,
            # A little slack for registry hosts whose clock runs behind ours.
            "nbf": issued_at - 10,
            "iat": issued_at,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return jwt.encode(
            claims,
            self.signing_key.private_key,
            algorithm="ES256",
            headers={"kid": self.signing_key.kid, "typ": "JWT"},
        )


def parse_scopes(values: list[str]) -> list[Scope]:
    """Parse `type:name:actions` scopes; a parameter may also hold several, space-separated."""
    scopes = []
    for value in values:
        for text in value.split():
            resource_type, _, rest = text.partition(":")
            name, _, actions = rest.rpartition(":")
            if not resource_type or not name:
                raise BadRequest(
                    f"Invalid scope {text[:200]!r}: use repository:<name>:<actions>, "
                    "for example repository:store/acme/db:pull"
                )
            resource_type = resource_type.split("(", 1)[0]
            scopes.append(
                Scope(
                    type=resource_type,
                    name=name,
                    actions=frozenset(a for a in actions.split(",") if a),
                )
            )
    if len(scopes) > MAX_SCOPES:
        raise BadRequest(f"Too many scopes ({len(scopes)}); a token request may name at most {MAX_SCOPES}")
    return scopes


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized(
            "Use HTTP Basic credentials (username and password or personal access token)",
            headers={"WWW-Authenticate": 'Basic realm="Wharf registry"'},
        )
    try:
        username, separator, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized(
            "The Basic credentials are not valid base64 of username:password",
            headers={"WWW-Authenticate": 'Basic realm="Wharf registry"'},
        ) from None
    if not separator or not username:
        raise Unauthorized(
            "The Basic credentials need a username and a password",
            headers={"WWW-Authenticate": 'Basic realm="Wharf registry"'},
        )
    return username, secret


@router.get(
    "/token",
    operation_id="licensing_registry_token",
    summary="Issue a registry token (Docker registry token authentication)",
    response_model=TokenResponse,
    responses=problem_responses(400, 401, 503),
)
async def registry_token(
    request: Request,
    session: SessionDep,
    service: Annotated[str, Query(description="The registry's service name")],
    scope: Annotated[list[str] | None, Query(description="repository:<name>:<actions>; repeatable")] = None,
    account: Annotated[str | None, Query(description="The account the client acts as")] = None,
    offline_token: Annotated[bool, Query(description="Accepted; no refresh token is issued")] = False,
    client_id: Annotated[str | None, Query(description="The client's name, for logs")] = None,
) -> TokenResponse:
    runtime = request.app.state.runtime
    settings: LicensingSettings = runtime.settings
    if service != settings.token_service:
        raise BadRequest(
            f"Unknown service {service[:100]!r}: this token service issues tokens for "
            f"{settings.token_service!r}"
        )
    scopes = parse_scopes(scope or [])

    caller = await authenticate(request, runtime.state["credentials"])
    if account and not caller.is_anonymous and account != caller.username:
        raise BadRequest(
            f"The account parameter {account[:100]!r} does not match the authenticated user"
        )

    now = runtime.clock.now()
    access = []
    for requested in scopes:
        if requested.type != "repository":
            continue
        actions = await granted_actions(session, caller, requested.name, set(requested.actions), now=now)
        if actions:
            access.append({"type": "repository", "name": requested.name, "actions": sorted(actions)})

    # NOTE: offline_token is accepted but no refresh token is issued, so clients send
    # their credentials again when a token expires.
    # The registry checks `nbf` and `exp` against its own system time, so the token is
    # stamped with the system time even when the runtime's clock has been moved forward.
    issued_at = SystemClock().now()
    signer: TokenSigner = runtime.state["signer"]
    token = signer.issue(caller.subject, access, now=issued_at)
    log.info(
        "licensing.token.issued",
        username=caller.username or None,
        client_id=client_id,
        requested=[f"{s.name}:{','.join(sorted(s.actions))}" for s in scopes],
        granted=[f"{a['name']}:{','.join(a['actions'])}" for a in access],
    )
    return TokenResponse(
        token=token,
        access_token=token,
        expires_in=settings.token_ttl_seconds,
        issued_at=issued_at,
    )


async def authenticate(request: Request, checker: CredentialChecker) -> Account:
    credentials = basic_credentials(request)
    if credentials is None:
        return Account.anonymous()
    username, secret = credentials
    return await checker.check(username, secret, client_address=client_address(request))


def client_address(request: Request) -> str | None:
    """Return the caller's address: the last X-Forwarded-For entry, which the gateway adds."""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[-1].strip() or None
    return request.client.host if request.client else None
