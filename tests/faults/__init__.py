"""Fault injection over the real AWS clients (see harness.py) and its own tests."""
