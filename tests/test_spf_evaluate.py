"""check_host() over in-memory zones: limits, errors, matched terms, explanations, trace."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dmarc_audit.dns.cache import CachingResolver
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.types import Answer, Outcome
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.spf.evaluate import (
    DEFAULT_EXPLANATION,
    SpfResult,
    SpfResultCode,
    check_host,
    evaluate_identity,
)
from dmarc_audit.spf.identity import (
    IdentityKind,
    derive_identity,
    domain_problem,
    normalize_sender,
)

R = SpfResultCode


def resolver(zone: dict[str, Any]) -> CachingResolver:
    return CachingResolver(LocalRouter([YamlZoneSource(zone)], closed_world=True))


def check(
    zone: dict[str, Any] | Any,
    ip: str = "192.0.2.10",
    domain: str = "example.com",
    sender: str = "user@example.com",
    **options: Any,
) -> SpfResult:
    dns = resolver(zone) if isinstance(zone, dict) else zone
    return asyncio.run(check_host(dns, ip, domain, sender, **options))


def spf(text: str, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"TXT": text}, *extra]


# --- lookup limit --------------------------------------------------------------------


def _chain(n: int, last: str = "v=spf1 ip4:192.0.2.10 -all") -> dict[str, Any]:
    """example.com includes h1, which includes h2, … hn (n include lookups)."""
    zone: dict[str, Any] = {"example.com": spf("v=spf1 include:h1.example.com -all")}
    for i in range(1, n):
        zone[f"h{i}.example.com"] = spf(f"v=spf1 include:h{i + 1}.example.com -all")
    zone[f"h{n}.example.com"] = spf(last)
    return zone


def test_ten_lookups_are_allowed() -> None:
    result = check(_chain(10))
    assert result.result is R.PASS
    assert result.lookups == 10
    assert result.matched_term == "include:h1.example.com"
    assert result.matched_domain == "example.com"


def test_eleventh_lookup_is_permerror() -> None:
    result = check(_chain(11))
    assert result.result is R.PERMERROR
    assert result.lookups == 11
    assert result.reason == "11 DNS lookups (limit 10)"
    assert result.matched_term == "include:h11.example.com"
    assert result.matched_domain == "h10.example.com"


def test_redirect_counts_as_a_lookup() -> None:
    zone = {
        "example.com": spf("v=spf1 a mx redirect=_spf.example.com"),
        "_spf.example.com": spf("v=spf1 exists:x.example.com ip4:192.0.2.10 -all"),
        "x.example.com": [{"A": "127.0.0.2"}],
    }
    result = check(zone, ip="198.51.100.1")
    # a, mx, redirect, exists
    assert result.lookups == 4
    assert result.result is R.PASS
    assert result.matched_term == "exists:x.example.com"
    assert result.matched_domain == "_spf.example.com"
    assert "redirect=_spf.example.com at example.com" in result.reason


def test_redirect_loop_stops_at_the_limit() -> None:
    result = check({"example.com": spf("v=spf1 redirect=example.com")})
    assert result.result is R.PERMERROR
    assert result.lookups == 11


def test_ip_and_all_cost_nothing() -> None:
    result = check({"example.com": spf("v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 -all")})
    assert result.result is R.FAIL
    assert result.lookups == 0


def test_terms_after_the_match_are_not_counted() -> None:
    zone = {"example.com": spf("v=spf1 ip4:192.0.2.10 " + "a " * 20 + "-all")}
    result = check(zone)
    assert result.result is R.PASS
    assert result.lookups == 0


# --- void lookups --------------------------------------------------------------------


def test_two_void_lookups_are_allowed_three_are_not() -> None:
    two = {"example.com": spf("v=spf1 a:n1.example.com mx:n2.example.com ?all")}
    assert check(two).result is R.NEUTRAL
    assert check(two).void_lookups == 2
    three = {
        "example.com": spf("v=spf1 a:n1.example.com mx:n2.example.com exists:n3.example.com ?all"),
        "n3.example.com": [{"MX": [10, "mail.example.com"]}],
    }  # exists → NODATA
    result = check(three)
    assert result.result is R.PERMERROR
    assert result.reason == "3 void lookups (limit 2)"
    assert result.void_lookups == 3
    assert result.matched_term == "exists:n3.example.com"


def test_exp_lookup_is_not_a_void_lookup() -> None:
    zone = {
        "example.com": spf("v=spf1 a:n1.example.com a:n2.example.com exp=nothing.example.com -all")
    }
    result = check(zone)
    assert result.result is R.FAIL
    assert result.void_lookups == 2


def test_ptr_reverse_lookup_is_not_a_void_lookup() -> None:
    zone = {"example.com": spf("v=spf1 a:n1.example.com a:n2.example.com ptr -all")}
    result = check(zone)
    assert result.result is R.FAIL
    assert result.void_lookups == 2


# --- DNS failures --------------------------------------------------------------------


def test_timeout_in_a_mechanism_is_temperror() -> None:
    zone = {"example.com": spf("v=spf1 a:slow.example.com -all"), "slow.example.com": ["TIMEOUT"]}
    result = check(zone)
    assert result.result is R.TEMPERROR
    assert result.matched_term == "a:slow.example.com"
    assert "timeout" in result.reason


def test_timeout_of_the_record_itself_is_temperror() -> None:
    result = check({"example.com": ["TIMEOUT"]})
    assert result.result is R.TEMPERROR
    assert result.reason.startswith("TXT lookup of example.com failed: timeout")


def test_include_temperror_names_the_include() -> None:
    zone = {"example.com": spf("v=spf1 include:bad.example -all"), "bad.example": ["TIMEOUT"]}
    result = check(zone)
    assert result.result is R.TEMPERROR
    assert result.reason.startswith("include:bad.example returned temperror: ")
    assert result.matched_term == "include:bad.example"
    assert result.matched_domain == "example.com"


class _Servfail:
    """Answers from a zone, but SERVFAIL for the names given."""

    def __init__(self, zone: dict[str, Any], *failing: str) -> None:
        self.inner = LocalRouter([YamlZoneSource(zone)], closed_world=True)
        self.failing = set(failing)

    async def query(self, name: str, rdtype: str) -> Answer:
        if name in self.failing:
            return Answer(name, rdtype, Outcome.SERVFAIL, detail="test")
        return await self.inner.query(name, rdtype)


def test_servfail_in_mx_address_lookup_is_temperror() -> None:
    zone = {"example.com": spf("v=spf1 mx -all", {"MX": [10, "mx.example.com"]})}
    result = check(_Servfail(zone, "mx.example.com"))
    assert result.result is R.TEMPERROR
    assert "SERVFAIL" in result.reason


def test_ptr_dns_errors_skip_instead_of_temperror() -> None:
    zone = {
        "example.com": spf("v=spf1 ptr -all"),
        "10.2.0.192.in-addr.arpa": [{"PTR": "broken.example.com"}, {"PTR": "mail.example.com"}],
        "mail.example.com": [{"A": "192.0.2.10"}],
    }
    assert check(_Servfail(zone, "broken.example.com")).result is R.PASS
    assert check(_Servfail(zone, "10.2.0.192.in-addr.arpa")).result is R.FAIL


def test_no_record_nxdomain_and_multiple_records() -> None:
    assert check({}).result is R.NONE
    assert check({"example.com": [{"TXT": "google-site-verification=x"}]}).result is R.NONE
    two = check({"example.com": [{"TXT": "v=spf1 -all"}, {"TXT": "v=spf1 +all"}]})
    assert two.result is R.PERMERROR
    assert two.reason.startswith("2 SPF records at example.com")


def test_syntax_error_anywhere_is_permerror_before_evaluation() -> None:
    result = check({"example.com": spf("v=spf1 ip4:192.0.2.10 -all moo")})
    assert result.result is R.PERMERROR
    assert result.matched_term == "moo"
    assert result.lookups == 0


def test_include_of_domain_without_record_is_permerror() -> None:
    result = check({"example.com": spf("v=spf1 include:none.example.com -all")})
    assert result.result is R.PERMERROR
    assert "no SPF record at none.example.com" in result.reason


# --- mechanisms ----------------------------------------------------------------------


def test_mx_over_ten_names_is_permerror_and_null_mx_never_matches() -> None:
    many = spf("v=spf1 mx -all", *({"MX": [i, f"m{i}.example.com"]} for i in range(11)))
    assert check({"example.com": many}).result is R.PERMERROR
    null = {"example.com": spf("v=spf1 mx -all", {"MX": [0, "."]})}
    assert check(null).result is R.FAIL


def test_mx_does_not_fall_back_to_a() -> None:
    zone = {"example.com": spf("v=spf1 mx -all", {"A": "192.0.2.10"})}
    dns = resolver(zone)
    assert check(dns).result is R.FAIL
    assert ("example.com", "A") not in {(e.name, e.rdtype) for e in dns.trace.entries}


def test_cidr_and_ipv6() -> None:
    zone = {
        "example.com": spf("v=spf1 a/24//64 -all", {"A": "192.0.2.1"}, {"AAAA": "2001:db8:1::1"})
    }
    assert check(zone, ip="192.0.2.200").result is R.PASS
    assert check(zone, ip="2001:db8:1::ffff").result is R.PASS
    assert check(zone, ip="2001:db8:2::1").result is R.FAIL
    assert check(zone, ip="::ffff:192.0.2.77").result is R.PASS


def test_invalid_target_name_does_not_match() -> None:
    result = check({"example.com": spf("v=spf1 a:mail..example.com -all")})
    assert result.result is R.FAIL
    assert result.void_lookups == 0


# --- matched term, reason, explanation -----------------------------------------------


def test_matched_term_inside_include() -> None:
    zone = {
        "example.com": spf("v=spf1 -include:_spf.example.net ~all"),
        "_spf.example.net": spf("v=spf1 ip4:192.0.2.0/24 -all"),
    }
    result = check(zone)
    assert result.result is R.FAIL
    assert result.matched_term == "-include:_spf.example.net"
    assert result.matched_domain == "example.com"
    assert result.reason == (
        "-include:_spf.example.net at example.com → "
        "ip4:192.0.2.0/24 at _spf.example.net matched 192.0.2.10"
    )


def test_default_result_is_neutral_without_matched_term() -> None:
    result = check({"example.com": spf("v=spf1 ip4:198.51.100.1")})
    assert result.result is R.NEUTRAL
    assert result.matched_term is None
    assert result.matched_domain is None
    assert result.explanation is None


def test_exp_text_is_expanded_for_fail() -> None:
    zone = {
        "example.com": spf("v=spf1 -all exp=why.example.com"),
        "why.example.com": [{"TXT": "%{i} may not send for %{d} (%{l})"}],
    }
    result = check(zone)
    assert result.result is R.FAIL
    assert result.explanation == "192.0.2.10 may not send for example.com (user)"
    assert result.matched_term == "-all"


def test_default_explanation() -> None:
    zone = {"example.com": spf("v=spf1 -all")}
    result = check(zone)
    assert DEFAULT_EXPLANATION.startswith("%{o}")
    assert result.explanation == "example.com does not designate 192.0.2.10 as a permitted sender"
    assert check(zone, default_explanation="nope from %{c}").explanation == "nope from 192.0.2.10"


def test_exp_of_an_included_record_is_not_used() -> None:
    zone = {
        "example.com": spf("v=spf1 include:inc.example.com -all exp=mine.example.com"),
        "inc.example.com": spf("v=spf1 -all exp=theirs.example.com"),
        "mine.example.com": [{"TXT": "mine"}],
        "theirs.example.com": [{"TXT": "theirs"}],
    }
    assert check(zone).explanation == "mine"


def test_exp_not_fetched_unless_fail() -> None:
    zone = {
        "example.com": spf("v=spf1 ~all exp=why.example.com"),
        "why.example.com": [{"TXT": "x"}],
    }
    dns = resolver(zone)
    result = check(dns)
    assert result.result is R.SOFTFAIL
    assert result.explanation is None
    assert "why.example.com" not in {e.name for e in dns.trace.entries}


def test_steps_trace_each_dns_term_with_its_count() -> None:
    zone = {
        "example.com": spf("v=spf1 a include:inc.example.com -all"),
        "inc.example.com": spf("v=spf1 mx ?all"),
    }
    steps = check(zone).steps
    assert steps[0] == "example.com: 'v=spf1 a include:inc.example.com -all'"
    assert "a  [DNS lookup 1/10]" in steps
    assert "include:inc.example.com  [DNS lookup 2/10]" in steps
    assert "  mx  [DNS lookup 3/10]" in steps
    assert steps[-1] == "→ fail"


# --- identity and arguments ----------------------------------------------------------


def test_invalid_ip_raises_value_error() -> None:
    with pytest.raises(ValueError):
        check({}, ip="300.1.2.3")
    with pytest.raises(ValueError):
        asyncio.run(evaluate_identity(resolver({}), "nope", mail_from="a@b.example", helo=None))


def test_helo_identity_when_mail_from_is_empty() -> None:
    zone = {"mail.example.com": spf("v=spf1 ip4:192.0.2.10 -all")}
    for mail_from in ("", None):
        result = asyncio.run(
            evaluate_identity(
                resolver(zone), "192.0.2.10", mail_from=mail_from, helo="mail.example.com"
            )
        )
        assert result.result is R.PASS
        assert result.sender == "postmaster@mail.example.com"
        assert result.domain == "mail.example.com"


def test_identity_rules() -> None:
    assert derive_identity("@example.net", "h.example").sender == "postmaster@example.net"
    ident = derive_identity("<Foo@Example.COM>", "h.example")
    assert (ident.kind, ident.domain, ident.sender) == (
        IdentityKind.MAIL_FROM,
        "example.com",
        "Foo@example.com",
    )
    assert derive_identity(None, None, "example.org").sender == "postmaster@example.org"
    assert normalize_sender("", "example.com") == "postmaster@example.com"
    with pytest.raises(ValueError):
        derive_identity("", None)


@pytest.mark.parametrize(
    "domain",
    [
        "a" * 64 + ".example.com",
        "a..example.com",
        "localhost",
        "[192.0.2.1]",
        "",
    ],
)
def test_malformed_domain_gives_none(domain: str) -> None:
    assert domain_problem(domain) is not None
    result = check({}, domain=domain, sender=f"x@{domain}")
    assert result.result is R.NONE
    assert result.lookups == 0


def test_trailing_dot_and_case_are_normalised() -> None:
    result = check({"example.com": spf("v=spf1 ip4:192.0.2.10 -all")}, domain="Example.COM.")
    assert result.result is R.PASS
    assert result.domain == "example.com"
