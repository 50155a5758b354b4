"""SPF macro expansion (RFC 7208 §7), the §7.4 examples first."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.types import Answer, Outcome
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.spf.macros import (
    MacroContext,
    MacroError,
    client_ip,
    dot_format,
    expand,
    expand_domain,
    reverse_name,
    truncate_name,
    url_escape,
    validate_ptr,
)

SENDER = "strong-bad@email.example.com"
V4 = MacroContext(
    ip=ipaddress.ip_address("192.0.2.3"),
    sender=SENDER,
    domain="email.example.com",
    helo="mx.example.org",
    receiver="mx.example.net",
    timestamp=1700000000,
)
V6 = MacroContext(
    ip=ipaddress.ip_address("2001:db8::cb01"), sender=SENDER, domain="email.example.com"
)


def run(text: str, ctx: MacroContext = V4, *, explanation: bool = False) -> str:
    return asyncio.run(expand(text, ctx, explanation=explanation))


@pytest.mark.parametrize(
    ("macro", "expected"),
    [
        ("%{s}", "strong-bad@email.example.com"),
        ("%{o}", "email.example.com"),
        ("%{d}", "email.example.com"),
        ("%{d4}", "email.example.com"),
        ("%{d3}", "email.example.com"),
        ("%{d2}", "example.com"),
        ("%{d1}", "com"),
        ("%{dr}", "com.example.email"),
        ("%{d2r}", "example.email"),
        ("%{l}", "strong-bad"),
        ("%{l-}", "strong.bad"),
        ("%{lr}", "strong-bad"),
        ("%{lr-}", "bad.strong"),
        ("%{l1r-}", "strong"),
    ],
)
def test_rfc7208_7_4_single_macros(macro: str, expected: str) -> None:
    assert run(macro) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
        ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
        ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
        ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
        ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
    ],
)
def test_rfc7208_7_4_macro_strings(text: str, expected: str) -> None:
    assert run(text) == expected


def test_rfc7208_7_4_ipv6_example() -> None:
    # RFC 4408 printed the nibbles upper-case, RFC 7208 lower-case; DNS does not care.
    # We emit upper case, as the OpenSPF suite's v-macro-ip6 explanation expects.
    got = run("%{ir}.%{v}._spf.%{d2}", V6)
    assert got == (
        "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com"
    )
    assert got.lower() == (
        "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
    )


def test_escapes_and_literals() -> None:
    assert run("a%%b%_c%-d") == "a%b c%20d"


def test_upper_case_letter_url_escapes() -> None:
    assert run("%{S}") == "strong-bad%40email.example.com"
    ctx = MacroContext(ip=V4.ip, sender="~jack&jill=up-a_b3.c@example.com", domain="x.example")
    assert run("%{L}", ctx) == "~jack%26jill%3Dup-a_b3.c"
    assert url_escape("a b/é") == "a%20b%2F%E9"


def test_url_escape_applies_after_transformers() -> None:
    ctx = MacroContext(ip=V4.ip, sender="a b-c@example.com", domain="example.com")
    assert run("%{L-}", ctx) == "a%20b.c"
    assert run("%{D2R}") == "example.email"


def test_multiple_delimiters() -> None:
    ctx = MacroContext(ip=V4.ip, sender="foo-bar+zip+quux@example.com", domain="example.com")
    assert run("%{l2r+-}", ctx) == "bar.foo"
    assert run("%{l+}", ctx) == "foo-bar.zip.quux"


def test_more_digits_than_parts_keeps_all() -> None:
    assert run("%{d127}") == "email.example.com"


def test_ip_letters() -> None:
    assert run("%{i} %{c} %{v}", explanation=True) == "192.0.2.3 192.0.2.3 in-addr"
    assert run("%{c} %{v}", V6, explanation=True) == "2001:db8::cb01 ip6"
    assert dot_format(V6.ip) == "2.0.0.1.0.D.B.8" + ".0" * 20 + ".C.B.0.1"


def test_exp_only_letters() -> None:
    assert run("%{h} %{r} %{t}", explanation=True) == "mx.example.org mx.example.net 1700000000"
    with pytest.raises(MacroError):
        run("%{r}")


def test_bad_syntax_raises() -> None:
    for text in ("%{x}", "%(ir)", "50%", "%{d0}", "%{"):
        with pytest.raises(MacroError):
            run(text)


def test_ipv4_mapped_client_is_ipv4() -> None:
    ip = client_ip("::ffff:192.0.2.3")
    assert ip == ipaddress.ip_address("192.0.2.3")
    with pytest.raises(ValueError):
        client_ip("192.0.2.300")


def test_reverse_names() -> None:
    assert reverse_name(V4.ip) == "3.2.0.192.in-addr.arpa"
    assert reverse_name(V6.ip).startswith("1.0.b.c.0.0.0.0")
    assert reverse_name(V6.ip).endswith(".8.b.d.0.1.0.0.2.ip6.arpa")


def test_domain_expansion_strips_trailing_dot_and_truncates() -> None:
    assert asyncio.run(expand_domain("%{d}.", V4)) == "email.example.com"
    long = ".".join(["a" * 60] * 5)  # 304 octets
    cut = truncate_name(long)
    assert len(cut) <= 253
    assert cut == ".".join(["a" * 60] * 4)
    assert len(asyncio.run(expand_domain("x." * 130 + "example.com", V4))) <= 253


ZONE = {
    "3.2.0.192.in-addr.arpa": [
        {"PTR": "mx.example.org"},
        {"PTR": "mail.email.example.com"},
        {"PTR": "fake.example.net"},
    ],
    "mx.example.org": [{"A": "192.0.2.3"}],
    "mail.email.example.com": [{"A": "192.0.2.3"}],
    "fake.example.net": [{"A": "198.51.100.1"}],
}


def _ctx(zone: dict, **changes: object) -> MacroContext:
    router = LocalRouter([YamlZoneSource(zone)], closed_world=True)
    fields = {"ip": V4.ip, "sender": SENDER, "domain": "email.example.com", "resolver": router}
    fields.update(changes)
    return MacroContext(**fields)  # type: ignore[arg-type]


def test_p_prefers_a_subdomain_of_the_domain() -> None:
    assert run("%{p}", _ctx(ZONE)) == "mail.email.example.com"


def test_p_uses_any_validated_name_otherwise() -> None:
    assert run("%{p}", _ctx(ZONE, domain="other.example")) == "mx.example.org"
    assert run("%{p2}", _ctx(ZONE, domain="other.example")) == "example.org"


def test_p_is_unknown_without_ptr_resolver_or_on_error() -> None:
    assert run("%{p}", V4) == "unknown"
    assert run("%{p}", _ctx({})) == "unknown"
    assert run("%{p}", _ctx({"3.2.0.192.in-addr.arpa": ["TIMEOUT"]})) == "unknown"


class _Broken:
    """Every question fails."""

    async def query(self, name: str, rdtype: str) -> Answer:
        return Answer(name, rdtype, Outcome.SERVFAIL, detail="test")


def test_p_survives_a_failing_resolver() -> None:
    assert run("%{p}", _ctx({}, resolver=_Broken())) == "unknown"


def test_validate_ptr_limits_names_and_skips_errors() -> None:
    zone = {"3.2.0.192.in-addr.arpa": [{"PTR": f"h{i}.example.com"} for i in range(12)]}
    zone["h0.example.com"] = ["TIMEOUT"]
    zone["h11.example.com"] = [{"A": "192.0.2.3"}]
    zone["h3.example.com"] = [{"A": "192.0.2.3"}]
    router = LocalRouter([YamlZoneSource(zone)], closed_world=True)
    check = asyncio.run(validate_ptr(router, V4.ip))
    assert check.validated == ("h3.example.com",)
    assert len(check.names) == 10
    assert check.ignored == 2
    assert check.skipped == ("h0.example.com",)
