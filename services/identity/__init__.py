"""Wharf Identity service."""
