"""The local mailbox used when no SMTP server is configured, and who may read it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared.settings import Environment
from tests.notifications.support import Harness, notifications, register
from tests.support.services import test_platform as platform_settings
from tests.support.tokens import TestUser as TokenUser

STAFF = TokenUser(username="admin", staff=("admin",))


async def request_verification(harness: Harness, email: str, user_id: uuid.UUID | None = None) -> str:
    link = f"http://store.test/verify?token={uuid.uuid4().hex}"
    await harness.publish(
        "identity.user.verification_requested",
        {
            "user_id": user_id or uuid.uuid4(),
            "email": email,
            "link": link,
            "expires_at": harness.clock.now() + timedelta(days=1),
        },
    )
    await harness.dispatch()
    return link


async def test_verification_email_stored_in_mailbox_for_staff():
    async with notifications() as harness:
        link = await request_verification(harness, "new@example.test")
        response = await harness.client.get("/mailbox?to=new@example.test", headers=harness.headers(STAFF))
        everything = await harness.client.get("/mailbox", headers=harness.headers(STAFF))

    assert response.status_code == 200
    [stored] = response.json()["items"]
    assert stored["subject"] == "Confirm your email address for Wharf"
    assert link in stored["body_text"]
    assert link in stored["body_html"]
    assert len(everything.json()["items"]) == 1


async def test_recipient_reads_own_mailbox_outside_production():
    async with notifications() as harness:
        customer = await register(harness, "customer")
        link = await request_verification(harness, customer.email, customer.user.user_id)
        await request_verification(harness, "someone-else@example.test")

        own = await harness.client.get(f"/mailbox?to={customer.email}", headers=harness.headers(customer.user))
        other = await harness.client.get(
            "/mailbox?to=someone-else@example.test", headers=harness.headers(customer.user)
        )
        anonymous = await harness.client.get(f"/mailbox?to={customer.email}")

    assert own.status_code == 200
    assert [link in item["body_text"] for item in own.json()["items"]] == [True]
    assert other.status_code == 404
    assert anonymous.status_code == 401


async def test_open_mailbox_read_setting_allows_anonymous_read():
    async with notifications(mailbox_open_read=True) as harness:
        link = await request_verification(harness, "demo@example.test")
        response = await harness.client.get("/mailbox?to=demo@example.test")
        without_address = await harness.client.get("/mailbox")

    assert response.status_code == 200
    assert link in response.json()["items"][0]["body_text"]
    assert without_address.status_code == 403


async def test_production_mailbox_readable_by_staff_only():
    platform = platform_settings(environment=Environment.PRODUCTION, internal_token="production-secret")
    async with notifications(platform=platform, link_secret="production-link-secret") as harness:
        customer = await register(harness, "customer")
        await request_verification(harness, customer.email, customer.user.user_id)
        own = await harness.client.get(f"/mailbox?to={customer.email}", headers=harness.headers(customer.user))
        staff = await harness.client.get(f"/mailbox?to={customer.email}", headers=harness.headers(STAFF))

    assert own.status_code == 403
    assert staff.status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"mailbox_open_read": True, "link_secret": "production-link-secret"},
        {},  # the development link secret
    ],
)
async def test_production_refuses_development_settings(overrides):
    platform = platform_settings(environment=Environment.PRODUCTION, internal_token="production-secret")
    with pytest.raises(RuntimeError, match="WHARF_NOTIFICATIONS_"):
        async with notifications(platform=platform, **overrides):
            pass


async def test_password_reset_and_invitation_emails():
    async with notifications() as harness:
        organisation_id = uuid.uuid4()
        await harness.publish(
            "identity.organisation.created",
            {
                "organisation_id": organisation_id,
                "namespace": "acme",
                "display_name": "Acme Corp",
                "owner_id": uuid.uuid4(),
            },
        )
        await harness.publish(
            "identity.user.password_reset_requested",
            {
                "user_id": uuid.uuid4(),
                "email": "forgetful@example.test",
                "link": "http://store.test/reset?token=r1",
                "expires_at": harness.clock.now() + timedelta(hours=1),
            },
        )
        await harness.publish(
            "identity.invitation.created",
            {
                "organisation_id": organisation_id,
                "namespace": "acme",
                "email": "invitee@example.test",
                "role": "editor",
                "link": "http://store.test/invitations/i1",
                "expires_at": harness.clock.now() + timedelta(days=7),
            },
        )
        await harness.dispatch()
        reset = await harness.client.get("/mailbox?to=forgetful@example.test", headers=harness.headers(STAFF))
        invitation = await harness.client.get("/mailbox?to=invitee@example.test", headers=harness.headers(STAFF))

    [reset_mail] = reset.json()["items"]
    assert reset_mail["subject"] == "Reset your Wharf password"
    assert "http://store.test/reset?token=r1" in reset_mail["body_text"]
    assert "2025-03-01 13:00 UTC" in reset_mail["body_text"]
    [invitation_mail] = invitation.json()["items"]
    assert invitation_mail["subject"] == "You are invited to join Acme Corp on Wharf"
    assert "as editor" in invitation_mail["body_text"]


async def test_sign_up_attempt_explained_in_reset_email():
    async with notifications() as harness:
        await harness.publish(
            "identity.user.password_reset_requested",
            {
                "user_id": uuid.uuid4(),
                "email": "taken@example.test",
                "link": "http://store.test/reset?token=r2",
                "expires_at": harness.clock.now() + timedelta(hours=1),
                "reason": "sign_up_attempt",
            },
        )
        await harness.dispatch()
        response = await harness.client.get("/mailbox?to=taken@example.test", headers=harness.headers(STAFF))

    [mail] = response.json()["items"]
    assert mail["subject"] == "Someone tried to sign up to Wharf with your address"
    assert "already has an account" in mail["body_text"]
    assert "http://store.test/reset?token=r2" in mail["body_text"]
