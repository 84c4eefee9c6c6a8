"""Sign-up, email verification, password reset and profile changes."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from tests.identity.conftest import bearer, token_of


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


async def test_sign_up_taken_username_conflict(identity):
    await identity.sign_up("bob")

    response = await identity.client.post(
        "/users",
        json={"email": "other@example.com", "username": "bob", "password": "another-password-1", "display_name": "B"},
    )

    assert response.status_code == 409
    assert "bob" in response.json()["detail"]


async def test_sign_up_known_email_looks_successful(identity):
    first = await identity.sign_up("carol", email="carol@example.com")

    response = await identity.client.post(
        "/users",
        json={"email": "Carol@Example.com", "username": "carol2", "password": "another-password-1", "display_name": "C"},
    )

    assert response.status_code == 201
    assert response.json()["id"] != first["id"]
    registered = [event["username"] for event in await identity.events("identity.user.registered")]
    assert "carol2" not in registered
    resets = await identity.events("identity.user.password_reset_requested")
    assert [event["reason"] for event in resets if event["user_id"] == first["id"]] == ["sign_up_attempt"]


async def test_sign_up_invalid_values_rejected(identity):
    cases = [
        ({"username": "Upper"}, "username"),
        ({"username": "a"}, "username"),
        ({"username": "bad--"}, "username"),
        ({"username": "dave\n"}, "username"),
        ({"email": "not-an-address"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "dave-name", "username": "dave-name"}, "password"),
    ]
    for override, field in cases:
        body = {"email": "dave@example.com", "username": "dave", "password": "dave-password-1", "display_name": "D"}
        body.update(override)
        response = await identity.client.post("/users", json=body)
        assert response.status_code == 422, override
        assert response.json()["field"] == field, override
        assert body["password"] not in response.text, override


DISALLOWED_IN_NAMES = [
    ("Mallory\u202egpj.exe", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("\u2066Mallory\u2069", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
    ("Mallory\u200f", "U+200F (RIGHT-TO-LEFT MARK)"),
    ("Mal\u0007lory", "U+0007"),
    ("Mal\nlory", "U+000A"),
    ("Mal\u0085lory", "U+0085"),
]


async def test_sign_up_display_name_controls_rejected(identity):
    for display_name, code_point in DISALLOWED_IN_NAMES:
        body = {"email": "mallory@example.com", "username": "mallory", "password": "mallory-password-1"}
        response = await identity.client.post("/users", json={**body, "display_name": display_name})

        assert response.status_code == 422, display_name
        assert response.json()["field"] == "display_name", display_name
        assert "Invalid display_name" in response.json()["detail"], display_name
        assert code_point in response.json()["detail"], display_name
    registered = [event["username"] for event in await identity.events("identity.user.registered")]
    assert "mallory" not in registered


async def test_profile_display_name_bidi_rejected(identity):
    session = await identity.verified_user("oscar")

    response = await identity.client.patch(
        "/users/me", json={"display_name": "Oscar\u202eadmin"}, headers=bearer(session)
    )
    me = await identity.client.get("/users/me", headers=bearer(session))

    assert response.status_code == 422
    assert response.json()["field"] == "display_name"
    assert "U+202E" in response.json()["detail"]
    assert me.json()["display_name"] == "Oscar"


async def test_verification_link_expires(identity):
    await identity.sign_up("erin")
    token = await identity.last_link_token("identity.user.verification_requested", "erin@example.com")

    identity.clock.advance(timedelta(days=3))
    response = await identity.client.post("/email/verify", json={"token": token})

    assert response.status_code == 422
    assert "expired" in response.json()["detail"]


async def test_verification_link_tampered_rejected(identity):
    await identity.sign_up("fred")
    token = await identity.last_link_token("identity.user.verification_requested", "fred@example.com")
    payload, _, signature = token.partition(".")

    response = await identity.client.post("/email/verify", json={"token": payload + "." + signature[::-1]})

    assert response.status_code == 422


async def test_password_reset_link_single_use(identity):
    session = await identity.verified_user("gina")
    accepted = await identity.client.post("/password/reset-request", json={"email": "gina@example.com"})
    assert accepted.status_code == 202
    token = await identity.last_link_token("identity.user.password_reset_requested", "gina@example.com")

    reset = await identity.client.post("/password/reset", json={"token": token, "password": "gina-new-password"})
    again = await identity.client.post("/password/reset", json={"token": token, "password": "gina-third-password"})
    old_refresh = await identity.client.post("/sessions/refresh", json={"refresh_token": session["refresh_token"]})
    old_password = await identity.client.post("/sessions", json={"username": "gina", "password": "gina-password-1"})

    assert reset.status_code == 204
    assert again.status_code == 422
    assert old_refresh.status_code == 401
    assert old_password.status_code == 401
    assert (await identity.login("gina", "gina-new-password"))["user"]["username"] == "gina"


async def test_password_reset_link_opens_web_page(identity):
    await identity.verified_user("hana")
    await identity.client.post("/password/reset-request", json={"email": "hana@example.com"})
    link = [
        event["link"]
        for event in await identity.events("identity.user.password_reset_requested")
        if event["email"] == "hana@example.com"
    ][-1]
    parsed = urlparse(link)

    # The email's link is a GET on the API path; the browser lands on the web page.
    response = await identity.client.get(parsed.path.removeprefix("/api/identity") + "?" + parsed.query)

    assert parsed.path == "/api/identity/password/reset"
    assert response.status_code == 303
    location = urlparse(response.headers["location"])
    assert location.path == "/reset-password"
    assert parse_qs(location.query)["token"] == [token_of(link)]


async def test_password_reset_unknown_email_same_answer(identity):
    known = await identity.client.post("/password/reset-request", json={"email": "admin@example.com"})
    unknown = await identity.client.post("/password/reset-request", json={"email": "nobody@example.com"})

    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    emails = [event["email"] for event in await identity.events("identity.user.password_reset_requested")]
    assert emails == ["admin@example.com"]


async def test_email_change_needs_verification(identity):
    session = await identity.verified_user("hugo")

    changed = await identity.client.patch(
        "/users/me",
        json={"email": "hugo.new@example.com", "current_password": session["password"]},
        headers=bearer(session),
    )
    assert changed.status_code == 200
    assert changed.json()["email"] == "hugo@example.com"
    assert changed.json()["pending_email"] == "hugo.new@example.com"

    token = await identity.last_link_token("identity.user.verification_requested", "hugo.new@example.com")
    verified = await identity.client.post("/email/verify", json={"token": token})
    me = await identity.client.get("/users/me", headers=bearer(session))

    assert verified.status_code == 200
    assert me.json()["email"] == "hugo.new@example.com"
    assert me.json()["pending_email"] is None


async def test_email_change_wrong_password_rejected(identity):
    session = await identity.verified_user("iris")

    response = await identity.client.patch(
        "/users/me", json={"email": "iris2@example.com", "current_password": "wrong-password-1"}, headers=bearer(session)
    )

    assert response.status_code == 403


async def test_internal_user_lookup_returns_email(identity):
    session = await identity.verified_user("jack")

    response = await identity.client.get(
        f"/internal/users/{session['user']['id']}", headers={"X-Wharf-Internal-Token": "development-internal-token"}
    )

    admin = await identity.admin()
    staff = await identity.client.get(
        f"/internal/users/{admin['user']['id']}", headers={"X-Wharf-Internal-Token": "development-internal-token"}
    )

    assert response.status_code == 200
    assert response.json()["email"] == "jack@example.com"
    assert response.json()["email_verified"] is True
    assert response.json()["staff_roles"] == []
    assert staff.json()["staff_roles"] == ["admin"]


async def test_verification_link_opens_web_page_in_browser(identity):
    await identity.sign_up("kira", email="kira@example.com", password="kira-password-1")
    token = await identity.last_link_token("identity.user.verification_requested", "kira@example.com")
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

    opened = await identity.client.get("/email/verify", params={"token": token}, headers=browser)
    still_unverified = await identity.client.post("/sessions", json={"username": "kira", "password": "kira-password-1"})
    verified = await identity.client.post("/email/verify", json={"token": token})

    assert opened.status_code == 303
    location = urlparse(opened.headers["location"])
    assert location.path == "/verify"
    assert parse_qs(location.query)["token"] == [token]
    # The redirect leaves the verification to the page, which posts the token.
    assert still_unverified.status_code == 403
    assert verified.status_code == 200
