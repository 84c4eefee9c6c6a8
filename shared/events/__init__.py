"""Domain events: envelope, schemas, outbox, inbox consumer and the two transports."""

from shared.events.consumer import Consumer, Handler, InvalidEvent
from shared.events.envelope import Envelope
from shared.events.outbox import OutboxRelay, emit
from shared.events.schemas import EVENT_SCHEMAS

__all__ = ["Consumer", "Handler", "InvalidEvent", "Envelope", "OutboxRelay", "emit", "EVENT_SCHEMAS"]
