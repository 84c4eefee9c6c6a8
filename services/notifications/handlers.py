"""Events the notifications service consumes, by type."""

from shared.events import Handler

HANDLERS: dict[str, Handler] = {}
