"""Events the audit service consumes: every registered event type.

Each event becomes one row of the activity log; events that feed the monthly reports
also update a read model, in the same transaction.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.activity import record
from services.audit.projections import PROJECTIONS
from shared.events import Handler
from shared.events.envelope import Envelope
from shared.events.schemas import PRODUCT_EVENT_TYPES, EventData


async def handle_event(session: AsyncSession, envelope: Envelope, data: EventData) -> None:
    projection = PROJECTIONS.get(envelope.type)
    if projection is not None:
        await projection(session, envelope, data)
    await record(session, envelope, data)


# NOTE: built from the registry when this module is imported; an event type registered
# later is not consumed until the service restarts.
HANDLERS: dict[str, Handler] = {event_type: handle_event for event_type in sorted(PRODUCT_EVENT_TYPES)}
