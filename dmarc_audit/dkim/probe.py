"""Look up DKIM selectors: ``<selector>._domainkey.<domain>`` TXT, all at once.

Selectors cannot be listed from DNS (RFC 6376 §3.6.2.1). :func:`probe_dkim` checks
the selectors the user gives (``explicit``) or, when none are given, probes a
built-in list of common provider selectors (:mod:`dmarc_audit.dkim.selectors`).
It returns facts only; :mod:`dmarc_audit.checks.dkim` judges them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from dmarc_audit.dkim.facts import DkimFacts, SelectorResult, result_from_answer, selector_name
from dmarc_audit.dkim.selectors import DEFAULT_SELECTORS, normalize_selectors

if TYPE_CHECKING:
    from dmarc_audit.dns.types import Resolver
    from dmarc_audit.domains import DomainName


async def probe_dkim(
    resolver: Resolver, domain: DomainName, selectors: Iterable[str] | None = None
) -> DkimFacts:
    """Look up the DKIM key records of ``domain``.

    ``selectors`` given (non-empty): those are looked up. None or empty: the
    built-in list is probed. Raises :class:`~dmarc_audit.errors.InputError` for a
    selector that is not a valid name.
    """
    chosen = tuple(selectors or ())
    explicit = bool(chosen)
    tried = normalize_selectors(chosen) if explicit else DEFAULT_SELECTORS
    results = await probe_selectors(resolver, domain.ascii, tried)
    return DkimFacts(domain.ascii, tried, explicit, results)


async def probe_selectors(
    resolver: Resolver, domain: str, selectors: Iterable[str]
) -> tuple[SelectorResult, ...]:
    """Query every selector's TXT record concurrently; results in selector order.

    ``domain`` is an already normalised ASCII name.
    """
    names = [(s, selector_name(s, domain)) for s in selectors]
    answers = await asyncio.gather(*(resolver.query(name, "TXT") for _, name in names))
    return tuple(
        result_from_answer(s, name, a) for (s, name), a in zip(names, answers, strict=True)
    )
