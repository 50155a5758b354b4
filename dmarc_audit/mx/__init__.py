"""MX: the collector (:mod:`~dmarc_audit.mx.collect`) and its facts
(:mod:`~dmarc_audit.mx.facts`); the ``mx.*`` rules are in :mod:`dmarc_audit.checks.mx`.
"""
