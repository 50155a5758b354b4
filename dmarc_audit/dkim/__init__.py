"""DKIM posture of a domain: find selectors, parse their keys, report findings.

Selectors cannot be listed from DNS (RFC 6376 §3.6.2.1). :func:`audit_dkim` checks
the selectors the user gives (``explicit``) or, when none are given, probes a
built-in list of common provider selectors (:mod:`dmarc_audit.dkim.selectors`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dmarc_audit.dkim.probe import (
    SelectorResult,
    SelectorStatus,
    normalize_selectors,
    probe_selectors,
    selector_name,
)
from dmarc_audit.dkim.selectors import DEFAULT_SELECTORS
from dmarc_audit.domains import normalize_name

if TYPE_CHECKING:
    from dmarc_audit.dns.types import Resolver
    from dmarc_audit.findings import Finding

__all__ = [
    "DkimPosture",
    "SelectorResult",
    "SelectorStatus",
    "audit_dkim",
    "normalize_selectors",
    "probe_selectors",
    "selector_name",
]


@dataclass(frozen=True, slots=True)
class DkimPosture:
    """What the selector lookups of one domain found, and the findings about it."""

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

    def to_json(self) -> dict[str, object]:
        """Stable JSON shape: domain, how selectors were chosen, each lookup, the findings."""
        return {
            "domain": self.domain,
            "explicit": self.explicit,
            "selectors_tried": list(self.selectors_tried),
            "found": [r.selector for r in self.found],
            "incomplete": self.incomplete,
            "results": [r.to_json() for r in self.results],
            "findings": [f.to_json() for f in self.findings],
        }


async def audit_dkim(
    resolver: Resolver,
    domain: str,
    selectors: list[str] | None = None,
    *,
    bulk_sender: bool = False,
) -> DkimPosture:
    """Look up DKIM keys for ``domain`` and evaluate them.

    ``selectors`` given (non-empty): those are checked and a missing one is
    ``dkim.selector-missing``. None or empty: the built-in list is probed and finding
    nothing is ``dkim.no-key-found`` (info; warning with ``bulk_sender``). Raises
    :class:`~dmarc_audit.errors.InputError` for a selector that is not a valid name.
    """
    from dmarc_audit.checks.dkim import evaluate

    domain = normalize_name(domain.strip())
    explicit = bool(selectors)
    tried = normalize_selectors(selectors) if selectors else DEFAULT_SELECTORS
    results = await probe_selectors(resolver, domain, tried)
    findings = evaluate(domain, results, explicit=explicit, bulk_sender=bulk_sender)
    return DkimPosture(domain, tried, explicit, results, findings)
