"""The MTA-STS policy of one domain as fetched: frozen facts, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dmarc_audit.fetch.facts import FetchOutcome, HttpsFetch
from dmarc_audit.records.mtasts_policy import StsPolicy

if TYPE_CHECKING:
    from dmarc_audit.findings import Finding

POLICY_PATH = "/.well-known/mta-sts.txt"


def policy_url(domain: str) -> str:
    """``https://mta-sts.<domain>/.well-known/mta-sts.txt`` (RFC 8461 §3.3)."""
    return f"https://mta-sts.{domain}{POLICY_PATH}"


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """The fetch of a domain's policy file and, when the body could be read, the policy."""

    domain: str
    fetch: HttpsFetch
    policy: StsPolicy | None
    """None when the fetch failed or the body is not text."""
    text_problem: str | None = None
    """Why the body could not be read as text (not UTF-8), if so."""

    @property
    def url(self) -> str:
        return self.fetch.url

    def to_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "fetch": self.fetch.to_json(),
            "policy": self.policy.to_json() if self.policy is not None else None,
        }


@dataclass(frozen=True, slots=True)
class MtaStsPosture:
    """The judged MTA-STS policy of one domain: the fetch and policy, and the findings."""

    facts: PolicyFacts
    findings: tuple[Finding, ...]

    @property
    def status(self) -> str:
        """``enforce``/``testing``/``none`` (a valid policy), ``invalid``, ``unknown``
        (could not check) or ``not-fetched`` (``--no-fetch``)."""
        fetch = self.facts.fetch
        if fetch.outcome is FetchOutcome.NOT_FETCHED:
            return "not-fetched"
        if fetch.outcome.could_not_check:
            return "unknown"
        policy = self.facts.policy
        if policy is None or not policy.valid or policy.mode is None:
            return "invalid"
        if fetch.media_type != "text/plain":
            return "invalid"
        return policy.mode.value

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, **self.facts.to_json()}
