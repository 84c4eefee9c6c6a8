"""HTTP routes of the licensing service, one router per concept."""

from services.licensing import entitlements, licences, notifications, token_service, updates

ROUTERS = [
    token_service.router,
    entitlements.router,
    licences.router,
    notifications.router,
    updates.router,
]
