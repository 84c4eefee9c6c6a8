"""The credential check behind `docker login`: a username with a password or a personal access token.

The registry token service calls it for every login. It counts toward the same lockouts
as the sign-in endpoint, so a registry client cannot be used to guess passwords faster.
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import lockout, personal_tokens
from services.identity.access_tokens import memberships_of, staff_roles_of
from services.identity.runtime import now_of, passwords_of, runtime_of, settings_of
from services.identity.users import user_by_login
from shared.errors import Unauthorized

log = structlog.get_logger()

WRONG_CREDENTIALS = "The username, password or personal access token is wrong"


async def check(session: AsyncSession, *, username: str, secret: str, client_address: str | None) -> dict:
    runtime = runtime_of(session)
    settings = settings_of(session)
    now = now_of(session)

    user = await user_by_login(session, username)
    subject = str(user.id) if user else "name:" + username.strip().lower()
    keys = [lockout.account_key(settings, subject)]
    if client_address:
        keys.append(lockout.address_key(settings, client_address))

    until = await lockout.locked_until(session, keys, now)
    if until is not None:
        # The registry token service treats anything but 200 as a refusal; 401 keeps the contract.
        raise lockout.lockout_error(until, now, error_class=Unauthorized)

    token = None
    if secret.startswith(personal_tokens.TOKEN_PREFIX):
        # Look the token up even for unknown users, so both cases cost the same.
        owner_id = user.id if user else uuid.uuid4()
        token = await personal_tokens.find_usable(session, secret, owner_id, now)
        accepted = token is not None
    else:
        accepted = await passwords_of(session).verify(user.password_hash if user else None, secret)

    if not accepted:
        await lockout.record_failure(runtime.sessionmaker, settings, keys, now)
        log.info("credentials.rejected", user_id=str(user.id) if user else None, client_address=client_address)
        raise Unauthorized(WRONG_CREDENTIALS)
    if user.email_verified_at is None:
        raise Unauthorized(f"The email address of {user.username!r} is not verified: follow the link sent to it")

    await lockout.record_success(session, keys[0], now)
    if token is not None:
        token.last_used_at = now
        await session.flush()

    memberships = await memberships_of(session, user.id)
    log.info("credentials.accepted", user_id=str(user.id), scope=token.scope if token else "password")
    return {
        "user_id": user.id,
        "username": user.username,
        "scope": token.scope if token else "password",
        "staff_roles": await staff_roles_of(session, user.id),
        "memberships": [
            {"organisation_id": organisation.id, "namespace": organisation.namespace, "role": role}
            for organisation, role in memberships
        ],
    }
