"""Request and response bodies of the identity API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

OrgRoleName = Literal["owner", "editor", "viewer"]
StaffRoleName = Literal["reviewer", "security", "admin"]
TokenScope = Literal["pull", "pull+push", "admin"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Accounts.


class SignUp(Body):
    email: str = Field(max_length=320)
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    display_name: str = Field(min_length=1, max_length=100)


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    email: str
    display_name: str
    email_verified: bool
    created_at: datetime


class OrganisationMembershipOut(BaseModel):
    organisation_id: uuid.UUID
    namespace: str
    display_name: str
    role: OrgRoleName


class MeOut(UserOut):
    # An address waiting for verification after an email change; `email` is still in use.
    pending_email: str | None
    staff_roles: list[StaffRoleName]
    organisations: list[OrganisationMembershipOut]


class ProfileUpdate(Body):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=320)
    # Required to change the email address.
    current_password: str | None = Field(default=None, max_length=1024)


class PasswordChange(Body):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class LinkToken(Body):
    token: str = Field(min_length=1, max_length=2000)


class EmailAddress(Body):
    email: str = Field(max_length=320)


class PasswordReset(Body):
    token: str = Field(min_length=1, max_length=2000)
    password: str = Field(max_length=1024)


class EmailVerified(BaseModel):
    user_id: uuid.UUID
    email: str
    email_verified: bool


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str


# Sessions.


class Login(Body):
    # A username or an email address.
    username: str = Field(min_length=1, max_length=320)
    password: str = Field(max_length=1024)


class Refresh(Body):
    refresh_token: str = Field(min_length=1, max_length=200)


class SessionOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    # Seconds until the access token expires.
    expires_in: int
    expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    user: UserOut


# Organisations, members and invitations.


class OrganisationCreate(Body):
    namespace: str = Field(max_length=100)
    display_name: str = Field(min_length=1, max_length=100)


class OrganisationUpdate(Body):
    display_name: str = Field(min_length=1, max_length=100)


class OrganisationOut(BaseModel):
    id: uuid.UUID
    namespace: str
    display_name: str
    created_at: datetime
    # The caller's role; None for staff who are not members.
    role: OrgRoleName | None


class MemberOut(BaseModel):
    user_id: uuid.UUID
    username: str
    display_name: str
    role: OrgRoleName
    joined_at: datetime


class MemberRole(Body):
    role: OrgRoleName


class InvitationCreate(Body):
    email: str = Field(max_length=320)
    role: OrgRoleName


class InvitationOut(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    namespace: str
    email: str
    role: OrgRoleName
    status: Literal["pending", "accepted", "revoked", "expired"]
    created_at: datetime
    expires_at: datetime


class InvitationPreview(BaseModel):
    """A pending invitation's organisation, role, inviter and expiry, shown to the holder of its link."""

    namespace: str
    organisation_name: str
    role: OrgRoleName
    invited_by: str = Field(description="The inviter's display name, or username when that is blank")
    expires_at: datetime
    addressed_to_you: bool | None = Field(
        description=(
            "Whether the invitation was sent to the signed-in account's verified email address, "
            "so that account can accept it; null when the request carries no access token"
        )
    )


class InvitationAccepted(BaseModel):
    organisation_id: uuid.UUID
    namespace: str
    role: OrgRoleName


# Staff.


class StaffRoleGrant(Body):
    role: StaffRoleName


class StaffRolesOut(BaseModel):
    user_id: uuid.UUID
    username: str
    roles: list[StaffRoleName]


class UserNameOut(BaseModel):
    """The names of an account that an audit entry or a review case refers to by id, for staff pages."""

    user_id: uuid.UUID
    username: str
    display_name: str


# Personal access tokens.


class TokenCreate(Body):
    name: str = Field(min_length=1, max_length=100)
    scope: TokenScope
    expires_at: AwareDatetime | None = None


class TokenOut(BaseModel):
    id: uuid.UUID
    name: str
    scope: TokenScope
    token_prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    # The secret, shown in this response only.
    token: str


# Signing keys.


class KeyRotated(BaseModel):
    kid: str
    created_at: datetime
    retired: list[str]


# Internal calls.


class CredentialCheck(Body):
    username: str = Field(min_length=1, max_length=320)
    secret: str = Field(min_length=1, max_length=1024)
    # The registry client's address, when the caller knows it; counted for lockouts.
    client_address: str | None = Field(default=None, max_length=100)


class CredentialMembership(BaseModel):
    organisation_id: uuid.UUID
    namespace: str
    role: OrgRoleName


class CredentialResult(BaseModel):
    user_id: uuid.UUID
    username: str
    # "password" for the account password, else the personal access token's scope.
    scope: Literal["password", "pull", "pull+push", "admin"]
    staff_roles: list[StaffRoleName]
    memberships: list[CredentialMembership]


class InternalUser(BaseModel):
    user_id: uuid.UUID
    username: str
    email: str
    display_name: str
    email_verified: bool
    staff_roles: list[StaffRoleName]
