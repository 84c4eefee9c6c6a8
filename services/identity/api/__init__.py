"""HTTP routes of the identity service, one module per concept."""

from services.identity.api import accounts, internal, keys, organisations, sessions, staff, tokens

routers = [
    accounts.router,
    sessions.router,
    organisations.router,
    staff.router,
    tokens.router,
    keys.router,
    internal.router,
]
