"""A small service built on the shared frame, used to test the frame itself.

It stores notes and emits `sample.note.created` with each; its consumer counts the notes
it has seen, and can be told to fail, so the tests can watch retries and dead letters.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime, Integer, String, Table, select, update
from sqlalchemy.dialects.postgresql import UUID

from shared.db import SessionDep, make_metadata
from shared.errors import Conflict
from shared.events import emit
from shared.events.schemas import EventData, register_event_type
from shared.idempotency import idempotent
from shared.pagination import Page, check_limit, finish_page, paginate
from shared.service import ServiceSpec, create_service_app
from shared.settings import ServiceSettings

metadata = make_metadata()
notes = Table(
    "notes",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("text", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
seen = Table(
    "seen",
    metadata,
    Column("note_id", UUID(as_uuid=True), primary_key=True),
    Column("times", Integer, nullable=False),
)


class NoteCreated(EventData):
    note_id: uuid.UUID
    text: str


register_event_type("sample.note.created", 1, NoteCreated)


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=200)


router = APIRouter()


@router.post("/notes", status_code=201)
async def create_note(body: NoteIn, session: SessionDep, request: Request):
    async def action():
        runtime = request.app.state.runtime
        if (await session.execute(select(notes.c.id).where(notes.c.text == body.text))).first():
            raise Conflict(f"A note with text {body.text!r} already exists")
        note_id = uuid.uuid4()
        await session.execute(notes.insert().values(id=note_id, text=body.text, created_at=runtime.clock.now()))
        await emit(session, "sample.note.created", subject=str(note_id), data={"note_id": note_id, "text": body.text})
        if body.text == "fail-after-emit":
            raise RuntimeError("failing after the event was written")
        return {"id": note_id, "text": body.text}

    return await idempotent(session, request, scope="anonymous", payload=body, action=action, status_code=201)


@router.get("/notes")
async def list_notes(session: SessionDep, cursor: str | None = None, limit: int | None = None) -> Page[dict]:
    limit = check_limit(limit)
    stmt = paginate(
        select(notes.c.id, notes.c.text, notes.c.created_at),
        columns=[notes.c.created_at, notes.c.id],
        cursor=cursor,
        limit=limit,
    )
    rows = (await session.execute(stmt)).all()
    kept, next_cursor = finish_page(rows, limit=limit, key=lambda row: (row.created_at, row.id))
    return Page(items=[{"id": str(row.id), "text": row.text} for row in kept], next_cursor=next_cursor)


# The consumer's behaviour, switched by tests.
FAILURES = {"remaining": 0}


async def on_note_created(session, envelope, data: NoteCreated) -> None:
    if data.text.startswith("always-fail"):
        raise RuntimeError(f"handler refuses note {data.note_id}")
    if FAILURES["remaining"] > 0:
        FAILURES["remaining"] -= 1
        raise RuntimeError("transient failure")
    existing = (await session.execute(select(seen.c.times).where(seen.c.note_id == data.note_id))).scalar()
    if existing is None:
        await session.execute(seen.insert().values(note_id=data.note_id, times=1))
    else:
        await session.execute(update(seen).where(seen.c.note_id == data.note_id).values(times=existing + 1))


SPEC = ServiceSpec(
    name="sample",
    title="Sample",
    description="Test service for the shared frame.",
    metadata=metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=ServiceSettings,
    routers=[router],
    handlers={"sample.note.created": on_note_created},
)


def create_app(**options):
    return create_service_app(SPEC, **options)
