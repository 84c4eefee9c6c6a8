"""Wharf Audit service."""
