"""Name a source IP from evidence, strongest first, and keep the evidence.

1. the policy file's ``senders:`` (the owner says so): an IP range, an SPF include
   that authorises the IP, or a DKIM/envelope domain it authenticates as;
2. the policy domain's SPF tree: the ``include:`` that authorises the IP, mapped to
   a provider (or named by the include itself), or the domain's own ``ip4``/``a``/``mx``;
3. the authentication domains in the reports (DKIM ``d=``, the SPF/envelope domain),
   then a provider's distinctive DKIM selector on aligned signatures;
4. with ``--resolve``: the forward-confirmed reverse DNS name, then the origin AS.

No evidence, no name: the source stays unnamed. Pure: facts in, names out.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from dmarc_audit.config import KnownSender
from dmarc_audit.senders.facts import SenderDns
from dmarc_audit.senders.providers import Catalog, Provider, ProviderKind


class EvidenceKind(str, Enum):
    POLICY_FILE = "policy-file"
    SPF = "spf"
    AUTH_DOMAIN = "auth-domain"
    DKIM_SELECTOR = "dkim-selector"
    PTR = "ptr"
    ASN = "asn"


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: EvidenceKind
    detail: str
    """E.g. ``SPF include:sendgrid.net authorises it``, ``DKIM d=sendgrid.net``."""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class AuthEvidence:
    """What a source's records say about who signed and bounced its mail."""

    dkim_pass: frozenset[tuple[str, str]] = frozenset()
    """``(d=, selector)`` of passing signatures."""
    spf_pass: frozenset[str] = frozenset()
    """Domains SPF passed for (the envelope or HELO domain)."""
    envelope: frozenset[str] = frozenset()
    """Envelope-from domains the records name."""
    list_mail: bool = False
    """A receiver said ``mailing_list`` (policy_override_reason)."""
    has_results: bool = True
    """False when no record of the source carried any SPF or DKIM result."""


@dataclass(frozen=True, slots=True)
class SenderName:
    """Who a source is, and why we think so."""

    key: str
    """Stable: ``provider:sendgrid``, ``declared:<name>``, ``spf:<include>``, ``own``."""
    name: str
    provider: Provider | None = None
    declared: KnownSender | None = None
    evidence: tuple[Evidence, ...] = field(default=())
    network: str | None = None
    """The declared range the IP lies in (``192.0.2.0/28``)."""

    @property
    def forwarder(self) -> bool:
        return self.provider is not None and self.provider.kind is ProviderKind.MAILING_LIST


def name_source(
    ip: str,
    domains: Iterable[str],
    auth: AuthEvidence,
    *,
    catalog: Catalog,
    declared: tuple[KnownSender, ...] = (),
    dns: SenderDns | None = None,
    own_orgs: frozenset[str] = frozenset(),
    org_domain=None,
) -> SenderName | None:
    """The best-supported name for ``ip`` (sending for ``domains``), or None."""
    dns = dns or SenderDns()
    evidence: list[tuple[SenderName, Evidence]] = []
    address = _address(ip)
    domains = tuple(domains)
    matches = [m for d in domains if (m := dns.spf.get((d, ip))) is not None]

    # 1. declared senders
    for sender in declared:
        net = next((n for n in sender.networks if address is not None and _in(address, n)), None)
        if net is not None:
            evidence.append(
                (
                    SenderName(
                        f"declared:{sender.name}", sender.name, declared=sender, network=str(net)
                    ),
                    Evidence(
                        EvidenceKind.POLICY_FILE, f"{ip} is in {net} (senders: {sender.name})"
                    ),
                )
            )
        for m in matches:
            hit = next((i for i in m.includes if any(_under(i, x) for x in sender.includes)), None)
            if m.result == "pass" and hit:
                evidence.append(
                    (
                        SenderName(f"declared:{sender.name}", sender.name, declared=sender),
                        Evidence(
                            EvidenceKind.POLICY_FILE,
                            f"SPF include:{hit} of {m.domain} authorises it "
                            f"(senders: {sender.name})",
                        ),
                    )
                )
        used = _auth_domains(auth)
        hit_domain = next((d for d in used if any(_under(d, x) for x in sender.domains)), None)
        if hit_domain:
            evidence.append(
                (
                    SenderName(f"declared:{sender.name}", sender.name, declared=sender),
                    Evidence(
                        EvidenceKind.POLICY_FILE,
                        f"authenticates as {hit_domain} (senders: {sender.name})",
                    ),
                )
            )
    if evidence:
        return _merge(evidence)

    # 2. the SPF tree
    for m in matches:
        if m.result != "pass" or not m.term:
            continue
        provider = next((p for i in reversed(m.includes) if (p := catalog.for_include(i))), None)
        if provider is not None:
            via = next(i for i in reversed(m.includes) if catalog.for_include(i) is provider)
            evidence.append(
                (
                    _provider_name(provider),
                    Evidence(EvidenceKind.SPF, f"SPF include:{via} of {m.domain} authorises it"),
                )
            )
        elif m.includes:
            top = m.includes[0]
            evidence.append(
                (
                    SenderName(f"spf:{top}", f"SPF include:{top}"),
                    Evidence(EvidenceKind.SPF, f"SPF include:{top} of {m.domain} authorises it"),
                )
            )
        else:
            evidence.append(
                (
                    SenderName("own", f"{m.domain} own servers"),
                    Evidence(EvidenceKind.SPF, f"SPF {m.term} of {m.domain} authorises it"),
                )
            )

    # 3. authentication domains, then selectors of aligned signatures
    for d, _selector in sorted(auth.dkim_pass):
        if (provider := catalog.for_domain(d)) is not None:
            evidence.append(
                (_provider_name(provider), Evidence(EvidenceKind.AUTH_DOMAIN, f"DKIM signs d={d}"))
            )
    for d in sorted(auth.spf_pass | auth.envelope):
        if (provider := catalog.for_domain(d)) is not None:
            evidence.append(
                (
                    _provider_name(provider),
                    Evidence(EvidenceKind.AUTH_DOMAIN, f"envelope domain {d}"),
                )
            )
    if not evidence:
        for d, selector in sorted(auth.dkim_pass):
            if selector and (provider := catalog.for_selector(selector)) is not None:
                evidence.append(
                    (
                        _provider_name(provider),
                        Evidence(
                            EvidenceKind.DKIM_SELECTOR,
                            f"DKIM selector {selector} (d={d}) is {provider.name}'s",
                        ),
                    )
                )

    # 4. reverse DNS (forward-confirmed only) and origin AS
    reverse = dns.reverse.get(ip)
    if reverse is not None and reverse.name and reverse.confirmed:
        host = reverse.name.lower().rstrip(".")
        if (provider := catalog.for_ptr(host)) is not None:
            evidence.append(
                (_provider_name(provider), Evidence(EvidenceKind.PTR, f"reverse DNS {host}"))
            )
        elif catalog.is_list_host(host) and org_domain is not None:
            org = org_domain(host)
            evidence.append(
                (
                    SenderName(f"list:{org}", f"mailing list at {org}"),
                    Evidence(EvidenceKind.PTR, f"reverse DNS {host} (a list server)"),
                )
            )
        elif org_domain is not None and org_domain(host) in own_orgs:
            evidence.append(
                (
                    SenderName("own", f"{org_domain(host)} own servers"),
                    Evidence(EvidenceKind.PTR, f"reverse DNS {host}"),
                )
            )
    origin = dns.origin.get(ip)
    if (
        origin is not None
        and origin.asn is not None
        and (provider := catalog.for_asn(origin.asn)) is not None
    ):
        label = f"AS{origin.asn}" + (f" ({origin.as_name})" if origin.as_name else "")
        evidence.append((_provider_name(provider), Evidence(EvidenceKind.ASN, f"origin {label}")))
    return _merge(evidence) if evidence else None


def _provider_name(provider: Provider) -> SenderName:
    return SenderName(f"provider:{provider.id}", provider.name, provider=provider)


def _merge(found: list[tuple[SenderName, Evidence]]) -> SenderName:
    """The first (strongest) name, with every piece of evidence that supports it."""
    best = found[0][0]
    same = [e for n, e in found if n.key == best.key]
    network = next((n.network for n, _ in found if n.key == best.key and n.network), None)
    return SenderName(
        best.key, best.name, best.provider, best.declared, tuple(dict.fromkeys(same)), network
    )


def _auth_domains(auth: AuthEvidence) -> list[str]:
    return sorted({d for d, _ in auth.dkim_pass} | auth.spf_pass | auth.envelope)


def _under(name: str, suffix: str) -> bool:
    name, suffix = name.lower().rstrip("."), suffix.lower().rstrip(".")
    return name == suffix or name.endswith("." + suffix)


def _address(ip: str):
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def _in(address, network) -> bool:
    return address.version == network.version and address in network


def name_all(
    sources: Mapping[str, tuple[Iterable[str], AuthEvidence]],
    *,
    catalog: Catalog,
    declared: tuple[KnownSender, ...] = (),
    dns: SenderDns | None = None,
    own_orgs: frozenset[str] = frozenset(),
    org_domain=None,
) -> dict[str, SenderName]:
    """:func:`name_source` for each ``ip: (domains, auth evidence)``; unnamed IPs are left out."""
    out = {}
    for ip, (domains, auth) in sources.items():
        name = name_source(
            ip,
            domains,
            auth,
            catalog=catalog,
            declared=declared,
            dns=dns,
            own_orgs=own_orgs,
            org_domain=org_domain,
        )
        if name is not None:
            out[ip] = name
    return out
