"""Request and response bodies of the audit API."""
