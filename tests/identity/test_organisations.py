"""Organisations, membership rules, invitations, and privacy toward non-members."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import urlparse

from sqlalchemy import text

from tests.identity.conftest import bearer, token_of


async def create_org(identity, session, namespace="acme"):
    response = await identity.client.post(
        "/organisations", json={"namespace": namespace, "display_name": namespace.title()}, headers=bearer(session)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def invite_and_accept(identity, owner, org, member, role):
    invited = await identity.client.post(
        f"/organisations/{org['id']}/invitations",
        json={"email": member["user"]["email"], "role": role},
        headers=bearer(owner),
    )
    assert invited.status_code == 201, invited.text
    events = await identity.events("identity.invitation.created")
    token = token_of(events[-1]["link"])
    accepted = await identity.client.post(f"/invitations/{token}/accept", headers=bearer(member))
    assert accepted.status_code == 200, accepted.text
    return accepted.json()


async def test_create_organisation_makes_owner(identity):
    owner = await identity.verified_user("wendy")

    org = await create_org(identity, owner)
    members = await identity.client.get(f"/organisations/{org['id']}/members", headers=bearer(owner))

    assert org["namespace"] == "acme"
    assert org["role"] == "owner"
    assert [(m["username"], m["role"]) for m in members.json()["items"]] == [("wendy", "owner")]
    created = await identity.events("identity.organisation.created")
    assert [event["owner_id"] for event in created] == [owner["user"]["id"]]


async def test_namespace_unique_and_valid(identity):
    owner = await identity.verified_user("xavi")
    await create_org(identity, owner, "taken")

    duplicate = await identity.client.post(
        "/organisations", json={"namespace": "taken", "display_name": "T"}, headers=bearer(owner)
    )
    invalid = await identity.client.post(
        "/organisations", json={"namespace": "Not/Valid", "display_name": "T"}, headers=bearer(owner)
    )
    reserved = await identity.client.post(
        "/organisations", json={"namespace": "store", "display_name": "T"}, headers=bearer(owner)
    )
    newline = await identity.client.post(
        "/organisations", json={"namespace": "newline\n", "display_name": "T"}, headers=bearer(owner)
    )

    assert duplicate.status_code == 409
    assert invalid.status_code == 422
    assert newline.status_code == 422
    assert newline.json()["field"] == "namespace"
    assert reserved.status_code == 422


async def test_organisation_display_name_bidi_rejected(identity):
    owner = await identity.verified_user("ivan")
    org = await create_org(identity, owner)

    created = await identity.client.post(
        "/organisations", json={"namespace": "ivanco", "display_name": "Ivan\u2067Co"}, headers=bearer(owner)
    )
    renamed = await identity.client.patch(
        f"/organisations/{org['id']}", json={"display_name": "Acme\u202e"}, headers=bearer(owner)
    )
    unchanged = await identity.client.get(f"/organisations/{org['id']}", headers=bearer(owner))

    assert created.status_code == 422
    assert created.json()["field"] == "display_name"
    assert "U+2067 (RIGHT-TO-LEFT ISOLATE)" in created.json()["detail"]
    assert renamed.status_code == 422
    assert renamed.json()["field"] == "display_name"
    assert "U+202E (RIGHT-TO-LEFT OVERRIDE)" in renamed.json()["detail"]
    assert unchanged.json()["display_name"] == "Acme"


async def test_create_organisation_idempotent(identity):
    owner = await identity.verified_user("yara")
    headers = {**bearer(owner), "Idempotency-Key": "org-once"}
    body = {"namespace": "yaraco", "display_name": "Yara"}

    first = await identity.client.post("/organisations", json=body, headers=headers)
    second = await identity.client.post("/organisations", json=body, headers=headers)

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"


async def _wait_for_lock_wait(engine, timeout: float = 10.0) -> None:
    """Wait until a session of this database waits for a lock."""
    deadline = asyncio.get_running_loop().time() + timeout
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while True:
        # A new connection each time, because a transaction reads pg_stat_activity once.
        async with engine.connect() as probe:
            if (await probe.execute(query)).scalar():
                return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no session waited for a lock within {timeout} s")
        await asyncio.sleep(0.05)


async def test_concurrent_idempotent_create_409(identity):
    owner = await identity.verified_user("quinn")
    headers = {**bearer(owner), "Idempotency-Key": "org-concurrent"}
    body = {"namespace": "quinnco", "display_name": "Quinn"}

    async with identity.runtime.engine.connect() as blocker:
        # A SHARE lock blocks inserts, so the first request waits inside its action.
        await blocker.execute(text("LOCK TABLE organisations IN SHARE MODE"))
        first_task = asyncio.create_task(identity.client.post("/organisations", json=body, headers=headers))
        try:
            await _wait_for_lock_wait(identity.runtime.engine)
            second = await asyncio.wait_for(
                identity.client.post("/organisations", json=body, headers=headers), timeout=10
            )
        finally:
            await blocker.rollback()
    first = await first_task
    third = await identity.client.post("/organisations", json=body, headers=headers)

    assert second.status_code == 409
    assert second.json()["detail"] == (
        "A request with Idempotency-Key 'org-concurrent' is still in progress: retry after it "
        "has finished to get its response"
    )
    assert second.headers["Retry-After"] == "1"
    assert first.status_code == 201, first.text
    assert third.status_code == 201
    assert third.headers["Idempotent-Replayed"] == "true"
    assert third.json()["id"] == first.json()["id"]


async def test_invitation_accepted_adds_member(identity):
    owner = await identity.verified_user("zane")
    member = await identity.verified_user("abby")
    org = await create_org(identity, owner)

    accepted = await invite_and_accept(identity, owner, org, member, "editor")

    assert accepted == {"organisation_id": org["id"], "namespace": "acme", "role": "editor"}
    changes = await identity.events("identity.membership.changed")
    # The frozen clock gives every event the same time, so find the member's by its user.
    member_changes = [change for change in changes if change["user_id"] == member["user"]["id"]]
    assert [change["role"] for change in member_changes] == ["editor"]
    refreshed = await identity.client.post("/sessions/refresh", json={"refresh_token": member["refresh_token"]})
    me = await identity.client.get("/users/me", headers=bearer(refreshed.json()))
    assert [(o["namespace"], o["role"]) for o in me.json()["organisations"]] == [("acme", "editor")]


async def test_invitation_for_other_address_not_found(identity):
    owner = await identity.verified_user("beth")
    intruder = await identity.verified_user("carl")
    org = await create_org(identity, owner)
    await identity.client.post(
        f"/organisations/{org['id']}/invitations",
        json={"email": "someone@example.com", "role": "viewer"},
        headers=bearer(owner),
    )
    token = token_of((await identity.events("identity.invitation.created"))[-1]["link"])

    response = await identity.client.post(f"/invitations/{token}/accept", headers=bearer(intruder))

    assert response.status_code == 404


async def test_invitation_expired_or_revoked(identity):
    owner = await identity.verified_user("dina")
    member = await identity.verified_user("eli")
    org = await create_org(identity, owner)
    for _ in range(2):
        await identity.client.post(
            f"/organisations/{org['id']}/invitations",
            json={"email": "eli@example.com", "role": "viewer"},
            headers=bearer(owner),
        )
    events = await identity.events("identity.invitation.created")
    revoked_id = events[0]["invitation_id"]
    revoke = await identity.client.delete(
        f"/organisations/{org['id']}/invitations/{revoked_id}", headers=bearer(owner)
    )

    revoked = await identity.client.post(f"/invitations/{token_of(events[0]['link'])}/accept", headers=bearer(member))
    identity.clock.advance(timedelta(days=8))
    expired = await identity.client.post(f"/invitations/{token_of(events[1]['link'])}/accept", headers=bearer(member))

    assert revoke.status_code == 204
    assert revoked.status_code == 404
    assert expired.status_code == 404


async def test_last_owner_cannot_leave_or_be_demoted(identity):
    owner = await identity.verified_user("fay")
    org = await create_org(identity, owner)
    member_path = f"/organisations/{org['id']}/members/{owner['user']['id']}"

    demote = await identity.client.put(member_path, json={"role": "editor"}, headers=bearer(owner))
    leave = await identity.client.delete(member_path, headers=bearer(owner))

    assert demote.status_code == 409
    assert demote.json()["detail"] == "fay is the last owner of acme: make another member owner first"
    assert leave.status_code == 409
    assert leave.json()["detail"] == demote.json()["detail"]


async def test_second_owner_allows_demotion(identity):
    owner = await identity.verified_user("gus")
    other = await identity.verified_user("hana")
    org = await create_org(identity, owner)
    await invite_and_accept(identity, owner, org, other, "viewer")

    promote = await identity.client.put(
        f"/organisations/{org['id']}/members/{other['user']['id']}", json={"role": "owner"}, headers=bearer(owner)
    )
    demote = await identity.client.put(
        f"/organisations/{org['id']}/members/{owner['user']['id']}", json={"role": "viewer"}, headers=bearer(owner)
    )

    assert promote.status_code == 200
    assert promote.json()["role"] == "owner"
    assert demote.status_code == 200
    assert demote.json()["role"] == "viewer"


async def test_editor_cannot_manage_members(identity):
    owner = await identity.verified_user("ivan")
    editor = await identity.verified_user("jill")
    org = await create_org(identity, owner)
    await invite_and_accept(identity, owner, org, editor, "editor")

    promote_self = await identity.client.put(
        f"/organisations/{org['id']}/members/{editor['user']['id']}", json={"role": "owner"}, headers=bearer(editor)
    )
    remove_owner = await identity.client.delete(
        f"/organisations/{org['id']}/members/{owner['user']['id']}", headers=bearer(editor)
    )
    leave = await identity.client.delete(
        f"/organisations/{org['id']}/members/{editor['user']['id']}", headers=bearer(editor)
    )

    assert promote_self.status_code == 403
    assert remove_owner.status_code == 403
    assert leave.status_code == 204
    removed = (await identity.events("identity.membership.changed"))[-1]
    assert (removed["user_id"], removed["role"]) == (editor["user"]["id"], None)


async def test_other_organisation_is_not_found(identity):
    owner = await identity.verified_user("kim")
    outsider = await identity.verified_user("leo")
    org = await create_org(identity, owner)

    responses = [
        await identity.client.get(f"/organisations/{org['id']}", headers=bearer(outsider)),
        await identity.client.get(f"/organisations/{org['id']}/members", headers=bearer(outsider)),
        await identity.client.patch(
            f"/organisations/{org['id']}", json={"display_name": "Mine"}, headers=bearer(outsider)
        ),
    ]

    assert [response.status_code for response in responses] == [404, 404, 404]
    listed = await identity.client.get("/organisations", headers=bearer(outsider))
    assert listed.json()["items"] == []


async def test_members_listed_in_pages(identity):
    owner = await identity.verified_user("mona")
    org = await create_org(identity, owner)
    for name in ("nate", "opal"):
        member = await identity.verified_user(name)
        identity.clock.advance(timedelta(seconds=1))
        await invite_and_accept(identity, owner, org, member, "viewer")

    first = await identity.client.get(f"/organisations/{org['id']}/members?limit=2", headers=bearer(owner))
    second = await identity.client.get(
        f"/organisations/{org['id']}/members?limit=2&cursor={first.json()['next_cursor']}", headers=bearer(owner)
    )

    assert [m["username"] for m in first.json()["items"]] == ["mona", "nate"]
    assert [m["username"] for m in second.json()["items"]] == ["opal"]
    assert second.json()["next_cursor"] is None


async def test_invitation_link_opens_the_web_page(identity):
    owner = await identity.verified_user("ines")
    org = await create_org(identity, owner, namespace="inesco")
    await identity.client.post(
        f"/organisations/{org['id']}/invitations",
        json={"email": "joan@example.com", "role": "editor"},
        headers=bearer(owner),
    )
    link = (await identity.events("identity.invitation.created"))[-1]["link"]
    parsed = urlparse(link)

    # The email's link is a GET on the API path; the browser lands on the web page.
    response = await identity.client.get(parsed.path.removeprefix("/api/identity"))

    assert parsed.path.startswith("/api/identity/invitations/")
    assert response.status_code == 303
    assert response.headers["location"] == f"/invitations/{token_of(link)}"


async def invite(identity, owner, org, email, role):
    invited = await identity.client.post(
        f"/organisations/{org['id']}/invitations", json={"email": email, "role": role}, headers=bearer(owner)
    )
    assert invited.status_code == 201, invited.text
    return invited.json(), token_of((await identity.events("identity.invitation.created"))[-1]["link"])


async def test_invitation_preview_without_sign_in(identity):
    owner = await identity.verified_user("kurt")
    org = await create_org(identity, owner, namespace="kurtco")
    invitation, token = await invite(identity, owner, org, "lena@example.com", "editor")

    response = await identity.client.get(f"/invitations/{token}")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "namespace": "kurtco",
        "organisation_name": "Kurtco",
        "role": "editor",
        "invited_by": "Kurt",
        "expires_at": invitation["expires_at"],
        "addressed_to_you": None,
    }
    assert response.headers["cache-control"] == "no-store"


async def test_invitation_preview_for_signed_in_invitee(identity):
    owner = await identity.verified_user("mark")
    invitee = await identity.verified_user("nina")
    org = await create_org(identity, owner, namespace="markco")
    # Addresses compare case-insensitively, as on accepting.
    _, token = await invite(identity, owner, org, "Nina@EXAMPLE.com", "viewer")

    response = await identity.client.get(f"/invitations/{token}", headers=bearer(invitee))
    me = await identity.client.get("/users/me", headers=bearer(invitee))

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "viewer"
    assert response.json()["organisation_name"] == "Markco"
    assert response.json()["addressed_to_you"] is True
    assert "nina@example.com" not in response.text.lower()
    # The preview does not accept, so the invitee is still no member.
    assert me.json()["organisations"] == []


async def test_invitation_preview_for_another_account(identity):
    owner = await identity.verified_user("moss")
    other = await identity.verified_user("noor")
    org = await create_org(identity, owner, namespace="mossco")
    _, token = await invite(identity, owner, org, "invitee@example.com", "viewer")

    responses = {
        "owner": await identity.client.get(f"/invitations/{token}", headers=bearer(owner)),
        "other": await identity.client.get(f"/invitations/{token}", headers=bearer(other)),
        "anonymous": await identity.client.get(f"/invitations/{token}"),
    }

    for case, response in responses.items():
        assert response.status_code == 200, (case, response.text)
        assert "invitee" not in response.text, case
    assert responses["owner"].json()["addressed_to_you"] is False
    assert responses["other"].json()["addressed_to_you"] is False
    assert responses["anonymous"].json()["addressed_to_you"] is None
    # The preview matches accepting: the other account cannot join with this link.
    accepted = await identity.client.post(f"/invitations/{token}/accept", headers=bearer(other))
    assert accepted.status_code == 404


async def test_invitation_preview_pending_email_not_addressee(identity):
    owner = await identity.verified_user("otto")
    changer = await identity.verified_user("pia")
    org = await create_org(identity, owner, namespace="ottoco")
    _, token = await invite(identity, owner, org, "pia.new@example.com", "viewer")
    changed = await identity.client.patch(
        "/users/me",
        json={"email": "pia.new@example.com", "current_password": changer["password"]},
        headers=bearer(changer),
    )
    assert changed.status_code == 200, changed.text

    # Until the new address is verified, the account is not the addressee.
    before = await identity.client.get(f"/invitations/{token}", headers=bearer(changer))
    link = await identity.last_link_token("identity.user.verification_requested", "pia.new@example.com")
    verified = await identity.client.post("/email/verify", json={"token": link})
    after = await identity.client.get(f"/invitations/{token}", headers=bearer(changer))

    assert before.json()["addressed_to_you"] is False
    assert verified.status_code == 200, verified.text
    assert after.json()["addressed_to_you"] is True


async def test_invitation_preview_invalid_access_token(identity):
    owner = await identity.verified_user("rosa")
    org = await create_org(identity, owner, namespace="rosaco")
    _, token = await invite(identity, owner, org, "sven@example.com", "viewer")

    malformed = await identity.client.get(f"/invitations/{token}", headers={"Authorization": "Bearer not-a-token"})
    wrong_scheme = await identity.client.get(f"/invitations/{token}", headers={"Authorization": "Basic cm9zYQ=="})

    assert malformed.status_code == 401
    assert wrong_scheme.status_code == 401
    for response in (malformed, wrong_scheme):
        for secret in ("rosaco", "Rosa", "sven@"):
            assert secret not in response.text, secret


async def test_invitation_preview_blank_display_name(identity):
    owner = await identity.verified_user("olga")
    async with identity.runtime.sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE users SET display_name = '' WHERE username = 'olga'"))
    org = await create_org(identity, owner, namespace="olgaco")
    _, token = await invite(identity, owner, org, "pete@example.com", "viewer")

    response = await identity.client.get(f"/invitations/{token}")

    assert response.json()["invited_by"] == "olga"


async def test_invitation_preview_not_found_cases(identity):
    owner = await identity.verified_user("quin")
    member = await identity.verified_user("rita")
    org = await create_org(identity, owner, namespace="quinco")
    revoked, revoked_token = await invite(identity, owner, org, "rita@example.com", "viewer")
    _, used_token = await invite(identity, owner, org, "rita@example.com", "editor")
    _, expiring_token = await invite(identity, owner, org, "sara@example.com", "viewer")
    revoke = await identity.client.delete(f"/organisations/{org['id']}/invitations/{revoked['id']}", headers=bearer(owner))
    used = await identity.client.post(f"/invitations/{used_token}/accept", headers=bearer(member))
    assert revoke.status_code == 204
    assert used.status_code == 200, used.text

    responses = {
        "unknown": await identity.client.get("/invitations/wharf_inv_no-such-token"),
        "unknown, signed in": await identity.client.get("/invitations/wharf_inv_no-such-token", headers=bearer(member)),
        "used, signed in as its user": await identity.client.get(f"/invitations/{used_token}", headers=bearer(member)),
        "revoked": await identity.client.get(f"/invitations/{revoked_token}"),
        "used": await identity.client.get(f"/invitations/{used_token}"),
    }
    identity.clock.advance(timedelta(days=8))
    responses["expired"] = await identity.client.get(f"/invitations/{expiring_token}")

    for case, response in responses.items():
        assert response.status_code == 404, case
        assert response.headers["content-type"] == "application/problem+json", case
        body = response.text
        for secret in ("quinco", "Quinco", "Quin", org["id"], "rita@", "sara@", "viewer", "editor"):
            assert secret not in body, (case, secret)
    # Every case gets the same detail, so a caller cannot distinguish them.
    assert len({response.json()["detail"] for response in responses.values()}) == 1
