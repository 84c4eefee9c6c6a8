"""Every identity endpoint rejects the wrong principal.

The matrix lists each route with the status expected for each wrong caller. A route
missing from the matrix fails the test, so every new route must be added to it.
"""

from __future__ import annotations

import uuid

from tests.identity.conftest import INTERNAL_HEADERS, bearer, token_of
from tests.support import tokens as test_tokens

# Routes that take no access token; their secrets (passwords, link and refresh tokens)
# are tested where each is defined.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/.well-known/jwks.json"),
    ("POST", "/users"),
    ("POST", "/email/verify"),
    ("GET", "/email/verify"),
    ("POST", "/email/verification-request"),
    ("POST", "/password/reset-request"),
    ("POST", "/password/reset"),
    ("GET", "/password/reset"),
    ("GET", "/invitations/{token}/accept"),
    ("GET", "/invitations/{token}"),
    ("POST", "/sessions"),
    ("POST", "/sessions/refresh"),
    ("POST", "/sessions/logout"),
}

# Rows are (method, path, body, {caller: expected status}). The callers are:
# - "anonymous": no token.
# - "forged": a token that claims the owner and admin, signed by an unknown key.
# - "stranger": a signed-in user outside the organisation, without staff roles.
# - "viewer": a member with the lowest role.
# - "user": any signed-in user, calling an internal route without the internal token.
MATRIX = [
    ("GET", "/users/me", None, {"anonymous": 401, "forged": 401}),
    ("PATCH", "/users/me", {"display_name": "X"}, {"anonymous": 401, "forged": 401}),
    (
        "POST",
        "/users/me/password",
        {"current_password": "x" * 12, "new_password": "y" * 12},
        {"anonymous": 401, "forged": 401},
    ),
    ("POST", "/organisations", {"namespace": "other", "display_name": "O"}, {"anonymous": 401, "forged": 401}),
    ("GET", "/organisations", None, {"anonymous": 401, "forged": 401}),
    ("GET", "/organisations/{org}", None, {"anonymous": 401, "forged": 401, "stranger": 404}),
    (
        "PATCH",
        "/organisations/{org}",
        {"display_name": "Taken"},
        {"anonymous": 401, "forged": 401, "stranger": 404, "viewer": 403},
    ),
    ("GET", "/organisations/{org}/members", None, {"anonymous": 401, "forged": 401, "stranger": 404}),
    (
        "PUT",
        "/organisations/{org}/members/{owner}",
        {"role": "viewer"},
        {"anonymous": 401, "forged": 401, "stranger": 404, "viewer": 403},
    ),
    (
        "DELETE",
        "/organisations/{org}/members/{owner}",
        None,
        {"anonymous": 401, "forged": 401, "stranger": 404, "viewer": 403},
    ),
    (
        "POST",
        "/organisations/{org}/invitations",
        {"email": "new@example.com", "role": "owner"},
        {"anonymous": 401, "forged": 401, "stranger": 404, "viewer": 403},
    ),
    (
        "GET",
        "/organisations/{org}/invitations",
        None,
        {"anonymous": 401, "forged": 401, "stranger": 404, "viewer": 403},
    ),
    (
        "DELETE",
        "/organisations/{org}/invitations/{invitation}",
        None,
        {"anonymous": 401, "forged": 401, "stranger": 404, "viewer": 403},
    ),
    ("POST", "/invitations/{invitation_token}/accept", None, {"anonymous": 401, "forged": 401, "stranger": 404}),
    ("GET", "/staff", None, {"anonymous": 401, "forged": 401, "stranger": 403, "viewer": 403}),
    ("GET", "/staff/lookup?login=owner", None, {"anonymous": 401, "forged": 401, "stranger": 403, "viewer": 403}),
    ("GET", "/staff/users?id={owner}", None, {"anonymous": 401, "forged": 401, "stranger": 403, "viewer": 403}),
    ("GET", "/staff/{owner}/roles", None, {"anonymous": 401, "forged": 401, "stranger": 403, "viewer": 403}),
    (
        "POST",
        "/staff/{stranger}/roles",
        {"role": "admin"},
        {"anonymous": 401, "forged": 401, "stranger": 403, "viewer": 403},
    ),
    (
        "DELETE",
        "/staff/{admin}/roles/{admin_role}",
        None,
        {"anonymous": 401, "forged": 401, "stranger": 403, "viewer": 403},
    ),
    ("POST", "/tokens", {"name": "t", "scope": "pull"}, {"anonymous": 401, "forged": 401}),
    ("GET", "/tokens", None, {"anonymous": 401, "forged": 401}),
    ("DELETE", "/tokens/{owner_token}", None, {"anonymous": 401, "forged": 401, "stranger": 404, "viewer": 404}),
    ("POST", "/keys/rotate", None, {"anonymous": 401, "forged": 401, "stranger": 403, "viewer": 403}),
    (
        "POST",
        "/internal/credentials/check",
        {"username": "owner", "secret": "owner-password-1"},
        {"anonymous": 404, "user": 404},
    ),
    ("GET", "/internal/users/{owner}", None, {"anonymous": 404, "user": 404}),
]


def route_template(path: str) -> str:
    """Turn a FastAPI path such as /organisations/{organisation_id} into the matrix form, without a query."""
    path = path.partition("?")[0]
    return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))


async def test_matrix_lists_every_route(identity):
    paths = identity.service.app.openapi()["paths"]
    routes = {(method.upper(), route_template(path)) for path, operations in paths.items() for method in operations}
    assert len(routes) > len(PUBLIC)
    listed = {(method, route_template(path)) for method, path, _, _ in MATRIX}
    public = {(method, route_template(path)) for method, path in PUBLIC}

    assert routes - listed - public == set()
    assert listed - routes == set()


async def test_every_endpoint_rejects_wrong_principal(identity):
    admin = await identity.admin()
    owner = await identity.verified_user("owner")
    stranger = await identity.verified_user("stranger")
    viewer = await identity.verified_user("viewer")

    org = (
        await identity.client.post(
            "/organisations", json={"namespace": "ownerco", "display_name": "Owner Co"}, headers=bearer(owner)
        )
    ).json()
    await identity.client.post(
        f"/organisations/{org['id']}/invitations", json={"email": "viewer@example.com", "role": "viewer"},
        headers=bearer(owner),
    )
    viewer_token = token_of((await identity.events("identity.invitation.created"))[-1]["link"])
    accepted = await identity.client.post(f"/invitations/{viewer_token}/accept", headers=bearer(viewer))
    assert accepted.status_code == 200
    viewer = await identity.login("viewer", viewer["password"])

    pending = await identity.client.post(
        f"/organisations/{org['id']}/invitations", json={"email": "someone@example.com", "role": "editor"},
        headers=bearer(owner),
    )
    pending_token = token_of((await identity.events("identity.invitation.created"))[-1]["link"])
    owner_token = (
        await identity.client.post("/tokens", json={"name": "ci", "scope": "pull"}, headers=bearer(owner))
    ).json()

    values = {
        "org": org["id"],
        "owner": owner["user"]["id"],
        "stranger": stranger["user"]["id"],
        "admin": admin["user"]["id"],
        "invitation": pending.json()["id"],
        "invitation_token": pending_token,
        "owner_token": owner_token["id"],
        "admin_role": "admin",
    }
    issuer = test_tokens.TokenIssuer()
    forged = issuer.token(test_tokens.TestUser(user_id=uuid.UUID(owner["user"]["id"]), username="owner", staff=("admin",)))
    headers = {
        "anonymous": {},
        "forged": {"Authorization": f"Bearer {forged}"},
        "stranger": bearer(stranger),
        "viewer": bearer(viewer),
        "user": bearer(owner),
    }

    for method, template, body, expected in MATRIX:
        path = template.format(**values)
        for caller, status in expected.items():
            response = await identity.client.request(method, path, json=body, headers=headers[caller])
            assert response.status_code == status, f"{method} {template} as {caller}: {response.text}"
            assert response.headers["content-type"] == "application/problem+json", f"{method} {template}"

    # Nothing the wrong callers tried took effect.
    members = await identity.client.get(f"/organisations/{org['id']}/members", headers=bearer(owner))
    roles = {member["username"]: member["role"] for member in members.json()["items"]}
    assert roles == {"owner": "owner", "viewer": "viewer"}
    tokens = await identity.client.get("/tokens", headers=bearer(owner))
    assert [token["id"] for token in tokens.json()["items"]] == [owner_token["id"]]
    internal = await identity.client.get(f"/internal/users/{owner['user']['id']}", headers=INTERNAL_HEADERS)
    assert internal.status_code == 200
