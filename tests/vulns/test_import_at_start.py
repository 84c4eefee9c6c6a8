"""The scanning service imports the configured OSV feeds once, in the background, at start."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
import structlog
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from structlog.testing import capture_logs

from services.scanning.app import create_app
from services.scanning.vulns.models import AdvisoryRecord, FeedImport
from services.scanning.vulns.osv import FEED_DIR_VARIABLE
from services.scanning.vulns.service import FEED_IMPORT_LOCK
from services.scanning.vulns.startup import IMPORT_AT_START_VARIABLE
from shared.events.memory import InMemoryTransport
from tests.support.environment import database_url
from tests.support.services import running_service


@pytest.fixture(autouse=True)
def info_logs():
    """Let INFO entries through to `capture_logs`: the suite logs at WARNING, and the import logs at INFO."""
    previous = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    yield
    structlog.configure(wrapper_class=previous)


def osv_record(record_id: str, package: str, fixed: str) -> dict:
    return {
        "id": record_id,
        "modified": "2019-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }
        ],
    }


def write_records(folder: Path, *records: dict) -> None:
    folder.mkdir(exist_ok=True)
    for record in records:
        (folder / f"{record['id']}.json").write_text(json.dumps(record))


async def start_import_finished(runtime) -> None:
    """Wait until the start-up import task has returned."""
    (task,) = [task for task in runtime.tasks if task.get_name().endswith("import_feeds_at_start")]
    await asyncio.wait_for(asyncio.shield(task), timeout=60)


async def stored_counts(runtime) -> tuple[int, int]:
    """Return the number of feed imports and of advisory records in the database."""
    async with runtime.sessionmaker() as session:
        imports = await session.scalar(select(func.count()).select_from(FeedImport))
        records = await session.scalar(select(func.count()).select_from(AdvisoryRecord))
    return imports, records


def feed_events(logs: list[dict]) -> list[dict]:
    return [entry for entry in logs if entry["event"].startswith("vulnerability_feeds.")]


async def start_and_wait(database: str, *, recreate: bool) -> tuple[list[dict], tuple[int, int]]:
    with capture_logs() as logs:
        async with running_service(
            create_app, database=database, recreate=recreate, transport=InMemoryTransport()
        ) as scanning:
            await start_import_finished(scanning.runtime)
            counts = await stored_counts(scanning.runtime)
    return logs, counts


async def test_imports_once_across_restarts(monkeypatch, tmp_path):
    feed = tmp_path / "PyPI"
    write_records(feed, osv_record("PYSEC-2019-1", "jinja2", "2.10.1"))
    monkeypatch.setenv(FEED_DIR_VARIABLE, str(feed))
    monkeypatch.delenv(IMPORT_AT_START_VARIABLE, raising=False)

    first_logs, first_counts = await start_and_wait("vulns_import_start", recreate=True)
    restart_logs, restart_counts = await start_and_wait("vulns_import_start", recreate=False)

    first = feed_events(first_logs)
    assert [entry["event"] for entry in first] == [
        "vulnerability_feeds.import_started",
        "vulnerability_feeds.import_finished",
    ]
    assert first[0]["feeds"] == ["PyPI"]
    assert first[1]["added"] == 1
    assert first_counts == (1, 1)
    assert not [entry for entry in first_logs if entry["event"] == "vulnerability_data.not_imported"]

    assert [entry["event"] for entry in feed_events(restart_logs)] == ["vulnerability_feeds.up_to_date"]
    assert restart_counts == (1, 1)


async def test_reimports_changed_feed(monkeypatch, tmp_path):
    feed = tmp_path / "PyPI"
    write_records(feed, osv_record("PYSEC-2019-1", "jinja2", "2.10.1"))
    monkeypatch.setenv(FEED_DIR_VARIABLE, str(feed))
    monkeypatch.delenv(IMPORT_AT_START_VARIABLE, raising=False)

    await start_and_wait("vulns_import_changed", recreate=True)
    write_records(feed, osv_record("PYSEC-2018-2", "urllib3", "1.24.2"))
    logs, counts = await start_and_wait("vulns_import_changed", recreate=False)

    events = feed_events(logs)
    assert [entry["event"] for entry in events] == [
        "vulnerability_feeds.import_started",
        "vulnerability_feeds.import_finished",
    ]
    assert events[1]["added"] == 1
    assert events[1]["unchanged"] == 1
    assert counts == (2, 2)


async def test_setting_off_imports_nothing(monkeypatch, tmp_path):
    feed = tmp_path / "PyPI"
    write_records(feed, osv_record("PYSEC-2019-1", "jinja2", "2.10.1"))
    monkeypatch.setenv(FEED_DIR_VARIABLE, str(feed))
    monkeypatch.setenv(IMPORT_AT_START_VARIABLE, "false")

    logs, counts = await start_and_wait("vulns_import_off", recreate=True)

    assert feed_events(logs) == []
    assert counts == (0, 0)
    assert [entry["event"] for entry in logs if entry["event"].startswith("vulnerability_data.")] == [
        "vulnerability_data.not_imported"
    ]


async def test_import_does_not_block_start(monkeypatch, tmp_path):
    feed = tmp_path / "PyPI"
    write_records(feed, osv_record("PYSEC-2019-1", "jinja2", "2.10.1"))
    monkeypatch.setenv(FEED_DIR_VARIABLE, str(feed))
    # A first start with the import off creates and migrates the database.
    monkeypatch.setenv(IMPORT_AT_START_VARIABLE, "false")
    await start_and_wait("vulns_import_background", recreate=True)
    monkeypatch.setenv(IMPORT_AT_START_VARIABLE, "true")

    # Holding the import lock, as a running import does, keeps the start-up import waiting.
    engine = create_async_engine(database_url("vulns_import_background"))
    try:
        async with engine.connect() as holder:
            await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": FEED_IMPORT_LOCK})
            async with running_service(
                create_app, database="vulns_import_background", recreate=False, transport=InMemoryTransport()
            ) as scanning:
                health = await scanning.client.get("/healthz")
                ready = await scanning.client.get("/readyz")
                waiting = await stored_counts(scanning.runtime)

                await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": FEED_IMPORT_LOCK})
                await holder.commit()
                await start_import_finished(scanning.runtime)
                imported = await stored_counts(scanning.runtime)
    finally:
        await engine.dispose()

    assert health.status_code == 200
    assert ready.status_code == 200
    assert waiting == (0, 0)
    assert imported == (1, 1)
