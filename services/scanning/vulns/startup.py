"""A warning at start when scans would find nothing because no vulnerability data exists."""

from __future__ import annotations

import structlog
from sqlalchemy import select

from services.scanning.vulns.models import AdvisoryRecord
from services.scanning.vulns.osv import (
    FEED_DIR_VARIABLE,
    FEED_URL_VARIABLE,
    FeedNotFound,
    configured_feeds,
    default_feed_dir,
)

log = structlog.get_logger(__name__)


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
            fix=f"set {FEED_DIR_VARIABLE} to a folder of OSV feeds (or {FEED_URL_VARIABLE}), restart, "
            "then import them: POST /api/scanning/vulnerability-feeds/imports as security staff",
        )
        return
    log.warning(
        "vulnerability_data.not_imported",
        feeds=feeds,
        fix="import them before scanning: POST /api/scanning/vulnerability-feeds/imports as security staff",
    )
