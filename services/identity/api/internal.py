"""Service-to-service routes; the gateway never forwards `/internal/...`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.identity import credentials
from services.identity.access_tokens import staff_roles_of
from services.identity.schemas import CredentialCheck, CredentialResult, InternalUser
from services.identity.users import user_by_id
from shared.auth import InternalCaller
from shared.db import SessionDep
from shared.errors import problem_responses

router = APIRouter(prefix="/internal", tags=["internal"], dependencies=[InternalCaller])


@router.post(
    "/credentials/check",
    operation_id="identity_check_credentials",
    summary="Check a username with a password or personal access token (registry logins)",
    responses=problem_responses(401, 404),
)
async def check_credentials(body: CredentialCheck, session: SessionDep) -> CredentialResult:
    result = await credentials.check(
        session, username=body.username, secret=body.secret, client_address=body.client_address
    )
    return CredentialResult(**result)


@router.get(
    "/users/{user_id}",
    operation_id="identity_internal_get_user",
    summary="A user's contact details and current staff roles, for other services",
    responses=problem_responses(404),
)
async def get_user(user_id: uuid.UUID, session: SessionDep) -> InternalUser:
    user = await user_by_id(session, user_id)
    return InternalUser(
        user_id=user.id,
        username=user.username,
        email=user.email,
        display_name=user.display_name,
        email_verified=user.email_verified_at is not None,
        staff_roles=await staff_roles_of(session, user.id),
    )
