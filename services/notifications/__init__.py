"""Wharf Notifications service."""
