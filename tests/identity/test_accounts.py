"""Sign-up, email verification, password reset and profile changes."""

from __future__ import annotations

from datetime import timedelta

from tests.identity.conftest import bearer


async def test_sign_up_then_verified_login(identity):
    user = await identity.sign_up("alice")
    assert user["username"] == "alice"
    assert user["email_verified"] is False

    refused = await identity.client.post("/sessions", json={"username": "alice", "password": "alice-password-1"})
    assert refused.status_code == 403

    registered = await identity.events("identity.user.registered")
    assert [event["user_id"] for event in registered if event["username"] == "alice"] == [user["id"]]
    token = await identity.last_link_token("identity.user.verification_requested", "alice@example.com")

    verified = await identity.client.post("/email/verify", json={"token": token})
    assert verified.status_code == 200
    assert verified.json()["email_verified"] is True

    session = await identity.login("alice", "alice-password-1")
    me = await identity.client.get("/users/me", headers=bearer(session))
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]
    assert me.json()["email_verified"] is True
