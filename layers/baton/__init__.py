"""Baton: contact orchestration. The shared layer (domain, policy engine, ledger, channels)."""

__version__ = "0.1.0"
