"""Staff roles: the first admin from configuration, grants and withdrawals by admins."""

from __future__ import annotations

from tests.identity.conftest import bearer


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
