"""dmarc-audit: an email-authentication and deliverability auditor."""

__version__ = "0.1.0"
