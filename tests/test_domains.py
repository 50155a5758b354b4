"""parse_domain: IDNA 2008 (UTS #46 mapping) and validation of names users type."""

from __future__ import annotations

import pytest

from dmarc_audit.domains import DomainName, normalize_name, parse_domain
from dmarc_audit.errors import InputError


@pytest.mark.parametrize(
    ("text", "ascii", "unicode"),
    [
        ("example.com", "example.com", "example.com"),
        ("  Example.COM.  ", "example.com", "example.com"),
        ("bücher.example", "xn--bcher-kva.example", "bücher.example"),
        ("Bücher.Example.", "xn--bcher-kva.example", "bücher.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example", "bücher.example"),
        ("XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example", "bücher.example"),
        ("münchen.de", "xn--mnchen-3ya.de", "münchen.de"),
        ("faß.de", "xn--fa-hia.de", "faß.de"),  # IDNA 2008: no transitional mapping to "ss"
        ("ÄÖÜ.example", "xn--4ca0bs.example", "äöü.example"),
        ("ｅｘａｍｐｌｅ．com", "example.com", "example.com"),  # full-width forms mapped
        ("bücher。example。", "xn--bcher-kva.example", "bücher.example"),
        ("_dmarc.bücher.example", "_dmarc.xn--bcher-kva.example", "_dmarc.bücher.example"),
        ("_dmarc.xn--bcher-kva.example", "_dmarc.xn--bcher-kva.example", "_dmarc.bücher.example"),
        ("s1._domainkey.example.com", "s1._domainkey.example.com", "s1._domainkey.example.com"),
        ("xn--ls8h.la", "xn--ls8h.la", "xn--ls8h.la"),  # valid Punycode, not IDNA 2008: kept
        ("1.2.0.192.in-addr.arpa", "1.2.0.192.in-addr.arpa", "1.2.0.192.in-addr.arpa"),
        ("a" * 63 + ".example", "a" * 63 + ".example", "a" * 63 + ".example"),
    ],
)
def test_valid_names(text: str, ascii: str, unicode: str) -> None:
    domain = parse_domain(text)
    assert domain == DomainName(ascii, unicode)
    assert str(domain) == ascii


def test_u_label_and_a_label_give_the_same_name() -> None:
    assert parse_domain("bücher.example") == parse_domain("xn--bcher-kva.example")
    assert parse_domain("bücher.example").display == "bücher.example (xn--bcher-kva.example)"
    assert parse_domain("example.com").display == "example.com"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("  .  ", "empty"),
        ("exa mple.com", "space"),
        ("user@example.com", "'@'"),
        ("https://example.com", "'/'"),
        ("example..com", "empty label"),
        (".example.com", "empty label"),
        ("bücher..example", "empty label"),
        ("-example.com", "starts or ends with '-'"),
        ("example-.com", "starts or ends with '-'"),
        ("a" * 64 + ".com", "over 63 octets"),
        (".".join(["a" * 60] * 5), "longer than 253"),
        ("exam!ple.com", "not a letter, digit"),
        ("exam*ple.com", "not a letter, digit"),
        ("xn--zz.example", "not a valid A-label"),
        ("192.0.2.1", "all digits"),
        ("example.123", "all digits"),
        ("☃.example", "not allowed"),
        ("a\u200db.example", "not allowed"),
        ("bücher\u0000.example", "invalid domain name"),
    ],
)
def test_invalid_names(text: str, why: str) -> None:
    with pytest.raises(InputError) as info:
        parse_domain(text)
    message = str(info.value)
    assert message.startswith(f"invalid domain name {text!r}: ")
    assert why in message and "\n" not in message


def test_normalize_name() -> None:
    assert normalize_name("WWW.Example.COM.") == "www.example.com"
    assert normalize_name("example.com") == "example.com"
