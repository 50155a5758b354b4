"""Keep credentials out of everything we print: errors, logs, JSON.

A host or URL a user gives may carry user-info (``user:secret@host``,
``imap://user:secret@host/INBOX``, ``postgresql://user:secret@db/dmarc``). Whenever
we echo one, it goes through :func:`redact_userinfo` first.
"""

from __future__ import annotations

import re

REDACTED = "***"
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#\s@]*)@")


def redact_userinfo(text: str) -> str:
    """``text`` with the user-info of every URL in it, or of a bare ``user@host``, replaced.

    ``mailto:`` addresses are left alone: their ``@`` separates a mailbox from its
    domain, not a credential from a host.
    """
    if "@" not in text:
        return text
    if "://" in text:
        return redact_urls(text)
    if text.lower().startswith("mailto:") or any(c.isspace() for c in text):
        return text
    _userinfo, _, host = text.rpartition("@")
    return f"{REDACTED}@{host}"


def redact_urls(text: str) -> str:
    """``text`` with the user-info of every ``scheme://user:secret@`` URL in it replaced
    (mail addresses in the text are kept)."""
    if "://" not in text:
        return text
    return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)


def redact_host(host: str) -> str:
    """A host as the user gave it, safe to echo (quoted as ``repr`` would)."""
    return repr(redact_userinfo(host))
