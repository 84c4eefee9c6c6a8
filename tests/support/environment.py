"""Where the tests find PostgreSQL and RabbitMQ, and how they fail when one is missing."""

from __future__ import annotations

import os
import socket

from sqlalchemy.engine import make_url

DATABASE_SERVER_URL = os.environ.get(
    "WHARF_TEST_DATABASE_SERVER_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
AMQP_URL = os.environ.get("WHARF_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
# Separate prefixes let several checkouts run their suites on one server at once.
DATABASE_PREFIX = os.environ.get("WHARF_TEST_DB_PREFIX", "wharf_test")


def database_url(name: str) -> str:
    return make_url(DATABASE_SERVER_URL).set(database=f"{DATABASE_PREFIX}_{name}").render_as_string(
        hide_password=False
    )


def require_tcp(url: str, what: str, how: str) -> None:
    """Fail (never skip) with instructions when a component the tests need is not listening."""
    parsed = make_url(url) if "://" in url and not url.startswith("amqp") else None
    if parsed is not None:
        host, port = parsed.host or "127.0.0.1", parsed.port or 5432
    else:
        rest = url.split("@")[-1]
        host, _, port_text = rest.split("/")[0].partition(":")
        port = int(port_text or 5672)
    try:
        with socket.create_connection((host, port), timeout=3):
            return
    except OSError as exc:
        raise RuntimeError(f"{what} is not reachable at {host}:{port} ({exc}). {how}") from exc
