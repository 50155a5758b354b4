"""Identifier alignment (RFC 9989 §4.4, RFC 7489 §3.1): is an authenticated domain the From's?

Strict alignment needs the same domain. Relaxed alignment needs the same
Organizational Domain: under RFC 9989 found by the DNS tree walk (§4.10.2), under
RFC 7489 by the Public Suffix List (§3.2). Organizational Domains are shown with
every result so a user can see why two names do or do not align.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from dmarc_audit.dns.types import Answer, Resolver
from dmarc_audit.records.dmarc import Alignment, DmarcMode


class Identifier(str, Enum):
    """The authenticated identifier being aligned."""

    DKIM = "dkim"
    SPF = "spf"

    @property
    def tag(self) -> str:
        """The DMARC tag that sets its mode: ``adkim`` or ``aspf``."""
        return "a" + self.value


@dataclass(frozen=True, slots=True)
class OrgLookup:
    """The Organizational Domain of one name, and how it was found."""

    domain: str
    org_domain: str | None
    """None when a lookup of the tree walk failed."""
    method: str
    failed: Answer | None = None


class OrgDomains:
    """Organizational Domains for one run (each name is worked out once)."""

    def __init__(self, resolver: Resolver, mode: DmarcMode) -> None:
        self.resolver = resolver
        self.mode = mode
        self._found: dict[str, OrgLookup] = {}

    async def lookup(self, domain: str) -> OrgLookup:
        domain = domain.lower().rstrip(".")
        found = self._found.get(domain)
        if found is None:
            found = await self._compute(domain)
            self._found[domain] = found
        return found

    async def _compute(self, domain: str) -> OrgLookup:
        if self.mode is DmarcMode.RFC7489:
            from dmarc_audit.orgdomain import organizational_domain_psl

            return OrgLookup(
                domain, organizational_domain_psl(domain) or domain, "Public Suffix List"
            )
        from dmarc_audit.dmarc.discovery import tree_walk

        walk = await tree_walk(self.resolver, domain)
        return OrgLookup(domain, walk.org_domain, "RFC 9989 tree walk", walk.failed)


@dataclass(frozen=True, slots=True)
class AlignmentCheck:
    """Whether one authenticated domain aligns with the From domain, and why."""

    identifier: Identifier
    domain: str
    from_domain: str
    mode: Alignment
    aligned: bool | None
    """None when an Organizational Domain could not be determined."""
    relaxed_aligned: bool | None
    """What relaxed alignment would say (differs from ``aligned`` only under strict mode)."""
    org_domain: str | None
    from_org_domain: str | None
    reason: str

    @property
    def strict_blocks(self) -> bool:
        """Strict mode is the only reason this domain does not align."""
        return (
            self.mode is Alignment.STRICT and self.aligned is False and self.relaxed_aligned is True
        )

    def to_json(self) -> dict[str, object]:
        return {
            "identifier": self.identifier.value,
            "domain": self.domain,
            "from_domain": self.from_domain,
            "mode": "strict" if self.mode is Alignment.STRICT else "relaxed",
            "aligned": self.aligned,
            "relaxed_aligned": self.relaxed_aligned,
            "org_domain": self.org_domain,
            "from_org_domain": self.from_org_domain,
            "reason": self.reason,
        }


async def check_alignment(
    identifier: Identifier, domain: str, from_domain: str, mode: Alignment, orgs: OrgDomains
) -> AlignmentCheck:
    """Align ``domain`` (``d=`` or the SPF domain) with ``from_domain`` in ``mode``."""
    domain = domain.lower().rstrip(".")
    from_domain = from_domain.lower().rstrip(".")
    own = await orgs.lookup(domain)
    author = await orgs.lookup(from_domain)
    label = "d=" + domain if identifier is Identifier.DKIM else domain

    def check(aligned: bool | None, relaxed_aligned: bool | None, reason: str) -> AlignmentCheck:
        return AlignmentCheck(
            identifier=identifier,
            domain=domain,
            from_domain=from_domain,
            mode=mode,
            org_domain=own.org_domain,
            from_org_domain=author.org_domain,
            aligned=aligned,
            relaxed_aligned=relaxed_aligned,
            reason=reason,
        )

    if domain == from_domain:
        return check(True, True, f"{label} is the From domain")
    if own.org_domain is None or author.org_domain is None:
        failed = own.failed or author.failed
        what = f" ({failed.name} {failed.describe()})" if failed is not None else ""
        return check(
            None if mode is Alignment.RELAXED else False,
            None,
            f"the Organizational Domain could not be determined{what}",
        )
    relaxed = own.org_domain == author.org_domain
    orgs_text = (
        f"both have the Organizational Domain {own.org_domain}"
        if relaxed
        else f"Organizational Domains {own.org_domain} and {author.org_domain} differ"
    )
    how = f" ({own.method})"
    if mode is Alignment.STRICT:
        if relaxed:
            reason = (
                f"{identifier.tag}=s needs exactly {from_domain}, not {domain}; "
                f"{orgs_text}{how}, so relaxed alignment would pass"
            )
        else:
            reason = f"{identifier.tag}=s needs exactly {from_domain}; {orgs_text}{how}"
        return check(False, relaxed, reason)
    return check(relaxed, relaxed, f"{label} vs {from_domain}: {orgs_text}{how}")
