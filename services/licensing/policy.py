"""Who may pull or push which repository: namespaces, access policies and listing states.

Two namespaces exist. `staging/<org>/<repo>` belongs to a publisher organisation. Members
with the editor role or above pull and push, viewers and staff pull, and other accounts
get no access. `store/<org>/<product>` contains promoted images: only the promotion account
pushes, and pulls follow the product's access policy and listing state. Any other name
is granted nothing, so an unknown repository reveals nothing.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import OrgRole
from services.licensing.models import (
    Entitlement,
    LicenceAcceptance,
    ListingState,
    Product,
    Tier,
)

PULL = "pull"
PUSH = "push"
DELETE = "delete"

STAGING = "staging"
STORE = "store"

# One path component of a repository name, as Distribution defines it. `\Z` ends the
# pattern because `$` also matches before a final newline.
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*\Z", re.ASCII)


class CredentialScope(StrEnum):
    """Kind of credentials presented at `GET /token`, which caps the actions a token gets."""

    ANONYMOUS = "anonymous"
    PASSWORD = "password"
    PULL = "pull"
    PULL_PUSH = "pull+push"
    ADMIN = "admin"
    SERVICE = "service"  # another Wharf service with the platform's internal token


_CREDENTIAL_ACTIONS = {
    CredentialScope.ANONYMOUS: frozenset({PULL}),
    CredentialScope.PASSWORD: frozenset({PULL, PUSH, DELETE}),
    CredentialScope.PULL: frozenset({PULL}),
    CredentialScope.PULL_PUSH: frozenset({PULL, PUSH}),
    CredentialScope.ADMIN: frozenset({PULL, PUSH, DELETE}),
    CredentialScope.SERVICE: frozenset({PULL}),
}


class Access(StrEnum):
    EVERYONE = "everyone"
    LOGGED_IN = "logged_in"
    PURCHASERS = "purchasers"


class ListingStatus(StrEnum):
    LISTED = "listed"
    HELD = "held"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Account:
    """The caller of a token request, as identity described it."""

    user_id: uuid.UUID | None
    username: str
    credential_scope: CredentialScope
    staff_roles: frozenset[str] = frozenset()
    # Organisation role by organisation namespace.
    roles: dict[str, OrgRole] = field(default_factory=dict)

    @classmethod
    def anonymous(cls) -> Account:
        return cls(user_id=None, username="", credential_scope=CredentialScope.ANONYMOUS)

    @property
    def is_anonymous(self) -> bool:
        return self.credential_scope == CredentialScope.ANONYMOUS

    @property
    def is_service(self) -> bool:
        return self.credential_scope == CredentialScope.SERVICE

    @property
    def is_staff(self) -> bool:
        return bool(self.staff_roles)

    @property
    def subject(self) -> str:
        """The token's `sub`, which the registry reports back as the actor of each event."""
        if self.is_service:
            return f"service:{self.username}"
        return str(self.user_id) if self.user_id else ""


@dataclass(frozen=True)
class RepositoryName:
    namespace_kind: str  # staging | store
    organisation: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace_kind}/{self.organisation}/{self.name}"


def parse_repository(value: str) -> RepositoryName | None:
    """Parse `staging/<org>/<repo>` or `store/<org>/<product>`; None for anything else."""
    parts = value.split("/")
    if len(parts) != 3 or parts[0] not in (STAGING, STORE):
        return None
    if not all(_COMPONENT.match(part) for part in parts[1:]):
        return None
    return RepositoryName(namespace_kind=parts[0], organisation=parts[1], name=parts[2])


async def granted_actions(
    session: AsyncSession,
    account: Account,
    repository: str,
    requested: set[str],
    *,
    now: datetime,
) -> set[str]:
    """Return the subset of `requested` actions the account gets on `repository`."""
    parsed = parse_repository(repository)
    if parsed is None:
        return set()

    if parsed.namespace_kind == STAGING:
        allowed = staging_actions(account, parsed)
    else:
        allowed = await store_actions(session, account, repository, now=now)

    return allowed & requested & _CREDENTIAL_ACTIONS[account.credential_scope]


def staging_actions(account: Account, repository: RepositoryName) -> set[str]:
    role = account.roles.get(repository.organisation)
    if role is not None and role >= OrgRole.EDITOR:
        return {PULL, PUSH, DELETE}
    if role is not None or account.is_staff or account.is_service:
        return {PULL}
    return set()


async def store_actions(
    session: AsyncSession, account: Account, repository: str, *, now: datetime
) -> set[str]:
    # Staff review and the scanner read any store repository, published or not.
    if account.is_staff or account.is_service:
        return {PULL}

    product = await session.scalar(select(Product).where(Product.store_repository == repository))
    if product is None:
        return set()

    if await may_pull_product(session, account, product, now=now):
        return {PULL}
    return set()


async def may_pull_product(
    session: AsyncSession, account: Account, product: Product, *, now: datetime
) -> bool:
    """Apply the listing state, then each tier's access policy; one passing tier suffices.

    Held listings pull as usual, so customers can fetch a fixed version. Revoked
    listings pull only for customers whose entitlement period has not ended.

    NOTE: registry scopes name repositories, not tags, and all tiers of a product share
    its store repository, so a pass on any tier opens every tier's image. Tiers whose
    images differ and whose access differs need their own repositories.
    """
    status = await listing_status(session, product.product_id)
    if status == ListingStatus.REVOKED:
        return account.user_id is not None and bool(
            await active_entitlements(session, account.user_id, product.product_id, now=now)
        )

    if product.namespace in account.roles:
        return True

    tiers = (await session.scalars(select(Tier).where(Tier.product_id == product.product_id))).all()
    passing = [tier for tier in tiers if _passes_access(account, tier)]
    if any(tier.access_policy == Access.PURCHASERS for tier in passing):
        entitlements = await active_entitlements(session, account.user_id, product.product_id, now=now)
        entitled = {entitlement.tier_id for entitlement in entitlements}
        passing = [t for t in passing if t.access_policy != Access.PURCHASERS or t.tier_id in entitled]
    if not passing:
        return False

    # Licence-gated tiers pass only with the current licence version accepted; a tier
    # without the gate passes as it is.
    if any(not tier.licence_required or not product.licence_version for tier in passing):
        return True
    if account.user_id is None:
        # Anonymous users cannot accept a licence.
        return False
    return await has_accepted_licence(session, account.user_id, product)


def _passes_access(account: Account, tier: Tier) -> bool:
    """Check the access policy alone; purchasers still need an entitlement checked later."""
    if tier.access_policy == Access.EVERYONE:
        return True
    if tier.access_policy in (Access.LOGGED_IN, Access.PURCHASERS):
        return account.user_id is not None
    return False


async def listing_status(session: AsyncSession, product_id: uuid.UUID) -> ListingStatus:
    state = await session.get(ListingState, product_id)
    return ListingStatus(state.state) if state else ListingStatus.LISTED


async def active_entitlements(
    session: AsyncSession, user_id: uuid.UUID, product_id: uuid.UUID, *, now: datetime
) -> list[Entitlement]:
    """Entitlements that allow pulls now: granted, not refunded, period not over."""
    rows = await session.scalars(
        select(Entitlement).where(
            Entitlement.user_id == user_id,
            Entitlement.product_id == product_id,
            Entitlement.status.in_(("active", "canceled")),
            Entitlement.granted_at.is_not(None),
            or_(Entitlement.valid_until.is_(None), Entitlement.valid_until > now),
        )
    )
    return list(rows.all())


async def has_accepted_licence(session: AsyncSession, user_id: uuid.UUID, product: Product) -> bool:
    """Whether the user accepted the product's current licence version."""
    found = await session.scalar(
        select(LicenceAcceptance.acceptance_id).where(
            LicenceAcceptance.user_id == user_id,
            LicenceAcceptance.product_id == product.product_id,
            LicenceAcceptance.licence_version == product.licence_version,
        )
    )
    return found is not None
