"""A route's transaction commits before its response leaves, so a client reads its own writes."""

from __future__ import annotations

import json

from sqlalchemy import text

from shared.events.memory import InMemoryTransport
from tests.platform.sample import app as sample
from tests.support.services import running_service


async def test_write_committed_before_response_starts():
    async with running_service(sample.create_app, database="sample_commit", transport=InMemoryTransport()) as service:
        body = json.dumps({"text": "committed before the answer"}).encode()
        seen_at_response_start: list[bool] = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            # A client may act on the status line alone, so the row must be visible by then
            # to every other connection.
            if message["type"] == "http.response.start":
                async with service.runtime.sessionmaker() as session:
                    found = await session.execute(
                        text("SELECT 1 FROM notes WHERE text = :text"), {"text": "committed before the answer"}
                    )
                    seen_at_response_start.append(found.first() is not None)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/notes",
            "raw_path": b"/notes",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
            "client": ("127.0.0.1", 1),
            "server": ("test", 80),
        }
        await service.app(scope, receive, send)

    assert seen_at_response_start == [True]
