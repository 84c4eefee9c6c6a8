"""Request and response bodies of the licensing API."""
