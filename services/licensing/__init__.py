"""Wharf Licensing service."""
