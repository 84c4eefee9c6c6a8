"""Staff roles: the first admin from configuration, grants and withdrawals by admins."""

from __future__ import annotations

import pytest

from services.identity.app import create_app
from shared.errors import ConfigurationError
from shared.events.memory import InMemoryTransport
from tests.identity.conftest import bearer, identity_settings
from tests.support.services import running_service


async def test_first_admin_created_once(identity):
    admin = await identity.admin()

    me = await identity.client.get("/users/me", headers=bearer(admin))

    assert me.json()["staff_roles"] == ["admin"]
    assert me.json()["email_verified"] is True
    granted = await identity.events("identity.staff_role.granted")
    assert [(event["user_id"], event["role"]) for event in granted] == [(admin["user"]["id"], "admin")]


async def test_admin_grants_and_withdraws_role(identity):
    admin = await identity.admin()
    reviewer = await identity.verified_user("cleo")
    path = f"/staff/{reviewer['user']['id']}/roles"

    granted = await identity.client.post(path, json={"role": "reviewer"}, headers=bearer(admin))
    again = await identity.client.post(path, json={"role": "reviewer"}, headers=bearer(admin))
    withdrawn = await identity.client.delete(f"{path}/reviewer", headers=bearer(admin))

    assert granted.json()["roles"] == ["reviewer"]
    assert again.json()["roles"] == ["reviewer"]
    assert withdrawn.json()["roles"] == []
    grants = [event["role"] for event in await identity.events("identity.staff_role.granted")]
    withdrawals = await identity.events("identity.staff_role.withdrawn")
    assert grants == ["admin", "reviewer"]
    assert [(event["role"], event["actor_id"]) for event in withdrawals] == [("reviewer", admin["user"]["id"])]


async def test_last_admin_keeps_role(identity):
    admin = await identity.admin()

    response = await identity.client.delete(f"/staff/{admin['user']['id']}/roles/admin", headers=bearer(admin))

    assert response.status_code == 409


async def test_withdrawn_admin_refused_at_once(identity):
    admin = await identity.admin()
    second = await identity.verified_user("dora")
    await identity.client.post(f"/staff/{second['user']['id']}/roles", json={"role": "admin"}, headers=bearer(admin))
    second_session = await identity.login("dora", second["password"])
    await identity.client.delete(f"/staff/{second['user']['id']}/roles/admin", headers=bearer(admin))

    # The access token still claims admin; identity checks its own table instead.
    response = await identity.client.post("/keys/rotate", headers=bearer(second_session))

    assert response.status_code == 403


async def test_staff_list_pages_by_username(identity):
    admin = await identity.admin()
    for username, roles in [("zara", ["security", "reviewer"]), ("bram", ["reviewer"])]:
        user = await identity.verified_user(username)
        for role in roles:
            await identity.client.post(f"/staff/{user['user']['id']}/roles", json={"role": role}, headers=bearer(admin))
    await identity.verified_user("carl")

    first = await identity.client.get("/staff", params={"limit": 2}, headers=bearer(admin))
    second = await identity.client.get(
        "/staff", params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=bearer(admin)
    )

    assert first.status_code == 200
    assert [(item["username"], item["roles"]) for item in first.json()["items"]] == [
        (admin["user"]["username"], ["admin"]),
        ("bram", ["reviewer"]),
    ]
    # Users without a role, like carl, are left out; roles are sorted by name.
    assert [(item["username"], item["roles"]) for item in second.json()["items"]] == [("zara", ["reviewer", "security"])]
    assert second.json()["next_cursor"] is None


async def test_staff_lookup_by_username_or_email(identity):
    admin = await identity.admin()
    user = await identity.verified_user("emil", email="emil.work@example.com")

    by_name = await identity.client.get("/staff/lookup", params={"login": " Emil "}, headers=bearer(admin))
    by_email = await identity.client.get("/staff/lookup", params={"login": "Emil.Work@example.com"}, headers=bearer(admin))
    missing = await identity.client.get("/staff/lookup", params={"login": "nobody"}, headers=bearer(admin))

    assert by_name.json() == {"user_id": user["user"]["id"], "username": "emil", "roles": []}
    assert by_email.json() == by_name.json()
    assert missing.status_code == 404
    assert missing.json()["field"] == "login"


async def test_invalid_first_admin_stops_start():
    settings = identity_settings(bootstrap_admin_email="admin@example.test")

    with pytest.raises(ConfigurationError) as raised:
        async with running_service(
            create_app, database="identity_bad_admin", transport=InMemoryTransport(), settings=settings
        ):
            pass

    assert "WHARF_IDENTITY_BOOTSTRAP_ADMIN_USERNAME, _EMAIL and _PASSWORD" in str(raised.value)
    assert "'admin@example.test'" in str(raised.value)


async def test_staff_name_users_by_id(identity):
    reviewer = await identity.verified_user("rhea")
    admin = await identity.admin()
    await identity.client.post(f"/staff/{reviewer['user']['id']}/roles", json={"role": "reviewer"}, headers=bearer(admin))
    publisher = await identity.verified_user("piet")
    unknown = "00000000-0000-4000-8000-000000000000"

    named = await identity.client.get(
        "/staff/users", params={"id": [publisher["user"]["id"], unknown]}, headers=bearer(reviewer)
    )

    assert named.status_code == 200, named.text
    # The reviewer's token predates the role: the role is read from the database.
    assert named.json() == [
        {"user_id": publisher["user"]["id"], "username": "piet", "display_name": publisher["user"]["display_name"]}
    ]


async def test_name_users_needs_current_staff_role(identity):
    publisher = await identity.verified_user("quin")

    response = await identity.client.get("/staff/users", params={"id": [publisher["user"]["id"]]}, headers=bearer(publisher))

    assert response.status_code == 403
    assert "staff role" in response.json()["detail"]


@pytest.mark.parametrize("ids", [[], ["not-a-uuid"], [f"00000000-0000-4000-8000-{index:012d}" for index in range(201)]])
async def test_name_users_rejects_invalid_ids(identity, ids):
    admin = await identity.admin()

    response = await identity.client.get("/staff/users", params={"id": ids}, headers=bearer(admin))

    assert response.status_code == 422
