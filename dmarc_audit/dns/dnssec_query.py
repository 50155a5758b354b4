"""DNS questions for validation: DO and CD set, answer and authority sections kept whole.

CD (checking disabled, RFC 4035 §3.2.2) makes a validating recursive resolver hand
back bogus data instead of SERVFAIL, so that we can say *why* it is bogus. These
questions go through the run's :class:`~dmarc_audit.dns.cache.CachingResolver`
(``query_dnssec``), which caches each ``(name, type)`` for the run (a zone's keys are
fetched once, not once per name) and records it in the run's trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from dmarc_audit.dns.types import Outcome


class Nameserver(Protocol):
    """A resolver to ask (:class:`dmarc_audit.dns.live.Nameserver` is one)."""

    @property
    def address(self) -> str: ...

    @property
    def port(self) -> int: ...


if TYPE_CHECKING:
    import dns.message
    import dns.name
    import dns.rrset


PAYLOAD = 1232
"""EDNS payload size (the DNS flag day 2020 value): larger answers come over TCP."""


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """One DO answer: how it ended, and its answer and authority RRsets (RRSIGs included)."""

    name: str
    rdtype: str
    outcome: Outcome
    answer: tuple[dns.rrset.RRset, ...] = ()
    authority: tuple[dns.rrset.RRset, ...] = ()
    detail: str = ""
    source: str = ""

    @property
    def records(self) -> int:
        """How many records of the asked type the answer holds (for the trace)."""
        return sum(len(r) for r in self.answer if _type_text(r.rdtype) == self.rdtype)

    def describe(self) -> str:
        """``timeout (no answer from …)``, ``REFUSED``: why the lookup failed."""
        text = self.outcome.value
        return f"{text} ({self.detail})" if self.detail and self.detail != text.upper() else text

    def rrset(self, owner: dns.name.Name, rdtype: int) -> dns.rrset.RRset | None:
        """The answer-section RRset at ``owner`` of ``rdtype``."""
        for rrset in self.answer:
            if rrset.name == owner and rrset.rdtype == rdtype:
                return rrset
        return None

    def sigs(
        self, owner: dns.name.Name, covers: int, section: str = "answer"
    ) -> dns.rrset.RRset | None:
        """The RRSIGs at ``owner`` covering ``covers`` in ``section``."""
        import dns.rdatatype

        for rrset in self.answer if section == "answer" else self.authority:
            if (
                rrset.name == owner
                and rrset.rdtype == dns.rdatatype.RRSIG
                and rrset.covers == covers
            ):
                return rrset
        return None


def not_checked(name: str, rdtype: str, detail: str) -> RawAnswer:
    """The answer for a name no live resolver may be asked about (``--offline``, ``--zone``)."""
    return RawAnswer(name, rdtype, Outcome.OFFLINE, detail=detail, source="offline")


async def ask_servers(
    nameservers: list[Nameserver], name: str, rdtype: str, timeout: float, retries: int
) -> RawAnswer:
    """Ask each server in turn (another round after timeouts/SERVFAIL, up to ``retries``)."""
    answer = RawAnswer(name, rdtype, Outcome.SERVFAIL, detail="no nameserver")
    for _round in range(max(0, retries) + 1):
        retry = False
        for server in nameservers:
            answer = await ask(server, name, rdtype, timeout)
            if not answer.outcome.is_failure:
                return answer
            retry = retry or answer.outcome in (Outcome.TIMEOUT, Outcome.SERVFAIL)
        if not retry:
            break
    return answer


async def ask(server: Nameserver, name: str, rdtype: str, timeout: float) -> RawAnswer:
    """One DO+CD question to ``server`` over UDP, again over TCP when truncated."""
    import dns.asyncquery
    import dns.exception
    import dns.flags
    import dns.message

    source = f"live {server} (DO)"
    try:
        request = dns.message.make_query(name, rdtype, want_dnssec=True, payload=PAYLOAD)
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        return RawAnswer(name, rdtype, Outcome.NXDOMAIN, detail=f"not a valid DNS name: {exc}")
    request.flags |= dns.flags.CD
    try:
        response = await dns.asyncquery.udp(
            request, server.address, timeout=timeout, port=server.port, ignore_trailing=True
        )
        if response.flags & dns.flags.TC:
            response = await dns.asyncquery.tcp(
                request, server.address, timeout=timeout, port=server.port
            )
    except dns.exception.Timeout:
        return RawAnswer(
            name,
            rdtype,
            Outcome.TIMEOUT,
            detail=f"no answer from {server} in {timeout:g}s",
            source=source,
        )
    except (OSError, dns.exception.DNSException, EOFError) as exc:
        return RawAnswer(name, rdtype, Outcome.SERVFAIL, detail=f"{server}: {exc}", source=source)
    return _classify(name, rdtype, response, source)


def _classify(name: str, rdtype: str, response: dns.message.Message, source: str) -> RawAnswer:
    import dns.rcode
    import dns.rdatatype

    rcode = response.rcode()
    answer, authority = tuple(response.answer), tuple(response.authority)
    if rcode == dns.rcode.NXDOMAIN:
        return RawAnswer(name, rdtype, Outcome.NXDOMAIN, answer, authority, source=source)
    if rcode == dns.rcode.REFUSED:
        return RawAnswer(name, rdtype, Outcome.REFUSED, detail="REFUSED", source=source)
    if rcode != dns.rcode.NOERROR:
        return RawAnswer(
            name, rdtype, Outcome.SERVFAIL, detail=dns.rcode.to_text(rcode), source=source
        )
    qtype = dns.rdatatype.from_text(rdtype)
    has_data = any(r.rdtype == qtype for r in answer)
    outcome = Outcome.RECORDS if has_data else Outcome.NODATA
    return RawAnswer(name, rdtype, outcome, answer, authority, source=source)


def _type_text(rdtype: int) -> str:
    import dns.rdatatype

    return dns.rdatatype.to_text(dns.rdatatype.RdataType(rdtype))
