"""Selector names to probe when the user gives none.

DNS cannot list the selectors under ``_domainkey`` (RFC 6376 §3.6.2.1), so a probe
can only try names that providers are known to use. Finding none of them proves
nothing: the real selector is in the ``s=`` tag of a signed message.

Deliberately left out: selectors that are generated per customer and cannot be
guessed, such as Amazon SES Easy DKIM (random tokens CNAMEd to
``dkim.amazonses.com``), SparkPost (``scph`` + month and year), HubSpot
(``hs1-<account id>``) and Postmark's dated selectors (``20231016…pm``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from dmarc_audit.domains import normalize_name
from dmarc_audit.errors import InputError

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


@dataclass(frozen=True, slots=True)
class KnownSelector:
    """A selector name and who publishes it."""

    name: str
    provider: str


COMMON_SELECTORS: tuple[KnownSelector, ...] = (
    KnownSelector("google", "Google Workspace"),
    KnownSelector("selector1", "Microsoft 365"),  # CNAME to <domain>._domainkey.<tenant>
    KnownSelector("selector2", "Microsoft 365"),  # the rotation partner of selector1
    KnownSelector("k1", "Mailchimp / Mandrill"),  # CNAME to dkim.mcsv.net
    KnownSelector("k2", "Mailchimp"),
    KnownSelector("k3", "Mailchimp"),
    KnownSelector("mandrill", "Mandrill (Mailchimp Transactional), older set-ups"),
    KnownSelector("s1", "SendGrid"),  # CNAME to s1.domainkey.uNNN.wl.sendgrid.net
    KnownSelector("s2", "SendGrid"),
    KnownSelector("smtpapi", "SendGrid, older set-ups"),
    KnownSelector("pm", "Postmark, older set-ups"),
    KnownSelector("mxvault", "Global Micro"),
    KnownSelector("everlytickey1", "Everlytic"),
    KnownSelector("everlytickey2", "Everlytic"),
    KnownSelector("zendesk1", "Zendesk"),  # CNAME to zendesk1._domainkey.zendesk.com
    KnownSelector("zendesk2", "Zendesk"),
    KnownSelector("fm1", "Fastmail"),  # CNAME to fm1.<domain>.dkim.fmhosted.com
    KnownSelector("fm2", "Fastmail"),
    KnownSelector("protonmail", "Proton Mail"),
    KnownSelector("protonmail2", "Proton Mail"),
    KnownSelector("zmail", "Zoho Mail"),
    KnownSelector("ctct1", "Constant Contact"),
    KnownSelector("ctct2", "Constant Contact"),
    KnownSelector("default", "cPanel, DirectAdmin, OpenDKIM examples"),
    KnownSelector("dkim", "Hetzner, Rspamd default"),
    KnownSelector("mail", "Brevo (older set-ups), HestiaCP, Mail-in-a-Box"),
    KnownSelector("smtp", "Mailgun (older domains), generic MTAs"),
)

DEFAULT_SELECTORS: tuple[str, ...] = tuple(s.name for s in COMMON_SELECTORS)
"""The names probed when no selector is given, in probe order."""

_PROVIDERS = {s.name: s.provider for s in COMMON_SELECTORS}


def provider_of(selector: str) -> str | None:
    """Who commonly uses ``selector``; a hint only, any sender may pick any name."""
    return _PROVIDERS.get(selector.lower())


def normalize_selectors(selectors: Iterable[str]) -> tuple[str, ...]:
    """Lower-case, de-duplicate (keeping order) and validate user-given selectors.

    Raises :class:`InputError` for a name that cannot be a selector, e.g. one with
    a space, or a full ``…._domainkey…`` name instead of the selector alone.
    """
    result: dict[str, None] = {}
    for raw in selectors:
        name = normalize_name(raw.strip())
        if "_domainkey" in name.split("."):
            head = name.split("._domainkey", 1)[0] or "s1"
            raise InputError(
                f"invalid DKIM selector {raw!r}: give the selector alone "
                f"(e.g. {head!r}), not the full ._domainkey name"
            )
        labels = name.split(".")
        if not name or not all(_LABEL.fullmatch(label) for label in labels):
            raise InputError(
                f"invalid DKIM selector {raw!r}: use dot-separated labels of "
                "letters, digits, '-' and '_' (the s= value of a signature)"
            )
        result.setdefault(name, None)
    return tuple(result)
