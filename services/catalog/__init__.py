"""Wharf Catalog service."""
