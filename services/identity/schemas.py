"""Request and response bodies of the identity API."""
