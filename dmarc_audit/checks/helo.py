"""``spf.helo-missing``: the HELO/EHLO name of a sending host has no SPF record.

Runs where the HELO name is known: ``spf --ip IP --helo NAME`` and message mode.
A posture audit does not know which host names send, so it does not guess.
"""

from __future__ import annotations

from dmarc_audit.catalog import finding, rule
from dmarc_audit.findings import Finding, Status
from dmarc_audit.records.spf import is_spf_record
from dmarc_audit.sending.facts import HeloFacts


@rule("dns.lookup-failed", "spf.helo-missing")
def judge_helo(facts: HeloFacts | None) -> list[Finding]:
    """Check that the HELO name publishes SPF (RFC 7208 §2.3).

    A HELO that is not a domain name (``facts`` is None) has nothing to check; a failed
    lookup is reported as could-not-check, never as missing.
    """
    if facts is None:
        return []
    name, answer = facts.name, facts.answer
    if answer.failed:
        return [
            finding(
                "dns.lookup-failed",
                name,
                f"TXT lookup for the HELO name {name} failed ({answer.describe()}); "
                "whether it publishes SPF is unknown",
                status=Status.UNKNOWN,
            )
        ]
    if any(is_spf_record(text) for text in answer.texts):
        return []
    return [
        finding(
            "spf.helo-missing",
            name,
            f"the HELO name {name} has no SPF record: receivers that check the HELO identity "
            "(and every bounce, whose MAIL FROM is empty) get SPF none",
            suggested_record="v=spf1 a -all",
            remediation=f'Publish {name} TXT "v=spf1 a -all" (or "v=spf1 -all" if the host '
            "never sends mail)",
            evidence=(f"TXT {name}: {answer.describe()}",),
        )
    ]
