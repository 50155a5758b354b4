"""The resolver interface every check uses, and the answers it gives.

An :class:`Answer` always says *how* a lookup ended (:class:`Outcome`), so callers
can tell "the record is absent" (NXDOMAIN, NODATA) from "we could not find out"
(SERVFAIL, timeout, refused, offline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, runtime_checkable


class Outcome(str, Enum):
    """How one DNS question ended."""

    RECORDS = "records"
    NODATA = "nodata"
    NXDOMAIN = "nxdomain"
    SERVFAIL = "servfail"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    OFFLINE = "offline"
    """The name lies outside every loaded zone and ``--offline`` forbids a live query."""

    @property
    def is_failure(self) -> bool:
        """True when the lookup could not tell whether records exist."""
        return self in _FAILURES

    @property
    def is_void(self) -> bool:
        """True for a definite "nothing there" (RFC 7208 §4.6.4 void lookup)."""
        return self in (Outcome.NXDOMAIN, Outcome.NODATA)


_FAILURES = frozenset({Outcome.SERVFAIL, Outcome.TIMEOUT, Outcome.REFUSED, Outcome.OFFLINE})

MAX_CNAME_CHAIN = 16
"""The most aliases one lookup follows; a longer chain is a lookup that cannot complete
(:data:`Outcome.SERVFAIL`, detail :func:`chain_too_long`), never an absence."""

CNAME_LOOP = "CNAME loop"
"""The detail of a lookup whose CNAME chain comes back to a name already followed."""


def chain_too_long(limit: int = MAX_CNAME_CHAIN) -> str:
    """The detail of a lookup whose CNAME chain is longer than ``limit`` aliases."""
    return f"CNAME chain longer than {limit} aliases"


@dataclass(frozen=True, slots=True)
class TxtRecord:
    """One TXT (or SPF type 99) RR: its character-strings, as raw octets."""

    strings: tuple[bytes, ...]

    @property
    def text(self) -> str:
        """The strings joined without separator (RFC 7208 §3.3, RFC 6376 §3.6.2.2).

        Octets are mapped one-to-one (latin-1) so that non-ASCII input is visible
        to the parsers rather than lost.
        """
        return b"".join(self.strings).decode("latin-1")


@dataclass(frozen=True, slots=True)
class MxRecord:
    """One MX RR."""

    preference: int
    exchange: str
    """Absolute name without the trailing dot; ``""`` for the root (null MX)."""


@dataclass(frozen=True, slots=True)
class AddressRecord:
    """One A or AAAA RR."""

    address: str


@dataclass(frozen=True, slots=True)
class NameRecord:
    """One RR whose data is a domain name: PTR, CNAME, NS."""

    target: str


Record = TxtRecord | MxRecord | AddressRecord | NameRecord


@dataclass(frozen=True, slots=True)
class Answer:
    """The result of one question ``(name, rdtype)``.

    ``name`` is the question as asked (lower-case ASCII, no trailing dot).
    ``cnames`` lists the aliases followed, in order, as ``(owner, target)`` pairs.
    ``detail`` carries the resolver's error text when the lookup failed.
    """

    name: str
    rdtype: str
    outcome: Outcome
    records: tuple[Record, ...] = ()
    cnames: tuple[tuple[str, str], ...] = ()
    detail: str = ""
    source: str = ""
    """Where the answer came from: ``live 127.0.0.1:53``, ``zone fixtures/demo.zone``, ``yaml``."""

    @property
    def ok(self) -> bool:
        """True when records were returned."""
        return self.outcome is Outcome.RECORDS

    @property
    def failed(self) -> bool:
        """True when the lookup could not be completed (see :attr:`Outcome.is_failure`)."""
        return self.outcome.is_failure

    @property
    def txt(self) -> list[TxtRecord]:
        return [r for r in self.records if isinstance(r, TxtRecord)]

    @property
    def texts(self) -> list[str]:
        """Each TXT RR's strings joined (see :attr:`TxtRecord.text`)."""
        return [r.text for r in self.records if isinstance(r, TxtRecord)]

    @property
    def mx(self) -> list[MxRecord]:
        return [r for r in self.records if isinstance(r, MxRecord)]

    @property
    def addresses(self) -> list[str]:
        return [r.address for r in self.records if isinstance(r, AddressRecord)]

    @property
    def targets(self) -> list[str]:
        return [r.target for r in self.records if isinstance(r, NameRecord)]

    def describe(self) -> str:
        """One short human phrase: ``3 records``, ``NXDOMAIN``, ``timeout (…)``."""
        if self.outcome is Outcome.RECORDS:
            n = len(self.records)
            return f"{n} record" + ("" if n == 1 else "s")
        text = self.outcome.value.upper() if self.outcome in _UPPER else self.outcome.value
        return f"{text} ({self.detail})" if self.detail else text


_UPPER = frozenset({Outcome.NXDOMAIN, Outcome.NODATA, Outcome.SERVFAIL, Outcome.REFUSED})


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One question asked during a run (cache hits are not re-traced)."""

    name: str
    rdtype: str
    outcome: Outcome
    records: int
    elapsed_ms: float
    source: str
    detail: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.rdtype,
            "outcome": self.outcome.value,
            "records": self.records,
            "elapsed_ms": round(self.elapsed_ms, 2),
            "source": self.source,
            **({"detail": self.detail} if self.detail else {}),
        }


@runtime_checkable
class Resolver(Protocol):
    """What every check asks DNS through."""

    async def query(self, name: str, rdtype: str) -> Answer:
        """Answer ``(name, rdtype)``; never raises for DNS-level failures."""
        ...


@dataclass(slots=True)
class Trace:
    """An append-only log of the questions a run asked."""

    entries: list[TraceEntry] = field(default_factory=list)

    def add(self, entry: TraceEntry) -> None:
        self.entries.append(entry)

    def __len__(self) -> int:
        return len(self.entries)
