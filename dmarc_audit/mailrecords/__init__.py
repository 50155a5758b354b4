"""The ``_mta-sts``, ``_smtp._tls`` and ``default._bimi`` TXT records: lookups and facts."""
