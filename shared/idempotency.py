"""`Idempotency-Key` support: a retried write returns the first response instead of acting twice."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import BadRequest, Conflict, InvalidValue

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII without spaces

# First key of the two-key advisory locks taken on Idempotency-Keys. PostgreSQL keeps locks
# with one bigint key, which other code takes, in a separate key space (pg_locks.objsubid
# is 1 for those and 2 for two integer keys).
_LOCK_CLASS = 0x1DE4


async def idempotent(
    session: AsyncSession,
    request: Request,
    *,
    scope: str,
    payload: Any,
    action: Callable[[], Awaitable[Any]],
    status_code: int = 200,
) -> JSONResponse:
    """Run `action` once per (scope, Idempotency-Key); replay its stored response afterwards.

    `scope` separates callers (use the principal's id), so one client's key never
    returns another client's response. The stored response is written in the request's
    transaction, so it exists exactly when the action's effects were committed.
    """
    key = request.headers.get("idempotency-key")
    if key is None:
        return JSONResponse(jsonable_encoder(await action()), status_code=status_code)
    if not _KEY.match(key):
        raise BadRequest(f"Invalid Idempotency-Key {key[:60]!r}: use 1 to 200 printable ASCII characters")

    fingerprint = hashlib.sha256(
        json.dumps(
            [request.method, request.url.path, jsonable_encoder(payload)], sort_keys=True
        ).encode()
    ).hexdigest()
    table = session.info["runtime"].metadata.tables["idempotency_keys"]

    # One request per key at a time, until its transaction ends. Without the lock a second
    # request would run its action too and fail on whatever the first one's action
    # changed, such as a name it took. Two keys whose 32-bit hashes collide share a lock,
    # so while both run one of them gets a needless 409.
    claimed = (
        await session.execute(
            text("SELECT pg_try_advisory_xact_lock(:lock_class, hashtext(:name))"),
            {"lock_class": _LOCK_CLASS, "name": f"{scope} {key}"},
        )
    ).scalar()
    if not claimed:
        raise _in_progress(key)

    stored = (
        await session.execute(select(table).where(table.c.scope == scope, table.c.key == key))
    ).first()
    if stored is not None:
        if stored.fingerprint != fingerprint:
            raise InvalidValue(
                f"Idempotency-Key {key!r} was already used for a different request; use a new key"
            )
        return JSONResponse(
            stored.response, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
        )

    body = jsonable_encoder(await action())
    try:
        async with session.begin_nested():
            await session.execute(
                table.insert().values(
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    status_code=status_code,
                    response=body,
                    created_at=session.info["runtime"].clock.now(),
                )
            )
    except IntegrityError as exc:
        # A concurrent request with the same key won the race; this one must not commit.
        raise _in_progress(key) from exc
    return JSONResponse(body, status_code=status_code)


def _in_progress(key: str) -> Conflict:
    return Conflict(
        f"A request with Idempotency-Key {key!r} is still in progress: retry after it has "
        "finished to get its response",
        headers={"Retry-After": "1"},
    )
