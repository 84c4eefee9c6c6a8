"""Request and response bodies of the moderation API."""
