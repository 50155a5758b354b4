"""A domain's MX posture: its mail exchangers, null MX (RFC 7505) and their addresses.

:func:`audit_mx` asks DNS (the MX RRset, then A and AAAA of every exchange,
concurrently) and :mod:`dmarc_audit.checks.mx` judges the answers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum

from dmarc_audit.checks.mx import (
    HostCheck,
    HostVerdict,
    check_host,
    check_missing,
    check_null_mx,
    is_ip_literal,
    lookup_failed,
)
from dmarc_audit.dns.types import Answer, MxRecord, Outcome, Resolver
from dmarc_audit.domains import normalize_name
from dmarc_audit.findings import Finding

NULL_EXCHANGE = "."
"""How :attr:`MxHost.exchange` shows the root (a null MX)."""


class MxStatus(StrEnum):
    """What the MX RRset says about inbound mail."""

    OK = "ok"
    """At least one exchange has addresses."""
    NULL = "null"
    """A lone null MX (RFC 7505): the domain takes no mail."""
    NONE = "none"
    """No MX records (NODATA or NXDOMAIN)."""
    UNKNOWN = "unknown"
    """A lookup failed and no exchange is known to work."""
    INVALID = "invalid"
    """Null MX mixed with other records, or no exchange can take mail."""


@dataclass(frozen=True, slots=True)
class MxHost:
    """One MX record and what its exchange resolves to.

    ``exchange`` is ``"."`` for a null MX. ``problem`` says why the host cannot be
    used (or could not be checked); None when it is fine.
    """

    preference: int
    exchange: str
    addresses: tuple[str, ...]
    problem: str | None

    @property
    def usable(self) -> bool:
        """A real host with addresses and no problem."""
        return self.exchange != NULL_EXCHANGE and self.problem is None and bool(self.addresses)

    def to_json(self) -> dict[str, object]:
        return {
            "preference": self.preference,
            "exchange": self.exchange,
            "addresses": list(self.addresses),
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class MxPosture:
    """The MX audit of one domain: status, hosts in preference order, findings."""

    domain: str
    status: str
    """An :class:`MxStatus` value: ``ok``, ``null``, ``none``, ``unknown`` or ``invalid``."""
    hosts: tuple[MxHost, ...]
    null_mx: bool
    """A null MX (``0 .``) is published, alone or not."""
    findings: tuple[Finding, ...]

    @property
    def accepts_mail(self) -> bool:
        """True when at least one MX host can take mail (has addresses, no problem)."""
        return any(host.usable for host in self.hosts)

    def to_json(self) -> dict[str, object]:
        return {
            "status": str(self.status),
            "null_mx": self.null_mx,
            "hosts": [host.to_json() for host in self.hosts],
        }


async def audit_mx(resolver: Resolver, domain: str) -> MxPosture:
    """Look up and judge the MX records of ``domain``.

    Asks for MX, then A and AAAA of every exchange concurrently; when there is no
    MX it asks for the domain's own A/AAAA to say where mail goes instead.
    """
    domain = normalize_name(domain)
    answer = await resolver.query(domain, "MX")
    if answer.failed:
        return MxPosture(domain, MxStatus.UNKNOWN, (), False, (lookup_failed("MX", answer),))
    records = sorted(set(answer.mx), key=lambda r: (r.preference, r.exchange))
    if not records:
        fallback: tuple[Answer | None, Answer | None] = (None, None)
        if answer.outcome is not Outcome.NXDOMAIN:
            a, aaaa = await asyncio.gather(
                resolver.query(domain, "A"), resolver.query(domain, "AAAA")
            )
            fallback = (a, aaaa)
        return MxPosture(
            domain, MxStatus.NONE, (), False, tuple(check_missing(domain, answer, *fallback))
        )
    lookups = await asyncio.gather(*(_host_answers(resolver, r) for r in records))
    return _posture(domain, records, lookups)


async def _host_answers(
    resolver: Resolver, record: MxRecord
) -> tuple[Answer | None, Answer | None]:
    if record.exchange == "" or is_ip_literal(record.exchange):
        return None, None
    a, aaaa = await asyncio.gather(
        resolver.query(record.exchange, "A"), resolver.query(record.exchange, "AAAA")
    )
    return a, aaaa


def _posture(
    domain: str, records: list[MxRecord], lookups: list[tuple[Answer | None, Answer | None]]
) -> MxPosture:
    findings = check_null_mx(domain, records)
    hosts: list[MxHost] = []
    checks: list[HostCheck] = []
    for record, (a, aaaa) in zip(records, lookups, strict=True):
        if record.exchange == "":
            bad_pref = "null MX must have preference 0" if record.preference else None
            hosts.append(MxHost(record.preference, NULL_EXCHANGE, (), bad_pref))
            continue
        check = check_host(domain, record, a, aaaa)
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
