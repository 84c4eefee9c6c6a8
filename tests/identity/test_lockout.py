"""Failed sign-ins lock the account and the client address, for longer each time."""

from __future__ import annotations

from datetime import timedelta

from tests.identity.conftest import INTERNAL_HEADERS


async def fail(identity, username: str, *, address: str = "192.0.2.10", times: int = 1):
    response = None
    for _ in range(times):
        response = await identity.client.post(
            "/sessions",
            json={"username": username, "password": "wrong-password-1"},
            headers={"X-Forwarded-For": address},
        )
    return response


async def attempt(identity, username: str, password: str, *, address: str = "192.0.2.10"):
    return await identity.client.post(
        "/sessions", json={"username": username, "password": password}, headers={"X-Forwarded-For": address}
    )


async def test_account_locked_after_five_failures(identity):
    session = await identity.verified_user("rosa")

    last_failure = await fail(identity, "rosa", times=5)
    locked = await attempt(identity, "rosa", session["password"])

    assert last_failure.status_code == 401
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "60"


async def test_lockout_ends_and_grows(identity):
    session = await identity.verified_user("sam")
    await fail(identity, "sam", times=5)

    identity.clock.advance(timedelta(seconds=61))
    await fail(identity, "sam", times=5)
    second = await attempt(identity, "sam", session["password"])

    identity.clock.advance(timedelta(seconds=121))
    after = await attempt(identity, "sam", session["password"])

    assert second.status_code == 429
    assert second.headers["Retry-After"] == "120"
    assert after.status_code == 201


async def test_success_resets_failure_count(identity):
    session = await identity.verified_user("tina")
    await fail(identity, "tina", times=4)
    await attempt(identity, "tina", session["password"])

    response = await fail(identity, "tina", times=4)

    assert response.status_code == 401


async def test_unknown_user_locked_like_known(identity):
    await fail(identity, "ghost", times=5)

    response = await attempt(identity, "ghost", "any-password-1")

    assert response.status_code == 429
    assert response.json()["detail"] == "Too many failed sign-in attempts: try again in 60 seconds"


async def test_client_address_locked_across_accounts(identity):
    session = await identity.verified_user("uma")
    for index in range(20):
        await fail(identity, f"guess{index}", address="198.51.100.7")

    from_attacker = await attempt(identity, "uma", session["password"], address="198.51.100.7")
    from_elsewhere = await attempt(identity, "uma", session["password"], address="203.0.113.9")

    assert from_attacker.status_code == 429
    assert from_elsewhere.status_code == 201


async def test_forged_forwarded_for_ignored(identity):
    for index in range(20):
        await identity.client.post(
            "/sessions",
            json={"username": f"guess{index}", "password": "wrong-password-1"},
            headers=[("X-Forwarded-For", f"10.0.0.{index}"), ("X-Forwarded-For", "198.51.100.8")],
        )

    response = await attempt(identity, "nobody", "any-password-1", address="198.51.100.8")

    assert response.status_code == 429


async def test_credential_check_counts_toward_lockout(identity):
    session = await identity.verified_user("vera")
    for _ in range(5):
        response = await identity.client.post(
            "/internal/credentials/check",
            json={"username": "vera", "secret": "wrong-password-1"},
            headers=INTERNAL_HEADERS,
        )
        assert response.status_code == 401

    check = await identity.client.post(
        "/internal/credentials/check",
        json={"username": "vera", "secret": session["password"]},
        headers=INTERNAL_HEADERS,
    )
    login = await attempt(identity, "vera", session["password"])

    assert check.status_code == 401
    assert "try again" in check.json()["detail"]
    assert login.status_code == 429
