"""The result model of an audit: options in, one :class:`DomainReport` per domain out.

No I/O and no orchestration: filters, rules, renderers and the digest import the
model from here, and :mod:`dmarc_audit.audit` fills it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from dmarc_audit.domains import DomainName
from dmarc_audit.exit_status import ExitStatus
from dmarc_audit.findings import FailOn, Finding, Severity, Status

if TYPE_CHECKING:
    from dmarc_audit.dkim.facts import DkimPosture
    from dmarc_audit.dmarc.facts import DmarcDiscovery
    from dmarc_audit.dnssec.facts import DnssecFacts
    from dmarc_audit.mailrecords.facts import MailRecordsPosture
    from dmarc_audit.mtasts.facts import MtaStsPosture
    from dmarc_audit.mx.facts import MxPosture
    from dmarc_audit.spf.facts import SpfAnalysis

SCHEMA_VERSION = 1
"""The major version of the ``check`` JSON: bumped when a key is removed, renamed or retyped."""
SCHEMA_MINOR = 2
"""Bumped when keys are added within :data:`SCHEMA_VERSION`.

1: ``mta_sts_policy``; 2: ``dnssec``.
"""


class Profile(str, Enum):
    """Which rulebook severities follow."""

    DEFAULT = "default"
    BULK_SENDER = "bulk-sender"


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """What to check and how strictly."""

    profile: Profile = Profile.DEFAULT
    selectors: tuple[str, ...] = ()
    """DKIM selectors given by the user; empty means probe the built-in list."""
    dmarc_mode: str = "rfc9989"
    """``rfc9989`` (tree walk, default) or ``rfc7489`` (Public Suffix List)."""
    fetch: bool = True
    """Fetch over HTTPS (the MTA-STS policy, BIMI assets); off with ``--no-fetch``."""
    ca_file: str | None = None
    """PEM bundle that replaces the system trust store for HTTPS (``--ca-file``)."""
    https_port: int | None = None
    """Connect HTTPS to this port instead of 443 (labs and tests, ``--https-port``)."""
    dnssec: bool = True
    """Validate DNSSEC (RFC 4035) for the answers used, from the trust anchor."""
    trust_anchor: str | None = None
    """``--trust-anchor FILE`` (DS/DNSKEY records); None for the shipped IANA root anchor."""


@dataclass(frozen=True, slots=True)
class DomainReport:
    """Everything found about one domain."""

    domain: DomainName
    findings: tuple[Finding, ...]
    spf: SpfAnalysis | None = None
    dmarc: DmarcDiscovery | None = None
    dkim: DkimPosture | None = None
    mx: MxPosture | None = None
    mail_records: MailRecordsPosture | None = None
    mta_sts: MtaStsPosture | None = None
    """The MTA-STS policy fetched over HTTPS; None when no valid ``_mta-sts`` record."""
    dnssec: DnssecFacts | None = None

    @property
    def incomplete(self) -> bool:
        """Something could not be checked (a finding with status unknown)."""
        return any(f.status is Status.UNKNOWN for f in self.findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"domain": self.domain.ascii}
        if self.domain.unicode != self.domain.ascii:
            data["domain_unicode"] = self.domain.unicode
        data["findings"] = [f.to_json() for f in self.findings]
        data["spf"] = self.spf.to_json() if self.spf is not None else None
        data["dmarc"] = dmarc_json(self.dmarc) if self.dmarc is not None else None
        data["dkim"] = self.dkim.facts_json() if self.dkim is not None else None
        data["mx"] = self.mx.to_json() if self.mx is not None else None
        data["mail_records"] = (
            self.mail_records.to_json() if self.mail_records is not None else None
        )
        data["mta_sts_policy"] = self.mta_sts.to_json() if self.mta_sts is not None else None
        data["dnssec"] = self.dnssec.to_json() if self.dnssec is not None else None
        return data


def dmarc_json(discovery: DmarcDiscovery) -> dict[str, object]:
    """The ``dmarc`` section of a domain in JSON output."""
    record = discovery.record
    effective = record.effective if record is not None else None
    return {
        "status": discovery.status,
        "mode": discovery.mode.value,
        "record": record.text if record is not None else None,
        "record_name": discovery.record_name,
        "found_at": discovery.found_at,
        "org_domain": discovery.org_domain,
        "policy": discovery.applied_policy.value if discovery.applied_policy else None,
        "policy_source": discovery.policy_source or None,
        "effective": effective.as_dict() if effective is not None else None,
        "rua": [u.uri for u in effective.rua] if effective is not None else [],
        "explanation": discovery.explanation,
        "queries": list(discovery.queries),
    }


def exit_status_for(
    reports: Sequence[DomainReport], fail_on: FailOn, strict: bool, input_errors: bool
) -> ExitStatus:
    """2 for bad input, else 1 for failed findings at/above ``fail_on``, else 3 if incomplete.

    A finding that could not be checked (status unknown) never gives 1 by itself:
    a provider's nameserver timing out is not a regression. With ``strict`` it gives 3.
    """
    if input_errors:
        return ExitStatus.USAGE
    if any(
        f.status is Status.FAIL and fail_on.trips(f.severity) for r in reports for f in r.findings
    ):
        return ExitStatus.FINDINGS
    if strict and any(r.incomplete for r in reports):
        return ExitStatus.INCOMPLETE
    return ExitStatus.OK
