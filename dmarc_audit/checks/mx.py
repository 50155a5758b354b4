"""MX rules (RFC 5321 §5.1, RFC 7505, RFC 2181 §10.3): DNS answers in, findings out.

:mod:`dmarc_audit.mx.collect` asks the questions; the functions here judge the
answers (:func:`judge`).
A failed lookup always becomes ``dns.lookup-failed`` with status unknown, never
a "missing" or "invalid" verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dmarc_audit.catalog import finding, rule
from dmarc_audit.dns.types import CNAME_LOOP, Answer, MxRecord, Outcome, chain_too_long
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.mx.facts import NULL_EXCHANGE, MxFacts, MxHost, MxPosture, MxStatus, is_ip_literal


class HostVerdict(StrEnum):
    """Whether one MX exchange can receive mail."""

    OK = "ok"
    BAD = "bad"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class HostCheck:
    """The verdict on one MX exchange, the addresses found and the findings behind it."""

    verdict: HostVerdict
    addresses: tuple[str, ...]
    problem: str | None
    findings: tuple[Finding, ...]


def mx_line(domain: str, record: MxRecord) -> str:
    """The record in zone-file form: ``example.com. MX 10 mx.example.com.``."""
    return f"{domain}. MX {record.preference} {record.exchange or ''}."


@rule("dns.lookup-failed")
def lookup_failed(needed_for: str, *answers: Answer) -> Finding:
    """``dns.lookup-failed`` (status unknown): queries about one name went unanswered."""
    first = answers[0]
    kinds = " and ".join(dict.fromkeys(ans.rdtype for ans in answers))
    plural = "s" if len(answers) > 1 else ""
    return finding(
        "dns.lookup-failed",
        first.name,
        f"{kinds} lookup{plural} for {first.name} failed: {first.describe()}; "
        f"{needed_for} could not be checked",
        status=Status.UNKNOWN,
        evidence=[_describe(ans) for ans in answers],
    )


def check_host(domain: str, record: MxRecord, a: Answer | None, aaaa: Answer | None) -> HostCheck:
    """Judge one (non-null) MX exchange from its A and AAAA answers (``mx.target-invalid``).

    ``a``/``aaaa`` are None when no lookup was made (an exchange written as an IP).
    An alias is detected from the CNAME chain followed while asking for addresses.
    """
    line = mx_line(domain, record)
    if is_ip_literal(record.exchange) or a is None or aaaa is None:
        problem = "is written as an IP address; MX must name a host"
        return _bad(domain, record, problem, (), (line,))
    answers = (a, aaaa)
    addresses = tuple(addr for ans in answers if ans.ok for addr in ans.addresses)
    evidence = (line, *(_describe(ans) for ans in answers))
    # a CNAME loop or an over-long chain is a lookup that cannot complete, not an alias
    alias = next((ans.cnames[0][1] for ans in answers if ans.cnames and not _endless(ans)), None)
    if alias is not None:
        problem = f"is an alias (CNAME to {alias}); MX must name the host itself"
        if not addresses and not any(ans.failed for ans in answers):
            problem += ", and has no A/AAAA records"
        return _bad(domain, record, problem, addresses, evidence)
    if addresses:
        return HostCheck(HostVerdict.OK, addresses, None, ())
    failed = [ans for ans in answers if ans.failed]
    if failed:
        problem = f"address lookup failed: {failed[0].describe()}"
        if failed[0].cnames:
            chain = " → ".join([failed[0].cnames[0][0], *(t for _, t in failed[0].cnames)])
            problem = f"address lookup cannot complete: {failed[0].describe()}: {chain}"
        found = lookup_failed(f"MX host {record.exchange}", *failed)
        return HostCheck(HostVerdict.UNKNOWN, (), problem, (found,))
    why = "NXDOMAIN" if any(ans.outcome is Outcome.NXDOMAIN for ans in answers) else "NODATA"
    return _bad(domain, record, f"has no A/AAAA records ({why})", (), evidence)


def _endless(answer: Answer) -> bool:
    """True when the lookup failed because its CNAME chain never ends (loop, too long)."""
    return answer.failed and answer.detail in (CNAME_LOOP, chain_too_long())


@rule("mx.target-invalid")
def _bad(
    domain: str,
    record: MxRecord,
    problem: str,
    addresses: tuple[str, ...],
    evidence: tuple[str, ...],
) -> HostCheck:
    found = finding(
        "mx.target-invalid",
        domain,
        f"MX host {record.exchange} {problem}",
        record=mx_line(domain, record),
        evidence=evidence,
    )
    return HostCheck(HostVerdict.BAD, addresses, problem, (found,))


@rule("mx.null-mx-mixed", "mx.target-invalid")
def check_null_mx(domain: str, records: list[MxRecord]) -> list[Finding]:
    """RFC 7505 §3: a null MX is the only MX RR, ``0 .``.

    ``mx.null-mx-mixed`` when it sits next to other MX records; ``mx.target-invalid``
    (warning: mail is refused either way) when the lone root MX has a preference other than 0.
    """
    nulls = [r for r in records if r.exchange == ""]
    if not nulls:
        return []
    lines = tuple(mx_line(domain, r) for r in records)
    if len(records) > len(nulls):
        others = ", ".join(r.exchange for r in records if r.exchange)
        return [
            finding(
                "mx.null-mx-mixed",
                domain,
                f"{domain} publishes a null MX (says it takes no mail) together with "
                f"other MX records ({others}); senders may bounce or deliver",
                record="\n".join(lines),
                evidence=lines,
            )
        ]
    if nulls[0].preference != 0:
        return [
            finding(
                "mx.target-invalid",
                domain,
                f"null MX is written with preference {nulls[0].preference}; RFC 7505 requires "
                "'0 .', so some senders will retry instead of bouncing at once",
                severity=Severity.WARNING,
                record=lines[0],
                remediation="Publish the null MX as preference 0: MX 0 .",
                suggested_record=f"{domain}. MX 0 .",
                evidence=lines,
            )
        ]
    return []


@rule("mx.missing")
def check_missing(
    domain: str, mx_answer: Answer, a: Answer | None, aaaa: Answer | None
) -> list[Finding]:
    """``mx.missing``: the MX lookup succeeded and returned no MX records.

    ``a``/``aaaa`` are the domain's own address answers, used to say where mail
    goes instead (the implicit MX of RFC 5321 §5.1); None when not asked.
    """
    if mx_answer.failed:
        return [lookup_failed("MX", mx_answer)]
    if mx_answer.mx:
        return []
    if mx_answer.outcome is Outcome.NXDOMAIN:
        consequence = f"{domain} does not exist (NXDOMAIN), so mail to it is undeliverable"
    else:
        answers = [ans for ans in (a, aaaa) if ans is not None]
        addresses = [addr for ans in answers if ans.ok for addr in ans.addresses]
        if addresses:
            consequence = "mail falls back to the domain's own address (implicit MX): " + ", ".join(
                addresses
            )
        elif answers and not any(ans.failed for ans in answers):
            consequence = "the domain has no A/AAAA records either, so mail to it is undeliverable"
        else:
            consequence = "mail falls back to the domain's A/AAAA records, if any"
    evidence = [_describe(mx_answer), *(_describe(ans) for ans in (a, aaaa) if ans is not None)]
    return [
        finding(
            "mx.missing", domain, f"{domain} has no MX records; {consequence}", evidence=evidence
        )
    ]


def _describe(answer: Answer) -> str:
    chain = "".join(f" → CNAME {target}" for _, target in answer.cnames)
    shown = answer.describe()
    if answer.ok and answer.addresses:
        shown = ", ".join(answer.addresses)
    return f"{answer.name} {answer.rdtype}{chain}: {shown}"


def judge(facts: MxFacts) -> MxPosture:
    """The MX section of a report: status, hosts in preference order, and the findings."""
    domain, answer = facts.domain, facts.answer
    if answer.failed:
        return MxPosture(domain, MxStatus.UNKNOWN, (), False, (lookup_failed("MX", answer),))
    if not facts.exchanges:
        a, aaaa = facts.fallback if facts.fallback is not None else (None, None)
        return MxPosture(
            domain, MxStatus.NONE, (), False, tuple(check_missing(domain, answer, a, aaaa))
        )
    records = [x.record for x in facts.exchanges]
    findings = check_null_mx(domain, records)
    hosts: list[MxHost] = []
    checks: list[HostCheck] = []
    for x in facts.exchanges:
        record = x.record
        if record.exchange == "":
            bad_pref = "null MX must have preference 0" if record.preference else None
            hosts.append(MxHost(record.preference, NULL_EXCHANGE, (), bad_pref))
            continue
        check = check_host(domain, record, x.a, x.aaaa)
        checks.append(check)
        findings.extend(check.findings)
        hosts.append(MxHost(record.preference, record.exchange, check.addresses, check.problem))
    null_mx = any(r.exchange == "" for r in records)
    return MxPosture(domain, _status(null_mx, checks), tuple(hosts), null_mx, tuple(findings))


def _status(null_mx: bool, checks: list[HostCheck]) -> MxStatus:
    if null_mx:
        return MxStatus.INVALID if checks else MxStatus.NULL
    verdicts = {check.verdict for check in checks}
    if HostVerdict.OK in verdicts:
        return MxStatus.OK
    if HostVerdict.UNKNOWN in verdicts:
        return MxStatus.UNKNOWN
    return MxStatus.INVALID
