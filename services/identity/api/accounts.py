"""Routes for accounts: sign-up, the caller's profile, email verification, password reset."""

from __future__ import annotations

import uuid

from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from services.identity import accounts, names
from services.identity.access_tokens import memberships_of, staff_roles_of
from services.identity.models import User
from services.identity.runtime import now_of
from services.identity.schemas import (
    Accepted,
    EmailAddress,
    EmailVerified,
    LinkToken,
    MeOut,
    OrganisationMembershipOut,
    PasswordChange,
    PasswordReset,
    ProfileUpdate,
    SignUp,
    UserOut,
)
from services.identity.users import user_by_id
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import problem_responses

router = APIRouter(tags=["accounts"])

LINK_SENT = "If an account uses this address, a link was sent to it."


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        email=user.email,
        display_name=user.display_name,
        email_verified=user.email_verified_at is not None,
        created_at=user.created_at,
    )


@router.post(
    "/users",
    status_code=201,
    operation_id="identity_sign_up",
    summary="Create an account; a verification link is sent to the email address",
    responses=problem_responses(409, 422),
)
async def sign_up(body: SignUp, session: SessionDep) -> UserOut:
    user = await accounts.create_user(
        session,
        email=body.email,
        username=body.username,
        password=body.password,
        display_name=body.display_name,
    )
    if user is not None:
        return user_out(user)

    # The address already has an account, and no account was created. The response is
    # the same as for a new account, so sign-up does not reveal registered addresses.
    return UserOut(
        id=uuid.uuid4(),
        username=body.username,
        email=names.normalise_email(body.email),
        display_name=body.display_name.strip(),
        email_verified=False,
        created_at=now_of(session),
    )


@router.get(
    "/users/me",
    operation_id="identity_get_me",
    summary="The caller's account, staff roles and organisations",
    responses=problem_responses(401),
)
async def get_me(principal: CurrentPrincipal, session: SessionDep) -> MeOut:
    return await me_out(session, await user_by_id(session, principal.user_id))


async def me_out(session, user: User) -> MeOut:
    memberships = await memberships_of(session, user.id)
    return MeOut(
        **user_out(user).model_dump(),
        pending_email=user.pending_email,
        staff_roles=await staff_roles_of(session, user.id),
        organisations=[
            OrganisationMembershipOut(
                organisation_id=organisation.id,
                namespace=organisation.namespace,
                display_name=organisation.display_name,
                role=role,
            )
            for organisation, role in memberships
        ],
    )


@router.patch(
    "/users/me",
    operation_id="identity_update_me",
    summary="Change the display name or the email address (which is verified again)",
    responses=problem_responses(401, 403, 422),
)
async def update_me(body: ProfileUpdate, principal: CurrentPrincipal, session: SessionDep) -> MeOut:
    user = await accounts.update_profile(
        session,
        principal.user_id,
        display_name=body.display_name,
        email=body.email,
        current_password=body.current_password,
    )
    return await me_out(session, user)


@router.post(
    "/users/me/password",
    status_code=204,
    operation_id="identity_change_password",
    summary="Change the password; every session of the account is signed out",
    responses=problem_responses(401, 403, 422),
)
async def change_password(body: PasswordChange, principal: CurrentPrincipal, session: SessionDep) -> Response:
    await accounts.change_password(session, principal.user_id, body.current_password, body.new_password)
    return Response(status_code=204)


@router.post(
    "/email/verify",
    operation_id="identity_verify_email",
    summary="Verify an email address with the token of a verification link",
    responses=problem_responses(409, 422),
)
async def verify_email(body: LinkToken, session: SessionDep) -> EmailVerified:
    user = await accounts.verify_email(session, body.token)
    return EmailVerified(user_id=user.id, email=user.email, email_verified=True)


# The web front end's page that verifies the token of a link and shows the result.
VERIFY_EMAIL_PAGE = "/verify"


@router.get(
    "/email/verify",
    operation_id="identity_verify_email_link",
    summary="Verify an email address by following the verification link itself",
    response_model=EmailVerified,
    description="A browser (a request that accepts text/html) is redirected to the web page that "
    "verifies the token and shows the result; other clients get the result as JSON.",
    responses={**problem_responses(409, 422), 303: {"description": "Redirect to the web page, for browsers"}},
)
async def verify_email_link(
    request: Request, session: SessionDep, token: str = Query(min_length=1, max_length=2000)
) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse(f"{VERIFY_EMAIL_PAGE}?{urlencode({'token': token})}", status_code=303)
    user = await accounts.verify_email(session, token)
    verified = EmailVerified(user_id=user.id, email=user.email, email_verified=True)
    return Response(verified.model_dump_json(), media_type="application/json")


@router.post(
    "/email/verification-request",
    status_code=202,
    operation_id="identity_request_verification",
    summary="Send a new verification link to an address that is not verified yet",
    responses=problem_responses(422),
)
async def request_verification(body: EmailAddress, session: SessionDep) -> Accepted:
    await accounts.resend_verification(session, body.email)
    return Accepted(detail=LINK_SENT)


@router.post(
    "/password/reset-request",
    status_code=202,
    operation_id="identity_request_password_reset",
    summary="Send a password-reset link; the answer is the same whether the address is known",
)
async def request_password_reset(body: EmailAddress, session: SessionDep) -> Accepted:
    await accounts.request_password_reset(session, body.email)
    return Accepted(detail=LINK_SENT)


# The web front end's page with the new-password form. The gateway serves it on the same
# origin as the API, so a path relative to the host reaches it.
RESET_PASSWORD_PAGE = "/reset-password"


@router.get(
    "/password/reset",
    status_code=303,
    response_class=RedirectResponse,
    operation_id="identity_open_password_reset_link",
    summary="Follow a reset link from an email: redirects to the web page that sets the new password",
    responses={303: {"description": "Redirect to the web page, with the token in its query"}},
)
async def open_password_reset_link(token: str = Query(min_length=1, max_length=2000)) -> RedirectResponse:
    # The token is checked when the page posts the new password, so a stale link is
    # reported there, beside the form.
    return RedirectResponse(f"{RESET_PASSWORD_PAGE}?{urlencode({'token': token})}", status_code=303)


@router.post(
    "/password/reset",
    status_code=204,
    operation_id="identity_reset_password",
    summary="Set a new password with the token of a reset link; every session is signed out",
    responses=problem_responses(422),
)
async def reset_password(body: PasswordReset, session: SessionDep) -> Response:
    await accounts.reset_password(session, body.token, body.password)
    return Response(status_code=204)
