"""Routes for sign-in, refresh and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.identity import sessions
from services.identity.api.accounts import user_out
from services.identity.lockout import client_address
from services.identity.runtime import now_of
from services.identity.schemas import Login, Refresh, SessionOut
from shared.db import SessionDep
from shared.errors import problem_responses

router = APIRouter(tags=["sessions"])


def session_out(issued: sessions.IssuedSession, now) -> SessionOut:
    return SessionOut(
        access_token=issued.access_token,
        expires_in=int((issued.access_token_expires_at - now).total_seconds()),
        expires_at=issued.access_token_expires_at,
        refresh_token=issued.refresh_token,
        refresh_token_expires_at=issued.refresh_token_expires_at,
        user=user_out(issued.user),
    )


@router.post(
    "/sessions",
    status_code=201,
    operation_id="identity_login",
    summary="Sign in with a username (or email address) and password",
    responses=problem_responses(401, 403, 429),
)
async def login(body: Login, request: Request, session: SessionDep) -> SessionOut:
    address = client_address(request, request.app.state.runtime.settings)
    issued = await sessions.login(session, login_name=body.username, password=body.password, address=address)
    return session_out(issued, now_of(session))


@router.post(
    "/sessions/refresh",
    operation_id="identity_refresh_session",
    summary="Exchange a refresh token for a new access token and a new refresh token",
    responses=problem_responses(401),
)
async def refresh(body: Refresh, session: SessionDep) -> SessionOut:
    issued = await sessions.refresh(session, body.refresh_token)
    return session_out(issued, now_of(session))


@router.post(
    "/sessions/logout",
    status_code=204,
    operation_id="identity_logout",
    summary="Sign out: revoke the refresh token and every token rotated from the same sign-in",
)
async def logout(body: Refresh, session: SessionDep) -> Response:
    await sessions.logout(session, body.refresh_token)
    return Response(status_code=204)
