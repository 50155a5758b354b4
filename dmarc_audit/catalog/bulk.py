"""Catalog entries: Bulk-sender requirements (Google, Yahoo from Feb 2024; Microsoft Outlook.com from May 2025)."""

from __future__ import annotations

from dmarc_audit.catalog.model import CheckInfo, CheckStatus
from dmarc_audit.findings import Severity

CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo(
        id="bulk.auth-incomplete",
        title="Bulk-sender authentication requirements not met",
        severity=Severity.ERROR,
        triggers=(
            "for a bulk sender: SPF or DKIM missing, no DMARC record (p=none is the minimum), or"
            " neither SPF nor DKIM aligned with the From domain"
        ),
        why=(
            "Gmail, Yahoo and Microsoft require senders of about 5,000 or more messages a day to"
            " have SPF, DKIM and a DMARC record (p=none is enough), with the From domain aligned"
            " with SPF or DKIM. Mail that falls short is rejected or sent to spam."
        ),
        fix=(
            "Publish SPF, sign with DKIM as your own domain, publish DMARC, and align at least "
            "one of SPF or DKIM with the From domain"
        ),
        references=(
            "Google sender guidelines",
            "Yahoo Sender Hub",
            "Microsoft Outlook.com (May 2025)",
        ),
    ),
    CheckInfo(
        id="bulk.one-click-unsubscribe",
        title="No one-click unsubscribe",
        severity=Severity.ERROR,
        triggers=(
            "message mode: marketing/subscribed mail without List-Unsubscribe (with an https "
            "URI) and List-Unsubscribe-Post: List-Unsubscribe=One-Click"
        ),
        why=(
            "Gmail and Yahoo require marketing and subscribed mail from bulk senders to carry "
            "List-Unsubscribe with an https URI and List-Unsubscribe-Post (RFC 8058), and to "
            "honour requests within two days. Without it, recipients use the spam button "
            "instead."
        ),
        fix=(
            "Add List-Unsubscribe (https URI) and List-Unsubscribe-Post: "
            "List-Unsubscribe=One-Click, and sign both headers with DKIM"
        ),
        references=("RFC 8058", "Google/Yahoo (honour within 2 days)"),
    ),
    CheckInfo(
        id="bulk.tls-required",
        title="Mail host without TLS",
        severity=Severity.ERROR,
        status=CheckStatus.PLANNED,
        triggers="an MX or sending host does not offer/use TLS",
        why=(
            "Google requires senders to use TLS to transmit mail, and mail sent without it can "
            "be read or changed by anyone on the path. An MX without STARTTLS cannot receive "
            "mail from senders that require TLS (MTA-STS, DANE)."
        ),
        fix="Enable STARTTLS with a valid certificate",
        references=("Google sender guidelines",),
    ),
)
