"""Validate chains of trust and RRsets (RFC 4035 §5) with dnspython's ``dns.dnssec``.

The chain for a name is built top-down and cached per name, so every domain under
``com`` shares one validated ``com`` link and a zone's keys are fetched once per
run. At each label: a signed DS (validated with the parent's keys) leads to the
child's DNSKEY set, which must contain a key matching the DS and be signed by it;
no DS at a zone apex (an SOA there) makes everything below insecure; a failed
lookup makes it unknown. Limitations: NSEC/NSEC3 denials are checked for valid
signatures, not for coverage of the name.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from dmarc_audit.dns.dnssec_query import RawAnswer
from dmarc_audit.dns.types import Outcome
from dmarc_audit.dnssec.anchor import TrustAnchor
from dmarc_audit.dnssec.facts import ChainFacts, DnssecStatus, RRsetFacts

if TYPE_CHECKING:
    import dns.name
    import dns.rdataset
    import dns.rdatatype
    import dns.rrset


class SecureResolver(Protocol):
    """What validation asks DNS through: whole DO answers (the run's CachingResolver)."""

    async def query_dnssec(self, name: str, rdtype: str) -> RawAnswer:
        """The DO answer to ``(name, rdtype)``, RRSIGs included; never raises."""
        ...


@dataclass(frozen=True, slots=True)
class _Link:
    """The chain down to one name: status, the zone reached, its keys when secure."""

    status: DnssecStatus
    zone: dns.name.Name
    keys: dns.rdataset.Rdataset | None
    reason: str
    steps: tuple[str, ...]
    exists: bool = True


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower() or "."


class Validator:
    """Chains and RRsets for one run, over the run's resolver and one trust anchor."""

    def __init__(
        self, resolver: SecureResolver, anchor: TrustAnchor, now: float | None = None
    ) -> None:
        self.resolver = resolver
        self.anchor = anchor
        self.now = now
        self._links: dict[dns.name.Name, asyncio.Future[_Link]] = {}

    async def _ask(self, name: dns.name.Name, rdtype: str) -> RawAnswer:
        return await self.resolver.query_dnssec(_text(name), rdtype)

    def _now(self) -> float:
        return self.now if self.now is not None else time.time()

    # -- chains ----------------------------------------------------------------

    async def chain(self, name: str) -> ChainFacts:
        """The chain of trust from the anchor to the zone that holds ``name``."""
        import dns.name

        qname = dns.name.from_text(name)
        link = await self._link(qname)
        return ChainFacts(_text(qname), link.status, _text(link.zone), link.reason, link.steps)

    async def _link(self, name: dns.name.Name) -> _Link:
        future = self._links.get(name)
        if future is None:
            future = asyncio.ensure_future(self._build(name))
            self._links[name] = future
        return await asyncio.shield(future)

    async def _build(self, name: dns.name.Name) -> _Link:
        anchor_zone = self.anchor.zone
        if name == anchor_zone:
            return await self._anchor_link()
        if not name.is_subdomain(anchor_zone):
            return _Link(
                DnssecStatus.INSECURE,
                name,
                None,
                f"outside the trust anchor's zone ({self.anchor.zone_text})",
                (),
            )
        parent = await self._link(name.parent())
        if parent.status is not DnssecStatus.SECURE or not parent.exists:
            return parent
        return await self._step(parent, name)

    async def _anchor_link(self) -> _Link:
        zone = self.anchor.zone
        answer = await self._ask(zone, "DNSKEY")
        label = _text(zone)
        if answer.outcome.is_failure:
            return _failed(zone, f"DNSKEY {label}", answer)
        if answer.rrset(zone, _rdtype("DNSKEY")) is None or not answer.sigs(
            zone, _rdtype("DNSKEY")
        ):
            # a resolver that strips DNSSEC data (or does not serve the anchor's zone)
            # says nothing about the domains: could not check, never bogus
            got = "no RRSIG" if answer.outcome is Outcome.RECORDS else answer.describe()
            reason = (
                f"the resolver gave no signed DNSKEY for the trust anchor's zone {label} "
                f"({got}); use a DNSSEC-aware resolver (--nameserver)"
            )
            return _Link(DnssecStatus.UNKNOWN, zone, None, reason, (reason,))
        keys, reason = self._trusted_keys(
            zone, answer, self.anchor.ds, self.anchor.dnskey, "the trust anchor"
        )
        if keys is None:
            return _Link(DnssecStatus.BOGUS, zone, None, reason, (reason,))
        step = f"DNSKEY {label}: signed by a key of the trust anchor ({self.anchor.source})"
        return _Link(DnssecStatus.SECURE, zone, keys, "", (step,))

    async def _step(self, parent: _Link, name: dns.name.Name) -> _Link:
        """Go one label down from the secure ``parent`` link to ``name``."""
        label = _text(name)
        ds_answer, soa_answer = await asyncio.gather(self._ask(name, "DS"), self._ask(name, "SOA"))
        if ds_answer.outcome.is_failure:
            return _failed(name, f"DS {label}", ds_answer)
        steps = parent.steps
        ds = ds_answer.rrset(name, _rdtype("DS"))
        if ds is not None:
            reason = self._check_rrset(ds, ds_answer.sigs(name, _rdtype("DS")), parent)
            if reason:
                return _bogus(name, f"DS {label} in {_text(parent.zone)}: {reason}", steps)
            answer = await self._ask(name, "DNSKEY")
            if answer.outcome.is_failure:
                return _failed(name, f"DNSKEY {label}", answer)
            keys, reason = self._trusted_keys(
                name, answer, ds, None, f"the DS in {_text(parent.zone)}"
            )
            if keys is None:
                return _bogus(name, reason, steps)
            step = f"DS {label} (signed by {_text(parent.zone)}) matches its DNSKEY"
            return _Link(DnssecStatus.SECURE, name, keys, "", (*steps, step))
        if ds_answer.outcome is Outcome.NXDOMAIN:
            return _Link(parent.status, parent.zone, parent.keys, "", steps, exists=False)
        if soa_answer.outcome.is_failure:
            return _failed(name, f"SOA {label}", soa_answer)
        if soa_answer.rrset(name, _rdtype("SOA")) is None:
            return parent  # not a zone cut: same zone, same keys
        reason = self._check_denial(ds_answer, parent)
        if reason:
            return _bogus(name, f"no DS for {label}, but the denial is bogus: {reason}", steps)
        why = f"{label} is a zone with no DS record in {_text(parent.zone)}"
        return _Link(DnssecStatus.INSECURE, name, None, why, (*steps, why))

    def _trusted_keys(
        self,
        zone: dns.name.Name,
        answer: RawAnswer,
        ds: dns.rdataset.Rdataset | None,
        anchor_keys: dns.rdataset.Rdataset | None,
        what: str,
    ) -> tuple[dns.rdataset.Rdataset | None, str]:
        """The zone's DNSKEY set if a key matching ``ds``/``anchor_keys`` signs it."""
        import dns.dnssec
        import dns.rdataclass
        import dns.rdataset

        label = _text(zone)
        dnskeys = answer.rrset(zone, _rdtype("DNSKEY"))
        if dnskeys is None:
            return (
                None,
                f"DNSKEY {label}: missing ({answer.outcome.value}) although {what} names one",
            )
        trusted = dns.rdataset.Rdataset(dns.rdataclass.IN, _rdtype("DNSKEY"))
        for key in dnskeys:
            if anchor_keys is not None and key in anchor_keys:
                trusted.add(key)
                continue
            for record in ds or ():
                try:
                    made = dns.dnssec.make_ds(zone, key, record.digest_type)  # type: ignore[attr-defined]
                except (dns.dnssec.UnsupportedAlgorithm, ValueError):
                    continue
                if made == record:
                    trusted.add(key)
        if not trusted:
            tags = sorted({r.key_tag for r in ds or ()})  # type: ignore[attr-defined]
            have = sorted({dns.dnssec.key_id(k) for k in dnskeys})  # type: ignore[arg-type]
            return None, (
                f"DNSKEY {label}: no key matches {what} "
                f"(DS key tags {tags}, DNSKEY key tags {have})"
            )
        reason = self._verify(dnskeys, answer.sigs(zone, _rdtype("DNSKEY")), zone, trusted)
        if reason:
            return None, f"DNSKEY {label}: {reason}"
        keyset = dns.rdataset.Rdataset(dns.rdataclass.IN, _rdtype("DNSKEY"))
        keyset.update(dnskeys)
        return keyset, ""

    def _check_rrset(
        self, rrset: dns.rrset.RRset, sigs: dns.rrset.RRset | None, link: _Link
    ) -> str:
        """Why ``rrset`` does not validate with ``link``'s keys; ``""`` when it does."""
        assert link.keys is not None
        return self._verify(rrset, sigs, link.zone, link.keys)

    def _check_denial(self, answer: RawAnswer, link: _Link) -> str:
        """Signatures on the NSEC/NSEC3 records of a negative answer (``""`` when fine)."""
        import dns.rdatatype

        for rrset in answer.authority:
            if rrset.rdtype in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3, dns.rdatatype.SOA):
                sigs = answer.sigs(rrset.name, rrset.rdtype, section="authority")
                reason = self._check_rrset(rrset, sigs, link)
                if reason:
                    return f"{dns.rdatatype.to_text(rrset.rdtype)} {_text(rrset.name)}: {reason}"
        return ""

    def _verify(
        self,
        rrset: dns.rrset.RRset,
        sigs: dns.rrset.RRset | None,
        zone: dns.name.Name,
        keys: dns.rdataset.Rdataset,
    ) -> str:
        import dns.dnssec

        if sigs is None or len(sigs) == 0:
            return "no RRSIG (the zone is signed, so the answer must be)"
        try:
            dns.dnssec.validate(rrset, sigs, {zone: keys}, now=self._now())
        except dns.dnssec.ValidationFailure:
            return _explain(sigs, zone, keys, self._now())
        except dns.dnssec.UnsupportedAlgorithm as exc:
            return f"unsupported algorithm ({exc})"
        return ""

    # -- RRsets ------------------------------------------------------------------

    async def rrset(self, name: str, rdtype: str) -> RRsetFacts:
        """Validate the answer to ``(name, rdtype)``: records, or a denial, in its zone."""
        import dns.name
        import dns.rdatatype

        qname = dns.name.from_text(name)
        answer = await self._ask(qname, rdtype)
        label = _text(qname)
        if answer.outcome.is_failure:
            link = _failed(qname, f"{rdtype} {label}", answer)
            return RRsetFacts(label, rdtype, link.status, link.reason)
        data = [r for r in answer.answer if r.rdtype != dns.rdatatype.RRSIG]
        if data:
            for rrset in data:
                sigs = answer.sigs(rrset.name, rrset.rdtype)
                if sigs is None or len(sigs) == 0:
                    link = await self._link(rrset.name)
                    if link.status is DnssecStatus.SECURE:
                        return RRsetFacts(
                            label,
                            rdtype,
                            DnssecStatus.BOGUS,
                            f"{_text(rrset.name)}: no RRSIG in a signed zone",
                        )
                    return RRsetFacts(label, rdtype, link.status, link.reason)
                signer = sigs[0].signer  # type: ignore[attr-defined]
                link = await self._link(signer)
                if link.status is not DnssecStatus.SECURE:
                    return RRsetFacts(label, rdtype, link.status, link.reason, _text(signer))
                if link.zone != signer:
                    return RRsetFacts(
                        label,
                        rdtype,
                        DnssecStatus.BOGUS,
                        f"signed by {_text(signer)}, which is not a zone apex",
                        _text(signer),
                    )
                reason = self._check_rrset(rrset, sigs, link)
                if reason:
                    why = f"{dns.rdatatype.to_text(rrset.rdtype)} {_text(rrset.name)}: {reason}"
                    return RRsetFacts(label, rdtype, DnssecStatus.BOGUS, why, _text(signer))
            return RRsetFacts(label, rdtype, DnssecStatus.SECURE, "", _text(signer))
        link = await self._link(qname)
        if link.status is not DnssecStatus.SECURE:
            return RRsetFacts(label, rdtype, link.status, link.reason)
        if not any(r.rdtype in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3) for r in answer.authority):
            return RRsetFacts(
                label,
                rdtype,
                DnssecStatus.BOGUS,
                f"{answer.outcome.value} without NSEC/NSEC3 proof",
            )
        reason = self._check_denial(answer, link)
        if reason:
            return RRsetFacts(label, rdtype, DnssecStatus.BOGUS, f"denial: {reason}")
        return RRsetFacts(label, rdtype, DnssecStatus.SECURE, f"{answer.outcome.value}, proven")


def _rdtype(text: str) -> dns.rdatatype.RdataType:
    import dns.rdatatype

    return dns.rdatatype.RdataType.make(text)


def _failed(name: dns.name.Name, what: str, answer: RawAnswer) -> _Link:
    """The link when a DS/DNSKEY/SOA lookup failed: unknown, or not checked offline."""
    status = DnssecStatus.NOT_CHECKED if answer.outcome is Outcome.OFFLINE else DnssecStatus.UNKNOWN
    reason = f"{what} lookup failed: {answer.describe()}"
    if status is DnssecStatus.NOT_CHECKED:
        reason = f"{what}: {answer.detail}"
    return _Link(status, name, None, reason, (reason,))


def _bogus(name: dns.name.Name, reason: str, steps: tuple[str, ...]) -> _Link:
    return _Link(DnssecStatus.BOGUS, name, None, reason, (*steps, reason))


def _explain(
    sigs: dns.rrset.RRset, zone: dns.name.Name, keys: dns.rdataset.Rdataset, now: float
) -> str:
    """The most telling reason no RRSIG validated: expired, not yet valid, key, signature."""
    import dns.dnssec

    tags = {dns.dnssec.key_id(k) for k in keys}  # type: ignore[arg-type]
    reasons = []
    for sig in sigs:
        if sig.signer != zone:  # type: ignore[attr-defined]
            reasons.append(f"signer {_text(sig.signer)} is not {_text(zone)}")  # type: ignore[attr-defined]
        elif sig.expiration < now:  # type: ignore[attr-defined]
            reasons.append(f"RRSIG expired on {_when(sig.expiration)}")  # type: ignore[attr-defined]
        elif sig.inception > now:  # type: ignore[attr-defined]
            reasons.append(f"RRSIG not valid before {_when(sig.inception)}")  # type: ignore[attr-defined]
        elif sig.key_tag not in tags:  # type: ignore[attr-defined]
            reasons.append(f"signed by key tag {sig.key_tag}, which is not in the DNSKEY set")  # type: ignore[attr-defined]
        else:
            reasons.append(f"bad signature (key tag {sig.key_tag})")  # type: ignore[attr-defined]
    return "; ".join(dict.fromkeys(reasons)) or "no valid signature"


def _when(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
