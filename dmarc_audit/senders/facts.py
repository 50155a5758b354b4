"""What the DNS said about a report's source IPs and domains (frozen facts, no I/O).

Lookups that could not be made end as ``could-not-check`` facts, never as
"no name": a timeout says nothing about who sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COULD_NOT_CHECK = "could-not-check"


@dataclass(frozen=True, slots=True)
class ReverseName:
    """A source IP's reverse DNS: the PTR name and whether it resolves back to the IP."""

    ip: str
    name: str | None
    confirmed: bool
    """Forward-confirmed: an A/AAAA of ``name`` is the IP (FCrDNS)."""
    outcome: str
    """``records``, ``nxdomain``, ``nodata``, or :data:`COULD_NOT_CHECK` (with detail)."""


@dataclass(frozen=True, slots=True)
class OriginAs:
    """The AS announcing a source IP (Team Cymru's DNS service)."""

    ip: str
    asn: int | None
    as_name: str | None
    prefix: str | None
    outcome: str


@dataclass(frozen=True, slots=True)
class SpfMatch:
    """What the policy domain's SPF says about one source IP."""

    domain: str
    ip: str
    result: str
    """``pass``, ``fail``, ``softfail``, ``neutral``, ``none`` … or :data:`COULD_NOT_CHECK`."""
    term: str | None
    """The top-level term that matched (``include:_spf.crm.example``, ``ip4:192.0.2.0/28``)."""
    includes: tuple[str, ...] = ()
    """The include targets on the way to the match, outermost first."""


@dataclass(frozen=True, slots=True)
class SpfPosture:
    """A policy domain's SPF record and its lookup count (for checking a fix)."""

    domain: str
    record: str | None
    lookups: int | None
    """None when the count could not be checked."""
    include_costs: tuple[tuple[str, int], ...] = ()
    """Lookups an include would add (1 plus its own tree), for provider includes."""


@dataclass(frozen=True, slots=True)
class SenderDns:
    """Everything the DNS said (``--resolve``, ``--zone``); empty when offline."""

    reverse: dict[str, ReverseName] = field(default_factory=dict)
    origin: dict[str, OriginAs] = field(default_factory=dict)
    spf: dict[tuple[str, str], SpfMatch] = field(default_factory=dict)
    """By ``(domain, ip)``."""
    posture: dict[str, SpfPosture] = field(default_factory=dict)
    resolved: bool = False
    """True when reverse DNS and origin AS were looked up (``--resolve``)."""
