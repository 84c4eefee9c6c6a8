"""The transport contract shared by the in-memory and RabbitMQ buses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.events.consumer import Consumer
from shared.events.envelope import Envelope


@dataclass(frozen=True)
class DeadLetter:
    service: str
    body: dict[str, Any] | str
    error: str
    attempts: int
    dead_lettered_at: datetime


class Transport(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, envelope: Envelope) -> None:
        """Deliver an event durably, or raise. Returning means it will not be lost."""
        ...

    async def subscribe(self, consumer: Consumer) -> None: ...

    async def ping(self) -> bool: ...
