"""Monthly partitions of the activity log: created ahead of time, dropped whole by retention."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.models import activity, retention_drops
from services.audit.months import Month
from services.audit.settings import check_retention_days

log = structlog.get_logger()

# Key of the transaction-level advisory lock held around partition DDL, so replicas
# creating or dropping the same partition do not race.
PARTITION_LOCK_KEY = 0x61756469745F7032  # "audit_p2"

_PARTITION_NAME = re.compile(r"^activity_(\d{4})_(\d{2})$")


def partition_name(month: Month) -> str:
    return f"activity_{month.year:04d}_{month.month:02d}"


async def ensure_partition(session: AsyncSession, month: Month) -> bool:
    """Create the partition for `month` unless it exists; return whether it was created."""
    known = _known_partitions(session)
    name = partition_name(month)
    if name in known:
        return False

    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARTITION_LOCK_KEY})
    exists = (await session.execute(text("SELECT to_regclass(:name)"), {"name": name})).scalar()
    if exists is None:
        # Identifiers cannot be bound; the name and bounds are built from integers above.
        await session.execute(
            text(
                f"CREATE TABLE {name} PARTITION OF activity "
                f"FOR VALUES FROM ('{month.start.isoformat()}') TO ('{month.end.isoformat()}')"
            )
        )
        log.info("activity.partition.created", partition=name)
        return True

    # Remember only partitions seen committed: one created above vanishes on rollback.
    known.add(name)
    return False


def _known_partitions(session: AsyncSession) -> set[str]:
    runtime = session.info.get("runtime")
    state = runtime.state if runtime is not None else session.info
    return state.setdefault("known_partitions", set())


async def ensure_partitions_ahead(session: AsyncSession, now: datetime, months_ahead: int) -> list[str]:
    """Create the partitions of the current month and the next `months_ahead` months."""
    created = []
    month = Month.containing(now)
    for _ in range(months_ahead + 1):
        if await ensure_partition(session, month):
            created.append(partition_name(month))
        month = month.next()
    return created


@dataclass
class PartitionInfo:
    name: str
    month: Month
    rows: int | None = None


async def list_partitions(session: AsyncSession) -> list[PartitionInfo]:
    """List the activity log's partitions, oldest first."""
    names = (
        await session.execute(
            text(
                "SELECT child.relname FROM pg_inherits "
                "JOIN pg_class parent ON parent.oid = pg_inherits.inhparent "
                "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
                "WHERE parent.relname = 'activity'"
            )
        )
    ).scalars()

    partitions = []
    for name in names:
        match = _PARTITION_NAME.match(name)
        if match is None:
            log.warning("activity.partition.unrecognised", partition=name)
            continue
        partitions.append(PartitionInfo(name, Month(int(match[1]), int(match[2]))))
    return sorted(partitions, key=lambda partition: partition.month)


async def apply_retention(session: AsyncSession, *, now: datetime, retention_days: int) -> list[str]:
    """Drop every partition whose whole month ended more than `retention_days` ago.

    Rows are never deleted one by one: a partition still holding any row younger than
    the retention is kept whole. Each drop is recorded with the partition's last link,
    so the chain stays verifiable from the first remaining row.
    """
    check_retention_days(retention_days)
    cutoff = now.astimezone(UTC) - timedelta(days=retention_days)

    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARTITION_LOCK_KEY})
    dropped = []
    for partition in await list_partitions(session):
        if partition.month.end > cutoff:
            break

        stats = (
            await session.execute(
                select(func.count(), func.min(activity.c.seq), func.max(activity.c.seq)).where(
                    activity.c.recorded_at >= partition.month.start,
                    activity.c.recorded_at < partition.month.end,
                )
            )
        ).one()
        rows, first_seq, last_seq = stats
        last_hash = None
        if last_seq is not None:
            last_hash = (
                await session.execute(select(activity.c.hash).where(activity.c.seq == last_seq))
            ).scalar()

        await session.execute(
            retention_drops.insert().values(
                partition=partition.name,
                range_start=partition.month.start,
                range_end=partition.month.end,
                rows=rows,
                first_seq=first_seq,
                last_seq=last_seq,
                last_hash=last_hash,
                dropped_at=now,
            )
        )
        # The name comes from pg_inherits and matched the strict pattern above.
        await session.execute(text(f"DROP TABLE {partition.name}"))
        _known_partitions(session).discard(partition.name)
        log.info(
            "activity.partition.dropped",
            partition=partition.name,
            rows=rows,
            first_seq=first_seq,
            last_seq=last_seq,
            retention_days=retention_days,
        )
        dropped.append(partition.name)
    return dropped
