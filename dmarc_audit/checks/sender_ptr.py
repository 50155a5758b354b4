"""``mx.sender-ptr``: the sending IP has no PTR, or its PTR does not resolve back (no FCrDNS).

Runs where the sending IP is known: ``spf --ip IP`` and message mode (the connecting
IP given with ``--ip`` or taken from the headers). This is the receiver's ``iprev``
check (RFC 8601 §2.7.3) that Google and Yahoo require of bulk senders: the IP's
reverse name must have a PTR whose target resolves (A or AAAA) back to the same IP.
"""

from __future__ import annotations

import ipaddress

from dmarc_audit.catalog import finding, rule
from dmarc_audit.dns.types import Answer
from dmarc_audit.findings import Finding, Status
from dmarc_audit.sending.facts import MAX_PTR_TARGETS, IpAddress, PtrFacts


@rule("dns.lookup-failed", "mx.sender-ptr")
def judge_sender_ptr(facts: PtrFacts | None) -> list[Finding]:
    """Check forward-confirmed reverse DNS for the sending IP.

    No finding when a PTR target resolves back to the IP. A lookup that fails (timeout,
    SERVFAIL, …) and leaves the answer open is reported as could-not-check, never as
    a missing PTR. A value that is not a public IP address (``facts`` None) has nothing
    to check.
    """
    if facts is None:
        return []
    address, text, reverse, ptr = facts.address, facts.text, facts.reverse, facts.ptr
    if ptr.failed:
        return [
            finding(
                "dns.lookup-failed",
                text,
                f"PTR lookup for {reverse} failed ({ptr.describe()}); whether the "
                f"sending IP {text} has reverse DNS is unknown",
                status=Status.UNKNOWN,
                evidence=(f"PTR {reverse}: {ptr.describe()}",),
            )
        ]
    remediation = (
        f"Ask the owner of the IP (your ESP or hosting provider) to set a PTR for "
        f"{text} that resolves back to it, e.g. mail.example.com "
        f"{_rdtype(address)} {text}"
    )
    names = list(facts.names)
    if not names:
        return [
            finding(
                "mx.sender-ptr",
                text,
                f"the sending IP {text} has no PTR record ({reverse}: {ptr.describe()}): "
                "Gmail, Yahoo and many other receivers reject or junk mail from IPs without "
                "reverse DNS",
                remediation=remediation,
                evidence=(f"PTR {reverse}: {ptr.describe()}",),
            )
        ]
    checked = [name for name, _answer in facts.forward]
    answers = [answer for _name, answer in facts.forward]
    rdtype = facts.rdtype
    evidence = [f"PTR {reverse}: {', '.join(names)}"]
    if len(names) > len(checked):
        evidence.append(f"only the first {MAX_PTR_TARGETS} of {len(names)} PTR names checked")
    for name, answer in zip(checked, answers, strict=True):
        if any(_same(a, address) for a in answer.addresses):
            return []
        evidence.append(f"{rdtype} {name}: {_seen(answer)}")
    failed = [name for name, answer in zip(checked, answers, strict=True) if answer.failed]
    if failed:
        return [
            finding(
                "dns.lookup-failed",
                text,
                f"{rdtype} lookup for the PTR name {', '.join(failed)} of {text} "
                "failed; whether the sending IP has forward-confirmed reverse DNS "
                "is unknown",
                status=Status.UNKNOWN,
                evidence=evidence,
            )
        ]
    return [
        finding(
            "mx.sender-ptr",
            text,
            f"the PTR name of the sending IP {text} ({', '.join(checked)}) does not resolve back "
            f"to {text} (no forward-confirmed reverse DNS): receivers' iprev check fails",
            remediation=remediation,
            evidence=evidence,
        )
    ]


def _rdtype(address: IpAddress) -> str:
    return "A" if address.version == 4 else "AAAA"


def _same(value: str, address: IpAddress) -> bool:
    try:
        return ipaddress.ip_address(value) == address
    except ValueError:
        return False


def _seen(answer: Answer) -> str:
    return ", ".join(answer.addresses) if answer.addresses else answer.describe()
