"""HTTP routes of the catalog service, one module per concept."""

from services.catalog.api import media, products, profiles, search, staff

ROUTERS = [profiles.router, media.router, products.router, search.router, staff.router]
