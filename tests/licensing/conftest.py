"""One licensing stack (service, registry, identity stand-in) for the licensing tests."""

from __future__ import annotations

import pytest

from tests.licensing.stack import licensing_stack


@pytest.fixture(scope="session")
async def stack(tmp_path_factory):
    async with licensing_stack(tmp_path_factory.mktemp("licensing")) as running:
        yield running
