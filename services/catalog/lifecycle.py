"""The state machines of product versions and listings, applied as conditional updates.

Each transition is one `UPDATE ... WHERE state IN (...)` whose row count is checked, so
two concurrent requests or a redelivered event can never apply the same step twice.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Product, ProductVersion
from shared.errors import Conflict

log = structlog.get_logger()

# Version transitions: name -> (states it may start from, state it ends in).
VERSION_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({"draft", "changes_requested"}), "submitted"),
    "start_review": (frozenset({"submitted"}), "in_review"),
    # Moderation may decide before catalog learns that the review started.
    "approve": (frozenset({"submitted", "in_review"}), "approved"),
    "request_changes": (frozenset({"submitted", "in_review"}), "changes_requested"),
    "reject": (frozenset({"submitted", "in_review"}), "rejected"),
    "publish": (frozenset({"approved"}), "published"),
    # The publisher takes a submission back to edit it, for instance to fix a tier's source.
    "withdraw": (frozenset({"submitted", "in_review"}), "draft"),
}

# Listing transitions of a product.
PRODUCT_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "publish": (frozenset({"unpublished"}), "published"),
    "hold": (frozenset({"published"}), "held"),
    "lift_hold": (frozenset({"held"}), "published"),
    "revoke": (frozenset({"published", "held"}), "revoked"),
    "unlist": (frozenset({"published"}), "unlisted"),
    "relist": (frozenset({"unlisted"}), "published"),
}

# Versions a publisher may still edit.
EDITABLE_STATES = frozenset({"draft", "changes_requested"})
# Versions on their way to publication; a product has at most one at a time.
OPEN_STATES = frozenset({"draft", "submitted", "in_review", "changes_requested", "approved"})
# Listing states in which customers can see and find a product.
VISIBLE_STATUSES = frozenset({"published", "held"})


async def move_version(
    session: AsyncSession, version_id: uuid.UUID, transition: str, **values: Any
) -> bool:
    """Apply a version transition; return False when the version is in another state."""
    sources, target = VERSION_TRANSITIONS[transition]
    now = session.info["runtime"].clock.now()
    result = await session.execute(
        update(ProductVersion)
        .where(ProductVersion.id == version_id, ProductVersion.state.in_(sources))
        .values(state=target, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def move_product(session: AsyncSession, product_id: uuid.UUID, transition: str, **values: Any) -> bool:
    """Apply a listing transition; return False when the product is in another state."""
    sources, target = PRODUCT_TRANSITIONS[transition]
    now = session.info["runtime"].clock.now()
    result = await session.execute(
        update(Product)
        .where(Product.id == product_id, Product.status.in_(sources))
        .values(status=target, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def require_version_move(
    session: AsyncSession, version: ProductVersion, transition: str, **values: Any
) -> None:
    """Apply a version transition for a request, or raise 409 naming the current state."""
    if await move_version(session, version.id, transition, **values):
        return
    current = (
        await session.execute(select(ProductVersion.state).where(ProductVersion.id == version.id))
    ).scalar_one()
    raise version_conflict(version, transition, current)


def version_conflict(version: ProductVersion, transition: str, current: str) -> Conflict:
    """Build the 409 for a version transition that does not apply to the state `current`."""
    sources, target = VERSION_TRANSITIONS[transition]
    return Conflict(
        f"Version {version.version} of product {version.product_id} is {current}; "
        f"it can become {target} only from " + " or ".join(sorted(sources)),
        current_state=current,
    )


async def require_product_move(session: AsyncSession, product: Product, transition: str, **values: Any) -> None:
    """Apply a listing transition for a request, or raise 409 naming the current state."""
    if await move_product(session, product.id, transition, **values):
        return
    current = (await session.execute(select(Product.status).where(Product.id == product.id))).scalar_one()
    sources, target = PRODUCT_TRANSITIONS[transition]
    raise Conflict(
        f"Product {product.id} is {current}; it can become {target} only from " + " or ".join(sorted(sources)),
        current_state=current,
    )
