"""The dispatcher as a background task of the running service."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from tests.notifications.support import notifications, smtp_server


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)


async def test_background_dispatcher_sends_queued_email():
    with smtp_server() as smtp:
        async with notifications(
            smtp_host=smtp.host, smtp_port=smtp.port, dispatcher_enabled=True, dispatch_interval_seconds=0.1
        ) as harness:
            await harness.publish(
                "identity.user.verification_requested",
                {
                    "user_id": uuid.uuid4(),
                    "email": "new@example.test",
                    "link": "http://store.test/verify?token=v1",
                    "expires_at": harness.clock.now() + timedelta(days=1),
                },
            )
            await wait_for(lambda: len(smtp.messages) == 1)

    assert smtp.recipients() == ["new@example.test"]
    assert "http://store.test/verify?token=v1" in smtp.messages[0].get_body(("plain",)).get_content()
