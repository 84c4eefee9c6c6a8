"""Wharf Moderation service."""
