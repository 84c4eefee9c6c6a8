"""Start-up tasks for vulnerability data: the warning and the background feed import.

The warning names what to set when scans would find nothing because no vulnerability
data exists. The import, when configured, brings in feeds that are new or changed.
"""

from __future__ import annotations

import asyncio
import os
import time

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scanning.vulns import service
from services.scanning.vulns.models import AdvisoryRecord, FeedImport
from services.scanning.vulns.osv import (
    FEED_DIR_VARIABLE,
    FEED_URL_VARIABLE,
    Feed,
    FeedNotFound,
    configured_feeds,
    default_feed_dir,
)

log = structlog.get_logger(__name__)

IMPORT_AT_START_VARIABLE = "WHARF_SCANNING_IMPORT_FEEDS_AT_START"


def imports_at_start(settings) -> bool:
    """Return whether to import the feeds at start: the setting, else whether a feed folder is set."""
    if settings.import_feeds_at_start is not None:
        return settings.import_feeds_at_start
    return bool(os.environ.get(FEED_DIR_VARIABLE))


async def warn_without_vulnerability_data(runtime) -> None:
    """Log a warning, naming what to set or run, when the vulnerability database is empty.

    Scans still run without data, and report no findings, which a publisher or reviewer
    could take for a clean image.
    """
    async with runtime.sessionmaker() as session:
        any_record = (await session.execute(select(AdvisoryRecord.id).limit(1))).first()
    if any_record is not None:
        return

    try:
        feeds = [feed.name for feed in configured_feeds()]
        problem = None if feeds else f"no OSV feeds found at {default_feed_dir()}"
    except FeedNotFound as error:
        feeds, problem = [], str(error)
    if problem is not None:
        log.warning(
            "vulnerability_data.missing",
            error=problem,
            fix=f"set {FEED_DIR_VARIABLE} to a folder of OSV feeds and restart, which imports them, "
            f"or set {FEED_URL_VARIABLE} and {IMPORT_AT_START_VARIABLE}=true",
        )
        return
    if imports_at_start(runtime.settings):
        return  # import_feeds_at_start logs the import
    log.warning(
        "vulnerability_data.not_imported",
        feeds=feeds,
        fix=f"set {IMPORT_AT_START_VARIABLE}=true and restart, or import them before scanning: "
        "POST /api/scanning/vulnerability-feeds/imports as security staff",
    )


async def feeds_to_import(session: AsyncSession, feeds: list[Feed]) -> list[Feed]:
    """Return the feeds never imported from their location, or whose files changed since."""
    statement = (
        select(FeedImport.feed, FeedImport.location, FeedImport.fingerprint)
        .where(FeedImport.feed.in_([feed.name for feed in feeds]))
        .where(FeedImport.finished_at.is_not(None))
        .order_by(FeedImport.started_at.desc(), FeedImport.id)
    )
    latest: dict[str, tuple[str, str | None]] = {}
    for name, location, fingerprint in await session.execute(statement):
        latest.setdefault(name, (location, fingerprint))

    pending = []
    for feed in feeds:
        fingerprint = await asyncio.to_thread(feed.fingerprint)
        # An import recorded before fingerprints existed has None, so it is imported once more.
        if latest.get(feed.name) != (feed.location, fingerprint):
            pending.append(feed)
    return pending


async def import_feeds_at_start(runtime) -> None:
    """Import the configured feeds once, in the background, unless they are imported already.

    It runs as a background task, so the service serves and reports healthy meanwhile.
    Replicas that start together take turns on the import lock, and the later ones find
    the feeds imported. A failure is logged and left for the next start or a manual import.

    NOTE: a scan that finishes while this import runs is matched before the records are
    committed, and the import re-assesses only the images stored when it reaches that step.
    """
    if not imports_at_start(runtime.settings):
        return
    try:
        feeds = await asyncio.to_thread(configured_feeds)
    except FeedNotFound:
        return  # warn_without_vulnerability_data has logged what to set
    if not feeds:
        return

    names = [feed.name for feed in feeds]
    try:
        async with runtime.sessionmaker() as session, session.begin():
            await service.lock_feed_imports(session, wait=True)
            pending = await feeds_to_import(session, feeds)
            if not pending:
                log.info("vulnerability_feeds.up_to_date", feeds=names)
                return

            pending_names = [feed.name for feed in pending]
            log.info("vulnerability_feeds.import_started", feeds=pending_names, configured=names)
            started = time.monotonic()
            outcome = await service.import_feeds(session, pending, now=runtime.clock.now())
    except asyncio.CancelledError:
        log.warning("vulnerability_feeds.import_cancelled", feeds=names)
        raise
    except Exception as error:  # noqa: BLE001 - the service keeps running without the data
        log.exception(
            "vulnerability_feeds.import_failed",
            feeds=names,
            error=repr(error),
            fix="check the feed folder, then restart or POST /api/scanning/vulnerability-feeds/imports",
        )
        return

    reports = outcome.reports
    log.info(
        "vulnerability_feeds.import_finished",
        feeds=pending_names,
        added=sum(report.added for report in reports),
        changed=sum(report.changed for report in reports),
        withdrawn=sum(report.withdrawn for report in reports),
        unchanged=sum(report.unchanged for report in reports),
        skipped=sum(report.skipped for report in reports),
        images_changed=len(outcome.changes),
        seconds=round(time.monotonic() - started, 1),
    )
