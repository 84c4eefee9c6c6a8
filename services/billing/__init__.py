"""Wharf Billing service."""
