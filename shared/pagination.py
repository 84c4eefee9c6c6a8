"""Keyset (cursor) pagination: stable pages that do not shift when rows are added."""

from __future__ import annotations

import base64
import json
import math
import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import BigInteger, DateTime, Integer, Select, SmallInteger, String, and_, or_
from sqlalchemy import Uuid as UuidType
from sqlalchemy.sql.elements import ColumnElement

from shared.errors import BadRequest

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: list[Any]) -> str:
    plain = []
    for value in values:
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, uuid.UUID):
            value = str(value)
        plain.append(value)
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, columns: list[ColumnElement]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError("wrong shape")
        return [_typed(value, column) for value, column in zip(values, columns, strict=True)]
    # json.loads raises RecursionError on deeply nested arrays, which a crafted cursor can contain.
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        raise BadRequest(f"Invalid cursor {cursor[:80]!r}: use the next_cursor of a previous page") from exc


def _typed(value: Any, column: ColumnElement) -> Any:
    """Convert a cursor value back to the column's Python type, or raise ValueError."""
    if value is None:
        if getattr(column, "nullable", False):
            return None
        raise ValueError(f"{column} cannot be null")
    if isinstance(column.type, DateTime):
        if not isinstance(value, str):
            raise ValueError(f"expected a timestamp, got {value!r}")
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None and getattr(column.type, "timezone", False):
            raise ValueError(f"expected a timezone-aware timestamp, got {value!r}")
        return moment
    if isinstance(column.type, UuidType):
        if not isinstance(value, str):
            raise ValueError(f"expected a UUID, got {value!r}")
        return uuid.UUID(value)
    try:
        expected = column.type.python_type
    except NotImplementedError:
        expected = None
    # bool is a subclass of int, and float is not an integer column's value.
    if expected is not None and (not isinstance(value, expected) or isinstance(value, bool) and expected is not bool):
        raise ValueError(f"expected {expected.__name__}, got {value!r}")
    _check_storable(value, column)
    return value


def _integer_bits(column_type: Any) -> int | None:
    # BigInteger and SmallInteger are subclasses of Integer, so they are tested first.
    for kind, bits in ((BigInteger, 64), (SmallInteger, 16), (Integer, 32)):
        if isinstance(column_type, kind):
            return bits
    return None


def _check_storable(value: Any, column: ColumnElement) -> None:
    """Raise ValueError for a value that the database would reject as a query parameter.

    Without this check, an out-of-range number or a NUL in a crafted cursor reaches the
    database and fails there, with an error that does not name the cursor.
    """
    bits = _integer_bits(column.type)
    if bits is not None and not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise ValueError(f"{value} is out of range for {column}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    if isinstance(value, str):
        # PostgreSQL text cannot contain NUL, and a lone surrogate cannot be encoded as UTF-8.
        if "\x00" in value:
            raise ValueError(f"{column} cannot contain NUL")
        value.encode("utf-8")
        length = getattr(column.type, "length", None) if isinstance(column.type, String) else None
        if length is not None and len(value) > length:
            raise ValueError(f"{column} is longer than {length} characters")


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"Invalid limit {limit}: it must be between 1 and {MAX_LIMIT}")
    return limit


def paginate(
    stmt: Select, *, columns: list[ColumnElement], cursor: str | None, limit: int, descending: bool = True
) -> Select:
    """Order `stmt` by `columns` (the last one unique) and start after `cursor`.

    Fetches one row more than `limit`, which `finish_page` uses to decide whether a next
    page exists.
    """
    if cursor:
        values = decode_cursor(cursor, columns)
        stmt = stmt.where(_after(columns, values, descending))
    order = [column.desc() if descending else column.asc() for column in columns]
    return stmt.order_by(*order).limit(limit + 1)


def _after(columns, values, descending):
    # (a, b) < (x, y) written out, which works for any column types and directions.
    clauses = []
    for index, column in enumerate(columns):
        equal_prefix = [columns[i] == values[i] for i in range(index)]
        beyond = column < values[index] if descending else column > values[index]
        clauses.append(and_(*equal_prefix, beyond))
    return or_(*clauses)


def finish_page(rows: list[Any], *, limit: int, key) -> tuple[list[Any], str | None]:
    """Cut the extra row and build the cursor from the last row kept (`key(row)` gives its values)."""
    if len(rows) <= limit:
        return rows, None
    kept = rows[:limit]
    return kept, encode_cursor(list(key(kept[-1])))
