"""Catalog entries: BIMI (draft-brand-indicators-for-message-identification)."""

from __future__ import annotations

from dmarc_audit.catalog.model import CheckInfo
from dmarc_audit.findings import Severity

CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo(
        id="bimi.dmarc-not-enforced",
        title="BIMI without DMARC enforcement",
        severity=Severity.ERROR,
        triggers=(
            "BIMI record present but DMARC is not at enforcement (p quarantine/reject, no pct < "
            "100, sp not none, at the Organizational Domain)"
        ),
        why=(
            "Mailbox providers show a BIMI logo only for mail from domains whose DMARC policy "
            "enforces (quarantine or reject, for all mail and subdomains), so that the logo "
            "cannot be spoofed. With a weaker policy the BIMI record is ignored."
        ),
        fix="Move DMARC to p=quarantine or p=reject for 100 % of mail, with sp not none",
        references=("BIMI draft (DMARC enforcement prerequisite)",),
    ),
    CheckInfo(
        id="bimi.record-invalid",
        title="Invalid BIMI record or logo",
        severity=Severity.ERROR,
        triggers=(
            "default._bimi TXT not v=BIMI1; l=<https SVG URL>; a=<https PEM URL or empty>, or "
            "the logo is unreachable or not SVG Tiny Portable/Secure"
        ),
        why=(
            "Providers fetch the logo from l= and check that it is SVG Tiny Portable/Secure; an "
            "invalid record, an unreachable URL or a non-conforming SVG means no logo is shown."
        ),
        fix="Fix the record, and publish the logo over HTTPS as SVG Tiny Portable/Secure",
        references=("BIMI draft (record and SVG Tiny PS profile)",),
    ),
    CheckInfo(
        id="bimi.no-certificate",
        title="BIMI without a mark certificate",
        severity=Severity.INFO,
        triggers=(
            "a= empty or missing (most mailbox providers, e.g. Gmail, need a VMC or CMC to show "
            "the logo)"
        ),
        why=(
            "Most mailbox providers, Gmail among them, show a BIMI logo only when a= points at a"
            " Verified Mark Certificate or Common Mark Certificate that proves the right to use "
            "the logo. Without one, few recipients will see it."
        ),
        fix=(
            "Obtain a Verified Mark Certificate or Common Mark Certificate and publish its URL "
            "in a="
        ),
        references=("BIMI draft", "Gmail and Apple Mail documentation"),
    ),
)
