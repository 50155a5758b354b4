"""Trust anchors: the IANA root anchors shipped with the package, or ``--trust-anchor FILE``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dmarc_audit.errors import InputError

if TYPE_CHECKING:
    import dns.name
    import dns.rdataset

SHIPPED = Path(__file__).with_name("root-anchors.txt")


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """DS and/or DNSKEY records for one zone (usually the root) that are trusted as given."""

    zone: dns.name.Name
    ds: dns.rdataset.Rdataset | None
    dnskey: dns.rdataset.Rdataset | None
    source: str

    @property
    def zone_text(self) -> str:
        return self.zone.to_text(omit_final_dot=True) or "."


def load_anchor(path: str | Path | None = None) -> TrustAnchor:
    """Read DS or DNSKEY records in zone-file syntax (one zone); the shipped root set by default.

    Raises :class:`InputError` with one clear line for an unreadable or empty file.
    """
    import dns.exception
    import dns.name
    import dns.rdataclass
    import dns.rdataset
    import dns.rdatatype
    import dns.zonefile

    file = Path(path) if path is not None else SHIPPED
    label = f"--trust-anchor {file}" if path is not None else f"trust anchor {file.name}"
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{label}: {exc.strerror or exc}") from None
    try:
        rrsets = dns.zonefile.read_rrsets(text, origin=dns.name.root, rdclass=None, default_ttl=0)
    except dns.exception.DNSException as exc:
        raise InputError(f"{label}: not DS/DNSKEY records in zone-file syntax: {exc}") from None
    ds: dns.rdataset.Rdataset | None = None
    dnskey: dns.rdataset.Rdataset | None = None
    zone: dns.name.Name | None = None
    for rrset in rrsets:
        if rrset.rdtype not in (dns.rdatatype.DS, dns.rdatatype.DNSKEY):
            raise InputError(
                f"{label}: only DS and DNSKEY records belong here, not "
                f"{dns.rdatatype.to_text(rrset.rdtype)} at {rrset.name}"
            )
        if zone is not None and rrset.name != zone:
            raise InputError(f"{label}: anchors for several zones ({zone} and {rrset.name})")
        zone = rrset.name
        target = dns.rdataset.Rdataset(dns.rdataclass.IN, rrset.rdtype)
        target.update(rrset)
        if rrset.rdtype == dns.rdatatype.DS:
            ds = target if ds is None else ds.union(target)
        else:
            dnskey = target if dnskey is None else dnskey.union(target)
    if zone is None:
        raise InputError(f"{label}: no DS or DNSKEY records")
    return TrustAnchor(zone, ds, dnskey, str(file))
