"""Cursor pagination on a real table."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.clock import FrozenClock
from shared.events.memory import InMemoryTransport
from shared.pagination import encode_cursor
from tests.platform.sample import app as sample
from tests.support.services import running_service


async def test_pages_cover_every_row_once():
    # Equal timestamps force the id to break ties, the case naive offsets get wrong.
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    async with running_service(
        sample.create_app, database="sample", transport=InMemoryTransport(), clock=clock
    ) as service:
        for index in range(25):
            await service.client.post("/notes", json={"text": f"note {index:02}"})

        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
            page = (await service.client.get("/notes", params=params)).json()
            seen += [item["text"] for item in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break

    assert pages == 3
    assert len(seen) == 25
    assert sorted(seen) == [f"note {index:02}" for index in range(25)]


async def test_bad_cursor_and_limit_rejected():
    async with running_service(sample.create_app, database="sample", transport=InMemoryTransport()) as service:
        bad_cursor = await service.client.get("/notes", params={"cursor": "not-a-cursor"})
        bad_limit = await service.client.get("/notes", params={"limit": 0})

    assert bad_cursor.status_code == 400
    assert "not-a-cursor" in bad_cursor.json()["detail"]
    assert bad_limit.status_code == 400
    assert "limit 0" in bad_limit.json()["detail"]


async def test_validation_error_lists_each_field():
    async with running_service(sample.create_app, database="sample", transport=InMemoryTransport()) as service:
        response = await service.client.post("/notes", json={"text": ""})

    body = response.json()
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert body["errors"][0]["field"] == "body.text"
    assert "body.text" in body["detail"]


async def test_crafted_cursor_values_rejected():
    async with running_service(sample.create_app, database="sample", transport=InMemoryTransport()) as service:
        for values in ([None, None], ["2020-01-01", 1], [1, "x"], ["2020-01-01T00:00:00+00:00", "not-a-uuid"]):
            cursor = encode_cursor(values)
            response = await service.client.get("/notes", params={"cursor": cursor})
            assert response.status_code == 400, values
            assert "Invalid cursor" in response.json()["detail"], values
