"""HTTP routes of the audit service, one module per concept."""

from services.audit.api import activity, reports, retention

ROUTERS = [activity.router, reports.router, retention.router]
