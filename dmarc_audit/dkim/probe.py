"""Look up DKIM selectors: ``<selector>._domainkey.<domain>`` TXT, all at once.

Each lookup ends in one :class:`SelectorStatus`. A failed lookup (timeout,
SERVFAIL, …) is ``unknown``, never ``missing``: "could not check" is not "absent".
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from dmarc_audit.dns.types import Answer, Outcome, Resolver
from dmarc_audit.domains import normalize_name
from dmarc_audit.errors import InputError
from dmarc_audit.records.dkim_key import DkimKey, parse_dkim_key

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


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


def normalize_selectors(selectors: Iterable[str]) -> tuple[str, ...]:
    """Lower-case, de-duplicate (keeping order) and validate user-given selectors.

    Raises :class:`InputError` for a name that cannot be a selector, e.g. one with
    a space, or a full ``…._domainkey…`` name instead of the selector alone.
    """
    result: dict[str, None] = {}
    for raw in selectors:
        name = normalize_name(raw.strip())
        if "_domainkey" in name.split("."):
            head = name.split("._domainkey", 1)[0] or "s1"
            raise InputError(
                f"invalid DKIM selector {raw!r}: give the selector alone "
                f"(e.g. {head!r}), not the full ._domainkey name"
            )
        labels = name.split(".")
        if not name or not all(_LABEL.fullmatch(label) for label in labels):
            raise InputError(
                f"invalid DKIM selector {raw!r}: use dot-separated labels of "
                "letters, digits, '-' and '_' (the s= value of a signature)"
            )
        result.setdefault(name, None)
    return tuple(result)


async def probe_selectors(
    resolver: Resolver, domain: str, selectors: Iterable[str]
) -> tuple[SelectorResult, ...]:
    """Query every selector's TXT record concurrently; results in selector order."""
    domain = normalize_name(domain)
    names = [(s, selector_name(s, domain)) for s in selectors]
    answers = await asyncio.gather(*(resolver.query(name, "TXT") for _, name in names))
    return tuple(
        result_from_answer(s, name, a) for (s, name), a in zip(names, answers, strict=True)
    )


def result_from_answer(selector: str, name: str, answer: Answer) -> SelectorResult:
    """Classify one TXT answer and parse the key it holds."""
    common = {
        "selector": selector,
        "name": name,
        "cnames": answer.cnames,
        "outcome": answer.outcome,
        "detail": answer.detail,
    }
    if answer.failed:
        return SelectorResult(status=SelectorStatus.UNKNOWN, key=None, **common)
    texts = tuple(answer.texts)
    if answer.outcome is Outcome.NXDOMAIN and answer.cnames:
        return SelectorResult(status=SelectorStatus.DANGLING_CNAME, key=None, **common)
    if not texts:
        return SelectorResult(status=SelectorStatus.MISSING, key=None, **common)
    return SelectorResult(
        status=SelectorStatus.FOUND, key=_best_key(texts), records=texts, **common
    )


def _best_key(texts: tuple[str, ...]) -> DkimKey:
    """Of several TXT records, the one a lenient verifier would most likely use."""
    keys = [parse_dkim_key(text) for text in dict.fromkeys(texts)]
    return max(keys, key=lambda k: (k.usable_for_email, k.valid))
