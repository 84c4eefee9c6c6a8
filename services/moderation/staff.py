"""Staff role checks, made against identity because moderation keeps no copy of the roles."""

from __future__ import annotations

import uuid

import httpx
import structlog

from shared.errors import InvalidValue, ServiceUnavailable

log = structlog.get_logger()

# Roles that may review a case. Admins hold every staff power, as in `Principal.has_staff_role`.
REVIEWING_ROLES = frozenset({"reviewer", "admin"})


async def require_reviewer(runtime, user_id: uuid.UUID) -> None:
    """Raise `InvalidValue` unless identity lists the user with the reviewer or admin role now."""
    path = f"/internal/users/{user_id}"
    headers = {"X-Wharf-Internal-Token": runtime.platform.internal_token}
    # In the all-in-one mode identity runs in this process and is called directly,
    # because the gateway never forwards `/internal/` routes.
    client = runtime.state.get("internal_clients", {}).get("identity")
    try:
        if client is not None:
            response = await client.get(path, headers=headers)
        else:
            async with httpx.AsyncClient(
                base_url=runtime.platform.identity_url, timeout=runtime.settings.identity_timeout_seconds
            ) as own_client:
                response = await own_client.get(path, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("moderation.staff_check.identity_unreachable", user_id=str(user_id), error=repr(exc))
        raise ServiceUnavailable("The identity service did not respond to the reviewer check; try again") from exc

    if response.status_code == 404:
        raise InvalidValue(
            f"User {user_id} not found in identity: assign a staff member with the reviewer role",
            field="reviewer_id",
        )
    if response.status_code != 200:
        log.warning("moderation.staff_check.failed", user_id=str(user_id), status=response.status_code)
        raise ServiceUnavailable(f"The identity service returned HTTP {response.status_code} for the reviewer check")

    roles = set(response.json().get("staff_roles", []))
    if not roles & REVIEWING_ROLES:
        listed_roles = ", ".join(sorted(roles)) or "none"
        raise InvalidValue(
            f"User {user_id} does not have the staff role reviewer (staff roles: {listed_roles}): "
            "assign a reviewer, or ask an admin to grant the role",
            field="reviewer_id",
        )
