"""Suite-wide checks: the real PostgreSQL and RabbitMQ must be reachable, or the run fails."""

from __future__ import annotations

import os

import pytest

from shared.logging import configure_logging
from tests.support.environment import AMQP_URL, DATABASE_SERVER_URL, require_tcp


# A scanning service started with a feed folder set (CI sets one for the whole run)
# would import every feed at start. Tests import the feeds they need themselves; the
# tests of the start-up import set this variable.
os.environ.setdefault("WHARF_SCANNING_IMPORT_FEEDS_AT_START", "false")


def pytest_sessionstart(session: pytest.Session) -> None:
    configure_logging("WARNING", json=False)
    try:
        require_tcp(
            DATABASE_SERVER_URL,
            "PostgreSQL",
            "Start it (pg_ctlcluster <version> main start) or set WHARF_TEST_DATABASE_SERVER_URL.",
        )
        require_tcp(
            AMQP_URL,
            "RabbitMQ",
            "Start it (rabbitmq-server -detached) or set WHARF_TEST_AMQP_URL.",
        )
    except RuntimeError as exc:
        pytest.exit(str(exc), returncode=3)
