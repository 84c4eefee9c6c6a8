"""The hash chain over the activity log: how a row's hash is computed and how a range is checked.

Each row's hash is SHA-256 over a canonical encoding of its content and the previous
row's hash. Changing a row breaks its own hash; recomputing that hash breaks the next
row's `previous_hash`; deleting a row leaves a gap in `seq`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.models import activity, chain_head, retention_drops

GENESIS_HASH = "0" * 64

# The columns a row's hash covers, in this order.
HASHED_COLUMNS = (
    "seq",
    "event_id",
    "action",
    "producer",
    "subject",
    "correlation_id",
    "occurred_at",
    "recorded_at",
    "actor_id",
    "organisation_id",
    "product_id",
    "details",
    "previous_hash",
)


def row_hash(row: Any) -> str:
    """Compute the hash of an activity row (a mapping or a Row with the hashed columns)."""
    values = row if isinstance(row, dict) else row._mapping
    encoded = canonical([values[name] for name in HASHED_COLUMNS])
    return hashlib.sha256(encoded.encode()).hexdigest()


def canonical(value: Any) -> str:
    """Encode a value as JSON that is identical before and after a JSONB round trip.

    JSONB keeps numbers as numerics, so 1e20 comes back as 100000000000000000000 and
    9.0 keeps its scale. Numbers are therefore written in normalised decimal form, keys
    sorted, without spaces.
    """
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float | Decimal):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return json.dumps(value.astimezone(UTC).isoformat())
    if isinstance(value, uuid.UUID):
        return json.dumps(str(value))
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{canonical(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    raise TypeError(f"cannot hash a value of type {type(value).__name__}")


def _number(value: int | float | Decimal) -> str:
    normalised = Decimal(str(value)).normalize()
    if normalised == normalised.to_integral_value():
        return str(int(normalised))
    return format(normalised, "f")


@dataclass
class BrokenLink:
    seq: int
    event_id: uuid.UUID | None
    recorded_at: datetime | None
    reason: str
    expected: str | None = None
    found: str | None = None


@dataclass
class Verification:
    checked: int
    first_seq: int | None
    last_seq: int | None
    # Source of the hash the first checked row must link to: "genesis", "previous_row",
    # "retention_drop" (the row before it was dropped by retention) or "unanchored".
    anchor: str
    broken: BrokenLink | None

    @property
    def valid(self) -> bool:
        return self.broken is None


async def verify_range(
    session: AsyncSession, *, start: datetime | None, end: datetime | None
) -> Verification:
    """Check every link of rows recorded in [start, end) and report the first broken one.

    Rows are streamed in chain order, so a long range is checked in constant memory.
    When the range reaches the end of the log, the last row is also checked against the
    chain head, which catches deleted rows at the tail.
    """
    query = select(activity).order_by(activity.c.seq)
    if start is not None:
        query = query.where(activity.c.recorded_at >= start)
    if end is not None:
        query = query.where(activity.c.recorded_at < end)

    checked = 0
    first_seq = last_seq = None
    anchor = "unanchored"
    expected_seq: int | None = None
    expected_previous: str | None = None
    last_hash: str | None = None

    rows = await session.stream(query.execution_options(yield_per=500))
    async for row in rows:
        if checked == 0:
            first_seq = row.seq
            anchor, expected_previous = await _anchor(session, row.seq)
            expected_seq = row.seq

        broken = _check_row(row, expected_seq, expected_previous)
        if broken is not None:
            await rows.close()
            return Verification(checked, first_seq, last_seq, anchor, broken)

        checked += 1
        last_seq = row.seq
        last_hash = row.hash
        expected_seq = row.seq + 1
        expected_previous = row.hash

    if last_seq is not None and (end is None or end > await _head_recorded_at(session)):
        broken = await _check_head(session, last_seq, last_hash)
        if broken is not None:
            return Verification(checked, first_seq, last_seq, anchor, broken)

    return Verification(checked, first_seq, last_seq, anchor, None)


def _check_row(row, expected_seq: int, expected_previous: str | None) -> BrokenLink | None:
    if row.seq != expected_seq:
        return BrokenLink(
            seq=row.seq,
            event_id=row.event_id,
            recorded_at=row.recorded_at,
            reason=f"rows {expected_seq} to {row.seq - 1} are missing from the chain",
            expected=str(expected_seq),
            found=str(row.seq),
        )
    if expected_previous is not None and row.previous_hash != expected_previous:
        return BrokenLink(
            seq=row.seq,
            event_id=row.event_id,
            recorded_at=row.recorded_at,
            reason="previous_hash does not match the hash of the row before it",
            expected=expected_previous,
            found=row.previous_hash,
        )
    computed = row_hash(row)
    if computed != row.hash:
        return BrokenLink(
            seq=row.seq,
            event_id=row.event_id,
            recorded_at=row.recorded_at,
            reason="the row's content does not match its hash: the row was modified",
            expected=computed,
            found=row.hash,
        )
    return None


async def _anchor(session: AsyncSession, seq: int) -> tuple[str, str | None]:
    """Find the hash the row `seq` must link to, and where it came from."""
    if seq == 1:
        return "genesis", GENESIS_HASH

    previous = (
        await session.execute(select(activity.c.hash).where(activity.c.seq == seq - 1))
    ).scalar()
    if previous is not None:
        return "previous_row", previous

    dropped = (
        await session.execute(
            select(retention_drops.c.last_hash).where(retention_drops.c.last_seq == seq - 1)
        )
    ).scalar()
    if dropped is not None:
        return "retention_drop", dropped

    # NOTE: with neither the previous row nor a retention record, the first row's own
    # previous_hash is taken on trust. The rest of the range is still fully checked.
    return "unanchored", None


async def _head_recorded_at(session: AsyncSession) -> datetime:
    value = (await session.execute(select(chain_head.c.recorded_at))).scalar()
    return value or datetime.min.replace(tzinfo=UTC)


async def _check_head(session: AsyncSession, last_seq: int, last_hash: str | None) -> BrokenLink | None:
    head = (await session.execute(select(chain_head))).one()
    if head.seq == last_seq and head.hash == last_hash:
        return None
    return BrokenLink(
        seq=head.seq,
        event_id=None,
        recorded_at=head.recorded_at,
        reason=f"the chain head is row {head.seq} but the last row in the log is {last_seq}",
        expected=head.hash,
        found=last_hash,
    )
