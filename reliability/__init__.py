"""``make reliability``: duplicates, concurrency, faults, bad input and load, measured (see run.py)."""
