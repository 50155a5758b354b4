"""HTTPS fetches (MTA-STS policies, BIMI assets): the host resolved through our resolver."""
