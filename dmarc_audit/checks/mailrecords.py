"""Rules for the DNS side of MTA-STS (RFC 8461 §3.1), TLS-RPT (RFC 8460 §3) and BIMI.

:func:`dmarc_audit.mailrecords.collect.collect_mail_records` asks for the three TXT
RRsets; the ``check_*`` functions here judge one answer each and never do I/O.
"""

from __future__ import annotations

from collections.abc import Callable

from dmarc_audit.catalog import finding, rule
from dmarc_audit.checks.mx import lookup_failed
from dmarc_audit.dns.types import Answer, Outcome
from dmarc_audit.findings import Finding, Severity
from dmarc_audit.mailrecords.facts import (
    MailRecordFacts,
    MailRecordsPosture,
    RecordCheck,
    RecordState,
)
from dmarc_audit.records.bimi import is_bimi_record, parse_bimi
from dmarc_audit.records.mtasts import is_sts_record, parse_sts, repaired_id
from dmarc_audit.records.tlsrpt import is_tlsrpt_record, parse_tlsrpt, repaired_uri


def judge(facts: MailRecordFacts, *, dmarc_enforced: bool | None) -> MailRecordsPosture:
    """Judge the three answers of ``facts``.

    ``dmarc_enforced`` is whether DMARC is at enforcement for BIMI's purpose
    (quarantine at 100 % or reject, sp not none); None when that is not known.
    """
    domain = facts.domain
    sts_check = check_mta_sts(domain, facts.mta_sts)
    rpt_check = check_tls_rpt(domain, facts.tls_rpt, mta_sts=sts_check.state)
    bimi_check = check_bimi(domain, facts.bimi, dmarc_enforced=dmarc_enforced)
    return MailRecordsPosture(
        mta_sts=sts_check.record,
        tls_rpt=rpt_check.record,
        bimi=bimi_check.record,
        findings=sts_check.findings + rpt_check.findings + bimi_check.findings,
    )


@rule("mtasts.missing", "mtasts.record-invalid")
def check_mta_sts(domain: str, answer: Answer) -> RecordCheck:
    """``mtasts.missing`` (info) / ``mtasts.record-invalid`` for the ``_mta-sts`` TXT answer."""
    early = _triage(answer, is_sts_record, "MTA-STS")
    if early is not None:
        return early
    candidates = _candidates(answer, is_sts_record)
    if not candidates:
        return RecordCheck(
            None,
            RecordState.MISSING,
            (
                finding(
                    "mtasts.missing",
                    answer.name,
                    f"no MTA-STS record at {answer.name}: senders cannot require TLS for mail to "
                    f"{domain}" + _ignored_note(answer, candidates),
                    evidence=_others(answer, candidates),
                ),
            ),
        )
    if len(candidates) > 1:
        return RecordCheck(
            None,
            RecordState.INVALID,
            (
                _several(
                    "mtasts.record-invalid",
                    answer.name,
                    candidates,
                    "MTA-STS",
                    "senders ignore them all and assume there is no policy (RFC 8461 §3.1)",
                ),
            ),
        )
    text = candidates[0]
    record = parse_sts(text)
    if record.valid:
        return RecordCheck(text, RecordState.VALID, ())
    fixed_id = repaired_id(record.id)
    suggested = f'{answer.name}. TXT "v=STSv1; id={fixed_id}"' if fixed_id else None
    return RecordCheck(
        text,
        RecordState.INVALID,
        (
            finding(
                "mtasts.record-invalid",
                answer.name,
                f"MTA-STS record is invalid ({record.problems[0].message}); senders ignore it",
                record=text,
                suggested_record=suggested,
                evidence=[str(p) for p in record.problems],
            ),
        ),
    )


@rule("tlsrpt.invalid", "tlsrpt.missing")
def check_tls_rpt(domain: str, answer: Answer, *, mta_sts: RecordState) -> RecordCheck:
    """``tlsrpt.missing`` / ``tlsrpt.invalid`` for the ``_smtp._tls`` TXT answer.

    ``tlsrpt.missing`` is a warning when an MTA-STS record is published (valid or
    not), info otherwise; with MTA-STS unknown it stays info and says so.
    """
    early = _triage(answer, is_tlsrpt_record, "TLS-RPT")
    if early is not None:
        return early
    candidates = _candidates(answer, is_tlsrpt_record)
    if not candidates:
        uses_sts = mta_sts in (RecordState.VALID, RecordState.INVALID)
        if uses_sts:
            why = "MTA-STS is published, but without TLS-RPT nobody tells you when TLS fails"
        elif mta_sts is RecordState.UNKNOWN:
            why = "whether MTA-STS is published could not be checked"
        else:
            why = "no reports on TLS failures of mail sent to you"
        return RecordCheck(
            None,
            RecordState.MISSING,
            (
                finding(
                    "tlsrpt.missing",
                    answer.name,
                    f"no TLS-RPT record at {answer.name}: {why}"
                    + _ignored_note(answer, candidates),
                    severity=Severity.WARNING if uses_sts else Severity.INFO,
                    evidence=_others(answer, candidates),
                ),
            ),
        )
    if len(candidates) > 1:
        return RecordCheck(
            None,
            RecordState.INVALID,
            (
                _several(
                    "tlsrpt.invalid",
                    answer.name,
                    candidates,
                    "TLS-RPT",
                    "senders assume TLS-RPT is not implemented (RFC 8460 §3)",
                ),
            ),
        )
    text = candidates[0]
    record = parse_tlsrpt(text)
    if record.valid:
        return RecordCheck(text, RecordState.VALID, ())
    uris = [u for u in (repaired_uri(uri) for uri in record.rua) if u]
    suggested = f'{answer.name}. TXT "v=TLSRPTv1; rua={",".join(uris)}"' if uris else None
    return RecordCheck(
        text,
        RecordState.INVALID,
        (
            finding(
                "tlsrpt.invalid",
                answer.name,
                f"TLS-RPT record is invalid ({record.problems[0].message}); senders ignore it",
                record=text,
                suggested_record=suggested,
                evidence=[str(p) for p in record.problems],
            ),
        ),
    )


@rule("bimi.dmarc-not-enforced", "bimi.no-certificate", "bimi.record-invalid")
def check_bimi(domain: str, answer: Answer, *, dmarc_enforced: bool | None) -> RecordCheck:
    """``bimi.record-invalid``, ``bimi.no-certificate`` and ``bimi.dmarc-not-enforced``.

    No finding when there is no BIMI record (BIMI is opt-in) or it is an explicit
    declination (``l=`` and ``a=`` empty). ``dmarc_enforced=None`` means unknown:
    no DMARC finding is made.
    """
    early = _triage(answer, is_bimi_record, "BIMI")
    if early is not None:
        return early
    candidates = _candidates(answer, is_bimi_record)
    if not candidates:
        return RecordCheck(None, RecordState.MISSING, ())
    findings: list[Finding] = []
    if len(candidates) > 1:
        findings.append(
            _several(
                "bimi.record-invalid",
                answer.name,
                candidates,
                "BIMI",
                "receivers skip BIMI and show no logo",
            )
        )
        text, state, declined, has_cert = None, RecordState.INVALID, False, True
    else:
        text = candidates[0]
        record = parse_bimi(text)
        state = RecordState.VALID if record.valid else RecordState.INVALID
        declined, has_cert = record.declined, record.has_evidence
        if not record.valid:
            findings.append(
                finding(
                    "bimi.record-invalid",
                    answer.name,
                    f"BIMI record is invalid ({record.problems[0].message}); no logo is shown",
                    record=text,
                    evidence=[str(p) for p in record.problems],
                )
            )
        elif not declined and not has_cert:
            findings.append(
                finding(
                    "bimi.no-certificate",
                    answer.name,
                    "BIMI record has no a= certificate: Gmail, Apple Mail and most other "
                    "mailbox providers show no logo without a VMC or CMC",
                    record=text,
                )
            )
    if not declined and dmarc_enforced is False:
        findings.append(
            finding(
                "bimi.dmarc-not-enforced",
                domain,
                f"{domain} publishes BIMI but DMARC is not at enforcement; receivers show the "
                "logo only with p=quarantine (pct=100) or p=reject, and sp not none",
                record=text,
            )
        )
    return RecordCheck(text, state, tuple(findings))


@rule("dns.dangling-cname")
def _triage(answer: Answer, is_kind: Callable[[str], bool], label: str) -> RecordCheck | None:
    """A failed lookup or a dangling CNAME ends the check before the records are read."""
    if answer.failed:
        return RecordCheck(None, RecordState.UNKNOWN, (lookup_failed(label, answer),))
    if answer.outcome is Outcome.NXDOMAIN and answer.cnames:
        chain = " → ".join([answer.cnames[0][0], *(target for _, target in answer.cnames)])
        return RecordCheck(
            None,
            RecordState.MISSING,
            (
                finding(
                    "dns.dangling-cname",
                    answer.name,
                    f"{answer.name} is a CNAME to {answer.cnames[-1][1]}, which does not exist: "
                    f"the {label} record is gone and the target name could be taken over",
                    evidence=(chain + ": NXDOMAIN",),
                ),
            ),
        )
    return None


def _candidates(answer: Answer, is_kind: Callable[[str], bool]) -> list[str]:
    return sorted(text for text in answer.texts if is_kind(text))


def _others(answer: Answer, candidates: list[str]) -> list[str]:
    return [f"ignored TXT: {text}" for text in answer.texts if text not in candidates]


def _ignored_note(answer: Answer, candidates: list[str]) -> str:
    n = len(answer.texts) - len(candidates)
    if not n:
        return ""
    return f" ({n} other TXT record{'' if n == 1 else 's'} there ignored)"


def _several(check_id: str, name: str, candidates: list[str], label: str, effect: str) -> Finding:
    return finding(
        check_id,
        name,
        f"{len(candidates)} {label} records at {name}; {effect}",
        record="\n".join(candidates),
        remediation="Publish exactly one record; delete the others",
        evidence=candidates,
    )
