"""Message mode: why one message passed or failed DMARC, and what to fix.

``analyze_message`` (in :mod:`dmarc_audit.message.verdict`) runs DKIM, SPF for the
connecting IP, alignment, the DMARC policy, ARC and the bulk-sender header
checks over one parsed message and returns a :class:`MessageReport`.
"""
