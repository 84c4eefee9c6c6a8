"""The main journey of the store, step by step, against a running Wharf.

The same steps run in `make demo` (all-in-one, in this process) and in the end-to-end
tests (all-in-one and distributed). A `Store` gives the journey the addresses of the
gateway and the registry, and the ways to move the shared clock and run the schedulers of
that run mode. Each step prints what it proves and raises `StepFailed` when a check fails.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from wharf.demo.client import ApiClient, StepFailed


class Store(Protocol):
    """A running store as the journey uses it."""

    gateway_url: str
    # host:port of the registry, which serves plain HTTP on loopback.
    registry_address: str
    # Username and password of a store admin, created at start-up.
    admin_credentials: tuple[str, str]
    # The folder the scanning service imports OSV feeds from.
    feed_dir: Path

    def now(self) -> datetime:
        """Return the store's current time."""
        ...

    async def advance_clock_to(self, moment: datetime) -> datetime:
        """Move every service's clock forward to `moment`; return the new time."""
        ...

    async def run_scheduler(self, service: str) -> None:
        """Make the named service's scheduler ("moderation", "audit", "billing") run one pass."""
        ...

    async def after_submission(self) -> None:
        """Called once the first submission is sent (the distributed test restarts scanning here)."""
        ...


@dataclass
class Account:
    username: str
    email: str
    password: str
    user_id: str = ""
    access_token: str = ""
    personal_token: str = ""


@dataclass
class JourneyState:
    """The accounts, ids, digests and times that one step passes on to the next."""

    run_id: str
    admin: Account | None = None
    reviewer: Account | None = None
    publisher: Account | None = None
    customer: Account | None = None
    organisation_id: str = ""
    namespace: str = ""
    product_id: str = ""
    version_id: str = ""
    slug: str = ""
    free_tier_id: str = ""
    paid_tier_id: str = ""
    images: dict[str, Any] = field(default_factory=dict)
    pushed: dict[str, str] = field(default_factory=dict)  # reference -> digest
    case_id: str = ""
    store_reference: str = ""
    free_pull_at: datetime | None = None
    paid_pull_at: datetime | None = None
    order: dict[str, Any] = field(default_factory=dict)
    pull_month: datetime | None = None


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    proves: str
    run: Callable[[Journey], Awaitable[None]]


class Journey:
    """Runs the steps in order, printing each one and stopping at the first failure."""

    def __init__(
        self,
        store: Store,
        *,
        osv_source: Path,
        run_id: str,
        out: Callable[[str], None] = print,
        http_timeout: float = 60.0,
    ) -> None:
        self.store = store
        self.osv_source = osv_source
        self.state = JourneyState(run_id=run_id)
        self.out = out
        self.http_timeout = http_timeout
        self.http: httpx.AsyncClient | None = None
        self.anonymous: ApiClient | None = None

    def say(self, text: str) -> None:
        self.out(f"    {text}")

    def client(self, account: Account | None) -> ApiClient:
        if account is None:
            return self.anonymous
        return self.anonymous.as_user(account.access_token, account.username)

    async def run(self, steps: list[Step], *, only_until: int | None = None) -> None:
        """Run `steps` in order; raise StepFailed naming the step that failed."""
        async with httpx.AsyncClient(timeout=self.http_timeout) as http:
            self.http = http
            self.anonymous = ApiClient(http, self.store.gateway_url)
            for step in steps:
                if only_until is not None and step.number > only_until:
                    break
                self.out(f"\nStep {step.number}: {step.title}")
                self.out(f"  proves: {step.proves}")
                started = time.monotonic()
                try:
                    await step.run(self)
                except StepFailed as exc:
                    raise StepFailed(f"step {step.number} ({step.title}) failed: {exc}") from exc
                except Exception as exc:
                    # A bug or an unexpected response shape still names the step that hit it.
                    raise StepFailed(f"step {step.number} ({step.title}) failed with {exc!r}") from exc
                self.out(f"  ok ({time.monotonic() - started:.1f} s)")
