"""Launchers for the two run modes and the operator commands."""
