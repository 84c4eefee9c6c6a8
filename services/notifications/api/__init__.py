"""HTTP routes of the notifications service, one module per concept."""

from services.notifications.api import messages, subscriptions, webhooks

ROUTERS = [subscriptions.router, webhooks.router, messages.router]
