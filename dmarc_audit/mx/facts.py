"""What the MX lookups found, and the judged MX section of a report: no I/O.

:func:`dmarc_audit.mx.collect.collect_mx` fills in :class:`MxFacts`;
:func:`dmarc_audit.checks.mx.judge` turns them into an :class:`MxPosture`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from dmarc_audit.dns.types import Answer, MxRecord

if TYPE_CHECKING:
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


@dataclass(frozen=True, slots=True)
class ExchangeAnswers:
    """One MX record and the answers to A and AAAA of its exchange.

    ``a``/``aaaa`` are None when no lookup was made (a null MX, or an exchange
    written as an IP address).
    """

    record: MxRecord
    a: Answer | None = None
    aaaa: Answer | None = None


@dataclass(frozen=True, slots=True)
class MxFacts:
    """Everything the MX rules read about one domain, collected before any rule runs."""

    domain: str
    answer: Answer
    """The MX answer at the domain."""
    exchanges: tuple[ExchangeAnswers, ...] = ()
    """The MX records (de-duplicated, in preference order) with their address answers."""
    fallback: tuple[Answer, Answer] | None = None
    """The domain's own A and AAAA answers when it has no MX and exists (implicit MX)."""


def is_ip_literal(exchange: str) -> bool:
    """True when an MX exchange is written as an IP address instead of a host name."""
    try:
        ipaddress.ip_address(exchange.strip("[]"))
    except ValueError:
        return False
    return True
