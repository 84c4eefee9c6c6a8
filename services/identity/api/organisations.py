"""Routes for organisations, their members and invitations."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse

from services.identity import invitations, names, organisations
from services.identity.models import Invitation, Membership, Organisation
from services.identity.runtime import now_of
from services.identity.schemas import (
    InvitationAccepted,
    InvitationCreate,
    InvitationOut,
    InvitationPreview,
    MemberOut,
    MemberRole,
    OrganisationCreate,
    OrganisationOut,
    OrganisationUpdate,
)
from shared.auth import CurrentPrincipal, OptionalPrincipal, OrgRole
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import idempotent
from shared.pagination import Page, check_limit, finish_page, paginate

router = APIRouter(tags=["organisations"])


def organisation_out(organisation: Organisation, role: str | OrgRole | None) -> OrganisationOut:
    if isinstance(role, OrgRole):
        role = role.name.lower()
    return OrganisationOut(
        id=organisation.id,
        namespace=organisation.namespace,
        display_name=organisation.display_name,
        created_at=organisation.created_at,
        role=role,
    )


def member_out(membership: Membership, username: str, display_name: str) -> MemberOut:
    return MemberOut(
        user_id=membership.user_id,
        username=username,
        display_name=display_name,
        role=membership.role,
        joined_at=membership.created_at,
    )


def invitation_out(invitation: Invitation, namespace: str, now) -> InvitationOut:
    return InvitationOut(
        id=invitation.id,
        organisation_id=invitation.organisation_id,
        namespace=namespace,
        email=invitation.email,
        role=invitation.role,
        status=invitations.status_of(invitation, now),
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


@router.post(
    "/organisations",
    status_code=201,
    operation_id="identity_create_organisation",
    summary="Create an organisation; the caller becomes its owner. Accepts Idempotency-Key",
    responses=problem_responses(401, 409, 422),
)
async def create_organisation(
    body: OrganisationCreate, principal: CurrentPrincipal, request: Request, session: SessionDep
) -> OrganisationOut:
    async def action():
        organisation = await organisations.create_organisation(
            session, principal, namespace=body.namespace, display_name=body.display_name
        )
        return organisation_out(organisation, "owner")

    return await idempotent(
        session, request, scope=f"user:{principal.user_id}", payload=body, action=action, status_code=201
    )


@router.get(
    "/organisations",
    operation_id="identity_list_organisations",
    summary="The caller's organisations, newest first",
    responses=problem_responses(400, 401),
)
async def list_organisations(
    principal: CurrentPrincipal, session: SessionDep, cursor: str | None = None, limit: int | None = None
) -> Page[OrganisationOut]:
    limit = check_limit(limit)
    stmt = paginate(
        organisations.organisations_of(principal.user_id),
        columns=[Organisation.created_at, Organisation.id],
        cursor=cursor,
        limit=limit,
    )
    rows, next_cursor = finish_page(
        (await session.execute(stmt)).all(), limit=limit, key=lambda row: (row[0].created_at, row[0].id)
    )
    return Page(items=[organisation_out(organisation, role) for organisation, role in rows], next_cursor=next_cursor)


@router.get(
    "/organisations/{organisation_id}",
    operation_id="identity_get_organisation",
    summary="One organisation, for its members and staff",
    responses=problem_responses(401, 404),
)
async def get_organisation(
    organisation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> OrganisationOut:
    organisation, role = await organisations.authorise(session, principal, organisation_id, OrgRole.VIEWER)
    return organisation_out(organisation, role)


@router.patch(
    "/organisations/{organisation_id}",
    operation_id="identity_update_organisation",
    summary="Change the display name (owners only; the namespace is permanent)",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_organisation(
    organisation_id: uuid.UUID, body: OrganisationUpdate, principal: CurrentPrincipal, session: SessionDep
) -> OrganisationOut:
    organisation, role = await organisations.authorise(session, principal, organisation_id, OrgRole.OWNER)
    organisation.display_name = names.check_display_name(body.display_name)
    await session.flush()
    return organisation_out(organisation, role)


@router.get(
    "/organisations/{organisation_id}/members",
    operation_id="identity_list_members",
    summary="Members of an organisation, in the order they joined",
    responses=problem_responses(400, 401, 404),
)
async def list_members(
    organisation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[MemberOut]:
    await organisations.authorise(session, principal, organisation_id, OrgRole.VIEWER)
    limit = check_limit(limit)
    stmt = paginate(
        organisations.members_of(organisation_id),
        columns=[Membership.created_at, Membership.user_id],
        cursor=cursor,
        limit=limit,
        descending=False,
    )
    rows, next_cursor = finish_page(
        (await session.execute(stmt)).all(), limit=limit, key=lambda row: (row[0].created_at, row[0].user_id)
    )
    return Page(items=[member_out(*row) for row in rows], next_cursor=next_cursor)


@router.put(
    "/organisations/{organisation_id}/members/{user_id}",
    operation_id="identity_change_member_role",
    summary="Change a member's role (owners only); the last owner cannot be demoted",
    responses=problem_responses(401, 403, 404, 409),
)
async def change_member_role(
    organisation_id: uuid.UUID, user_id: uuid.UUID, body: MemberRole, principal: CurrentPrincipal, session: SessionDep
) -> MemberOut:
    membership = await organisations.change_role(session, principal, organisation_id, user_id, body.role)
    row = (await session.execute(organisations.members_of(organisation_id).where(Membership.user_id == user_id))).one()
    return member_out(membership, row.username, row.display_name)


@router.delete(
    "/organisations/{organisation_id}/members/{user_id}",
    status_code=204,
    operation_id="identity_remove_member",
    summary="Remove a member (owners), or leave (any member); the last owner cannot go",
    responses=problem_responses(401, 403, 404, 409),
)
async def remove_member(
    organisation_id: uuid.UUID, user_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    await organisations.remove_member(session, principal, organisation_id, user_id)
    return Response(status_code=204)


@router.post(
    "/organisations/{organisation_id}/invitations",
    status_code=201,
    operation_id="identity_create_invitation",
    summary="Invite an email address to join with a role (owners only). Accepts Idempotency-Key",
    responses=problem_responses(401, 403, 404, 422),
)
async def create_invitation(
    organisation_id: uuid.UUID,
    body: InvitationCreate,
    principal: CurrentPrincipal,
    request: Request,
    session: SessionDep,
) -> InvitationOut:
    async def action():
        invitation, organisation = await invitations.invite(
            session, principal, organisation_id, email=body.email, role=body.role
        )
        return invitation_out(invitation, organisation.namespace, now_of(session))

    return await idempotent(
        session, request, scope=f"user:{principal.user_id}", payload=body, action=action, status_code=201
    )


@router.get(
    "/organisations/{organisation_id}/invitations",
    operation_id="identity_list_invitations",
    summary="Invitations of an organisation, newest first (owners only)",
    responses=problem_responses(400, 401, 403, 404),
)
async def list_invitations(
    organisation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[InvitationOut]:
    organisation, _ = await organisations.authorise(session, principal, organisation_id, OrgRole.OWNER)
    limit = check_limit(limit)
    stmt = paginate(
        invitations.invitations_of(organisation_id),
        columns=[Invitation.created_at, Invitation.id],
        cursor=cursor,
        limit=limit,
    )
    rows, next_cursor = finish_page(
        (await session.execute(stmt)).scalars().all(), limit=limit, key=lambda row: (row.created_at, row.id)
    )
    now = now_of(session)
    return Page(items=[invitation_out(row, organisation.namespace, now) for row in rows], next_cursor=next_cursor)


@router.delete(
    "/organisations/{organisation_id}/invitations/{invitation_id}",
    status_code=204,
    operation_id="identity_revoke_invitation",
    summary="Revoke a pending invitation (owners only)",
    responses=problem_responses(401, 403, 404, 409),
)
async def revoke_invitation(
    organisation_id: uuid.UUID, invitation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    await invitations.revoke(session, principal, organisation_id, invitation_id)
    return Response(status_code=204)


# The web front end's page that shows an invitation and accepts it for the signed-in
# user. The gateway serves it on the same origin as the API, so a host-relative path works.
INVITATION_PAGE = "/invitations"


@router.get(
    "/invitations/{token}/accept",
    status_code=303,
    response_class=RedirectResponse,
    operation_id="identity_open_invitation_link",
    summary="Follow an invitation link from an email: redirects to the web page that accepts it",
    responses={303: {"description": "Redirect to the web page, with the token in its path"}},
)
async def open_invitation_link(token: str = Path(min_length=1, max_length=2000)) -> RedirectResponse:
    # Accepting needs the invited account signed in, which only the web page can arrange;
    # the token is checked when the page posts it.
    return RedirectResponse(f"{INVITATION_PAGE}/{quote(token, safe='')}", status_code=303)


@router.get(
    "/invitations/{token}",
    operation_id="identity_preview_invitation",
    summary="Show a pending invitation's organisation, role, inviter and expiry without accepting it",
    responses=problem_responses(401, 404),
)
async def preview_invitation(
    response: Response,
    session: SessionDep,
    principal: OptionalPrincipal,
    token: str = Path(min_length=1, max_length=2000),
) -> InvitationPreview:
    # No sign-in needed: the token is a 256-bit secret sent only to the invited address,
    # and a person without an account should see who invites them before signing up.
    # The response repeats the facts of the invitation email and the inviter's name, never
    # the organisation id or the invited address. Accepting still needs the signed-in
    # account of the invited address, so a forwarded link shows this and nothing more.
    # A signed-in caller also learns whether the invitation is addressed to their account
    # (a yes or no, never the address), so the page offers Accept only to the addressee.
    # An invalid or expired access token is a 401, as on every other route that takes an
    # optional principal: the caller asked as an account, and an anonymous answer would
    # tell a signed-in user to sign in instead of refreshing the token.
    invitation, organisation, inviter = await invitations.preview(session, token)
    addressed_to_you = None
    if principal is not None:
        addressed_to_you = await invitations.is_addressed_to_principal(session, invitation, principal)
    # The response is keyed by a secret, so no shared cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return InvitationPreview(
        namespace=organisation.namespace,
        organisation_name=organisation.display_name,
        role=invitation.role,
        invited_by=inviter,
        expires_at=invitation.expires_at,
        addressed_to_you=addressed_to_you,
    )


@router.post(
    "/invitations/{token}/accept",
    operation_id="identity_accept_invitation",
    summary="Join an organisation with an invitation sent to the caller's verified email address",
    responses=problem_responses(401, 404, 409),
)
async def accept_invitation(token: str, principal: CurrentPrincipal, session: SessionDep) -> InvitationAccepted:
    organisation, role = await invitations.accept(session, principal, token)
    return InvitationAccepted(organisation_id=organisation.id, namespace=organisation.namespace, role=role)
