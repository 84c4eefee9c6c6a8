"""Invitations to join an organisation, sent by email and accepted by the invited account."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import links, names
from services.identity.hashing import digest, new_secret
from services.identity.models import Invitation, Organisation, User
from services.identity.organisations import add_member, authorise
from services.identity.runtime import now_of, settings_of
from shared.auth import OrgRole, Principal
from shared.errors import Conflict, NotFound
from shared.events import emit

log = structlog.get_logger()

INVITATION_PREFIX = "wharf_inv_"


def status_of(invitation: Invitation, now: datetime) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= now:
        return "expired"
    return "pending"


async def invite(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, *, email: str, role: str
) -> tuple[Invitation, Organisation]:
    organisation, _ = await authorise(session, principal, organisation_id, OrgRole.OWNER)
    email = names.normalise_email(email)
    settings = settings_of(session)
    now = now_of(session)

    secret = new_secret(INVITATION_PREFIX)
    invitation = Invitation(
        id=uuid.uuid4(),
        organisation_id=organisation.id,
        email=email,
        role=role,
        token_hash=digest(secret),
        invited_by=principal.user_id,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.invitation_ttl),
    )
    session.add(invitation)
    await session.flush()

    await emit(
        session,
        "identity.invitation.created",
        subject=str(organisation.id),
        data={
            "organisation_id": organisation.id,
            "namespace": organisation.namespace,
            "email": email,
            "role": role,
            "link": links.public_url(settings, f"/invitations/{secret}/accept"),
            "expires_at": invitation.expires_at,
            "invitation_id": invitation.id,
        },
    )
    log.info("invitation.created", organisation_id=str(organisation.id), invitation_id=str(invitation.id))
    return invitation, organisation


def invitations_of(organisation_id: uuid.UUID) -> Select:
    return select(Invitation).where(Invitation.organisation_id == organisation_id)


async def revoke(session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, invitation_id: uuid.UUID) -> None:
    await authorise(session, principal, organisation_id, OrgRole.OWNER)
    invitation = await session.get(Invitation, invitation_id, with_for_update=True)
    if invitation is None or invitation.organisation_id != organisation_id:
        raise NotFound(f"Invitation {invitation_id} not found")
    if invitation.accepted_at is not None:
        raise Conflict(f"Invitation {invitation_id} was already accepted: remove the member instead")
    invitation.revoked_at = invitation.revoked_at or now_of(session)
    await session.flush()


def invitation_not_found() -> NotFound:
    # One message for every refusal, so a caller cannot distinguish an unknown token
    # from a used, revoked or expired one.
    return NotFound("Invitation not found: it may have expired, been revoked or been sent to another address")


def is_addressed_to(invitation: Invitation, user: User) -> bool:
    """Return whether `user` is the invitation's addressee: its address is the user's verified email."""
    # Both addresses are stored normalised to lowercase, so an exact comparison is
    # case-insensitive.
    return user.email_verified_at is not None and user.email == invitation.email


async def is_addressed_to_principal(session: AsyncSession, invitation: Invitation, principal: Principal) -> bool:
    """Return whether the principal's account may accept the invitation, as `accept` decides it."""
    user = await session.get(User, principal.user_id)
    return user is not None and is_addressed_to(invitation, user)


async def preview(session: AsyncSession, secret: str) -> tuple[Invitation, Organisation, str]:
    """Look up a pending invitation by its secret without accepting it.

    Returns the invitation, its organisation and the inviter's display name (the
    username when the display name is blank). Raises `NotFound` unless it is pending.
    """
    invitation = (
        await session.execute(select(Invitation).where(Invitation.token_hash == digest(secret)))
    ).scalar_one_or_none()
    if invitation is None or status_of(invitation, now_of(session)) != "pending":
        raise invitation_not_found()

    organisation = await session.get(Organisation, invitation.organisation_id)
    inviter = await session.get(User, invitation.invited_by)
    if organisation is None or inviter is None:
        raise invitation_not_found()
    return invitation, organisation, inviter.display_name.strip() or inviter.username


async def accept(session: AsyncSession, principal: Principal, secret: str) -> tuple[Organisation, str]:
    """Make the caller a member, if the invitation is pending and addressed to the caller's email.

    Every refusal but "already a member" is a 404, so a guessed or forwarded link tells
    nothing about the organisation.
    """
    now = now_of(session)
    invitation = (
        await session.execute(select(Invitation).where(Invitation.token_hash == digest(secret)).with_for_update())
    ).scalar_one_or_none()
    user = await session.get(User, principal.user_id)
    not_found = invitation_not_found()
    if invitation is None or user is None or status_of(invitation, now) != "pending":
        raise not_found
    # The link alone is not enough: it must reach the account of the invited address.
    if not is_addressed_to(invitation, user):
        raise not_found

    organisation = await session.get(Organisation, invitation.organisation_id)
    await add_member(session, organisation, user.id, invitation.role, actor_id=invitation.invited_by, now=now)
    invitation.accepted_at = now
    invitation.accepted_by = user.id
    await session.flush()
    log.info("invitation.accepted", invitation_id=str(invitation.id), user_id=str(user.id))
    return organisation, invitation.role
