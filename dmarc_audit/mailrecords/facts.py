"""What the MTA-STS, TLS-RPT and BIMI record rules read, and what they conclude.

:func:`dmarc_audit.mailrecords.collect.collect_mail_records` fills in
:class:`MailRecordFacts`; :func:`dmarc_audit.checks.mailrecords.judge` turns them into a
:class:`MailRecordsPosture`. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dmarc_audit.dns.types import Answer
from dmarc_audit.findings import Finding

MTA_STS_PREFIX = "_mta-sts"
TLS_RPT_PREFIX = "_smtp._tls"
BIMI_PREFIX = "default._bimi"


class RecordState(StrEnum):
    """What one lookup found."""

    VALID = "valid"
    INVALID = "invalid"
    """A record of this kind is published but receivers ignore it (or several are)."""
    MISSING = "missing"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class RecordCheck:
    """The verdict on one TXT name: the single record found (raw), its state, findings."""

    record: str | None
    state: RecordState
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class MailRecordsPosture:
    """MTA-STS, TLS-RPT and BIMI records of one domain.

    Each record field holds the raw text of the one record of that kind found,
    valid or not; None when there is none, several, or the lookup failed.
    """

    mta_sts: str | None
    tls_rpt: str | None
    bimi: str | None
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, object]:
        return {"mta_sts": self.mta_sts, "tls_rpt": self.tls_rpt, "bimi": self.bimi}


@dataclass(frozen=True, slots=True)
class MailRecordFacts:
    """The three TXT answers of one domain, before any judgement."""

    domain: str
    mta_sts: Answer
    tls_rpt: Answer
    bimi: Answer
