"""Wharf Scanning service."""
