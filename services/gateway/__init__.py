"""Wharf API gateway: one address in front of every service."""
