"""HTTP routes of the moderation service, one module per concept."""

from services.moderation.api import cases, certifications, sla

ROUTERS = [cases.router, sla.router, certifications.router]
