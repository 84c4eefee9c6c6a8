"""Request and response bodies of the scanning API."""
