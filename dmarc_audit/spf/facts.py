"""What the SPF walk saw, and the judged SPF section of a report: no I/O.

:func:`dmarc_audit.spf.analyze.analyze_spf` fills in a :class:`SpfWalk`;
:mod:`dmarc_audit.checks.spf` reads it and builds the :class:`SpfAnalysis` that
the report carries.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum

from dmarc_audit.dns.types import Answer, Outcome, TxtRecord
from dmarc_audit.findings import Finding
from dmarc_audit.records.spf import SpfRecord, is_spf_record, parse_spf

_parse = functools.lru_cache(maxsize=512)(parse_spf)
"""Parsed records by text: the same include target is parsed once per process."""


class SpfStatus(str, Enum):
    """What a receiver's check_host() would at best reach for this domain."""

    VALID = "valid"
    NONE = "none"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"


@dataclass(frozen=True, slots=True)
class LookupStep:
    """One DNS-querying term, or one query it caused.

    ``number`` is the lookup count this term used (1..n); ``None`` for queries
    that do not count (an ``mx`` term's host addresses, the top TXT fetch).
    ``name``/``rdtype``/``outcome`` describe the query made; ``name`` and
    ``outcome`` are ``""`` when the term was not resolved (``note`` says why).
    """

    number: int | None
    term: str
    in_record: str
    name: str
    rdtype: str
    outcome: str
    void: bool
    note: str

    @property
    def failed(self) -> bool:
        """True when the query could not be completed (SERVFAIL, timeout, …)."""
        return bool(self.outcome) and Outcome(self.outcome).is_failure

    def describe(self) -> str:
        """One line: ``#3 include:_spf.esp.example in shop.example → TXT …: records``."""
        head = f"#{self.number}" if self.number is not None else "-"
        where = f"{self.term} in {self.in_record}" if self.term else "record"
        if not self.name:
            return f"{head} {where}: {self.note}"
        tail = (" (void)" if self.void else "") + (f"; {self.note}" if self.note else "")
        return f"{head} {where} → {self.rdtype} {self.name}: {self.outcome}{tail}"

    def to_json(self) -> dict[str, object]:
        return {
            "number": self.number,
            "term": self.term,
            "in_record": self.in_record,
            "name": self.name,
            "type": self.rdtype,
            "outcome": self.outcome,
            "void": self.void,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class SpfNode:
    """The tree for display: a record (root) or one DNS-querying term.

    ``outcome`` is the DNS outcome (``records``, ``nxdomain``, ``timeout`` …) or one of
    ``not-resolved``, ``loop``, ``no-spf-record``, ``multiple-records``.
    ``lookups`` counts this term and its subtree.
    """

    domain: str
    term: str | None
    record: str | None
    outcome: str
    lookups: int
    children: tuple[SpfNode, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "term": self.term,
            "record": self.record,
            "outcome": self.outcome,
            "lookups": self.lookups,
            "children": [child.to_json() for child in self.children],
        }


@dataclass(frozen=True, slots=True)
class SpfFetch:
    """One name whose SPF record the walk fetched: the top domain or an include/redirect target."""

    domain: str
    via: LookupStep | None
    """The include/redirect step that first reached it; ``None`` for the top domain."""
    answer: Answer

    @property
    def spf(self) -> tuple[TxtRecord, ...]:
        """The TXT RRs that select as SPF (``v=spf1``)."""
        return spf_rrs(self.answer)

    @property
    def record(self) -> SpfRecord | None:
        """The parsed record when there is exactly one."""
        spf = self.spf
        return _parse(spf[0].text) if len(spf) == 1 else None


@dataclass(frozen=True, slots=True)
class IncludeLoop:
    """An include/redirect whose target is already being evaluated."""

    step: LookupStep
    chain: tuple[str, ...]
    """The domains from the top to the revisited one, e.g. ``(a, b, a)``."""


@dataclass(frozen=True, slots=True)
class MxOverflow:
    """An ``mx`` term whose name has more MX records than receivers allow."""

    step: LookupStep
    names: int


@dataclass(frozen=True, slots=True)
class SpfWalk:
    """What the walk saw, before any judgement: the input of :mod:`dmarc_audit.checks.spf`."""

    domain: str
    top: SpfFetch
    type99: Answer
    """The answer to the obsolete type SPF (99) question at the domain."""
    fetches: tuple[SpfFetch, ...]
    """The top domain first, then each include/redirect target once, in walk order."""
    steps: tuple[LookupStep, ...]
    tree: SpfNode | None
    loops: tuple[IncludeLoop, ...] = ()
    mx_overflows: tuple[MxOverflow, ...] = ()
    truncated: bool = False
    """True when the walk stopped resolving after :data:`WALK_LIMIT` terms."""

    @property
    def lookups(self) -> int:
        return sum(1 for s in self.steps if s.number is not None)

    @property
    def void_steps(self) -> tuple[LookupStep, ...]:
        return tuple(s for s in self.steps if s.void)

    @property
    def failed_steps(self) -> tuple[LookupStep, ...]:
        return tuple(s for s in self.steps if s.failed)

    @property
    def costs(self) -> tuple[tuple[str, int], ...]:
        """Each top-level DNS term and the lookups it costs, costliest first (stable)."""
        if self.tree is None:
            return ()
        pairs = [(c.term or c.domain, c.lookups) for c in self.tree.children]
        return tuple(sorted(pairs, key=lambda pair: -pair[1]))

    def fetch(self, domain: str) -> SpfFetch | None:
        """The fetch of ``domain``'s SPF record, if the walk made one."""
        return next((f for f in self.fetches if f.domain == domain), None)

    def target(self, in_record: str, term: str) -> SpfFetch | None:
        """The record an include/redirect ``term`` of ``in_record``'s record reached."""
        for step in self.steps:
            if step.number is not None and step.in_record == in_record and step.term == term:
                return self.fetch(step.name) if step.name else None
        return None


@dataclass(frozen=True, slots=True)
class SpfAnalysis:
    """A domain's SPF posture: the record, counts, tree, lookup trace and findings."""

    domain: str
    record: str | None
    status: SpfStatus
    lookups: int
    void_lookups: int
    tree: SpfNode | None
    steps: tuple[LookupStep, ...]
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "record": self.record,
            "lookups": self.lookups,
            "void_lookups": self.void_lookups,
            "status": self.status.value,
            "trace": [step.to_json() for step in self.steps],
            "tree": self.tree.to_json() if self.tree is not None else None,
        }


def spf_rrs(answer: Answer) -> tuple[TxtRecord, ...]:
    """The RRs of a TXT (or type 99) answer that select as SPF (RFC 7208 §4.5)."""
    return tuple(r for r in answer.txt if is_spf_record(r.text))
