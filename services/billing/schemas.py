"""Request and response bodies of the billing API."""
