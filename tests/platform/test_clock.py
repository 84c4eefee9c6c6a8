"""The adjustable clocks: in one process, shared through a file, and refused in production."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import ValidationError

from shared.auth import verify_access_token
from shared.clock import FileOffsetClock, OffsetClock, SystemClock, write_clock_offset
from shared.errors import Unauthorized
from shared.service import build_clock, create_service_app
from shared.settings import PlatformSettings
from tests.platform.sample.app import SPEC
from tests.support.tokens import TestUser, TokenIssuer


def test_offset_clock_starts_at_system_time():
    clock = OffsetClock()

    gap = clock.now() - datetime.now(UTC)

    assert abs(gap) < timedelta(seconds=5)


def test_offset_clock_advance_moves_forward():
    clock = OffsetClock()

    clock.advance(timedelta(hours=73))

    assert clock.offset == timedelta(hours=73)
    assert clock.now() - datetime.now(UTC) > timedelta(hours=72, minutes=59)


def test_offset_clock_rejects_going_back():
    clock = OffsetClock(timedelta(hours=1))

    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(timedelta(seconds=-1))


def test_offset_clock_advance_to_past_moment_keeps_time():
    clock = OffsetClock(timedelta(days=2))

    clock.advance_to(datetime.now(UTC) + timedelta(days=1))

    assert clock.offset == timedelta(days=2)


def test_offset_clock_advance_to_future_moment():
    clock = OffsetClock()
    target = datetime.now(UTC) + timedelta(days=40)

    reached = clock.advance_to(target)

    assert reached >= target
    assert reached - target < timedelta(seconds=5)


def test_file_clock_sees_another_writer(tmp_path):
    path = tmp_path / "clock-offset"
    write_clock_offset(path, timedelta(0))
    reader = FileOffsetClock(path)
    writer = FileOffsetClock(path)

    writer.advance(timedelta(hours=80))

    assert reader.offset == timedelta(hours=80)


def test_file_clock_sees_each_of_two_quick_writes(tmp_path):
    path = tmp_path / "clock-offset"
    write_clock_offset(path, timedelta(0))
    reader = FileOffsetClock(path)

    write_clock_offset(path, timedelta(seconds=10))
    first = reader.offset
    write_clock_offset(path, timedelta(seconds=20))
    second = reader.offset

    assert first == timedelta(seconds=10)
    assert second == timedelta(seconds=20)


def test_file_clock_keeps_offset_on_garbage(tmp_path):
    path = tmp_path / "clock-offset"
    write_clock_offset(path, timedelta(hours=5))
    clock = FileOffsetClock(path)

    path.write_text("five hours\n")

    assert clock.offset == timedelta(hours=5)


def test_file_clock_missing_file_rejected(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        FileOffsetClock(tmp_path / "missing")


def test_build_clock_reads_offset_file_setting(tmp_path):
    path = tmp_path / "clock-offset"
    write_clock_offset(path, timedelta(days=3))

    clock = build_clock(PlatformSettings(clock_offset_file=str(path)))

    assert isinstance(clock, FileOffsetClock)
    assert clock.offset == timedelta(days=3)


def test_build_clock_default_is_system_clock():
    clock = build_clock(PlatformSettings(clock_offset_file=""))

    assert isinstance(clock, SystemClock)


def test_offset_file_setting_rejected_in_production(tmp_path):
    with pytest.raises(ValidationError, match="WHARF_CLOCK_OFFSET_FILE"):
        PlatformSettings(
            environment="production", internal_token="a-production-secret", clock_offset_file=str(tmp_path / "x")
        )


def test_offset_clock_app_rejected_in_production():
    platform = PlatformSettings(environment="production", internal_token="a-production-secret")

    with pytest.raises(ValueError, match="not production"):
        create_service_app(
            SPEC, database_url="postgresql+asyncpg://unused@127.0.0.1/unused", platform=platform, clock=OffsetClock()
        )


def _token(issuer: TokenIssuer, *, issued_at: float, ttl: int = 900) -> str:
    claims = {
        "iss": "wharf-identity",
        "aud": "wharf",
        "sub": str(uuid.uuid4()),
        "typ": "access",
        "username": "ada",
        "iat": int(issued_at),
        "exp": int(issued_at) + ttl,
    }
    return jwt.encode(claims, issuer.private_key, algorithm="ES256", headers={"kid": issuer.kid})


@pytest.fixture
def issuer_and_cache():
    from shared.auth import JwksCache

    issuer = TokenIssuer()
    cache = JwksCache("http://127.0.0.1:9/unused")
    issuer.install(cache)
    return issuer, cache


async def test_token_from_moved_clock_accepted_at_that_time(issuer_and_cache):
    issuer, cache = issuer_and_cache
    clock = OffsetClock(timedelta(hours=73))
    token = _token(issuer, issued_at=clock.now().timestamp())

    principal = await verify_access_token(token, cache, now=clock.now())

    assert principal.username == "ada"


async def test_token_from_moved_clock_rejected_by_system_time(issuer_and_cache):
    issuer, cache = issuer_and_cache
    clock = OffsetClock(timedelta(hours=73))
    token = _token(issuer, issued_at=clock.now().timestamp())

    with pytest.raises(Unauthorized):
        await verify_access_token(token, cache)


async def test_token_expired_after_clock_moves(issuer_and_cache):
    issuer, cache = issuer_and_cache
    clock = OffsetClock()
    token = _token(issuer, issued_at=time.time())

    clock.advance(timedelta(hours=1))

    with pytest.raises(Unauthorized, match="expired"):
        await verify_access_token(token, cache, now=clock.now())


async def test_token_check_accepts_fresh_token(issuer_and_cache):
    issuer, cache = issuer_and_cache
    token = issuer.token(TestUser(username="grace"))

    principal = await verify_access_token(token, cache, now=datetime.now(UTC))

    assert principal.username == "grace"
