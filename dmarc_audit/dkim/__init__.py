"""DKIM: selector lookups (:mod:`~dmarc_audit.dkim.probe`), their facts
(:mod:`~dmarc_audit.dkim.facts`) and the built-in selector list
(:mod:`~dmarc_audit.dkim.selectors`); the ``dkim.*`` rules are in
:mod:`dmarc_audit.checks.dkim`.
"""
