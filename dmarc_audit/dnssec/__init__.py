"""DNSSEC validation (RFC 4033-4035): queries with DO+CD in :mod:`.query`, the chain walk in
:mod:`.validate`, trust anchors in :mod:`.anchor`, frozen facts in :mod:`.facts`."""
