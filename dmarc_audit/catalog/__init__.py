"""The catalog: one source of truth for every check id.

Ids are ``<area>.<kebab-name>`` (see ``docs/checks.md``) and never change meaning.
Each entry says what triggers it, why it matters, how to fix it and where the
rule comes from; ``dmarc-audit explain ID`` prints it and findings take their
default severity, remediation and references from it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TypeVar

from dmarc_audit.catalog import (
    alignment,
    bimi,
    bulk,
    dkim,
    dmarc,
    dns,
    dnssec,
    mtasts,
    mx,
    policy,
    spf,
)
from dmarc_audit.catalog.model import CheckInfo
from dmarc_audit.findings import Finding, Severity, Status

__all__ = [
    "CATALOG",
    "CHECKS",
    "RULES",
    "CheckInfo",
    "UnknownCheckId",
    "closest_ids",
    "finding",
    "lookup",
    "rule",
]

#: Every entry, in documentation order (one module per area).
CHECKS: tuple[CheckInfo, ...] = (
    *spf.CHECKS,
    *dkim.CHECKS,
    *dmarc.CHECKS,
    *alignment.CHECKS,
    *mx.CHECKS,
    *mtasts.CHECKS,
    *bimi.CHECKS,
    *dnssec.CHECKS,
    *dns.CHECKS,
    *bulk.CHECKS,
    *policy.CHECKS,
)

CATALOG: dict[str, CheckInfo] = {info.id: info for info in CHECKS}


class UnknownCheckId(KeyError):
    """An id that is not in the catalog; carries the closest ids."""

    def __init__(self, check_id: str, suggestions: list[str]) -> None:
        super().__init__(check_id)
        self.check_id = check_id
        self.suggestions = suggestions


def lookup(check_id: str) -> CheckInfo:
    """The catalog entry for ``check_id``; raises :class:`UnknownCheckId` with suggestions."""
    info = CATALOG.get(check_id.strip().lower())
    if info is None:
        raise UnknownCheckId(check_id, closest_ids(check_id))
    return info


def closest_ids(check_id: str, limit: int = 3) -> list[str]:
    """Ids that look like ``check_id`` (typos, missing area prefix)."""
    wanted = check_id.strip().lower()
    ids = list(CATALOG)
    matches = difflib.get_close_matches(wanted, ids, n=limit, cutoff=0.5)
    if not matches:
        matches = [i for i in ids if wanted and wanted in i][:limit]
    if not matches:
        tails = {i.split(".", 1)[1]: i for i in ids}
        matches = [tails[t] for t in difflib.get_close_matches(wanted, list(tails), n=limit)]
    return matches


def finding(
    check_id: str,
    subject: str,
    message: str,
    *,
    severity: Severity | None = None,
    status: Status = Status.FAIL,
    record: str | None = None,
    remediation: str | None = None,
    suggested_record: str | None = None,
    evidence: tuple[str, ...] | list[str] = (),
) -> Finding:
    """Build a :class:`Finding` with the catalog's defaults for ``check_id``.

    Raises ``KeyError`` for an id that is not in the catalog: a typo in a check
    must fail the tests, not reach users.
    """
    info = CATALOG[check_id]
    return Finding(
        id=check_id,
        severity=severity or info.severity,
        message=message,
        subject=subject,
        status=status,
        record=record,
        remediation=remediation if remediation is not None else info.fix,
        suggested_record=suggested_record,
        references=info.references,
        evidence=tuple(evidence),
    )


#: The rules that emit each id: ``{"spf.too-many-lookups": ("dmarc_audit.checks.spf.judge",)}``.
#: Filled in by :func:`rule` as the rule modules are imported.
RULES: dict[str, tuple[str, ...]] = {}

_Rule = TypeVar("_Rule", bound=Callable[..., object])


def rule(*check_ids: str) -> Callable[[_Rule], _Rule]:
    """Declare the catalog ids a rule function emits (one registration for every area).

    ``tests/test_rule_registry.py`` holds every rule to its word: each id a function
    names must be declared on it, every active id has a rule, no planned id has one.
    An unknown id fails at import time.
    """
    for check_id in check_ids:
        if check_id not in CATALOG:
            raise UnknownCheckId(check_id, closest_ids(check_id))

    def register(function: _Rule) -> _Rule:
        name = f"{function.__module__}.{function.__qualname__}"
        for check_id in check_ids:
            RULES[check_id] = (*RULES.get(check_id, ()), name)
        return function

    return register
