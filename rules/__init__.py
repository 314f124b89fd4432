"""The domain: readings, rules, alert states and restock arithmetic.

Standard library only. Nothing here performs I/O, reads the clock or logs:
callers pass the time in and act on what comes back.
"""
