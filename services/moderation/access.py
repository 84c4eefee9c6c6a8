"""Who may read and act on an organisation's moderation records.

Staff read everything. A publisher's members read their own organisation's records, and
editors or owners act on them. Anyone else gets a 404 naming the object, so the
existence of another organisation's case is never revealed.
"""

from __future__ import annotations

import uuid

from shared.auth import OrgRole, Principal
from shared.errors import Forbidden, NotFound


def require_reader(principal: Principal, organisation_id: uuid.UUID, *, what: str, object_id: object) -> None:
    if principal.is_staff:
        return
    if principal.role_in(organisation_id) is None:
        raise NotFound(f"{what} {object_id} not found")


def require_publisher_editor(
    principal: Principal, organisation_id: uuid.UUID, *, what: str, object_id: object
) -> None:
    """Allow editors and owners of the organisation; viewers get 403, others 404."""
    role = principal.role_in(organisation_id)
    if role is None:
        raise NotFound(f"{what} {object_id} not found")
    if role < OrgRole.EDITOR:
        raise Forbidden(
            f"Your role in organisation {organisation_id} is {role.name.lower()}; "
            "this action needs editor or owner"
        )


def readable_organisations(principal: Principal) -> list[uuid.UUID] | None:
    """Return the organisations whose records the principal may list, or None for all (staff)."""
    if principal.is_staff:
        return None
    return list(principal.memberships)
