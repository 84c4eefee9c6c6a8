"""Importing an OSV feed into the vulnerability database, one versioned import at a time.

Each import compares every record with what the database stores, by a hash of its
canonical JSON, and writes only what differs. The import row counts what was added,
changed and withdrawn, and lists the (ecosystem, package) pairs whose advisories moved,
which is all that continuous assessment needs to re-match.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .aliases import best_score, build_groups
from .models import AdvisoryRecord, AffectedEntry, FeedImport
from .osv import Advisory, Feed, MalformedRecord, package_key, parse_record

log = structlog.get_logger(__name__)

# How many skipped files an import row lists by name; the count covers all of them.
MAX_SKIPPED_LISTED = 100
_ID_CHUNK = 5000


@dataclass(slots=True)
class ParsedRecord:
    file: str
    advisory: Advisory
    data: dict
    content_hash: str


@dataclass(slots=True)
class ImportReport:
    """Counts of what one import changed in the database."""

    import_id: uuid.UUID
    feed: str
    added: int = 0
    changed: int = 0
    withdrawn: int = 0
    unchanged: int = 0
    skipped: int = 0
    skipped_files: list[dict[str, str]] = field(default_factory=list)
    changed_packages: set[tuple[str, str]] = field(default_factory=set)

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.withdrawn)


def content_hash(data: dict) -> str:
    """Hash a record's canonical JSON, so reformatting a feed does not count as a change."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_feed(feed: Feed) -> tuple[list[ParsedRecord], list[dict[str, str]]]:
    """Read and parse every record of a feed; return the records and the skipped files.

    Blocking: it reads files or downloads, so async callers run it in a thread.
    """
    records: list[ParsedRecord] = []
    skipped: list[dict[str, str]] = []
    seen: set[str] = set()

    for file in feed.files():
        if file.error is not None:
            log.warning("osv_record_skipped", feed=feed.name, file=file.name, reason=file.error)
            skipped.append({"file": file.name, "reason": file.error})
            continue
        try:
            data = json.loads(file.content)
            advisory = parse_record(data)
        except (ValueError, MalformedRecord, RecursionError) as error:
            # json's decoding errors and MalformedRecord are both ValueErrors, and json
            # raises RecursionError on deeply nested arrays.
            reason = str(error) or type(error).__name__
            log.warning("osv_record_skipped", feed=feed.name, file=file.name, reason=reason)
            skipped.append({"file": file.name, "reason": reason})
            continue

        if advisory.id in seen:
            reason = f"duplicate id {advisory.id}"
            log.warning("osv_record_skipped", feed=feed.name, file=file.name, reason=reason)
            skipped.append({"file": file.name, "reason": reason})
            continue
        seen.add(advisory.id)
        records.append(ParsedRecord(file.name, advisory, data, content_hash(data)))

    return records, skipped


def _record_row(parsed: ParsedRecord, feed: str, import_id: uuid.UUID, first_import_id: uuid.UUID) -> dict:
    advisory = parsed.advisory
    severity_entries = list(advisory.severity)
    for affected in advisory.affected:
        severity_entries.extend(affected.severity)
    score = best_score(severity_entries, advisory.id)

    return {
        "id": advisory.id,
        "feed": feed,
        "modified": advisory.modified,
        "published": advisory.published,
        "withdrawn": advisory.withdrawn,
        "removed_from_feed": False,
        "aliases": list(advisory.aliases),
        "group_key": advisory.id,  # set properly by the group pass that follows
        "summary": advisory.summary,
        "cvss_score": score.score if score else None,
        "cvss_vector": score.vector if score else None,
        "cvss_version": score.version if score else None,
        "severity_text": advisory.severity_text,
        "references": list(advisory.references),
        "content_hash": parsed.content_hash,
        "raw": parsed.data,
        "first_import_id": first_import_id,
        "last_import_id": import_id,
    }


def _affected_rows(parsed: ParsedRecord) -> list[dict]:
    rows = []
    for affected in parsed.advisory.affected:
        rows.append(
            {
                "record_id": parsed.advisory.id,
                "ecosystem": affected.ecosystem,
                "package": package_key(affected.ecosystem, affected.name),
                "ranges": [
                    {"type": r.type, "events": [{e.kind: e.version} for e in r.events]}
                    for r in affected.ranges
                ],
                "versions": list(affected.versions),
                "severity": [{"type": s.type, "score": s.score} for s in affected.severity],
            }
        )
    return rows


def _packages_of(parsed: ParsedRecord) -> set[tuple[str, str]]:
    return {
        (affected.ecosystem, package_key(affected.ecosystem, affected.name))
        for affected in parsed.advisory.affected
    }


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def import_feed(
    session: AsyncSession,
    feed: Feed,
    *,
    now: datetime | None = None,
    full_export: bool = True,
) -> ImportReport:
    """Import one feed and record the import; the caller owns the transaction.

    With `full_export`, a record of this feed that the feed no longer contains counts as
    withdrawn, as osv.dev's exports drop deleted advisories. Pass False for a folder that
    contains only some records.
    """
    started = now or datetime.now(UTC)
    log.info("osv_import_started", feed=feed.name, location=feed.location)

    # Taken before reading, so files replaced during the import count as a change later.
    fingerprint = await asyncio.to_thread(feed.fingerprint)
    parsed, skipped = await asyncio.to_thread(read_feed, feed)

    import_row = FeedImport(
        feed=feed.name, location=feed.location, fingerprint=fingerprint, started_at=started
    )
    session.add(import_row)
    await session.flush()
    report = ImportReport(import_id=import_row.id, feed=feed.name)
    report.skipped = len(skipped)
    report.skipped_files = skipped[:MAX_SKIPPED_LISTED]

    existing = await _load_existing(session, feed.name, [p.advisory.id for p in parsed])

    inserts: list[ParsedRecord] = []
    replacements: list[ParsedRecord] = []
    for record in parsed:
        before = existing.get(record.advisory.id)
        now_withdrawn = record.advisory.withdrawn is not None

        if before is None:
            inserts.append(record)
            if now_withdrawn:
                report.withdrawn += 1
            else:
                report.added += 1
                report.changed_packages |= _packages_of(record)
            continue

        if before["content_hash"] == record.content_hash and before["feed"] == feed.name:
            report.unchanged += 1
            continue

        replacements.append(record)
        was_active = before["withdrawn"] is None
        if now_withdrawn and was_active:
            report.withdrawn += 1
        elif now_withdrawn:
            report.unchanged += 1  # a withdrawn record edited again changes no match
            continue
        else:
            report.changed += 1
        report.changed_packages |= _packages_of(record)

    # Packages that a replaced record named before the change may have lost it.
    replaced_ids = [record.advisory.id for record in replacements]
    report.changed_packages |= await _packages_of_records(session, replaced_ids)

    removed_ids = []
    if full_export:
        seen = {record.advisory.id for record in parsed}
        removed_ids = [
            record_id
            for record_id, before in existing.items()
            if before["feed"] == feed.name and record_id not in seen and before["withdrawn"] is None
        ]
        report.withdrawn += len(removed_ids)
        report.changed_packages |= await _packages_of_records(session, removed_ids)

    await _write_records(session, feed.name, import_row.id, inserts, replacements, existing)
    if removed_ids:
        await _mark_removed(session, removed_ids, import_row.id, started)

    if report.has_changes:
        report.changed_packages |= await regroup(session)

    import_row.added = report.added
    import_row.changed = report.changed
    import_row.withdrawn = report.withdrawn
    import_row.unchanged = report.unchanged
    import_row.skipped = report.skipped
    import_row.skipped_files = report.skipped_files
    import_row.changed_packages = sorted([list(pair) for pair in report.changed_packages])
    import_row.finished_at = now or datetime.now(UTC)
    await session.flush()

    log.info(
        "osv_import_finished",
        feed=feed.name,
        import_id=str(import_row.id),
        added=report.added,
        changed=report.changed,
        withdrawn=report.withdrawn,
        unchanged=report.unchanged,
        skipped=report.skipped,
    )
    return report


async def _load_existing(session: AsyncSession, feed: str, ids: list[str]) -> dict[str, dict]:
    columns = (
        AdvisoryRecord.id,
        AdvisoryRecord.feed,
        AdvisoryRecord.content_hash,
        AdvisoryRecord.withdrawn,
        AdvisoryRecord.first_import_id,
    )
    existing: dict[str, dict] = {}
    result = await session.execute(select(*columns).where(AdvisoryRecord.feed == feed))
    for row in result.mappings():
        existing[row["id"]] = dict(row)

    # Records first imported from another feed may reappear in this one.
    missing = [record_id for record_id in ids if record_id not in existing]
    for chunk in _chunks(missing, _ID_CHUNK):
        result = await session.execute(select(*columns).where(AdvisoryRecord.id.in_(chunk)))
        for row in result.mappings():
            existing[row["id"]] = dict(row)
    return existing


async def _packages_of_records(session: AsyncSession, ids: list[str]) -> set[tuple[str, str]]:
    packages: set[tuple[str, str]] = set()
    for chunk in _chunks(ids, _ID_CHUNK):
        result = await session.execute(
            select(AffectedEntry.ecosystem, AffectedEntry.package).where(
                AffectedEntry.record_id.in_(chunk)
            )
        )
        packages |= {(ecosystem, package) for ecosystem, package in result}
    return packages


async def _write_records(
    session: AsyncSession,
    feed: str,
    import_id: uuid.UUID,
    inserts: list[ParsedRecord],
    replacements: list[ParsedRecord],
    existing: dict[str, dict],
) -> None:
    # A replaced record is deleted and written again; its affected rows go with it.
    replaced_ids = [record.advisory.id for record in replacements]
    for chunk in _chunks(replaced_ids, _ID_CHUNK):
        await session.execute(delete(AdvisoryRecord).where(AdvisoryRecord.id.in_(chunk)))

    record_rows = []
    affected_rows = []
    for record in inserts:
        record_rows.append(_record_row(record, feed, import_id, import_id))
        affected_rows.extend(_affected_rows(record))
    for record in replacements:
        first_import_id = existing[record.advisory.id]["first_import_id"]
        record_rows.append(_record_row(record, feed, import_id, first_import_id))
        affected_rows.extend(_affected_rows(record))

    for chunk in _chunks(record_rows, 1000):
        await session.execute(insert(AdvisoryRecord), chunk)
    for chunk in _chunks(affected_rows, 2000):
        await session.execute(insert(AffectedEntry), chunk)


async def _mark_removed(
    session: AsyncSession, ids: list[str], import_id: uuid.UUID, when: datetime
) -> None:
    for chunk in _chunks(ids, _ID_CHUNK):
        await session.execute(
            update(AdvisoryRecord)
            .where(AdvisoryRecord.id.in_(chunk))
            .values(withdrawn=when, removed_from_feed=True, last_import_id=import_id)
        )


async def regroup(session: AsyncSession) -> set[tuple[str, str]]:
    """Recompute alias groups over all active records; return the packages of moved records.

    Withdrawn records take no part, so withdrawing a record can split its group.
    """
    result = await session.execute(
        select(AdvisoryRecord.id, AdvisoryRecord.aliases, AdvisoryRecord.group_key).where(
            AdvisoryRecord.withdrawn.is_(None)
        )
    )
    rows = result.all()
    groups = build_groups((record_id, aliases or []) for record_id, aliases, _ in rows)

    moves = []
    for record_id, _, group_key in rows:
        root = groups.find(record_id)
        if root != group_key:
            moves.append({"record_id": record_id, "new_group": root})
    if not moves:
        return set()

    table = AdvisoryRecord.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("record_id"))
        .values(group_key=bindparam("new_group"))
    )
    await (await session.connection()).execute(statement, moves)

    return await _packages_of_records(session, [move["record_id"] for move in moves])
