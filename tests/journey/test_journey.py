"""The main journey end to end, in the all-in-one mode and in the distributed mode.

Both runs walk the same eight steps as `make demo` on real components: debootstrap and
PyPI wheels for the image, skopeo against the Distribution registry, the OSV feeds, the
sandbox checkout and the local mailbox. The distributed run also stops the scanning
process right after the submission and starts it again, then checks that no event was
lost and no work was done twice.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from services.gateway.app import SERVICES
from tests.journey.distributed import (
    dead_letter_counts,
    query,
    remove_run_data,
    start_distributed_store,
)
from wharf.demo.client import StepFailed
from wharf.demo.feeds import source_feed_dir
from wharf.demo.journey import Journey
from wharf.demo.steps import STEPS
from wharf.demo.store import in_process_store


def osv_source() -> Path:
    try:
        return source_feed_dir(None)
    except FileNotFoundError as exc:
        pytest.fail(str(exc))


async def walk(store, run_id: str, feeds: Path) -> tuple[Journey, list[str]]:
    """Run every step; fail the test with the journey's output when a step fails."""
    output: list[str] = []
    journey = Journey(store, osv_source=feeds, run_id=run_id, out=output.append)
    try:
        await journey.run(STEPS)
    except StepFailed as exc:
        pytest.fail(f"{exc}\n\njourney output:\n" + "\n".join(output))
    return journey, output


def private_folder(prefix: str) -> Path:
    # Not under pytest's tmp folder: that is private to root (0700), and the embedded
    # server runs as its own system user, which must reach its data folder.
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


async def test_journey_all_in_one():
    # Read before the store starts, because the store points scanning's feed folder elsewhere.
    feeds = osv_source()
    data_dir = private_folder("wharf-journey-all-in-one-")
    try:
        async with in_process_store(data_dir, log_json=False) as store:
            journey, output = await walk(store, uuid.uuid4().hex[:6], feeds)

            apps = store.gateway.state.service_apps
            transport = apps["catalog"].state.runtime.transport
            unsent = {}
            for name, app in apps.items():
                runtime = app.state.runtime
                async with runtime.sessionmaker() as session:
                    unsent[name] = (
                        await session.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
                    ).scalar_one()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    assert [letter.body for letter in transport.dead_letters] == []
    assert set(unsent.values()) == {0}, unsent
    assert journey.state.paid_pull_at is not None


async def test_journey_distributed_with_scanner_restart():
    feeds = osv_source()
    suffix = uuid.uuid4().hex[:8]
    work_dir = private_folder("wharf-journey-distributed-")
    store = await asyncio.to_thread(start_distributed_store, work_dir, suffix)
    try:
        journey, output = await walk(store, suffix[:6], feeds)
        exited = store.exited()
        dead = await dead_letter_counts(suffix)
        unsent = {}
        for service in SERVICES:
            rows = await query(service, suffix, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            unsent[service] = rows[0][0]
        scans = await query(
            "scanning",
            suffix,
            "SELECT version_id, tier_id, correlation_id, status FROM scans WHERE product_id = :product_id",
            product_id=uuid.UUID(journey.state.product_id),
        )
        cases = await query(
            "moderation",
            suffix,
            "SELECT version_id, current_round FROM review_cases WHERE product_id = :product_id ORDER BY opened_at",
            product_id=uuid.UUID(journey.state.product_id),
        )
        downloads = await query(
            "audit",
            suffix,
            "SELECT paid FROM downloads WHERE product_id = :product_id AND user_id = :user_id ORDER BY pulled_at",
            product_id=uuid.UUID(journey.state.product_id),
            user_id=uuid.UUID(journey.state.customer.user_id),
        )
    finally:
        store.stop_all()
        await remove_run_data(suffix)
        shutil.rmtree(work_dir, ignore_errors=True)

    assert store.restarts == ["scanning stopped after the submission", "scanning started again"]
    assert exited == {}
    assert set(dead.values()) == {0}, dead
    assert set(unsent.values()) == {0}, unsent
    # Three submissions (1.0, its resubmission, 1.0.1) of two tiers: one scan each, all done.
    assert len(scans) == 6
    assert len({(row.version_id, row.tier_id, row.correlation_id) for row in scans}) == 6
    assert {row.status for row in scans} == {"completed"}
    assert [row.current_round for row in cases] == [2, 1]
    assert [row.paid for row in downloads] == [False, True]
