"""What the DKIM selector lookups found, and the judged DKIM section of a report: no I/O.

Each lookup ends in one :class:`SelectorStatus`. A failed lookup (timeout,
SERVFAIL, …) is ``unknown``, never ``missing``: "could not check" is not "absent".
:func:`dmarc_audit.dkim.probe.probe_dkim` collects a :class:`DkimFacts`;
:mod:`dmarc_audit.checks.dkim` judges it into a :class:`DkimPosture`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from dmarc_audit.dns.types import Answer, Outcome
from dmarc_audit.records.dkim_key import DkimKey, parse_dkim_key

if TYPE_CHECKING:
    from dmarc_audit.findings import Finding


class SelectorStatus(str, Enum):
    """What a selector lookup found."""

    FOUND = "found"
    """At least one TXT record at the name (parsed into :attr:`SelectorResult.key`)."""
    MISSING = "missing"
    """NXDOMAIN or no TXT record: definitely no key."""
    UNKNOWN = "unknown"
    """The lookup failed; whether a key exists is not known."""
    DANGLING_CNAME = "dangling-cname"
    """The name is a CNAME whose target does not exist."""


@dataclass(frozen=True, slots=True)
class SelectorResult:
    """One selector's lookup and, when found, its parsed key."""

    selector: str
    name: str
    """``<selector>._domainkey.<domain>``."""
    status: SelectorStatus
    key: DkimKey | None
    cnames: tuple[tuple[str, str], ...]
    """Aliases followed, as ``(owner, target)`` pairs."""
    outcome: Outcome
    records: tuple[str, ...] = ()
    """Every TXT record at the name (strings concatenated); several is a problem."""
    detail: str = ""
    """The resolver's error text when the lookup failed."""

    @property
    def cname_chain(self) -> tuple[str, ...]:
        """``(name, target, target's target, …)``; empty when there is no alias."""
        if not self.cnames:
            return ()
        return (self.cnames[0][0], *(target for _, target in self.cnames))

    def to_json(self) -> dict[str, object]:
        """A flat, stable summary (key fields are null when no key was found)."""
        key = self.key
        return {
            "selector": self.selector,
            "name": self.name,
            "status": self.status.value,
            "outcome": self.outcome.value,
            "key_type": key.key_type if key else None,
            "bits": key.key_bits if key else None,
            "valid": key.valid if key else None,
            "usable_for_email": key.usable_for_email if key else None,
            "revoked": key.revoked if key else None,
            "testing": key.testing if key else None,
            "key_format": key.key_format if key else None,
            "hash_algorithms": list(key.hash_algorithms) if key and key.hash_algorithms else None,
            "services": list(key.services) if key and key.services is not None else None,
            "flags": list(key.flags) if key else None,
            "warnings": list(key.warnings) if key else [],
            "cname_chain": list(self.cname_chain),
            "records": list(self.records),
            "detail": self.detail or None,
        }


def selector_name(selector: str, domain: str) -> str:
    """The DNS name of a selector's key record (RFC 6376 §3.6.2.1)."""
    return f"{selector}._domainkey.{domain}"


def result_from_answer(selector: str, name: str, answer: Answer) -> SelectorResult:
    """Classify one TXT answer and parse the key it holds."""

    def result(
        status: SelectorStatus, key: DkimKey | None = None, records: tuple[str, ...] = ()
    ) -> SelectorResult:
        return SelectorResult(
            selector=selector,
            name=name,
            status=status,
            key=key,
            cnames=answer.cnames,
            outcome=answer.outcome,
            records=records,
            detail=answer.detail,
        )

    if answer.failed:
        return result(SelectorStatus.UNKNOWN)
    texts = tuple(answer.texts)
    if answer.outcome is Outcome.NXDOMAIN and answer.cnames:
        return result(SelectorStatus.DANGLING_CNAME)
    if not texts:
        return result(SelectorStatus.MISSING)
    return result(SelectorStatus.FOUND, _best_key(texts), texts)


def _best_key(texts: tuple[str, ...]) -> DkimKey:
    """Of several TXT records, the one a lenient verifier would most likely use."""
    keys = [parse_dkim_key(text) for text in dict.fromkeys(texts)]
    return max(keys, key=lambda k: (k.usable_for_email, k.valid))


@dataclass(frozen=True, slots=True)
class DkimFacts:
    """What the selector lookups of one domain found, before any judgement."""

    domain: str
    selectors_tried: tuple[str, ...]
    explicit: bool
    """True when the selectors came from the user, False when the built-in list was probed."""
    results: tuple[SelectorResult, ...]


@dataclass(frozen=True, slots=True)
class DkimPosture:
    """The DKIM section of a report: the selector lookups and the findings about them."""

    domain: str
    selectors_tried: tuple[str, ...]
    explicit: bool
    """True when the selectors came from the user, False when the built-in list was probed."""
    results: tuple[SelectorResult, ...]
    findings: tuple[Finding, ...]

    @property
    def found(self) -> tuple[SelectorResult, ...]:
        """Results with a TXT record at the selector name."""
        return tuple(r for r in self.results if r.status is SelectorStatus.FOUND)

    @property
    def incomplete(self) -> bool:
        """Some selector lookups failed."""
        return any(r.status is SelectorStatus.UNKNOWN for r in self.results)

    def facts_json(self) -> dict[str, object]:
        """The report's ``dkim`` section: domain, how selectors were chosen, each lookup.

        No findings: a report lists every finding once, in its ``findings``.
        """
        return {
            "domain": self.domain,
            "explicit": self.explicit,
            "selectors_tried": list(self.selectors_tried),
            "found": [r.selector for r in self.found],
            "incomplete": self.incomplete,
            "results": [r.to_json() for r in self.results],
        }

    def to_json(self) -> dict[str, object]:
        """The DKIM audit alone: :meth:`facts_json` and the findings."""
        return {**self.facts_json(), "findings": [f.to_json() for f in self.findings]}
