"""Catalog entries: Alignment (RFC 7489 §3.1, RFC 9989 §4.4)."""

from __future__ import annotations

from dmarc_audit.catalog.model import CheckInfo
from dmarc_audit.findings import Severity

CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo(
        id="align.spf-unaligned",
        title="SPF passes but is not aligned",
        severity=Severity.WARNING,
        triggers=(
            "message mode: SPF passes but the MAIL FROM (Return-Path) domain is not aligned with"
            " the From domain"
        ),
        why=(
            "DMARC counts an SPF pass only when the MAIL FROM (Return-Path) domain matches the "
            "From domain (relaxed mode: same Organizational Domain). An ESP's own bounce domain "
            "passes SPF but does nothing for DMARC, which then depends on DKIM alone."
        ),
        fix="Set up a custom bounce (Return-Path) domain under your From domain at the ESP",
        references=("RFC 9989 §4.4.2",),
    ),
    CheckInfo(
        id="align.dkim-unaligned",
        title="DKIM passes but is not aligned",
        severity=Severity.WARNING,
        triggers="message mode: DKIM passes only for a d= not aligned with the From domain",
        why=(
            "DMARC counts a DKIM pass only when the signature's d= domain matches the From "
            "domain (relaxed mode: same Organizational Domain). A signature by the ESP's own "
            "domain verifies but does nothing for DMARC, and DKIM is the method that survives "
            "forwarding."
        ),
        fix="Have the ESP sign with your domain (custom DKIM)",
        references=("RFC 9989 §4.4.1",),
    ),
    CheckInfo(
        id="align.none",
        title="DMARC fails: no aligned SPF or DKIM pass",
        severity=Severity.ERROR,
        triggers="message mode: neither SPF nor DKIM passes aligned; DMARC fails",
        why=(
            "Without an aligned SPF or DKIM pass the message fails DMARC, and receivers apply "
            "the published policy (quarantine or reject). Gmail, Yahoo and Microsoft require "
            "bulk mail to align with SPF or DKIM and may reject or junk it even under p=none."
        ),
        fix="Get at least one aligned pass; prefer DKIM, which survives forwarding",
        references=("RFC 9989 §4.4, §5.3.5", "Google/Yahoo/Microsoft bulk rules"),
    ),
    CheckInfo(
        id="align.strict-mode",
        title="Strict DMARC alignment",
        severity=Severity.INFO,
        triggers="adkim=s or aspf=s",
        why=(
            "With adkim=s or aspf=s, domains must match exactly, so mail signed or bounced with "
            "a subdomain (mail.example.com for example.com) fails alignment. That is safe only "
            "if every sender uses the exact From domain."
        ),
        fix="Make sure every sender uses the exact From domain, or use relaxed alignment",
        references=("RFC 9989 §4.7",),
    ),
)
