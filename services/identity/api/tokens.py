"""Routes for the caller's personal access tokens."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.identity import personal_tokens
from services.identity.models import PersonalAccessToken
from services.identity.schemas import TokenCreate, TokenCreated, TokenOut
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.pagination import Page, check_limit, finish_page, paginate

router = APIRouter(tags=["personal access tokens"])


def token_out(token: PersonalAccessToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        scope=token.scope,
        token_prefix=token.token_prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
    )


# NOTE: this write takes no Idempotency-Key, because replaying the response would mean
# storing the secret, which is kept only as a hash. A retry creates a second token.
@router.post(
    "/tokens",
    status_code=201,
    operation_id="identity_create_token",
    summary="Create a personal access token; the secret is in this response only",
    responses=problem_responses(401, 422),
)
async def create_token(body: TokenCreate, principal: CurrentPrincipal, session: SessionDep) -> TokenCreated:
    token, secret = await personal_tokens.create(
        session, principal.user_id, name=body.name, scope=body.scope, expires_at=body.expires_at
    )
    return TokenCreated(**token_out(token).model_dump(), token=secret)


@router.get(
    "/tokens",
    operation_id="identity_list_tokens",
    summary="The caller's personal access tokens that are not revoked, newest first",
    responses=problem_responses(400, 401),
)
async def list_tokens(
    principal: CurrentPrincipal, session: SessionDep, cursor: str | None = None, limit: int | None = None
) -> Page[TokenOut]:
    limit = check_limit(limit)
    stmt = paginate(
        personal_tokens.active_tokens_of(principal.user_id),
        columns=[PersonalAccessToken.created_at, PersonalAccessToken.id],
        cursor=cursor,
        limit=limit,
    )
    rows, next_cursor = finish_page(
        (await session.execute(stmt)).scalars().all(), limit=limit, key=lambda row: (row.created_at, row.id)
    )
    return Page(items=[token_out(row) for row in rows], next_cursor=next_cursor)


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    operation_id="identity_revoke_token",
    summary="Revoke one of the caller's personal access tokens",
    responses=problem_responses(401, 404),
)
async def revoke_token(token_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> Response:
    await personal_tokens.revoke(session, principal.user_id, token_id)
    return Response(status_code=204)
