"""Handlers for the core tests: each raises or returns what a test needs."""
