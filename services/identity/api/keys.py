"""Routes for the public signing keys (JWKS) and their rotation."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.identity import signing_keys, staff
from services.identity.runtime import now_of, settings_of
from services.identity.schemas import KeyRotated
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import problem_responses

router = APIRouter(tags=["signing keys"])


@router.get(
    "/.well-known/jwks.json",
    operation_id="identity_jwks",
    summary="Public keys that verify access tokens, including retired keys whose tokens may still be valid",
)
async def jwks(session: SessionDep) -> JSONResponse:
    document = await signing_keys.jwks_document(session, settings_of(session), now_of(session))
    # Verifiers fetch again on an unknown kid, so a short cache time is safe.
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=60"})


@router.post(
    "/keys/rotate",
    status_code=201,
    operation_id="identity_rotate_signing_key",
    summary="Start signing with a new key (admins only); tokens signed by the old key stay valid",
    responses=problem_responses(401, 403),
)
async def rotate(principal: CurrentPrincipal, request: Request, session: SessionDep) -> KeyRotated:
    await staff.require_admin(session, principal.user_id)
    key, retired = await signing_keys.rotate(session, settings_of(session), now_of(session))
    # This replica verifies new tokens at once; others load the key on its first unknown kid.
    request.app.state.runtime.state["jwks"].add_key(key.public_jwk)
    return KeyRotated(kid=key.kid, created_at=key.created_at, retired=retired)
