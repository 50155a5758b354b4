"""DMARC aggregate, failure and SMTP TLS reports: read, store, summarise."""
