"""Accounts for the journey: sign-up with the emailed verification link, sign-in, tokens."""

from __future__ import annotations

import re
import secrets

from wharf.demo.client import ApiClient, StepFailed, eventually
from wharf.demo.journey import Account, Journey

_LINK = re.compile(r"https?://[^\s\"'<>]+")


def new_account(journey: Journey, role: str) -> Account:
    """Return credentials for a new account, unique to this run."""
    username = f"{role}-{journey.state.run_id}"
    return Account(
        username=username,
        email=f"{username}@demo.example.com",
        password=secrets.token_urlsafe(18),
    )


async def sign_in(journey: Journey, account: Account) -> Account:
    """Sign in and keep the access token; call again after a membership or role changes."""
    session = await journey.anonymous.post(
        "/api/identity/sessions",
        json={"username": account.username, "password": account.password},
        what=f"sign in as {account.username}",
        expect=201,
    )
    account.access_token = session["access_token"]
    account.user_id = session["user"]["id"]
    return account


async def sign_in_again(journey: Journey) -> None:
    """Sign every account in again: access tokens last minutes, and the clock just jumped."""
    state = journey.state
    for account in (state.admin, state.reviewer, state.publisher, state.customer):
        if account is not None:
            await sign_in(journey, account)


async def admin_account(journey: Journey) -> Account:
    """Return the store admin, signed in."""
    if journey.state.admin is None:
        username, password = journey.store.admin_credentials
        journey.state.admin = Account(username=username, email="", password=password)
    return await sign_in(journey, journey.state.admin)


async def mailbox(journey: Journey, address: str) -> list[dict]:
    """Return the local mailbox's messages to `address`, newest first, as staff read them."""
    admin = journey.client(journey.state.admin)
    page = await admin.get("/api/notifications/mailbox", params={"to": address}, what=f"read the mailbox of {address}")
    return page["items"]


async def wait_for_mail(journey: Journey, address: str, *, subject_contains: str, timeout: float = 60.0) -> dict:
    """Wait until a message to `address` whose subject contains the given words arrives."""

    async def find() -> dict | None:
        for message in await mailbox(journey, address):
            if subject_contains.lower() in message["subject"].lower():
                return message
        return None

    return await eventually(find, what=f"an email '{subject_contains}' reaches {address}", timeout=timeout)


async def sign_up_verified(journey: Journey, account: Account, display_name: str) -> Account:
    """Sign up, follow the verification link from the mailbox and sign in."""
    anonymous = journey.anonymous
    created = await anonymous.post(
        "/api/identity/users",
        json={
            "email": account.email,
            "username": account.username,
            "password": account.password,
            "display_name": display_name,
        },
        what=f"sign up {account.username}",
        expect=201,
    )
    account.user_id = created["id"]

    message = await wait_for_mail(journey, account.email, subject_contains="confirm your email")
    link = verification_link(message)
    await anonymous.request("GET", link, expect=200, what=f"follow the verification link of {account.username}")
    journey.say(f"{account.username} verified {account.email} through the link in the mailbox")
    return await sign_in(journey, account)


def verification_link(message: dict) -> str:
    """Return the identity link in an email's text body."""
    for link in _LINK.findall(message["body_text"]):
        if "/api/identity/" in link:
            return link.rstrip(".,)")
    raise StepFailed(f"the email {message['subject']!r} contains no identity link: {message['body_text'][:300]!r}")


async def personal_token(client: ApiClient, account: Account, scope: str) -> str:
    """Create a personal access token for `docker login`, skopeo and other registry clients."""
    created = await client.post(
        "/api/identity/tokens",
        json={"name": f"{scope} token of the demo", "scope": scope},
        what=f"create a {scope} personal access token for {account.username}",
        expect=201,
    )
    account.personal_token = created["token"]
    return created["token"]
