"""Turn dnspython rdata into our record types."""

from __future__ import annotations

import dns.rdata
import dns.rdatatype

from dmarc_audit.dns.types import AddressRecord, MxRecord, NameRecord, Record, TxtRecord


def rdata_to_record(rdata: dns.rdata.Rdata) -> Record:
    """Convert one rdata; types we do not model become a TXT-like text form."""
    kind = rdata.rdtype
    if kind in (dns.rdatatype.TXT, dns.rdatatype.SPF):
        return TxtRecord(tuple(rdata.strings))  # type: ignore[attr-defined]
    if kind == dns.rdatatype.MX:
        return MxRecord(rdata.preference, _plain(rdata.exchange))  # type: ignore[attr-defined]
    if kind in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return AddressRecord(rdata.address)  # type: ignore[attr-defined]
    if kind in (dns.rdatatype.PTR, dns.rdatatype.CNAME, dns.rdatatype.NS):
        return NameRecord(_plain(rdata.target))  # type: ignore[attr-defined]
    return TxtRecord((rdata.to_text().encode("latin-1", "replace"),))


def _plain(name: object) -> str:
    text = name.to_text(omit_final_dot=True)  # type: ignore[attr-defined]
    return "" if text == "." or text == "" else text.lower()
