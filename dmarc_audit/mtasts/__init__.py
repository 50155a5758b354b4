"""MTA-STS policy fetch (RFC 8461 §3.3): collector in :mod:`.collect`, facts in :mod:`.facts`."""
