"""DNSSEC facts: how a zone's chain of trust and each checked RRset validated. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DnssecStatus(StrEnum):
    """RFC 4035 §4.3 states, plus "not checked"."""

    SECURE = "secure"
    """A chain of signatures leads from the trust anchor to the data."""
    INSECURE = "insecure"
    """A zone on the way has no DS at its parent: it is not signed (or not linked)."""
    BOGUS = "bogus"
    """A signature, key or DS that should be there is wrong, missing or expired."""
    UNKNOWN = "unknown"
    """A DS, DNSKEY or RRSIG lookup failed: could not check."""
    NOT_CHECKED = "not-checked"
    """DNSSEC was not checked (turned off, or no live DNS to ask)."""


@dataclass(frozen=True, slots=True)
class ChainFacts:
    """The chain of trust from the anchor down to the zone holding one name.

    ``zone`` is the deepest zone apex reached: the signed zone that holds the name
    (secure), the first zone without a DS (insecure), or where validation failed.
    ``steps`` lists each link checked, for evidence.
    """

    name: str
    status: DnssecStatus
    zone: str
    reason: str = ""
    steps: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": self.status.value,
            "zone": self.zone,
            "reason": self.reason or None,
            "steps": list(self.steps),
        }


@dataclass(frozen=True, slots=True)
class RRsetFacts:
    """How one answer used by the audit validated: ``(name, rdtype)``, status and why."""

    name: str
    rdtype: str
    status: DnssecStatus
    reason: str = ""
    signer: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.rdtype,
            "status": self.status.value,
            "reason": self.reason or None,
            "signer": self.signer,
        }


def not_checked(domain: str, reason: str) -> DnssecFacts:
    """The facts when DNSSEC was not checked for ``domain`` (and why)."""
    chain = ChainFacts(domain, DnssecStatus.NOT_CHECKED, "", reason)
    return DnssecFacts(domain, chain)


@dataclass(frozen=True, slots=True)
class DnssecFacts:
    """DNSSEC of one domain: its zone's chain, each MX host's zone, the answers checked."""

    domain: str
    chain: ChainFacts
    mx_chains: tuple[ChainFacts, ...] = ()
    rrsets: tuple[RRsetFacts, ...] = ()

    @property
    def status(self) -> DnssecStatus:
        """The domain's own status: bogus if its chain or any of its answers is, unknown if
        one could not be checked, else its chain's (secure, insecure or not checked)."""
        states = {self.chain.status, *(r.status for r in self.rrsets)}
        for worst in (DnssecStatus.BOGUS, DnssecStatus.UNKNOWN):
            if worst in states and self.chain.status is not DnssecStatus.NOT_CHECKED:
                return worst
        return self.chain.status

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status.value,
            "chain": self.chain.to_json(),
            "mx": [c.to_json() for c in self.mx_chains],
            "rrsets": [r.to_json() for r in self.rrsets],
        }
