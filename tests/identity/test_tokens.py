"""Personal access tokens and the internal credential check behind `docker login`."""

from __future__ import annotations

from datetime import timedelta

from tests.identity.conftest import INTERNAL_HEADERS, bearer


async def create_token(identity, session, scope="pull", **extra):
    response = await identity.client.post(
        "/tokens", json={"name": f"{scope} token", "scope": scope, **extra}, headers=bearer(session)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def check(identity, username, secret):
    return await identity.client.post(
        "/internal/credentials/check", json={"username": username, "secret": secret}, headers=INTERNAL_HEADERS
    )


async def test_token_shown_once_and_listed_without_secret(identity):
    session = await identity.verified_user("pia")

    created = await create_token(identity, session, "pull+push")
    listed = await identity.client.get("/tokens", headers=bearer(session))

    assert created["token"].startswith("wharf_pat_")
    assert created["token"].startswith(created["token_prefix"])
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    assert "token" not in listed.json()["items"][0]
    assert created["token"] not in listed.text


async def test_check_returns_token_scope(identity):
    session = await identity.verified_user("ravi")
    org = await identity.client.post(
        "/organisations", json={"namespace": "raviworks", "display_name": "Ravi"}, headers=bearer(session)
    )
    for scope in ("pull", "pull+push", "admin"):
        token = await create_token(identity, session, scope)

        response = await check(identity, "ravi", token["token"])

        assert response.status_code == 200, scope
        assert response.json()["scope"] == scope
        assert response.json()["user_id"] == session["user"]["id"]
        assert response.json()["memberships"] == [
            {"organisation_id": org.json()["id"], "namespace": "raviworks", "role": "owner"}
        ]


async def test_check_with_password_scope(identity):
    session = await identity.verified_user("sara")

    response = await check(identity, "sara", session["password"])

    assert response.status_code == 200
    assert response.json()["scope"] == "password"
    assert response.json()["staff_roles"] == []


async def test_check_updates_last_used(identity):
    session = await identity.verified_user("theo")
    token = await create_token(identity, session)
    identity.clock.advance(timedelta(minutes=5))

    await check(identity, "theo", token["token"])
    listed = await identity.client.get("/tokens", headers=bearer(session))

    assert listed.json()["items"][0]["last_used_at"] == identity.clock.now().isoformat().replace("+00:00", "Z")


async def test_revoked_token_rejected(identity):
    session = await identity.verified_user("ursa")
    token = await create_token(identity, session)

    revoke = await identity.client.delete(f"/tokens/{token['id']}", headers=bearer(session))
    response = await check(identity, "ursa", token["token"])

    assert revoke.status_code == 204
    assert response.status_code == 401
    revoked = await identity.events("identity.token.revoked")
    assert [(event["token_id"], event["kind"]) for event in revoked] == [(token["id"], "personal_access_token")]


async def test_expired_token_rejected(identity):
    session = await identity.verified_user("vic")
    expires_at = (identity.clock.now() + timedelta(days=1)).isoformat()
    token = await create_token(identity, session, expires_at=expires_at)

    before = await check(identity, "vic", token["token"])
    identity.clock.advance(timedelta(days=2))
    after = await check(identity, "vic", token["token"])

    assert before.status_code == 200
    assert after.status_code == 401


async def test_token_of_other_user_rejected(identity):
    owner = await identity.verified_user("will")
    await identity.verified_user("xena")
    token = await create_token(identity, owner)

    response = await check(identity, "xena", token["token"])

    assert response.status_code == 401


async def test_unknown_user_same_message(identity):
    session = await identity.verified_user("yuri")

    wrong = await check(identity, "yuri", "wrong-password-1")
    unknown = await check(identity, "nobody", "wrong-password-1")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert session["password"] not in wrong.text


async def test_check_without_internal_token_not_found(identity):
    session = await identity.verified_user("zoe")

    response = await identity.client.post(
        "/internal/credentials/check",
        json={"username": "zoe", "secret": session["password"]},
        headers={"X-Wharf-Internal-Token": "guess"},
    )

    assert response.status_code == 404
