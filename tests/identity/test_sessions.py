"""Access tokens, refresh rotation with reuse detection, and logout."""

from __future__ import annotations

import jwt

from tests.identity.conftest import bearer


async def test_access_token_claims_shape(identity):
    session = await identity.verified_user("kate")
    await identity.client.post(
        "/organisations", json={"namespace": "kateco", "display_name": "Kate Co"}, headers=bearer(session)
    )
    refreshed = await identity.client.post("/sessions/refresh", json={"refresh_token": session["refresh_token"]})
    token = refreshed.json()["access_token"]

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    jwks = (await identity.client.get("/.well-known/jwks.json")).json()

    assert header["alg"] == "ES256"
    assert header["kid"] in [key["kid"] for key in jwks["keys"]]
    assert claims["iss"] == "wharf-identity"
    assert claims["aud"] == "wharf"
    assert claims["typ"] == "access"
    assert claims["sub"] == session["user"]["id"]
    assert claims["username"] == "kate"
    assert claims["staff"] == []
    assert [(org["ns"], org["role"]) for org in claims["orgs"]] == [("kateco", "owner")]
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]


async def test_admin_token_carries_staff_role(identity):
    session = await identity.admin()

    claims = jwt.decode(session["access_token"], options={"verify_signature": False})

    assert claims["staff"] == ["admin"]


async def test_refresh_rotates_token(identity):
    session = await identity.verified_user("liam")

    first = await identity.client.post("/sessions/refresh", json={"refresh_token": session["refresh_token"]})
    second = await identity.client.post("/sessions/refresh", json={"refresh_token": first.json()["refresh_token"]})

    assert first.status_code == 200
    assert second.status_code == 200
    assert first.json()["refresh_token"] != session["refresh_token"]
    assert second.json()["refresh_token"] != first.json()["refresh_token"]
    me = await identity.client.get("/users/me", headers=bearer(second.json()))
    assert me.status_code == 200


async def test_refresh_reuse_revokes_family(identity):
    session = await identity.verified_user("mia")
    other_login = await identity.login("mia", session["password"])
    rotated = await identity.client.post("/sessions/refresh", json={"refresh_token": session["refresh_token"]})

    reused = await identity.client.post("/sessions/refresh", json={"refresh_token": session["refresh_token"]})
    successor = await identity.client.post("/sessions/refresh", json={"refresh_token": rotated.json()["refresh_token"]})
    unrelated = await identity.client.post("/sessions/refresh", json={"refresh_token": other_login["refresh_token"]})

    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]
    assert successor.status_code == 401
    assert unrelated.status_code == 200
    revoked = await identity.events("identity.token.revoked")
    assert [event["kind"] for event in revoked] == ["refresh_family"]


async def test_logout_revokes_refresh_token(identity):
    session = await identity.verified_user("noah")

    logout = await identity.client.post("/sessions/logout", json={"refresh_token": session["refresh_token"]})
    again = await identity.client.post("/sessions/logout", json={"refresh_token": session["refresh_token"]})
    refresh = await identity.client.post("/sessions/refresh", json={"refresh_token": session["refresh_token"]})

    assert logout.status_code == 204
    assert again.status_code == 204
    assert refresh.status_code == 401
    assert len(await identity.events("identity.token.revoked")) == 1


async def test_refresh_token_expires(identity):
    from datetime import timedelta

    session = await identity.verified_user("olga")
    identity.clock.advance(timedelta(days=31))

    response = await identity.client.post("/sessions/refresh", json={"refresh_token": session["refresh_token"]})

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_login_by_email_address(identity):
    session = await identity.verified_user("pete")

    response = await identity.client.post("/sessions", json={"username": "PETE@example.com", "password": session["password"]})

    assert response.status_code == 201
    assert response.json()["user"]["username"] == "pete"


async def test_wrong_password_same_message_as_unknown_user(identity):
    await identity.verified_user("quinn")

    wrong = await identity.client.post("/sessions", json={"username": "quinn", "password": "wrong-password-1"})
    unknown = await identity.client.post("/sessions", json={"username": "nobody", "password": "wrong-password-1"})

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
